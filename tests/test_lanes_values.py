"""Property: any value a generated function can bind comes back identical on both lanes.

Hypothesis draws one value per type (text with quotes, backslashes and any Unicode; int8 over
its whole range; finite decimals and doubles; dates; aware datetimes in any offset; uuids;
bytes; JSON documents) and echoes them through ``SELECT $1::text, …`` on the asyncpg lane and
``SELECT :t::text, …`` on the Data API lane, with the parameters and decoders codegen would
emit. The rows must be equal and every field must have the same Python type; if one lane
refuses a value, the other must refuse it with the same error class.

Hypothesis runs synchronously, so the test runs it in a worker thread and sends each database
step back to the session's event loop (``anyio.from_thread.run``).
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import anyio.from_thread
import anyio.to_thread
import msgspec
from fix_lanes import LANES, open_lane_db
from fix_schema import TenantSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantdb import codecs, errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Column, Command, Param, Query


class Echo(msgspec.Struct, frozen=True):
    t: str | None
    i: int | None
    n: decimal.Decimal | None
    f: float | None
    b: bool | None
    d: datetime.date | None
    tz: datetime.datetime | None
    u: uuid.UUID | None
    by: bytes | None
    j: Any


_NAMES = ("t", "i", "n", "f", "b", "d", "tz", "u", "by")
_TYPES = ("text", "int8", "numeric", "float8", "bool", "date", "timestamptz", "uuid", "bytea")
_HINTS = (None, None, "DECIMAL", None, None, "DATE", "TIMESTAMP", "UUID", None)
ECHO: Query[Echo] = Query(
    name="Echo",
    command=Command.ONE,
    sql="SELECT " + ", ".join(f"${i}::{t}" for i, t in enumerate(_TYPES, 1)) + ", $10::jsonb",
    data_api_sql="SELECT "
    + ", ".join(f"{':' + n}::{t}" for n, t in zip(_NAMES, _TYPES, strict=True))
    + ", :j::jsonb",
    params=(
        *(
            Param(name=n, number=i, pg_type=t, nullable=True, type_hint=h)
            for i, (n, t, h) in enumerate(zip(_NAMES, _TYPES, _HINTS, strict=True), 1)
        ),
        Param(name="j", number=10, pg_type="jsonb", nullable=True, type_hint="JSON"),
    ),
    columns=(
        *(Column(name=n, pg_type=t) for n, t in zip(_NAMES, _TYPES, strict=True)),
        Column(name="j", pg_type="jsonb"),
    ),
    row=Echo,
    from_record=lambda r: Echo(*r[:9], None if r[9] is None else codecs.decode_json(r[9])),
    data_api_decoders=(
        None,
        None,
        codecs.decode_numeric,
        None,
        None,
        codecs.decode_date,
        codecs.decode_timestamptz,
        codecs.decode_uuid,
        None,
        None,
    ),
)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(-1e15, 1e15, allow_nan=False).map(lambda x: round(x, 6))
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_aware = st.datetimes(
    min_value=datetime.datetime(1000, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=30))]
        + [datetime.timezone(datetime.timedelta(hours=-h)) for h in (1, 8, 12)]
    ),
)
_values = st.tuples(
    st.none() | st.text(),
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none()
    | st.decimals(
        allow_nan=False, allow_infinity=False, places=4, max_value=10**12, min_value=-(10**12)
    ),
    st.none() | st.floats(allow_nan=False, allow_infinity=False),
    st.none() | st.booleans(),
    st.none() | st.dates(min_value=datetime.date(1, 1, 1)),
    st.none() | _aware,
    st.none() | st.uuids(),
    st.none() | st.binary(max_size=64),
    st.none() | _json,
)


async def _echo(db: Database, ctx: TenantContext, args: tuple[Any, ...]) -> Any:
    encoded = (*args[:9], None if args[9] is None else codecs.encode_json(args[9]))
    try:
        async with db.tenant(ctx, readonly=True) as tx:
            return await tx.one(ECHO, encoded)
    except errors.TenantDBError as exc:
        return type(exc)


def _typed(row: Any) -> Any:
    if not isinstance(row, Echo):
        return row
    return {f: (type(getattr(row, f)).__name__, getattr(row, f)) for f in row.__struct_fields__}


async def test_every_bindable_value_round_trips_identically_on_both_lanes(
    tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.c.tenant_id)
    dbs = [open_lane_db(kind, tenants_abc, gateway) for kind in LANES]
    for db in dbs:
        await db.open()
    outcomes: list[str] = []
    try:

        @settings(suppress_health_check=[HealthCheck.too_slow])
        @given(_values)
        def check(args: tuple[Any, ...]) -> None:
            pg, api = (anyio.from_thread.run(_echo, db, ctx, args) for db in dbs)
            assert _typed(api) == _typed(pg), args
            outcomes.append("row" if isinstance(pg, Echo) else pg.__name__)
            if isinstance(pg, Echo) and args[2] is not None:
                assert pg.n == args[2]  # nothing lost on the way

        await anyio.to_thread.run_sync(check)
        assert outcomes.count("row") >= 10  # the property really ran on rows
    finally:
        for db in dbs:
            await db.close()
