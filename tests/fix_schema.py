"""The example schema, migrated, with two populated tenants and one empty one.

Fixtures (session scope, shared by every test; treat the rows as read-only, or change them
inside a transaction you roll back):

* ``migrated_pg`` -> ``LocalPostgres``: the session server (``local_pg``) with every migration
  in ``schema/`` applied to its database (``migrated_pg.admin_dsn`` / ``.tenant_dsn``).
* ``tenants_abc`` -> ``TenantSet``: ``migrated_pg`` plus the fixed rows below, inserted once as
  the admin role (``ON CONFLICT DO NOTHING``, so it is idempotent).

Rows for each of tenants A and B (``TENANT_A``, ``TENANT_B``; ids are uuid5 of a fixed
namespace, so every run uses the same values), and none but the ``tenants`` row for C:

========== ==== ==========================================================================
table      rows notes
========== ==== ==========================================================================
tenants    1    slug ``tenant-a`` / ``tenant-b`` / ``tenant-c``
users      2    ``owner@example.com`` (role owner), ``desk@example.com`` (front-desk):
                the same emails in A and B (keys are tenant-scoped)
properties 2    codes ``HQ`` and ``BEACH`` in both tenants
rooms      3    ``101``, ``102`` in HQ (102 is ``under-repair``), ``201`` in BEACH
guests     2    "Ada Lovelace" / "Grace Hopper" (A) and "Alan Turing" / "Edsger Dijkstra"
                (B); emails ``guest1@example.com``, ``guest2@example.com`` in both
bookings   2    references ``BK-1`` (confirmed, 240.00, HQ room 101, guest 1) and ``BK-2``
                (pending, 99.50, BEACH room 201, guest 2); created_by the owner user
activity_log 2  authored by the owner user and by the desk user
========== ==== ==========================================================================

``FIXTURE_COUNTS`` holds the per-table count for A and B (C has 0 everywhere but tenants).
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import asyncpg
import msgspec
import pytest

from tenantdb.local import LocalPostgres
from tenantdb.migrate import up

__all__ = (
    "FIXTURE_COUNTS",
    "SCHEMA_DIR",
    "TENANT_A",
    "TENANT_B",
    "TENANT_C",
    "TENANT_TABLES",
    "TenantRows",
    "TenantSet",
    "insert_tenant_rows",
    "row_id",
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"

TENANT_A = "a0000000-0000-4000-8000-00000000000a"
TENANT_B = "b0000000-0000-4000-8000-00000000000b"
TENANT_C = "c0000000-0000-4000-8000-00000000000c"

#: Every table with a tenant_id column, parents before children.
TENANT_TABLES = ("users", "properties", "rooms", "guests", "bookings", "activity_log")
FIXTURE_COUNTS = {
    "users": 2,
    "properties": 2,
    "rooms": 3,
    "guests": 2,
    "bookings": 2,
    "activity_log": 2,
}

_NS = uuid.UUID("7d1c9a8e-5b1e-4f2a-9d0e-3c6b2a1f0e00")


def row_id(tenant_id: str, table: str, n: int) -> str:
    """The fixed id of row ``n`` (1-based) of ``table`` for a fixture tenant."""
    return str(uuid.uuid5(_NS, f"{tenant_id}/{table}/{n}"))


class TenantRows(msgspec.Struct, frozen=True):
    """The ids of one fixture tenant's rows, per table, in insertion order."""

    tenant_id: str
    slug: str
    users: tuple[str, ...]
    properties: tuple[str, ...]
    rooms: tuple[str, ...]
    guests: tuple[str, ...]
    bookings: tuple[str, ...]
    activity_log: tuple[str, ...]


class TenantSet(msgspec.Struct, frozen=True):
    """Tenants A and B (populated) and C (empty), on the migrated session server."""

    pg: LocalPostgres
    a: TenantRows
    b: TenantRows
    c: TenantRows


def _rows_of(tenant_id: str, slug: str, *, populated: bool) -> TenantRows:
    def ids(table: str) -> tuple[str, ...]:
        count = FIXTURE_COUNTS[table] if populated else 0
        return tuple(row_id(tenant_id, table, n) for n in range(1, count + 1))

    return TenantRows(tenant_id, slug, *(ids(t) for t in TENANT_TABLES))


_A = _rows_of(TENANT_A, "tenant-a", populated=True)
_B = _rows_of(TENANT_B, "tenant-b", populated=True)
_C = _rows_of(TENANT_C, "tenant-c", populated=False)
_GUEST_NAMES = {
    TENANT_A: ("Ada Lovelace", "Grace Hopper"),
    TENANT_B: ("Alan Turing", "Edsger Dijkstra"),
}


async def insert_tenant_rows(admin_dsn: str) -> tuple[TenantRows, TenantRows, TenantRows]:
    """Insert the A/B/C fixture rows into a migrated database as admin (idempotent)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            for rows in (_A, _B, _C):
                await _insert(conn, rows)
    finally:
        await conn.close()
    return _A, _B, _C


async def _insert(conn: asyncpg.Connection, r: TenantRows) -> None:
    t = r.tenant_id
    await conn.execute(
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        t,
        r.slug,
        f"Tenant {r.slug[-1].upper()}",
    )
    if not r.users:
        return
    await conn.executemany(
        "INSERT INTO users (tenant_id, id, email, display_name, role) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        [
            (t, r.users[0], "owner@example.com", "Owner", "owner"),
            (t, r.users[1], "desk@example.com", "Front Desk", "front-desk"),
        ],
    )
    await conn.executemany(
        "INSERT INTO properties (tenant_id, id, code, name, city) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        [
            (t, r.properties[0], "HQ", "Grand Hotel", "Lisbon"),
            (t, r.properties[1], "BEACH", "Beach House", "Faro"),
        ],
    )
    hq, beach = r.properties
    await conn.executemany(
        "INSERT INTO rooms (tenant_id, id, property_id, number, nightly_rate, status)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [
            (t, r.rooms[0], hq, "101", 120, "available"),
            (t, r.rooms[1], hq, "102", 99.5, "under-repair"),
            (t, r.rooms[2], beach, "201", 180, "available"),
        ],
    )
    names = _GUEST_NAMES[t]
    await conn.executemany(
        "INSERT INTO guests (tenant_id, id, full_name, email, notes) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        [
            (t, r.guests[0], names[0], "guest1@example.com", "prefers sea view"),
            (t, r.guests[1], names[1], "guest2@example.com", ""),
        ],
    )
    await conn.executemany(
        "INSERT INTO bookings (tenant_id, id, reference, property_id, room_id, guest_id,"
        " created_by, status, check_in, check_out, total_amount, metadata)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        [
            (
                t,
                r.bookings[0],
                "BK-1",
                hq,
                r.rooms[0],
                r.guests[0],
                r.users[0],
                "confirmed",
                date(2026, 7, 1),
                date(2026, 7, 3),
                240,
                '{"source": "web"}',
            ),
            (
                t,
                r.bookings[1],
                "BK-2",
                beach,
                r.rooms[2],
                r.guests[1],
                r.users[0],
                "pending",
                date(2026, 8, 10),
                date(2026, 8, 11),
                99.5,
                "{}",
            ),
        ],
    )
    await conn.executemany(
        "INSERT INTO activity_log (tenant_id, id, author_id, action, subject_type, subject_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [
            (t, r.activity_log[0], r.users[0], "booking.created", "booking", r.bookings[0]),
            (t, r.activity_log[1], r.users[1], "booking.created", "booking", r.bookings[1]),
        ],
    )


@pytest.fixture(scope="session")
async def migrated_pg(local_pg: LocalPostgres) -> LocalPostgres:
    """The session server with every migration in ``schema/`` applied (as admin, owner-owned)."""
    await up(local_pg.admin_dsn, SCHEMA_DIR)
    return local_pg


@pytest.fixture(scope="session")
async def tenants_abc(migrated_pg: LocalPostgres) -> TenantSet:
    """Tenants A and B with rows in every tenant table, and an empty tenant C."""
    a, b, c = await insert_tenant_rows(migrated_pg.admin_dsn)
    return TenantSet(migrated_pg, a, b, c)
