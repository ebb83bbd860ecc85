"""Section 8: what metrics + logging cost on a bare tenant query.

structlog is configured as a service runs it (INFO and above, loggers cached), so each query's
and transaction's debug event is a filtered no-op call. Two measurements:

* end to end: ``db.tenant(ctx)`` + ``get_booking`` with the default ``Metrics`` vs a
  ``Database`` whose metrics do nothing (``record_query``/``record_transaction`` overridden),
  interleaved, single task, loopback (ratio of medians; the loopback noise is larger than the
  effect, so this one is reported)
* decomposed: the CPU time of the exact calls one transaction makes (one ``record_query`` and
  one ``record_transaction``, with the structlog event), the fastest of 7 tight loops, as a
  share of the median bare transaction measured just before (stable enough to gate)
"""

from __future__ import annotations

import time
from typing import Any

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.observe import Metrics

from . import calls, timing
from .env import Env
from .progress import Progress


class NullMetrics(Metrics):
    """Counts nothing, logs nothing: the baseline without observability."""

    def record_query(self, **_: Any) -> None:  # type: ignore[override]
        return None

    def record_transaction(self, **_: Any) -> None:  # type: ignore[override]
        return None


def _record_cost(tenant: str, calls_per_sample: int = 5_000) -> float:
    """Seconds of one transaction's observability calls: the fastest of 7 tight loops (a CPU
    microbenchmark: other jobs only ever add time to it, so the minimum is the estimate)."""
    metrics = Metrics()
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls_per_sample):
            metrics.record_query(
                lane="tenant",
                tenant_id=tenant,
                query="GetBooking",
                rows=1,
                duration_s=0.0003,
                sqlstate=None,
            )
            metrics.record_transaction(
                lane="tenant",
                tenant_id=tenant,
                duration_s=0.0004,
                ok=True,
                context_sets=1,
            )
        samples.append((time.perf_counter() - start) / calls_per_sample)
    return min(samples)


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg = env.cfg
    options = PoolOptions(min_size=2, max_size=2)
    ctx = TenantContext(tenant_id=env.tenant)
    async with (
        Database(tenant=env.pg.tenant_dsn, pool=options) as observed,
        Database(tenant=env.pg.tenant_dsn, pool=options, metrics=NullMetrics()) as bare,
    ):

        async def with_metrics() -> None:
            async with observed.tenant(ctx) as tx:
                await calls.get_booking(tx, env.booking_id)

        async def without_metrics() -> None:
            async with bare.tenant(ctx) as tx:
                await calls.get_booking(tx, env.booking_id)

        us = {
            k: v * 1e6
            for k, v in timing.medians(
                await timing.interleaved(
                    {"with_metrics": with_metrics, "without_metrics": without_metrics},
                    rounds=cfg.observe_rounds,
                    ops=cfg.observe_ops,
                )
            ).items()
        }
        progress.advance()
        record_us = _record_cost(env.tenant) * 1e6
    return {
        "us": us,
        "end_to_end_ratio": us["with_metrics"] / us["without_metrics"],
        "record_calls_us_per_tx": record_us,
        "overhead_share": record_us / us["without_metrics"],
    }
