"""The session's PostgreSQL for the pytest plugin: embedded, or a real server given by DSN.

Everything here runs on the plugin's own event loop (an anyio blocking portal in a thread),
so the session fixtures are synchronous and work under any async test plugin.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from tenantdb.errors import ConfigurationError
from tenantdb.local.postgres import Roles, _grant_connect, _role_statements, hide_session_activity
from tenantdb.testing import PgDatabase

__all__ = ("ExternalServer", "clone_database", "create_template", "drop_database")

_counter = itertools.count()


class ExternalServer:
    """A running server named by a superuser DSN (CI service containers, a shared test box).

    The three roles are created if missing; the login roles get ``role_password`` (this is a
    test server) so they can connect where ``pg_hba.conf`` asks for a password.
    """

    def __init__(
        self,
        superuser_dsn: str,
        *,
        role_password: str = "tenantdb-test",  # noqa: S107 - a test server's login roles
    ) -> None:
        if not superuser_dsn.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                "--tenantdb-server-dsn (tenantdb_server_dsn) must be a postgresql:// DSN"
            )
        self._parts = urlsplit(superuser_dsn)
        self._password = role_password
        self.name = self._parts.path.lstrip("/") or "postgres"

    @property
    def superuser(self) -> str:
        return self._parts.username or "postgres"

    def dsn(self, role: str, database: str | None = None) -> str:
        host = self._parts.hostname or "127.0.0.1"
        port = f":{self._parts.port}" if self._parts.port else ""
        secret = self._parts.password if role == self.superuser else self._password
        auth = quote(role) + (f":{quote(secret)}" if secret else "")
        path = "/" + quote(database or self.name)
        return urlunsplit((self._parts.scheme, f"{auth}@{host}{port}", path, self._parts.query, ""))

    def superuser_dsn(self, database: str | None = None) -> str:
        return self.dsn(self.superuser, database)

    async def bootstrap(self) -> None:
        conn = await asyncpg.connect(self.superuser_dsn())
        try:
            for stmt in _role_statements():
                await conn.execute(stmt)
            for role in (Roles.ADMIN, Roles.TENANT):
                await conn.execute(f"ALTER ROLE {role} PASSWORD $pw${self._password}$pw$")
        finally:
            await conn.close()


def _superuser(server: object) -> str:
    return str(getattr(server, "superuser", "postgres"))


async def _superuser_conn(server: object) -> asyncpg.Connection:
    dsn: str = server.dsn(_superuser(server), "postgres")  # type: ignore[attr-defined]
    return await asyncpg.connect(dsn)


async def create_template(
    server: object, migrations: Path, seeds: list[str], *, prefix: str = "tenantdb_tpl"
) -> PgDatabase:
    """A new database owned by the owner role, migrated, then the seed SQL scripts run as
    the admin role."""
    from tenantdb.admin.migrate import up

    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    conn = await _superuser_conn(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" OWNER {Roles.OWNER}')
        await _grant_connect(conn, name)
    finally:
        await conn.close()
    db = PgDatabase(server, name)
    conn = await asyncpg.connect(db.superuser_dsn)
    try:
        await conn.execute(
            f"ALTER SCHEMA public OWNER TO {Roles.OWNER};"
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
            f"GRANT USAGE ON SCHEMA public TO {Roles.TENANT}, {Roles.ADMIN};"
            + hide_session_activity(Roles.ADMIN)
        )
    finally:
        await conn.close()
    await up(db.admin_dsn, migrations)
    if seeds:
        conn = await asyncpg.connect(db.admin_dsn)
        try:
            for script in seeds:
                await conn.execute(script)
        finally:
            await conn.close()
    return db


async def clone_database(server: object, template: PgDatabase) -> PgDatabase:
    """A copy of ``template`` for one test (about 40 ms on the embedded server)."""
    name = f"tenantdb_t_{os.getpid()}_{next(_counter)}"
    conn = await _superuser_conn(server)
    try:
        version = conn.get_server_version().major
        strategy = " STRATEGY FILE_COPY" if version >= 15 else ""
        await conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{template.name}" OWNER {Roles.OWNER}{strategy}'
        )
        await _grant_connect(conn, name)
    finally:
        await conn.close()
    return PgDatabase(server, name)


async def drop_database(server: object, name: str) -> None:
    conn = await _superuser_conn(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
