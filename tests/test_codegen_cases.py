"""Issue 10: SQL shaped like sqlc's own test data generates, type-checks and runs on both lanes.

``tests/codegen/cases`` is generated once per module into a temporary folder (real sqlc, real
plugin, managed analysis), checked with ``mypy --strict`` and imported; each case then runs
on the asyncpg and the Data API tenant lanes. Refusals are in ``test_codegen.py``.
"""

from __future__ import annotations

import datetime
import importlib
import shutil
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import asyncpg
import pytest

from tenantdb import AsyncpgExecutor, Database, TenantContext
from tenantdb.codegen.run import run
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.dataapi import LocalDataApi

CASES = Path(__file__).resolve().parent / "codegen" / "cases"
TENANT = TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")


@pytest.fixture(scope="module")
async def generated(
    local_pg: LocalPostgres, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("cases")
    shutil.copytree(CASES, root, dirs_exist_ok=True)
    await run(root / "sqlc.yaml", server_dsn=local_pg.dsn("postgres", "postgres"))
    out = root / "out"
    mypy = await anyio.run_process(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "cases"],
        cwd=out, check=False,
    )  # fmt: skip
    sys.path.insert(0, str(out))
    try:
        mods = {m: importlib.import_module(f"cases.{m}")
                for m in ("models", "postgresql_query", "query_building")}  # fmt: skip
    finally:
        sys.path.remove(str(out))
    return {"mods": mods, "mypy": mypy, "out": out / "cases"}


def test_generated_cases_pass_mypy_strict(generated: dict[str, Any]) -> None:
    mypy = generated["mypy"]
    assert mypy.returncode == 0, (mypy.stdout + mypy.stderr).decode()


def test_names_are_valid_python_and_follow_sqlc_gen_python(generated: dict[str, Any]) -> None:
    q: ModuleType = generated["mods"]["postgresql_query"]
    models: ModuleType = generated["mods"]["models"]
    # 1. keywords escaped; 2. List / Models do not shadow list / the models module;
    # 8. sqlc-gen-python's snake case for acronyms, its enum member spelling
    for name in ("in_", "import_", "list_", "models", "delete_bar_by_id_and_name",
                 "list_http_requests"):  # fmt: skip
        assert callable(getattr(q, name)), name
    assert [m.name for m in models.Status] == ["OPEN", "CLOSED"]
    # 11. query files named postgresql.query.sql / query-building.sql are importable modules
    assert sorted(p.name for p in generated["out"].glob("*.py")) == [
        "__init__.py", "models.py", "postgresql_query.py", "query_building.py",
    ]  # fmt: skip
    text = (generated["out"] / "postgresql_query.py").read_text()
    # 2. a Struct with columns named uuid, datetime, list and models
    assert "    uuid: _uuid.UUID | None\n    datetime: _datetime.datetime | None\n" in text
    # 2. names generated code uses: a query named Query, columns named int and Any
    assert "class QueryRow(_msgspec.Struct, frozen=True):" in text
    assert "    id: int\n    int_: str\n    Any_: str\n" in text
    assert "async def query(db: Executor, *, id: int) -> QueryRow | None:" in text
    # 4. two embeds of tables named users: the second is named after baz.users' model
    assert "    user: _models.User\n    baz_user: _models.BazUser\n" in text
    # 6. duplicate result names are suffixed
    assert "    id: int\n    name: str\n    id_2: int\n    name_2: str\n" in text
    # 7. SELECT id, name FROM users is models.User, not models.Tag (same names and types)
    assert "async def get_user_id_name(db: Executor, *, id: int) -> _models.User | None:" in text
    # 9. COPY lists the target columns, not the sqlc.arg names
    assert 'copy_columns=(\n        "name",\n        "id",\n    ),' in text
    # 10. a void-only result runs like :exec
    assert "async def lock(db: Executor, *, key: int) -> None:" in text
    # 12. CREATE TABLE AS columns are nullable
    assert (
        "class UserName(_msgspec.Struct, frozen=True):"
        in (generated["out"] / "models.py").read_text()
    )
    assert models.UserName.__annotations__ == {"id": "int | None", "name": "str | None"}
    # 5. pg_lsn has no mapping, no query uses it: models still generated, annotated object
    assert (
        "spot: object | None  # pg_lsn: no Python mapping"
        in (generated["out"] / "models.py").read_text()
    )


@pytest.fixture
async def cases_db(fresh_db: LocalDatabase) -> LocalDatabase:
    conn = await asyncpg.connect(fresh_db.superuser_dsn)
    try:
        await conn.execute((CASES / "schema" / "0001_init.up.sql").read_text())
        await conn.execute(
            "GRANT USAGE ON SCHEMA baz TO PUBLIC;"
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, baz TO PUBLIC;"
        )
    finally:
        await conn.close()
    return fresh_db


@pytest.mark.parametrize("lane", ["asyncpg", "data_api"])
async def test_every_case_runs_on_both_lanes(
    generated: dict[str, Any], cases_db: LocalDatabase, gateway: LocalDataApi, lane: str
) -> None:
    q: ModuleType = generated["mods"]["postgresql_query"]
    qb: ModuleType = generated["mods"]["query_building"]
    models: ModuleType = generated["mods"]["models"]
    tenant: Any = cases_db.tenant_dsn if lane == "asyncpg" else gateway.data_api(cases_db.name)
    async with Database(admin=cases_db.admin_dsn, tenant=tenant) as db, db.tenant(TENANT) as tx:
        await q.import_(tx, id=1, name="ada")
        await q.import_(tx, id=2, name="bob")
        assert await q.in_(tx, a=1, b=2) == [1, 2]  # one column: list[int]
        assert await q.copy_users(tx, [q.CopyUsersParams(id_param=3, name_param="cy")]) == 1
        assert await q.count_users(tx) == 3
        assert await qb.count_tags(tx) == 0
        when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
        uid = uuid.uuid4()
        await q.add_bar(tx, id=1, name="b", uuid=uid, datetime=when, list_="l", models="m",
                        status=models.Status.CLOSED)  # fmt: skip
        row = await q.models(tx, id=1)
        assert row is not None and (row.uuid, row.datetime, row.list_, row.models) == (
            uid,
            when,
            "l",
            "m",
        )
        assert row.status is models.Status.CLOSED
        assert [(r.id, r.name) for r in await q.list_(tx)] == [(1, "b")]
        assert [r.status for r in await q.list_http_requests(tx)] == [models.Status.CLOSED]
        assert await q.delete_bar_by_id_and_name(tx, id=1, name="b") == 1
        await q.add_baz_user(tx, id=1, name="baz-ada")
        (both,) = await q.users_and_baz_users(tx)
        assert both.user == models.User(id=1, name="ada")
        assert both.baz_user == models.BazUser(id=1, name="baz-ada")
        await q.add_tag(tx, id=2, name="t2")
        (joined,) = await q.join_star(tx)
        assert (joined.id, joined.name, joined.id_2, joined.name_2) == (2, "bob", 2, "t2")
        two = await q.two_coalesce(tx, id=1)
        assert two is not None and (two.name, two.name_2) == ("ada", "ada")
        assert await q.get_user_id_name(tx, id=1) == models.User(id=1, name="ada")
        assert await q.query(tx, id=1) == q.QueryRow(id=1, int_="ada", Any_="ada")
        await q.lock(tx, key=42)
        assert await q.list_user_names(tx) == []
        during = asyncpg.Range(1, 10)
        days = asyncpg.Range(datetime.date(2026, 1, 1), datetime.date(2026, 2, 1))
        attrs = {"a": "1", "b": None, 'q"x': "\\"}
        at = asyncpg.Point(1.5, 2)
        # The Data API has no Field for range/geometric *parameters* and cannot return point
        # columns: there the rows are written with the same generated function over asyncpg
        # (AsyncpgExecutor on the admin role) and read back without the point column.
        admin = await asyncpg.connect(cases_db.admin_dsn)
        writer: Any = tx if lane == "asyncpg" else AsyncpgExecutor(admin)
        get = q.get_place if lane == "asyncpg" else q.get_place_no_point
        await q.add_place(writer, id=1, during=during, days=days, attrs=attrs, path="a.b",
                          email="A@B.c", at=at)  # fmt: skip
        place = await get(tx, id=1)
        assert place is not None
        assert (place.during, place.days, place.attrs, place.path, place.email) == (
            during,
            days,
            attrs,
            "a.b",
            "A@B.c",
        )
        await q.add_place(
            writer, id=2, during=None, days=None, attrs=None, path=None, email=None, at=None
        )
        await admin.close()
        empty = await get(tx, id=2)
        assert empty is not None and empty.during is None and empty.attrs is None
