"""Section 1: one tenant transaction with one ``:one`` query, tenantdb vs every peer.

Single task, sequential requests, on loopback (a round trip costs about as much as the SDK's
own Python work) and through the delay proxy (a network: the number of round trips dominates).
Each epoch opens fresh pools for every variant (which CPU a pool's backends share with this
process is fixed for a pool's life and swings results on a small machine), warms up, then runs
interleaved rounds; figures are medians of the per-round means over all epochs.
Every run also prices the BEGIN round trip: the SDK's exact wire shape by hand (``wire``) and
the SDK itself with candidate BEGIN scripts (``begin_script``: without the session reset of
docs/security.md, with ``SET LOCAL``). The full run adds ``tenant_batch`` of five queries vs
five transactions.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg import sql as asyncpg_sql
from tenantdb.drivers.asyncpg.lane import PoolOptions

from . import calls, peers, sdk_variants, timing
from .env import DelayProxy, Env, round_trip_us
from .progress import Progress

POOL_SIZE = 4
PEERS = ("raw_tx", "handwritten", "sqla_core", "sqla_orm", "psycopg")


async def _measure(
    env: Env,
    admin_dsn: str,
    tenant_dsn: str,
    *,
    epochs: int,
    rounds: int,
    ops: int,
    progress: Progress,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in peers.NAMES}
    for _ in range(epochs):
        async with peers.opened(
            admin_dsn, tenant_dsn, tenant=env.tenant, booking=env.booking_id, pool_size=POOL_SIZE
        ) as p:
            got = await timing.interleaved(p.variants(), rounds=rounds, ops=ops, cpu=cpu)
        for name, values in got.items():
            samples[name].extend(v * 1e6 for v in values)
        progress.advance()
    return samples


def _ratios(us: dict[str, float]) -> dict[str, float]:
    sdk = us["sdk"]
    out = {"sdk_vs_raw_tx": sdk / us["raw_tx"], "sdk_vs_raw_fetchrow": sdk / us["raw_fetchrow"]}
    for name in PEERS[1:]:
        out[f"{name}_over_sdk"] = us[name] / sdk  # > 1: tenantdb is that many times faster
    out["sqla_best_over_sdk"] = min(us["sqla_core"], us["sqla_orm"]) / sdk
    return out


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg, pg = env.cfg, env.pg
    cpu: dict[str, list[float]] = {}
    loop_samples = await _measure(
        env,
        pg.admin_dsn,
        pg.tenant_dsn,
        epochs=cfg.tx_epochs,
        rounds=cfg.tx_rounds,
        ops=cfg.tx_ops,
        progress=progress,
        cpu=cpu,
    )
    async with DelayProxy(pg.host, pg.port) as proxy:
        rtt = await round_trip_us(proxy.dsn("app_admin", pg.name))
        proxy_samples = await _measure(
            env,
            proxy.dsn("app_admin", pg.name),
            proxy.dsn("app_tenant", pg.name),
            epochs=cfg.proxy_epochs,
            rounds=cfg.proxy_rounds,
            ops=cfg.proxy_ops,
            progress=progress,
        )
    loop_us = timing.medians(loop_samples)
    cpu_us = {k: v * 1e6 for k, v in timing.medians(cpu).items()}
    proxy_us = timing.medians(proxy_samples)
    result: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "loopback_us": loop_us,
        "loopback_spread": {k: timing.spread(v) for k, v in loop_samples.items()},
        "loopback": _ratios(loop_us),
        "client_cpu_us": cpu_us,
        "client_cpu": {
            "sdk_vs_raw_tx": cpu_us["sdk"] / cpu_us["raw_tx"],
            "handwritten_over_sdk": cpu_us["handwritten"] / cpu_us["sdk"],
        },
        "proxy_round_trip_us": rtt,
        "proxy_us": proxy_us,
        "proxy": _ratios(proxy_us),
    }
    rounds = cfg.tx_rounds * cfg.tx_epochs
    result["wire"] = await _wire(env, rounds, cfg.tx_ops)
    result["begin_script"] = await _begin_variants(env, rounds, cfg.tx_ops)
    if not cfg.quick:
        result["batch"] = await _batch(env, rounds, cfg.tx_ops // 5)
    progress.advance()
    return result


async def _batch(env: Env, rounds: int, ops: int) -> dict[str, Any]:
    """``db.tenant_batch`` of five ``get_booking`` vs five separate tenant transactions."""
    async with peers.opened(
        env.pg.admin_dsn,
        env.pg.tenant_dsn,
        tenant=env.tenant,
        booking=env.booking_id,
        pool_size=POOL_SIZE,
    ) as p:
        ops5 = [lambda tx: calls.get_booking(tx, env.booking_id)] * 5

        async def batch5() -> None:
            await p.db.tenant_batch(p.ctx, ops5)

        async def five_tx() -> None:
            for _ in range(5):
                await p.sdk()

        us = timing.medians(
            await timing.interleaved(
                {"batch5": batch5, "five_tx": five_tx}, rounds=rounds, ops=max(ops, 10)
            )
        )
    return {
        "us": {k: v * 1e6 for k, v in us.items()},
        "five_tx_over_batch5": us["five_tx"] / us["batch5"],
    }


async def _begin_variants(env: Env, rounds: int, ops: int) -> dict[str, Any]:
    """The SDK with its shipped BEGIN script vs candidate scripts (``sdk_variants``), on one
    1-connection pool (the same backend for every variant), interleaved round by round."""
    names = list(sdk_variants.SCRIPTS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    async with peers.opened(
        env.pg.admin_dsn,
        env.pg.tenant_dsn,
        tenant=env.tenant,
        booking=env.booking_id,
        pool_size=1,
    ) as p:
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                with sdk_variants.begin_script(name):
                    await timing.per_op(p.sdk, max(ops // 10, 5))
                    c0 = time.process_time()
                    samples[name].append(await timing.per_op(p.sdk, ops) * 1e6)
                    cpu[name].append((time.process_time() - c0) / ops * 1e6)
    us = timing.medians(samples)
    return {
        "us": us,
        "client_cpu_us": timing.medians(cpu),
        "no_reset_over_shipped": us["no_reset"] / us["shipped"],
        "set_local_over_shipped": us["set_local"] / us["shipped"],
    }


async def _wire(env: Env, rounds: int, ops: int) -> dict[str, Any]:
    """Ideas for the BEGIN round trip, priced at the wire with raw asyncpg on one connection.

    ``sdk_shape`` is exactly what the SDK sends (its BEGIN script, the prepared query, COMMIT)
    without the SDK's Python; the others change only the BEGIN script: ``SET LOCAL`` utility
    statements instead of one planned ``SELECT set_config(...)``, and/or without the session
    reset. ``handwritten_shape`` is BEGIN, a bound ``set_config``, the query, COMMIT (4 round
    trips). ``sdk`` is the SDK itself on a 1-connection pool, in the same rounds.
    """
    ctx = TenantContext(tenant_id=env.tenant)
    literal, _ = asyncpg_sql.split_settings(ctx.settings())
    shipped = asyncpg_sql.begin_script(
        readonly=False,
        isolation=None,
        statement_timeout=30.0,
        literal=literal,
        clear_session=True,
    )
    no_reset = asyncpg_sql.begin_script(
        readonly=False,
        isolation=None,
        statement_timeout=30.0,
        literal=literal,
        clear_session=False,
    )
    sets = ";".join(
        ["SET LOCAL statement_timeout = 30000"]
        + [f"SET LOCAL {name} = '{value}'" for name, value in ctx.settings()]
    )
    set_local = f"BEGIN;RESET ALL;RESET ROLE;DISCARD TEMP;{sets}"
    set_local_no_reset = f"BEGIN;{sets}"
    build = calls.GET_BOOKING.from_record
    assert build is not None
    booking = env.booking_id
    conn = await asyncpg.connect(env.pg.tenant_dsn)
    db = Database(tenant=env.pg.tenant_dsn, pool=PoolOptions(min_size=1, max_size=1))
    try:
        await db.open()

        def shape(script: str) -> Any:
            async def run() -> None:
                await conn.execute(script)
                row = await conn.fetchrow(peers.GET_SQL, booking)
                await conn.execute("COMMIT")
                assert row is not None
                build(row)

            return run

        async def handwritten_shape() -> None:
            await conn.execute("BEGIN")
            await conn.execute(peers.SET_TENANT_SQL, env.tenant)
            row = await conn.fetchrow(peers.GET_SQL, booking)
            await conn.execute("COMMIT")
            assert row is not None
            build(row)

        async def sdk() -> None:
            async with db.tenant(ctx) as tx:
                assert await calls.get_booking(tx, booking) is not None

        variants = {
            "sdk": sdk,
            "sdk_shape": shape(shipped),
            "set_local": shape(set_local),
            "no_reset": shape(no_reset),
            "set_local_no_reset": shape(set_local_no_reset),
            "handwritten_shape": handwritten_shape,
        }
        cpu: dict[str, list[float]] = {}
        samples = await timing.interleaved(variants, rounds=rounds, ops=ops, cpu=cpu)
        us = {k: v * 1e6 for k, v in timing.medians(samples).items()}
        cpu_us = {k: v * 1e6 for k, v in timing.medians(cpu).items()}
    finally:
        await db.close()
        await conn.close()
    return {
        "us": us,
        "scripts": {"sdk_shape": shipped, "set_local": set_local},
        "client_cpu_us": cpu_us,
        "sdk_python_us": us["sdk"] - us["sdk_shape"],
        "sdk_python_cpu_us": cpu_us["sdk"] - cpu_us["sdk_shape"],
        "set_local_over_sdk_shape": us["set_local"] / us["sdk_shape"],
    }
