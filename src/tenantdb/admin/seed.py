"""Deterministic demo data for the example schema, bulk-loaded with COPY as the admin role.

Over the RDS Data API (``seed(DataApi(...admin secret...))`` or ``USE_DATA_API=true``) the
same rows go in by BatchExecuteStatement in one Data API transaction (``seed_dataapi``).

The admin role bypasses RLS, which is what lets it use ``COPY FROM`` (refused under RLS) and
write every tenant in one transaction. The same ``seed`` always produces the same tenant ids
and the same rows; a database that already holds tenants is refused unless ``reset=True``
(``--reset``), which truncates every table of the example schema first.

Example::

    summary = await tenantdb.seed.seed(admin_dsn, tenants=10, bookings_per_tenant=1000, seed=42)
    print(summary.render())
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import msgspec

from tenantdb.admin import seed_data as data
from tenantdb.admin.session import (
    AdminSql,
    DataApiSession,
    admin_target,
)
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.errors import ConfigurationError, QueryError, TenantDBError

__all__ = ("SeedError", "SeedSummary", "add_arguments", "run", "seed", "seed_files")


class SeedError(ConfigurationError):
    """Seeding was refused (already seeded, schema missing) or failed (rolled back)."""


class SeedSummary(msgspec.Struct, frozen=True):
    """What ``seed`` loaded: the tenant ids (in order), row counts per table, timing."""

    seed: int
    tenant_ids: tuple[str, ...]
    counts: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def render(self) -> str:
        """A short human-readable report (the demo prints it)."""
        lines = [
            f"seed {self.seed}: {len(self.tenant_ids)} tenants, {self.total_rows} rows "
            f"in {self.seconds:.2f} s ({self.total_rows / max(self.seconds, 1e-9):,.0f} rows/s)"
        ]
        lines += [f"  {table:<13} {n:>10,}" for table, n in self.counts.items()]
        lines += [f"  tenant {i}: {tid}" for i, tid in enumerate(self.tenant_ids)]
        return "\n".join(lines)


async def seed(
    admin_dsn: str | DataApi,
    *,
    tenants: int = 3,
    bookings_per_tenant: int = 100,
    seed: int = 0,
    reset: bool = False,
    analyze: bool = True,
    progress: TextIO | None = None,
) -> SeedSummary:
    """Load ``tenants`` tenants with ``bookings_per_tenant`` bookings each (and the users,
    properties, rooms, guests and activity rows that go with them) in one transaction.

    ``progress`` receives a bar when it is a terminal, one line per table otherwise.
    ``analyze`` runs ``VACUUM ANALYZE`` afterwards (flushes the GIN pending list).
    ``admin_dsn`` may be a ``tenantdb.DataApi`` with the admin secret (no COPY there:
    BatchExecuteStatement in one Data API transaction; the same seed gives the same rows).
    """
    if tenants < 1 or bookings_per_tenant < 0:
        raise SeedError(
            f"tenants must be >= 1 and bookings_per_tenant >= 0 "
            f"(got {tenants}, {bookings_per_tenant})"
        )
    plans = data.plan_tenants(tenants=tenants, bookings_per_tenant=bookings_per_tenant, seed=seed)
    counts = {t: sum(p.count(t) for p in plans) for t in data.TABLES}
    start = time.perf_counter()
    bar = _Progress(progress, counts)
    if isinstance(admin_dsn, DataApi):
        await _seed_data_api(admin_dsn, plans, seed=seed, reset=reset, analyze=analyze, bar=bar)
    else:
        await _seed_asyncpg(admin_dsn, plans, seed=seed, reset=reset, analyze=analyze, bar=bar)
    return SeedSummary(seed, tuple(p.tenant_id for p in plans), counts, time.perf_counter() - start)


async def seed_files(admin_dsn: str | DataApi, files: list[Path]) -> int:
    """Run your own seed SQL files, in order, as the admin role, in ONE transaction.

    The general form of ``tenantdb seed`` (``--file``, repeatable; a directory means its
    ``*.sql`` files in name order): any schema, any data. A failure rolls every file back and
    raises ``SeedError`` naming the file. Returns the number of statements run.
    """
    scripts = _seed_scripts(files)
    count = 0
    current = scripts[0][0] if scripts else Path()
    async with _admin_session(admin_dsn) as conn:
        try:
            async with conn.transaction():
                for path, statements in scripts:
                    current = path
                    for stmt in statements:
                        await conn.execute(stmt)
                        count += 1
        except (asyncpg.PostgresError, TenantDBError) as exc:
            state = getattr(exc, "sqlstate", None)
            raise SeedError(
                f"{current.name} failed, every seed file was rolled back: SQLSTATE {state}: {exc}"
            ) from exc
    return count


def _seed_scripts(files: list[Path]) -> list[tuple[Path, list[str]]]:
    """Each seed file (directories expanded, ``*.sql`` by name) and its statements."""
    from tenantdb._sqllex import split_statements

    paths: list[Path] = []
    for f in files:
        p = Path(f)
        if p.is_dir():
            paths.extend(sorted(p.glob("*.sql")))
        elif p.is_file():
            paths.append(p)
        else:
            raise SeedError(f"seed file {str(p)!r} does not exist")
    return [(p, split_statements(p.read_text(encoding="utf-8"))) for p in paths]


@asynccontextmanager
async def _admin_session(target: str | DataApi) -> AsyncIterator[Any]:
    if isinstance(target, DataApi):
        async with DataApiSession(target) as session:
            yield session
        return
    try:
        conn = await asyncpg.connect(target, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise SeedError(f"cannot connect to the database: {exc}") from exc
    try:
        yield conn
    finally:
        await conn.close()


async def _seed_asyncpg(
    dsn: str,
    plans: list[data.TenantPlan],
    *,
    seed: int,
    reset: bool,
    analyze: bool,
    bar: _Progress,
) -> None:
    """COPY every table in one transaction, then VACUUM ANALYZE (outside it)."""
    conn = await _connect(dsn)
    try:
        await _load(conn, plans, seed=seed, reset=reset, bar=bar)
        if analyze:
            await conn.execute(f"VACUUM ANALYZE {', '.join(data.TABLES)}")
    except asyncpg.PostgresError as exc:
        raise SeedError(
            f"seeding failed and was rolled back: SQLSTATE {exc.sqlstate}: {exc}"
        ) from exc
    finally:
        await conn.close()


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise SeedError(f"cannot connect to the database: {exc}") from exc
    try:
        # citext has no binary codec of its own in asyncpg; its wire format is text's.
        await conn.set_builtin_type_codec("citext", schema="public", codec_name="text")
    except (ValueError, asyncpg.PostgresError) as exc:
        await conn.close()
        raise SeedError("the example schema is missing: run `tenantdb migrate up` first") from exc
    return conn


async def _load(
    conn: asyncpg.Connection,
    plans: list[data.TenantPlan],
    *,
    seed: int,
    reset: bool,
    bar: _Progress,
) -> None:
    async with conn.transaction():
        await _prepare(conn, reset=reset)
        for table in data.TABLES:
            records = bar.counted(table, (r for p in plans for r in data.rows(p, table, seed=seed)))
            await conn.copy_records_to_table(table, records=records, columns=data.COLUMNS[table])
            bar.done(table)


async def _seed_data_api(
    config: DataApi,
    plans: list[data.TenantPlan],
    *,
    seed: int,
    reset: bool,
    analyze: bool,
    bar: _Progress,
) -> None:
    from tenantdb.admin import seed_dataapi as _dataapi_admin

    try:
        async with DataApiSession(config) as s:
            async with s.transaction():
                await _prepare(s, reset=reset)
                await _dataapi_admin.load(s, plans, seed=seed, counted=bar.counted, done=bar.done)
            if analyze:
                await s.execute_autocommit(f"VACUUM ANALYZE {', '.join(data.TABLES)}")
    except SeedError:
        raise
    except QueryError as exc:
        raise SeedError(
            f"seeding failed and was rolled back: SQLSTATE {exc.sqlstate}: {exc}"
        ) from exc
    except TenantDBError as exc:
        raise SeedError(f"seeding over the Data API failed and was rolled back: {exc}") from exc


async def _prepare(conn: AdminSql, *, reset: bool) -> None:
    # ::text: the Data API returns no regclass values (asyncpg's None check is unaffected).
    if await conn.fetchval("SELECT to_regclass('public.activity_log')::text") is None:
        raise SeedError("the example schema is missing: run `tenantdb migrate up` first")
    if reset:
        await conn.execute(f"TRUNCATE {', '.join(data.TABLES)}")
        return
    existing = await conn.fetchval("SELECT count(*) FROM tenants")
    if existing:
        raise SeedError(
            f"the database already holds {existing} tenant(s): pass reset=True "
            "(--reset) to truncate every example table first"
        )


class _Progress:
    """A bar on a terminal, plain lines elsewhere (CI logs), nothing when ``out`` is None."""

    _EVERY = 5_000

    def __init__(self, out: TextIO | None, counts: dict[str, int]) -> None:
        self._out = out
        self._tty = bool(out is not None and out.isatty())
        self._total = max(sum(counts.values()), 1)
        self._counts = counts
        self._loaded = 0

    def counted(self, table: str, records: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for n, record in enumerate(records, 1):
            if self._tty and n % self._EVERY == 0:
                self._draw(table, self._loaded + n)
            yield record

    def done(self, table: str) -> None:
        self._loaded += self._counts[table]
        if self._out is None:
            return
        if self._tty:
            self._draw(table, self._loaded)
            if self._loaded >= self._total:
                self._out.write("\n")
        else:
            self._out.write(
                f"seed: {table} {self._counts[table]} rows ({self._loaded}/{self._total})\n"
            )
        self._out.flush()

    def _draw(self, table: str, loaded: int) -> None:
        assert self._out is not None  # noqa: S101 - only called when there is an output
        filled = 30 * loaded // self._total
        self._out.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * loaded // self._total:3d}%"
            f" {table:<13} {loaded:,}/{self._total:,}"
        )
        self._out.flush()


# -- CLI --------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``tenantdb seed --file F [...]`` (any project), or the hospitality example's generator:
    ``--tenants N --bookings-per-tenant M --seed S [--reset]``."""
    parser.add_argument("--dsn", default=None, help="admin role DSN (default: $DATABASE_URL)")
    parser.add_argument(
        "--file",
        "-f",
        action="append",
        type=Path,
        default=None,
        help="your seed SQL file or directory of *.sql files, run in one transaction as the "
        "admin role (repeatable); without it, the hospitality example's demo data is loaded",
    )
    example = parser.add_argument_group("the hospitality example's demo data (no --file)")
    example.add_argument("--tenants", type=int, default=3, help="tenants to create (default: 3)")
    example.add_argument(
        "--bookings-per-tenant",
        type=int,
        default=100,
        help="bookings per tenant; users, rooms and guests scale with it (default: 100)",
    )
    example.add_argument(
        "--seed", type=int, default=0, help="random seed: same seed, same rows (default: 0)"
    )
    example.add_argument("--reset", action="store_true", help="truncate every example table first")
    example.add_argument("--no-analyze", action="store_true", help="skip VACUUM ANALYZE")
    parser.add_argument(
        "--data-api",
        action="store_true",
        help="over the RDS Data API (also USE_DATA_API=true): DB_CLUSTER_ARN, "
        "DB_ADMIN_SECRET_ARN, DATABASE_NAME, AWS_REGION",
    )


async def run(args: argparse.Namespace) -> int:
    """Seed, print the summary; a refusal prints the reason and returns 1."""
    target: str | DataApi | None
    try:
        target = admin_target(args.dsn, data_api=args.data_api)
    except ConfigurationError as exc:
        print(f"tenantdb seed: {exc}", file=sys.stderr)
        return 1
    if not target:
        print("tenantdb seed: no database: pass --dsn or set DATABASE_URL", file=sys.stderr)
        return 1
    if args.file:
        try:
            count = await seed_files(target, args.file)
        except SeedError as exc:
            print(f"tenantdb seed: {exc}", file=sys.stderr)
            return 1
        print(f"ran {count} statement(s) from {len(args.file)} seed path(s)")
        return 0
    try:
        summary = await seed(
            target,
            tenants=args.tenants,
            bookings_per_tenant=args.bookings_per_tenant,
            seed=args.seed,
            reset=args.reset,
            analyze=not args.no_analyze,
            progress=sys.stderr,
        )
    except SeedError as exc:
        print(f"tenantdb seed: {exc}", file=sys.stderr)
        return 1
    print(summary.render())
    return 0
