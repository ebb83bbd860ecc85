"""Section 2: throughput and latency under concurrency on a 10-connection pool.

1, 4, 16, 64, 256 concurrent tasks share one pool of 10 connections; each round sends the same
number of requests through tenantdb (``db.tenant(ctx)`` + ``get_booking``), the raw-asyncpg
plain transaction (acquire, ``transaction()``, ``fetchrow``; no isolation), the hand-written
RLS pattern, and tenantdb with the ``SET LOCAL`` BEGIN script (``sdk_variants``), in rotated
order. Requests/s is requests over the round's wall time; p50/p99 are per-request
latencies including the wait for a connection. Figures are medians over the rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import peers, sdk_variants, timing
from .env import Env
from .progress import Progress

POOL_SIZE = 10
VARIANTS = ("sdk", "raw_tx", "handwritten", "sdk_set_local")


async def _round(fn: Callable[[], Awaitable[None]], tasks: int, requests: int) -> dict[str, Any]:
    per_task = max(requests // tasks, 4)
    latencies: list[float] = []

    async def worker() -> None:
        for _ in range(per_task):
            t0 = time.perf_counter()
            await fn()
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    wall = time.perf_counter() - start
    return {
        "rps": len(latencies) / wall,
        "p50_ms": timing.quantile(latencies, 0.50) * 1e3,
        "p99_ms": timing.quantile(latencies, 0.99) * 1e3,
    }


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg = env.cfg
    levels: dict[str, Any] = {}
    async with peers.opened(
        env.pg.admin_dsn,
        env.pg.tenant_dsn,
        tenant=env.tenant,
        booking=env.booking_id,
        pool_size=POOL_SIZE,
    ) as p:
        fns = {name: getattr(p, name) for name in VARIANTS[:3]}
        fns["sdk_set_local"] = p.sdk
        for fn in fns.values():  # warm-up: every connection's statement cache
            await _round(fn, POOL_SIZE, POOL_SIZE * 20)
        for tasks in cfg.levels:
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
            for r in range(cfg.conc_rounds):
                shift = r % len(VARIANTS)
                for name in VARIANTS[shift:] + VARIANTS[:shift]:
                    requests = max(cfg.conc_requests, tasks * 4)
                    script = "set_local" if name == "sdk_set_local" else "shipped"
                    with sdk_variants.begin_script(script):
                        samples[name].append(await _round(fns[name], tasks, requests))
            level = {
                name: {
                    key: statistics.median(s[key] for s in samples[name])
                    for key in ("rps", "p50_ms", "p99_ms")
                }
                for name in VARIANTS
            }
            level["sdk_rps_over_raw_tx"] = level["sdk"]["rps"] / level["raw_tx"]["rps"]
            level["sdk_rps_over_handwritten"] = level["sdk"]["rps"] / level["handwritten"]["rps"]
            level["set_local_rps_over_sdk"] = level["sdk_set_local"]["rps"] / level["sdk"]["rps"]
            levels[str(tasks)] = level
            progress.advance()
    worst = min(level["sdk_rps_over_raw_tx"] for level in levels.values())
    return {"pool_size": POOL_SIZE, "levels": levels, "min_sdk_rps_over_raw_tx": worst}
