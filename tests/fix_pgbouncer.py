"""pgbouncer (Debian's package) in transaction mode over the session's embedded server.

The binary is not a Python dependency: ``.ci/run`` installs it when it runs as root and it is
missing. Without it every test that asks for ``pgbouncer`` is skipped with the reason below,
so the README's test line still passes on a machine without root.

* ``pgbouncer`` (session): transaction pooling, 5 server connections per database and role.
* ``pgbouncer_one``: the same with ONE server connection, so consecutive clients are known to
  share a backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantdb.local import LocalPostgres
from tenantdb.local.pgbouncer import LocalPgBouncer, find_pgbouncer, pgbouncer_version

PGBOUNCER = find_pgbouncer()
NO_PGBOUNCER = (
    "pgbouncer is not installed: apt-get install pgbouncer (.ci/run does it as root); "
    "the transaction-pooler tests need the real binary"
)
VERSION = pgbouncer_version(PGBOUNCER) if PGBOUNCER is not None else (0, 0)


@pytest.fixture(scope="session")
async def pgbouncer(local_pg: LocalPostgres) -> AsyncIterator[LocalPgBouncer]:
    if PGBOUNCER is None:
        pytest.skip(NO_PGBOUNCER)
    async with LocalPgBouncer(local_pg, pool_size=5) as bouncer:
        yield bouncer


@pytest.fixture
async def pgbouncer_one(local_pg: LocalPostgres) -> AsyncIterator[LocalPgBouncer]:
    if PGBOUNCER is None:
        pytest.skip(NO_PGBOUNCER)
    async with LocalPgBouncer(local_pg, pool_size=1) as bouncer:
        yield bouncer
