"""Sizes of a run: the full suite (minutes) and the quick CI gate (seconds)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """How much each section measures. ``quick`` keeps every ratio but few rounds, small data."""

    quick: bool
    # seed data (tenantdb.seed): the main database of every section
    tenants: int
    bookings_per_tenant: int
    # section 1: single-task tenant transaction vs the peers
    tx_epochs: int  # fresh pools per epoch (re-draws which CPU each backend shares)
    tx_rounds: int  # interleaved rounds per epoch
    tx_ops: int  # requests per variant per round
    proxy_epochs: int
    proxy_rounds: int
    proxy_ops: int
    # section 2: throughput under concurrency
    levels: tuple[int, ...]
    conc_requests: int  # requests per variant per round (at least 4 per task)
    conc_rounds: int
    # section 3: decode and memory
    decode_rounds: int
    decode_ops: int
    memory_rows: int
    # section 4: bulk insert
    copy_rows: int
    executemany_rows: int
    copy_rounds: int
    # section 5: Data API lane
    dataapi_many_rounds: int
    dataapi_one_rounds: int
    # section 6: per-tenant flatness (other tenants' rows)
    flat_sizes: tuple[int, ...]
    # section 7: cold start (child processes)
    cold_rounds: int
    # section 8: metrics + logging overhead
    observe_rounds: int
    observe_ops: int
    # section 9: migrations and seeding
    admin_rounds: int
    admin_seed_tenants: int
    admin_seed_bookings: int


FULL = Config(
    quick=False,
    tenants=10,
    bookings_per_tenant=10_000,
    tx_epochs=5,
    tx_rounds=6,
    tx_ops=100,
    proxy_epochs=3,
    proxy_rounds=4,
    proxy_ops=25,
    levels=(1, 4, 16, 64, 256),
    conc_requests=1_000,
    conc_rounds=7,
    decode_rounds=15,
    decode_ops=20,
    memory_rows=100_000,
    copy_rows=50_000,
    executemany_rows=5_000,
    copy_rounds=5,
    dataapi_many_rounds=41,
    dataapi_one_rounds=301,
    flat_sizes=(10_000, 1_000_000),
    cold_rounds=9,
    observe_rounds=15,
    observe_ops=200,
    admin_rounds=5,
    admin_seed_tenants=10,
    admin_seed_bookings=2_000,
)

QUICK = Config(
    quick=True,
    tenants=2,
    bookings_per_tenant=1_200,
    tx_epochs=2,
    tx_rounds=3,
    tx_ops=30,
    proxy_epochs=2,
    proxy_rounds=3,
    proxy_ops=10,
    levels=(1, 16, 64, 256),
    conc_requests=400,
    conc_rounds=3,
    decode_rounds=7,
    decode_ops=10,
    memory_rows=2_000,
    copy_rows=10_000,
    executemany_rows=1_000,
    copy_rounds=5,
    dataapi_many_rounds=9,
    dataapi_one_rounds=61,
    flat_sizes=(),
    cold_rounds=3,
    observe_rounds=7,
    observe_ops=100,
    admin_rounds=0,
    admin_seed_tenants=0,
    admin_seed_bookings=0,
)
