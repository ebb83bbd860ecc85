"""Deterministic demo rows for the example schema (used by ``tenantdb.admin.seed``).

Every tenant gets its own ``random.Random`` seeded from ``(seed, tenant index)``, so tenant
``i`` has the same rows whatever the number of tenants, and ids (uuid4 layout) come from that
generator too: the same seed yields byte-identical tables. Rows are tuples in the column
order of ``COLUMNS`` and are produced lazily, so loading overlaps generation.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ("COLUMNS", "TABLES", "TenantPlan", "plan_tenants", "rows")

TABLES = ("tenants", "users", "properties", "rooms", "guests", "bookings", "activity_log")

COLUMNS: dict[str, tuple[str, ...]] = {
    "tenants": ("id", "slug", "name", "settings", "created_at", "updated_at"),
    "users": ("tenant_id", "id", "email", "display_name", "role", "created_at", "updated_at"),
    "properties": (
        "tenant_id",
        "id",
        "code",
        "name",
        "city",
        "country",
        "timezone",
        "metadata",
        "created_at",
        "updated_at",
    ),
    "rooms": (
        "tenant_id",
        "id",
        "property_id",
        "number",
        "room_type",
        "capacity",
        "nightly_rate",
        "status",
        "created_at",
        "updated_at",
    ),
    "guests": (
        "tenant_id",
        "id",
        "full_name",
        "email",
        "phone",
        "notes",
        "metadata",
        "created_at",
        "updated_at",
    ),
    "bookings": (
        "tenant_id",
        "id",
        "reference",
        "property_id",
        "room_id",
        "guest_id",
        "created_by",
        "status",
        "check_in",
        "check_out",
        "guests_count",
        "total_amount",
        "currency",
        "metadata",
        "deleted_at",
        "created_at",
        "updated_at",
    ),
    "activity_log": (
        "tenant_id",
        "id",
        "author_id",
        "action",
        "subject_type",
        "subject_id",
        "details",
        "created_at",
    ),
}

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FIRST = (
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "John",
    "Katherine",
    "Leslie",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
)
_LAST = (
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Backus",
    "Johnson",
    "Lamport",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Lee",
)
_CITIES = (
    ("Lisbon", "PT", "Europe/Lisbon"),
    ("Porto", "PT", "Europe/Lisbon"),
    ("Madrid", "ES", "Europe/Madrid"),
    ("Nice", "FR", "Europe/Paris"),
    ("Split", "HR", "Europe/Zagreb"),
)
_ROOM_TYPES = (("single", 1, 80), ("double", 2, 120), ("suite", 4, 260))
_ROOM_STATUS = ("available",) * 8 + ("occupied", "under-repair")
_BOOKING_STATUS = ("confirmed",) * 5 + (
    "pending",
    "pending",
    "checked_in",
    "checked_out",
    "cancelled",
)
_SOURCES = ("web", "phone", "ota", "walk-in")
_ROOMS_PER_PROPERTY = 8


class TenantPlan(msgspec.Struct, frozen=True):
    """How many rows one tenant gets; ``bookings_per_tenant`` drives the rest."""

    index: int
    tenant_id: str
    users: int
    properties: int
    guests: int
    bookings: int

    @property
    def rooms(self) -> int:
        return self.properties * _ROOMS_PER_PROPERTY

    def count(self, table: str) -> int:
        derived = {"tenants": 1, "rooms": self.rooms, "activity_log": self.bookings}
        return derived[table] if table in derived else int(getattr(self, table))


def plan_tenants(*, tenants: int, bookings_per_tenant: int, seed: int) -> list[TenantPlan]:
    """The tenants a seed produces: ids derived from ``seed``, sizes from the booking count."""
    m = bookings_per_tenant
    return [
        TenantPlan(
            i,
            str(_uuid(_rng(seed, i, "id"))),
            users=4 + m // 100,
            properties=1 + m // 400,
            guests=max(5, m * 3 // 4),
            bookings=m,
        )
        for i in range(tenants)
    ]


def rows(plan: TenantPlan, table: str, *, seed: int) -> Iterator[tuple[Any, ...]]:
    """Rows of ``table`` for one tenant, in ``COLUMNS[table]`` order."""
    return _GENERATORS[table](plan, _rng(seed, plan.index, table), seed)


# -- generators -------------------------------------------------------------------------------
def _tenants(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    ts = _stamp(r)
    name = f"{r.choice(_LAST)} Hospitality {p.index + 1}"
    yield (
        uuid.UUID(p.tenant_id),
        f"demo-{seed % 10_000}-{p.index:04d}",
        name,
        _json({"currency": "EUR"}),
        ts,
        ts,
    )


def _users(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    for n in range(p.users):
        first, last = r.choice(_FIRST), r.choice(_LAST)
        role = "owner" if n == 0 else r.choice(("manager", "front-desk", "housekeeping"))
        ts = _stamp(r)
        yield (
            tid,
            _id(p, "users", n, seed),
            f"{first}.{last}.{n}@example.com".lower(),
            f"{first} {last}",
            role,
            ts,
            ts,
        )


def _properties(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    for n in range(p.properties):
        city, country, tz = r.choice(_CITIES)
        ts = _stamp(r)
        yield (
            tid,
            _id(p, "properties", n, seed),
            f"P{n:03d}",
            f"{r.choice(_LAST)} {city}",
            city,
            country,
            tz,
            _json({"stars": r.randint(2, 5)}),
            ts,
            ts,
        )


def _rooms(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    for n in range(p.rooms):
        prop, number = divmod(n, _ROOMS_PER_PROPERTY)
        kind, capacity, rate = r.choice(_ROOM_TYPES)
        ts = _stamp(r)
        yield (
            tid,
            _id(p, "rooms", n, seed),
            _id(p, "properties", prop, seed),
            f"{100 + number + 1}",
            kind,
            capacity,
            Decimal(rate + r.randint(0, 40)),
            r.choice(_ROOM_STATUS),
            ts,
            ts,
        )


def _guests(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    for n in range(p.guests):
        first, last = r.choice(_FIRST), r.choice(_LAST)
        ts = _stamp(r)
        yield (
            tid,
            _id(p, "guests", n, seed),
            f"{first} {last}",
            f"{first}.{last}.{n}@guest.example".lower(),
            f"+351 9{r.randint(10**7, 10**8 - 1)}",
            r.choice(("", "", "late arrival", "vegetarian", "sea view please")),
            _json({"vip": r.random() < 0.05}),
            ts,
            ts,
        )


def _bookings(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    # Parent ids once per tenant: uuid5 per reference was most of the generation time.
    properties, rooms = _ids(p, "properties", seed), _ids(p, "rooms", seed)
    guests, users = _ids(p, "guests", seed), _ids(p, "users", seed)
    for n in range(p.bookings):
        room = r.randrange(p.rooms)
        check_in = date(2026, 1, 1) + timedelta(days=r.randrange(365))
        nights = r.randint(1, 14)
        status = r.choice(_BOOKING_STATUS)
        ts = _stamp(r)
        yield (
            tid,
            _id(p, "bookings", n, seed),
            f"BK-{n + 1:06d}",
            properties[room // _ROOMS_PER_PROPERTY],
            rooms[room],
            guests[r.randrange(p.guests)],
            users[r.randrange(p.users)],
            status,
            check_in,
            check_in + timedelta(days=nights),
            r.randint(1, 4),
            Decimal(r.randint(60, 300) * nights) + Decimal(r.choice((0, 50))) / 100,
            "EUR",
            _json({"source": r.choice(_SOURCES)}),
            ts + timedelta(days=1) if status == "cancelled" and r.random() < 0.5 else None,
            ts,
            ts,
        )


def _activity_log(p: TenantPlan, r: random.Random, seed: int) -> Iterator[tuple[Any, ...]]:
    tid = uuid.UUID(p.tenant_id)
    users = _ids(p, "users", seed)
    for n in range(p.bookings):
        yield (
            tid,
            _id(p, "activity_log", n, seed),
            users[r.randrange(p.users)],
            "booking.created",
            "booking",
            _id(p, "bookings", n, seed),
            _json({"reference": f"BK-{n + 1:06d}"}),
            _stamp(r),
        )


_GENERATORS = {
    "tenants": _tenants,
    "users": _users,
    "properties": _properties,
    "rooms": _rooms,
    "guests": _guests,
    "bookings": _bookings,
    "activity_log": _activity_log,
}


# -- determinism helpers ----------------------------------------------------------------------
def _rng(seed: int, index: int, purpose: str) -> random.Random:
    # Demo data, not secrets: a reproducible PRNG is the point. str seeds hash stably.
    return random.Random(f"tenantdb-seed:{seed}:{index}:{purpose}")  # noqa: S311


def _uuid(r: random.Random) -> uuid.UUID:
    return uuid.UUID(int=r.getrandbits(128), version=4)


_NAMESPACE = uuid.NAMESPACE_OID.bytes


def _id(p: TenantPlan, table: str, n: int, seed: int) -> uuid.UUID:
    """Row ``n`` of ``table``: a pure function of (seed, tenant, table, n), so children can
    reference parents without keeping them in memory. ``uuid.uuid5(NAMESPACE_OID, key)``,
    spelled out to skip re-reading the namespace's bytes on every call."""
    key = f"{seed}:{p.tenant_id}:{table}:{n}".encode()
    digest = hashlib.sha1(_NAMESPACE + key, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def _ids(p: TenantPlan, table: str, seed: int) -> list[uuid.UUID]:
    """Every id of ``table`` for one tenant (``_id`` for n = 0, 1, …), for lookups."""
    return [_id(p, table, n, seed) for n in range(p.count(table))]


_json_encode = msgspec.json.encode


def _json(value: object) -> str:
    """JSON text for a jsonb column (asyncpg's COPY codec takes str); faster than json.dumps,
    and jsonb stores the same value whatever the spacing."""
    return _json_encode(value).decode()


def _stamp(r: random.Random) -> datetime:
    return _EPOCH - timedelta(seconds=r.randrange(365 * 86_400))
