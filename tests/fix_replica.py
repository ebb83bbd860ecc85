"""A real streaming standby of the session server, and Databases that route reads to it.

* ``standby`` (session): ``pg_basebackup -R`` of ``local_pg`` started as a hot standby on
  another loopback port (``tenantdb.local.standby.LocalStandby``); it replays every database
  of the session server (the ``items`` schema and the migrated hospitality schema alike).
* ``make_replica_db``: ``Database(..., replicas=[standby])`` on a ``LocalDatabase``, opened,
  with a fast monitor, and closed afterwards; replay is resumed if a test paused it.
* ``SERVER``: a query that says which server answered (``pg_is_in_recovery()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from polling import eventually

from tenantdb.database import Database
from tenantdb.drivers.asyncpg.replicas import ReplicaOptions, parse_lsn
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.standby import LocalStandby
from tenantdb.query import Command, Query


class Standby(msgspec.Struct, frozen=True):
    in_recovery: bool


SERVER: Query[Standby] = Query(
    name="InRecovery",
    command=Command.ONE,
    sql="SELECT pg_is_in_recovery()",
    data_api_sql="SELECT pg_is_in_recovery()",
    row=Standby,
    from_record=lambda r: Standby(r[0]),
)
"""``Standby(True)`` on the standby, ``Standby(False)`` on the primary."""


@pytest.fixture(scope="session")
async def standby(local_pg: LocalPostgres) -> AsyncIterator[LocalStandby]:
    async with LocalStandby(local_pg) as replica:
        yield replica


MakeReplicaDb = Callable[..., Awaitable[Database]]
CATCH_UP_CAP = 60.0
"""Seconds the standby may take to replay what earlier tests wrote (100k-row fixtures on a
shared 2-core machine), before a test starts."""


async def nudge_wal(database: LocalDatabase) -> int:
    """The primary's WAL insert position, then one more WAL record after it.

    An insert position at a WAL page boundary points past the next page's header: a standby
    reaches it only with the next record, which an idle test server may not write for a
    while (docs/scale.md, "Limits"). The non-transactional logical message is that record.
    """
    conn = await asyncpg.connect(database.superuser_dsn)
    try:
        written = parse_lsn(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
        await conn.execute("SELECT pg_logical_emit_message(false, 'tenantdb-test', 'nudge')")
    finally:
        await conn.close()
    return written


@pytest.fixture
async def make_replica_db(standby: LocalStandby) -> AsyncIterator[MakeReplicaDb]:
    """``await make_replica_db(database, max_lag=…, …)``: an open Database whose read-only
    blocks may go to the standby, once the monitor has seen the standby caught up."""
    made: list[Database] = []

    async def factory(database: LocalDatabase, **options: Any) -> Database:
        options.setdefault("poll_interval", 0.05)
        options.setdefault("max_lag", 30.0)
        db = Database(
            admin=database.admin_dsn,
            tenant=database.tenant_dsn,
            replicas=[f"postgresql://{standby.host}:{standby.port}"],
            replica_options=ReplicaOptions(**options),
        )
        made.append(db)
        await db.open()

        # Everything written so far (fixtures, migrations), not just what was flushed: the
        # session server runs with synchronous_commit=off.
        written = await nudge_wal(database)

        async def caught_up() -> bool:
            return all(
                r.state == "ok" and parse_lsn(r.replay_lsn or "0/0") >= written
                for r in db.replica_status()
            )

        await eventually(caught_up, cap=CATCH_UP_CAP)
        return db

    yield factory
    await standby.resume()
    for db in made:
        await db.close()
