"""Connections to PostgreSQL under one cap, keyed by (role, database).

Outside transactions a call borrows an idle connection and returns it after ``DISCARD ALL``
(AWS v2 resets the session per request); a transaction keeps its connection until it ends.
When the cap is reached a caller waits up to ``acquire_timeout`` and then gets what AWS sent
under its own connection cap: StatementTimeoutException "Connection is not available, request
timed out".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from tenantdb.local.dataapi._encode import TEXT_TYPES
from tenantdb.local.dataapi._errors import ApiError, database_error

__all__ = ("ConnectionPool",)

Key = tuple[str, str]  # (role, database)


class ConnectionPool:
    """A capped set of asyncpg connections; idle ones are reused per key."""

    def __init__(self, dsn: Callable[[str, str], str], *, cap: int, acquire_timeout: float) -> None:
        self._dsn = dsn
        self._cap = cap
        self._acquire_timeout = acquire_timeout
        self._idle: dict[Key, list[asyncpg.Connection]] = {}
        self._keys: dict[int, Key] = {}
        self._all: dict[int, asyncpg.Connection] = {}  # every open connection, busy or idle
        self._live = 0
        self._changed = asyncio.Condition()

    def dsn(self, role: str, database: str) -> str:
        return self._dsn(role, database)

    @property
    def open_connections(self) -> int:
        return self._live

    async def acquire(self, role: str, database: str) -> asyncpg.Connection:
        key = (role, database)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._acquire_timeout
        async with self._changed:
            while True:
                if idle := self._idle.get(key):
                    return idle.pop()
                if self._live < self._cap:
                    self._live += 1
                    break
                if await self._close_one_idle():
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ApiError(
                        "StatementTimeoutException",
                        "Connection is not available, request timed out",
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        try:
            conn = await self._connect(role, database)
        except BaseException:
            await self._forget()
            raise
        self._keys[id(conn)] = key
        self._all[id(conn)] = conn
        return conn

    async def release(self, conn: asyncpg.Connection) -> None:
        """Reset the session and keep the connection for reuse (close it if that fails)."""
        key = self._keys.get(id(conn))
        if conn.is_closed() or key is None:
            await self.discard(conn)
            return
        try:
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
            await conn.execute("DISCARD ALL")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await self.discard(conn)
            return
        async with self._changed:
            self._idle.setdefault(key, []).append(conn)
            self._changed.notify()

    async def discard(self, conn: asyncpg.Connection) -> None:
        """Close a connection that must not be reused."""
        if self._keys.pop(id(conn), None) is None:
            return
        self._all.pop(id(conn), None)
        conn.terminate()
        await self._forget()

    async def close(self) -> None:
        """Close idle connections politely and terminate busy ones (detached statements)."""
        async with self._changed:
            idle = {id(c) for conns in self._idle.values() for c in conns}
            for key, conn in list(self._all.items()):
                if key in idle:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
                else:
                    conn.terminate()
            self._idle.clear()
            self._keys.clear()
            self._all.clear()
            self._live = 0

    async def _close_one_idle(self) -> bool:
        for conns in self._idle.values():
            if conns:
                conn = conns.pop()
                self._keys.pop(id(conn), None)
                self._all.pop(id(conn), None)
                self._live -= 1
                conn.terminate()
                return True
        return False

    async def _forget(self) -> None:
        async with self._changed:
            self._live -= 1
            self._changed.notify()

    async def _connect(self, role: str, database: str) -> asyncpg.Connection:
        if "\0" in role or "\0" in database:
            # Startup-packet fields are NUL-terminated: a NUL would add parameters (user,
            # options). The service validates ``database`` first; this is the last line.
            raise ApiError("ValidationException", "Invalid database name")
        try:
            conn = await asyncpg.connect(
                self._dsn(role, database),
                user=role,  # explicit: never parsed back out of a DSN built from a request
                database=database,
                timeout=max(self._acquire_timeout, 1.0),
                statement_cache_size=0,  # DISCARD ALL drops prepared statements after each call
                server_settings={"TimeZone": "UTC", "application_name": "tenantdb-dataapi"},
            )
        except asyncpg.PostgresError as exc:
            raise database_error(exc) from exc
        except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
            raise ApiError("DatabaseUnavailableException", "Database unavailable") from exc
        if conn.get_settings().session_authorization != role:
            conn.terminate()  # the role comes from the secret alone, whatever the request said
            raise ApiError("InternalServerErrorException", "Internal error")
        try:
            for name in TEXT_TYPES:
                await conn.set_type_codec(
                    name, schema="pg_catalog", encoder=str, decoder=str, format="text"
                )
            await conn.set_type_codec(
                "float4", schema="pg_catalog", encoder=str, decoder=float, format="text"
            )
        except BaseException:
            conn.terminate()
            raise
        return conn
