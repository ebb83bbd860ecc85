"""The soak: mixed reads and writes from many tenants on both lanes while faults happen, then
proof that nothing was lost, duplicated or crossed (issue 13, part 5).

``nox -s soak -- --minutes N`` runs it for N minutes and writes ``soak-results/report.md`` and
``report.json``; ``tests/test_soak.py`` runs a 60-second version in the test line.

One durable embedded PostgreSQL (fsync and synchronous commit on), the asyncpg tenant lane
through a fault proxy (``fix_database.PgProxy``), the Data API lane through the local gateway.
Faults, one every few seconds, at random: a server restart, ``pg_terminate_backend`` of a
tenant backend, a proxy reset, gateway faults (throttling, a dropped transaction, a 5xx after
the call ran). Afterwards:

* every acknowledged write is stored, exactly once, under the tenant that wrote it;
* every read saw only its own tenant's rows;
* every error was a ``TenantDBError`` with a class, never "unexpected driver error";
* memory (RSS) and the server's tenant connections stayed flat;
* p50/p99 of a tenant transaction, per time window.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import msgspec

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent / "generated")]

from fix_database import ITEMS_SCHEMA, PgProxy  # noqa: E402

from tenantdb import errors  # noqa: E402
from tenantdb.context import TenantContext  # noqa: E402
from tenantdb.database import Database  # noqa: E402
from tenantdb.drivers.asyncpg.lane import PoolOptions  # noqa: E402
from tenantdb.drivers.dataapi.retry import RetryPolicy  # noqa: E402
from tenantdb.local import LocalDataApi, LocalPostgres  # noqa: E402
from tenantdb.query import Command, Param, Query  # noqa: E402

__all__ = ("Report", "soak")

INSERT: Query[Any] = Query(
    name="SoakInsert",
    command=Command.EXEC,
    sql="INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)",
    data_api_sql="INSERT INTO items (tenant_id, id, name) VALUES (:tenant_id::uuid, :id, :name)",
    params=(
        Param(name="tenant_id", number=1, pg_type="uuid"),
        Param(name="id", number=2, pg_type="int4"),
        Param(name="name", number=3, pg_type="text"),
    ),
)
READ: Query[Any] = Query(
    name="SoakRead",
    command=Command.MANY,
    sql="SELECT tenant_id::text, name FROM items ORDER BY id DESC LIMIT 20",
    data_api_sql="SELECT tenant_id::text, name FROM items ORDER BY id DESC LIMIT 20",
    row=tuple,
    from_record=tuple,
)
FAULTS = ("restart", "terminate", "proxy_reset", "throttling", "drop_transaction", "lost_answer")


class Window(msgspec.Struct):
    """One time window of the run."""

    start_s: float
    transactions: int
    errors: int
    p50_ms: float
    p99_ms: float
    rss_mb: float
    tenant_connections: int


class Report(msgspec.Struct):
    seconds: float
    lanes: tuple[str, ...]
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    cross_tenant: int
    foreign_reads: int
    untyped_errors: int
    errors_by_class: dict[str, int]
    faults: dict[str, int]
    windows: list[Window]
    rss_growth_mb: float
    max_tenant_connections: int

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.cross_tenant == 0
            and self.foreign_reads == 0
            and self.untyped_errors == 0
            and self.acknowledged > 0
        )

    def markdown(self) -> str:
        lines = [
            f"# Soak report ({self.seconds:.0f} s, lanes: {', '.join(self.lanes)})",
            "",
            f"- acknowledged writes: {self.acknowledged}, stored rows: {self.stored}",
            f"- **lost: {self.lost}, duplicated: {self.duplicated}, "
            f"cross-tenant: {self.cross_tenant}**, foreign rows read: {self.foreign_reads}",
            f"- untyped errors: {self.untyped_errors}; errors by class: {self.errors_by_class}",
            f"- faults injected: {self.faults}",
            f"- RSS growth first to last window: {self.rss_growth_mb:+.1f} MB; "
            f"max tenant connections on the server: {self.max_tenant_connections}",
            "",
            "| window start (s) | transactions | errors | p50 ms | p99 ms | RSS MB | conns |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {w.start_s:.0f} | {w.transactions} | {w.errors} | {w.p50_ms:.1f} | "
            f"{w.p99_ms:.1f} | {w.rss_mb:.0f} | {w.tenant_connections} |"
            for w in self.windows
        ]
        return "\n".join(lines) + "\n"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class _Soak:
    def __init__(self, pg: LocalPostgres, proxy: PgProxy, gateway: LocalDataApi) -> None:
        self.pg, self.proxy, self.gateway = pg, proxy, gateway
        self.tenants = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 9)]
        self.acked: list[tuple[str, int]] = []
        self.errors: Counter[str] = Counter()
        self.untyped: list[str] = []
        self.foreign_reads = 0
        self.faults: Counter[str] = Counter()
        self.samples: list[tuple[float, float, bool]] = []  # (t, latency_s, ok)
        self.next_key = 0
        self.t0 = time.monotonic()

    def _key(self) -> int:
        self.next_key += 1
        return self.next_key

    async def worker(self, db: Database, lane: str, w: int, stop: anyio.Event) -> None:
        rng = random.Random(w)
        tenant = self.tenants[w % len(self.tenants)]
        ctx = TenantContext(tenant_id=tenant)
        while not stop.is_set():
            start = time.monotonic()
            key = self._key()
            write = rng.random() < 0.6
            try:
                async with db.tenant(ctx) as tx:
                    if write:
                        await tx.exec(INSERT, (tenant, key, f"{tenant}/{lane}/{key}"))
                    else:
                        rows = await tx.many(READ, ())
                        self.foreign_reads += sum(1 for r in rows if r[0] != tenant)
            except errors.TenantDBError as exc:
                self.errors[type(exc).__name__] += 1
                if isinstance(exc, errors.QueryError) and "unexpected" in str(exc):
                    self.untyped.append(repr(exc))
                self.samples.append((start - self.t0, time.monotonic() - start, False))
                await anyio.sleep(0.02)
                continue
            except Exception as exc:
                self.untyped.append(repr(exc))
                self.errors[type(exc).__name__] += 1
                await anyio.sleep(0.02)
                continue
            if write:
                self.acked.append((tenant, key))
            self.samples.append((start - self.t0, time.monotonic() - start, True))

    async def chaos(self, stop: anyio.Event, every: float) -> None:
        rng = random.Random(7)
        while not stop.is_set():
            with anyio.move_on_after(every):
                await stop.wait()
            if stop.is_set():
                return
            fault = rng.choice(FAULTS)
            self.faults[fault] += 1
            if fault == "restart":
                await self.pg.restart(mode="fast")
            elif fault == "terminate":
                conn = await asyncpg.connect(self.pg.superuser_dsn)
                try:
                    await conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE usename = 'app_tenant' AND pid IN (SELECT pid FROM"
                        " pg_stat_activity WHERE usename = 'app_tenant' ORDER BY random() LIMIT 2)"
                    )
                finally:
                    await conn.close()
            elif fault == "proxy_reset":
                self.proxy.cut()
            elif fault == "throttling":
                self.gateway.inject("throttling", times=5)
            elif fault == "drop_transaction":
                self.gateway.inject("drop_transaction", times=2)
            else:
                self.gateway.inject("internal_error", when="after", operations=["ExecuteStatement"])

    async def sampler(
        self, stop: anyio.Event, window: float, out: list[tuple[float, float, int]]
    ) -> None:
        while not stop.is_set():
            conns = 0
            try:
                conn = await asyncpg.connect(self.pg.superuser_dsn)
                try:
                    conns = await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_tenant'"
                    )
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError):
                conns = -1  # the server is restarting
            out.append((time.monotonic() - self.t0, _rss_mb(), conns))
            with anyio.move_on_after(window):
                await stop.wait()


async def soak(seconds: float, *, window: float = 10.0, fault_every: float = 4.0) -> Report:
    """Run the soak for ``seconds`` and return its report."""
    async with LocalPostgres(durable=True) as pg:
        su = await asyncpg.connect(pg.superuser_dsn)
        try:
            await su.execute(ITEMS_SCHEMA)
        finally:
            await su.close()
        proxy = PgProxy(pg.host, pg.port)
        await proxy.start()
        try:
            async with LocalDataApi(pg) as gateway:
                return await _run(
                    _Soak(pg, proxy, gateway), seconds, window=window, fault_every=fault_every
                )
        finally:
            await proxy.stop()


async def _run(state: _Soak, seconds: float, *, window: float, fault_every: float) -> Report:
    pg, proxy, gateway = state.pg, state.proxy, state.gateway
    options = PoolOptions(max_size=6, acquire_timeout=30.0)
    retry = RetryPolicy(deadline=5.0, base_delay=0.01, max_delay=0.2, resuming_delays=(0.1,))
    direct = Database(admin=pg.admin_dsn, tenant=proxy.dsn("app_tenant", pg.name), pool=options)
    over_api = Database(
        admin=pg.admin_dsn,
        tenant=msgspec.structs.replace(gateway.config, retry=retry),
        pool=options,
    )
    samples: list[tuple[float, float, int]] = []
    stop = anyio.Event()
    async with direct, over_api, anyio.create_task_group() as tg:
        for w in range(12):
            tg.start_soon(state.worker, direct, "asyncpg", w, stop)
        for w in range(6):
            tg.start_soon(state.worker, over_api, "data_api", 100 + w, stop)
        tg.start_soon(state.chaos, stop, fault_every)
        tg.start_soon(state.sampler, stop, window, samples)
        await anyio.sleep(seconds)
        stop.set()
    gateway.clear_faults()
    conn = await asyncpg.connect(pg.admin_dsn)
    try:
        rows = await conn.fetch("SELECT tenant_id::text, id, name FROM items")
    finally:
        await conn.close()
    return _report(state, rows, samples, seconds, window)


def _report(
    state: _Soak,
    rows: list[Any],
    samples: list[tuple[float, float, int]],
    seconds: float,
    window: float,
) -> Report:
    stored = Counter((r["tenant_id"], r["id"]) for r in rows)
    acked = set(state.acked)
    windows = []
    for i in range(max(1, int(seconds // window))):
        lo, hi = i * window, (i + 1) * window
        part = [s for s in state.samples if lo <= s[0] < hi]
        ok = [s[1] * 1000 for s in part if s[2]]
        marks = [m for m in samples if lo <= m[0] < hi] or samples[-1:]
        windows.append(
            Window(
                start_s=lo,
                transactions=len(part),
                errors=sum(1 for s in part if not s[2]),
                p50_ms=_percentile(ok, 0.5),
                p99_ms=_percentile(ok, 0.99),
                rss_mb=marks[0][1] if marks else 0.0,
                tenant_connections=marks[0][2] if marks else 0,
            )
        )
    rss = [m[1] for m in samples]
    return Report(
        seconds=seconds,
        lanes=("asyncpg", "data_api"),
        acknowledged=len(acked),
        stored=len(stored),
        lost=len(acked - set(stored)),
        duplicated=sum(1 for n in stored.values() if n > 1),
        cross_tenant=sum(1 for r in rows if not r["name"].startswith(r["tenant_id"] + "/")),
        foreign_reads=state.foreign_reads,
        untyped_errors=len(state.untyped),
        errors_by_class=dict(state.errors),
        faults=dict(state.faults),
        windows=windows,
        rss_growth_mb=(rss[-1] - rss[1]) if len(rss) > 2 else 0.0,
        max_tenant_connections=max((m[2] for m in samples), default=0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="tenantdb soak: faults on both lanes")
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--out", default="soak-results", help="directory for the report")
    args = parser.parse_args()
    report = anyio.run(soak, args.minutes * 60)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    (out / "report.md").write_text(report.markdown())
    print(report.markdown())
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
