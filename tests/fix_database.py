"""Fixtures for the runtime tests: a small RLS schema, hand-built queries, a counting TCP proxy.

* ``items_pg`` (session): a database on the session server with ``items`` (tenant-scoped PK
  and unique name, RLS enabled and forced, one ``FOR ALL`` policy with ``nullif`` and a
  ``::uuid`` cast) and ``notes`` (composite FK to items). Tests that write use fresh tenant ids
  (``new_tenant()``), so they never disturb each other.
* ``make_db``: builds ``tenantdb.Database`` objects on a DSN pair and closes them afterwards.
* ``PgProxy``: a TCP proxy between asyncpg and PostgreSQL that counts protocol round trips
  (one per simple ``Query`` message and one per ``Sync``), can cut every connection, and can
  hold client messages (a stalled network).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg
import msgspec
import pytest

from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.query import Command, Param, Query

ITEMS_SCHEMA = """
CREATE TABLE items (
    tenant_id uuid    NOT NULL,
    id        integer NOT NULL,
    name      text    NOT NULL,
    secret    text    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE TABLE notes (
    tenant_id uuid    NOT NULL,
    id        integer NOT NULL,
    item_id   integer NOT NULL,
    body      text    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES items (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE FUNCTION current_tenant() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid $$;
CREATE POLICY tenant_isolation ON items FOR ALL
    USING (tenant_id = (SELECT current_tenant()))
    WITH CHECK (tenant_id = (SELECT current_tenant()));
CREATE POLICY tenant_isolation ON notes FOR ALL
    USING (tenant_id = (SELECT current_tenant()))
    WITH CHECK (tenant_id = (SELECT current_tenant()));
ALTER FUNCTION current_tenant() OWNER TO app_owner;
ALTER TABLE items OWNER TO app_owner;
ALTER TABLE notes OWNER TO app_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON items, notes TO app_tenant;
CREATE SEQUENCE item_seq;
ALTER SEQUENCE item_seq OWNER TO app_owner;
GRANT USAGE ON SEQUENCE item_seq TO app_tenant;
"""


def new_tenant() -> str:
    """A fresh canonical tenant id (uuid4)."""
    return str(uuid.uuid4())


class Item(msgspec.Struct, frozen=True):
    tenant_id: str
    id: int
    name: str


class Count(msgspec.Struct, frozen=True):
    n: int


class Session(msgspec.Struct, frozen=True):
    """What a transaction sees of its backend (for I-12 / I-15 checks)."""

    pid: int
    tenant: str | None
    user: str | None
    extra: str | None
    current_user: str
    session_user: str
    session_app_settings: int
    read_only: str
    isolation: str


def _item(record: Sequence[Any]) -> Item:
    return Item(str(record[0]), record[1], record[2])


def _count(record: Sequence[Any]) -> Count:
    return Count(record[0])


def _param(name: str, number: int, pg_type: str) -> Param:
    return Param(name=name, number=number, pg_type=pg_type)


def _q(name: str, command: Command, sql: str, **kw: Any) -> Query[Any]:
    return Query(name=name, command=command, sql=sql, data_api_sql=sql, **kw)


LIST_ITEMS: Query[Item] = _q(
    "ListItems",
    Command.MANY,
    "SELECT tenant_id, id, name FROM items ORDER BY tenant_id, id",
    row=Item,
    from_record=_item,
)
LIST_ITEMS_FROM: Query[Item] = _q(
    "ListItemsFrom",
    Command.MANY,
    "SELECT tenant_id, id, name FROM items WHERE id >= $1 ORDER BY tenant_id, id",
    params=(_param("min_id", 1, "int4"),),
    row=Item,
    from_record=_item,
)
GET_ITEM: Query[Item] = _q(
    "GetItem",
    Command.ONE,
    "SELECT tenant_id, id, name FROM items WHERE id = $1",
    params=(_param("id", 1, "int4"),),
    row=Item,
    from_record=_item,
)
GET_ITEM_OF: Query[Item] = _q(
    "GetItemOf",
    Command.ONE,
    "SELECT tenant_id, id, name FROM items WHERE tenant_id = $1 AND id = $2",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4")),
    row=Item,
    from_record=_item,
)
COUNT_ITEMS: Query[Count] = _q(
    "CountItems", Command.ONE, "SELECT count(*) FROM items", row=Count, from_record=_count
)
INSERT_ITEM: Query[Any] = _q(
    "InsertItem",
    Command.EXEC,
    "INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4"), _param("name", 3, "text")),
)
UPSERT_ITEM: Query[Any] = _q(
    "UpsertItem",
    Command.EXECROWS,
    "INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)"
    " ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4"), _param("name", 3, "text")),
)
RENAME_ITEM: Query[Any] = _q(
    "RenameItem",
    Command.EXECROWS,
    "UPDATE items SET name = $2 WHERE id = $1",
    params=(_param("id", 1, "int4"), _param("name", 2, "text")),
)
RENAME_ITEM_OF: Query[Any] = _q(
    "RenameItemOf",
    Command.EXECROWS,
    "UPDATE items SET name = $3 WHERE tenant_id = $1 AND id = $2",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4"), _param("name", 3, "text")),
)
MOVE_ALL_ITEMS: Query[Any] = _q(
    "MoveAllItems",
    Command.EXECROWS,
    "UPDATE items SET tenant_id = $1",
    params=(_param("tenant_id", 1, "uuid"),),
)
DELETE_ITEM: Query[Any] = _q(
    "DeleteItem",
    Command.EXECROWS,
    "DELETE FROM items WHERE id = $1",
    params=(_param("id", 1, "int4"),),
)
DELETE_ITEM_OF: Query[Any] = _q(
    "DeleteItemOf",
    Command.EXECROWS,
    "DELETE FROM items WHERE tenant_id = $1 AND id = $2",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4")),
)
INSERT_NOTE: Query[Any] = _q(
    "InsertNote",
    Command.EXEC,
    "INSERT INTO notes (tenant_id, id, item_id, body) VALUES ($1, $2, $3, $4)",
    params=(
        _param("tenant_id", 1, "uuid"),
        _param("id", 2, "int4"),
        _param("item_id", 3, "int4"),
        _param("body", 4, "text"),
    ),
)
COPY_ITEMS: Query[Any] = _q(
    "CopyItems",
    Command.COPYFROM,
    "INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4"), _param("name", 3, "text")),
    copy_table="public.items",
    copy_columns=("tenant_id", "id", "name"),
)
BATCH_INSERT: Query[Any] = _q(
    "BatchInsertItems",
    Command.BATCHEXEC,
    "INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)",
    params=(_param("tenant_id", 1, "uuid"), _param("id", 2, "int4"), _param("name", 3, "text")),
)
TRUNCATE_ITEMS: Query[Any] = _q("TruncateItems", Command.EXEC, "TRUNCATE items")
SLEEP: Query[Any] = _q(
    "Sleep", Command.EXEC, "SELECT pg_sleep($1)", params=(_param("seconds", 1, "float8"),)
)
SET_PLAN_CACHE_MODE: Query[Any] = _q(
    "SetPlanCacheMode",
    Command.EXEC,
    "SELECT set_config('plan_cache_mode', $1, true)",
    params=(_param("mode", 1, "text"),),
)
SESSION: Query[Session] = _q(
    "Session",
    Command.ONE,
    """SELECT pg_backend_pid(),
              current_setting('app.current_tenant_id', true),
              current_setting('app.current_user_id', true),
              current_setting('app.extra', true),
              current_user::text, session_user::text,
              (SELECT count(*)::int FROM pg_settings
                WHERE source = 'session' AND name LIKE 'app.%'),
              current_setting('transaction_read_only'),
              current_setting('transaction_isolation')""",
    row=Session,
    from_record=lambda r: Session(*r),
)


@pytest.fixture(scope="session")
async def items_pg(local_pg: LocalPostgres) -> AsyncIterator[LocalDatabase]:
    """A database with the ``items``/``notes`` RLS schema, shared by the session."""
    name = "rls_items"
    await local_pg.drop_database(name)
    db = await local_pg.create_database(name)
    conn = await asyncpg.connect(db.superuser_dsn)
    try:
        await conn.execute(ITEMS_SCHEMA)
    finally:
        await conn.close()
    yield db
    await local_pg.drop_database(name)


MakeDb = Callable[..., Database]


@pytest.fixture
async def make_db(items_pg: LocalDatabase) -> AsyncIterator[MakeDb]:
    """``make_db(**kw)`` -> a Database on ``items_pg`` (closed at the end of the test).

    ``pool=`` takes PoolOptions fields as a dict for brevity; ``tenant=``/``admin=`` override
    the DSNs (e.g. a proxy's).
    """
    made: list[Database] = []

    def factory(**kw: Any) -> Database:
        kw.setdefault("admin", items_pg.admin_dsn)
        kw.setdefault("tenant", items_pg.tenant_dsn)
        pool = kw.pop("pool", {})
        kw["pool"] = PoolOptions(**pool)
        db = Database(**kw)
        made.append(db)
        return db

    yield factory
    for db in made:
        await db.close()


async def admin_rows(dsn: str, tenant_id: str) -> list[tuple[Any, ...]]:
    """Every items row of ``tenant_id``, read as admin (BYPASSRLS), for before/after checks."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tenant_id::text, id, name, secret FROM items WHERE tenant_id = $1 ORDER BY id",
            tenant_id,
        )
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


async def seed_items(dsn: str, tenant_id: str, count: int) -> None:
    """Insert ``count`` items for ``tenant_id`` as admin."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO items (tenant_id, id, name, secret) VALUES ($1, $2, $3, $4)",
            [(tenant_id, i, f"item-{i}", f"secret of {tenant_id}") for i in range(1, count + 1)],
        )
    finally:
        await conn.close()


# -- a counting TCP proxy ------------------------------------------------------------------------
_SPECIAL_CODES = {80877103, 80877104, 80877102}  # SSLRequest, GSSENCRequest, CancelRequest


class PgProxy:
    """Forward 127.0.0.1:<port> to PostgreSQL, counting client round trips.

    A round trip is one frontend message that makes the server answer ReadyForQuery: a simple
    ``Query`` ('Q') or a ``Sync`` ('S'). ``messages`` keeps the message type letters in order.
    """

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.round_trips = 0
        self.messages: list[str] = []
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.delay = 0.0
        """Seconds each client message waits before it is forwarded (a slow link)."""
        self.cut_after: bytes | None = None
        """Cut every connection right after forwarding a simple query containing this (e.g.
        ``b"COMMIT"``: the server runs it, the client never hears the answer)."""

    def hold(self) -> None:
        """Stop forwarding client messages (a stalled network) until ``flow()``."""
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def dsn(self, role: str, database: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    def reset(self) -> None:
        self.round_trips = 0
        self.messages.clear()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.flow()
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        """Close every proxied connection abruptly (a network failure)."""
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.ensure_future(self._client_to_server(reader, up_writer)),
            asyncio.ensure_future(_pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()
        self._tasks.difference_update(pumps)

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # Untyped startup-phase packets first (SSLRequest, then StartupMessage).
        while True:
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            body = await reader.readexactly(length - 8)
            writer.write(head + body)
            if code not in _SPECIAL_CODES or code == 80877102:
                break
        while True:
            head = await reader.readexactly(5)
            kind = chr(head[0])
            (length,) = struct.unpack("!i", head[1:])
            body = await reader.readexactly(length - 4)
            await self._flowing.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            self.messages.append(kind)
            if kind in "QS":
                self.round_trips += 1
            writer.write(head + body)
            if kind == "Q" and self.cut_after is not None and self.cut_after in body:
                await writer.drain()
                self.cut_after = None
                self.cut()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@pytest.fixture
async def pg_proxy(local_pg: LocalPostgres) -> AsyncIterator[PgProxy]:
    """A counting proxy in front of the session server."""
    proxy = PgProxy(local_pg.host, local_pg.port)
    await proxy.start()
    yield proxy
    await proxy.stop()
