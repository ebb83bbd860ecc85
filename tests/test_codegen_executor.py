"""AsyncpgExecutor over a pool and over a connection: every Executor method, both targets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from hospitality import tenants

from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor, _rows_from_status
from tenantdb.errors import ConfigurationError
from tenantdb.local import LocalDatabase
from tenantdb.query import Column, Command, Param, Query


@pytest.fixture
async def pool(codegen_db: LocalDatabase) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(codegen_db.admin_dsn, min_size=1, max_size=2)
    await p.execute(
        "CREATE TABLE IF NOT EXISTS exec_probe (n int PRIMARY KEY, label text NOT NULL);"
        "TRUNCATE exec_probe"
    )
    yield p
    await p.execute("DROP TABLE exec_probe")
    await p.close()


def _row(r: object) -> tuple[int, str]:
    n, label = r  # type: ignore[misc]
    return (n, label)


_COLS = (Column(name="n", pg_type="int4"), Column(name="label", pg_type="text"))
INSERT = Query[None](
    name="Insert", command=Command.EXEC, sql="INSERT INTO exec_probe VALUES ($1, $2)",
    data_api_sql="", params=(Param(name="n", number=1, pg_type="int4"),),
)  # fmt: skip
ROWS = Query[tuple[int, str]](
    name="Rows", command=Command.MANY, data_api_sql="", columns=_COLS, from_record=_row,
    sql="SELECT n, label FROM exec_probe WHERE n >= $1 ORDER BY n",
)  # fmt: skip
COUNT_UPDATE = Query[None](
    name="Upd", command=Command.EXECROWS, data_api_sql="",
    sql="UPDATE exec_probe SET label = label || $1",
)  # fmt: skip
COPY = Query[None](
    name="Copy", command=Command.COPYFROM, data_api_sql="", sql="",
    copy_table="public.exec_probe", copy_columns=("n", "label"),
)  # fmt: skip


@pytest.mark.parametrize("target", ["pool", "connection"])
async def test_every_method_on_pool_and_connection(pool: asyncpg.Pool, target: str) -> None:
    async with pool.acquire() as conn:
        ex = AsyncpgExecutor(pool if target == "pool" else conn)
        await ex.exec(INSERT, (1, "a"))
        assert await ex.copy(COPY, [(2, "b"), (3, "c"), (4, "d")]) == 3
        await ex.batch_exec(INSERT, [(5, "e"), (6, "f")])
        await ex.batch_exec(INSERT, [])
        assert await ex.execrows(COUNT_UPDATE, ("!",)) == 6
        assert await ex.one(ROWS, (6,)) == (6, "f!")
        assert await ex.one(ROWS, (99,)) is None
        assert [r[0] for r in await ex.many(ROWS, (3,))] == [3, 4, 5, 6]
        assert [r[0] async for r in ex.stream(ROWS, (0,), page_size=2)] == [1, 2, 3, 4, 5, 6]
        assert await ex.batch_one(ROWS, [(6,), (7,), (1,)]) == [(6, "f!"), None, (1, "a!")]
        assert [[r[0] for r in rows] for rows in await ex.batch_many(ROWS, [(5,), (7,)])] == [
            [5, 6],
            [],
        ]


async def test_stream_inside_an_open_transaction_uses_it(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        ex = AsyncpgExecutor(conn)
        await ex.exec(INSERT, (1, "in-tx"))
        assert [r async for r in ex.stream(ROWS, (0,))] == [(1, "in-tx")]
        assert conn.is_in_transaction()


async def test_stream_on_a_connection_without_transaction_opens_one(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        ex = AsyncpgExecutor(conn)
        await ex.exec(INSERT, (1, "x"))
        assert [r async for r in ex.stream(ROWS, (0,))] == [(1, "x")]
        assert not conn.is_in_transaction()


async def test_generated_functions_run_on_a_pool(pool: asyncpg.Pool) -> None:
    ex = AsyncpgExecutor(pool)
    t = await tenants.create_tenant(ex, slug=f"p-{uuid.uuid4().hex[:8]}", name="P", settings=[])
    assert t is not None and t.settings == []
    assert [x.id async for x in tenants.iter_list_tenants(ex) if x.id == t.id] == [t.id]
    assert await tenants.delete_tenant(ex, id=t.id) == 1


INSERT_RETURNING = Query[tuple[int, str]](
    name="InsertReturning", command=Command.BATCHONE, data_api_sql="", columns=_COLS,
    from_record=_row, sql="INSERT INTO exec_probe VALUES ($1, $2) RETURNING n, label",
)  # fmt: skip
INSERT_RETURNING_MANY = Query[tuple[int, str]](
    name="InsertReturningMany", command=Command.BATCHMANY, data_api_sql="", columns=_COLS,
    from_record=_row, sql="INSERT INTO exec_probe VALUES ($1, $2) RETURNING n, label",
)  # fmt: skip


@pytest.mark.parametrize("target", ["pool", "connection"])
async def test_a_failing_batch_writes_nothing(pool: asyncpg.Pool, target: str) -> None:
    # The third row repeats the first key: the whole batch fails and none of it stays.
    rows = [(10, "a"), (11, "b"), (10, "dup")]
    async with pool.acquire() as conn:
        ex = AsyncpgExecutor(pool if target == "pool" else conn)
        for call in (
            lambda: ex.batch_exec(INSERT, rows),
            lambda: ex.batch_one(INSERT_RETURNING, rows),
            lambda: ex.batch_many(INSERT_RETURNING_MANY, rows),
        ):
            with pytest.raises(asyncpg.UniqueViolationError):
                await call()
            assert await conn.fetchval("SELECT count(*) FROM exec_probe") == 0
        assert not conn.is_in_transaction()
        assert await ex.batch_one(INSERT_RETURNING, rows[:2]) == [(10, "a"), (11, "b")]


async def test_misused_queries_raise_configuration_errors(pool: asyncpg.Pool) -> None:
    ex = AsyncpgExecutor(pool)
    with pytest.raises(ConfigurationError, match="query Insert is not a :copyfrom query"):
        await ex.copy(INSERT, [(1, "a")])
    with pytest.raises(ConfigurationError, match=r"query Insert \(exec\) returns no rows"):
        await ex.many(INSERT, (1, "a"))


@pytest.mark.parametrize(
    ("tag", "count"),
    [("UPDATE 3", 3), ("INSERT 0 5", 5), ("DELETE 0", 0), ("COPY 7", 7), ("SELECT 12", 12),
     ("CREATE TABLE", 0)],
)  # fmt: skip
def test_rows_from_command_tag(tag: str, count: int) -> None:
    assert _rows_from_status(tag) == count
