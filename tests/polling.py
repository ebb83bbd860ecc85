"""Waiting for a condition instead of sleeping a fixed time (tests stay green on a loaded CI box).

A fixed ``sleep(0.3)`` "so the slow query is on the wire" races the scheduler; these helpers poll
for the observable state with a generous cap (10 s) and return as soon as it holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import asyncpg

from tenantdb.local import LocalPostgres

__all__ = ("POLL_CAP", "eventually", "wait_for_active_query")

POLL_CAP = 10.0
"""Seconds a poll may take before the test fails: far above any healthy latency."""


async def eventually(
    check: Callable[[], Awaitable[bool]], *, cap: float = POLL_CAP, every: float = 0.02
) -> None:
    """Poll ``check`` until it returns True (``TimeoutError`` after ``cap`` seconds)."""
    with anyio.fail_after(cap):
        while not await check():  # noqa: ASYNC110 - the condition is external state
            await anyio.sleep(every)


async def wait_for_active_query(
    local_pg: LocalPostgres, database: str, marker: str, *, cap: float = POLL_CAP
) -> None:
    """Wait until a backend of ``database`` is running a statement whose text has ``marker``."""
    conn = await asyncpg.connect(local_pg.dsn("postgres", database))
    try:

        async def running() -> bool:
            n = await conn.fetchval(
                "select count(*) from pg_stat_activity "
                "where datname = $1 and state = 'active' and pid <> pg_backend_pid() "
                "and strpos(query, $2) > 0",
                database,
                marker,
            )
            return bool(n)

        await eventually(running, cap=cap)
    finally:
        await conn.close()
