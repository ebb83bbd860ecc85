"""Edge cases of the Data API tenant lane against the asyncpg lane (values, errors, commits).

Each pins a defect a review found and that is fixed (a lost answer never resends a write, a
failed or cancelled COMMIT never leaves the transaction open, years before 1000, a bool for an
integer parameter, a datetime for a DATE parameter, bounded caches) or subtle behaviour both
lanes share. Echo queries are built by hand as codegen would (Param hints, decoders).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import socket
import struct
from typing import Any

import anyio
import botocore.exceptions
import msgspec
import pytest
from fix_lanes import FAST_RETRY, data_api_lane
from fix_schema import TenantSet
from hospitality import users

from tenantdb import codecs, errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.dataapi.errors import map_dataapi_error
from tenantdb.drivers.dataapi.transaction import _CURSORS, _cursor_queries
from tenantdb.local.dataapi import Fault, LocalDataApi
from tenantdb.query import Column, Command, Param, Query


class One(msgspec.Struct, frozen=True):
    v: Any


def _one(r: Any) -> One:
    return One(*r)


def _echo(pg_type: str, hint: str | None = None, decoder: Any = None) -> Query[One]:
    return Query(
        name=f"Echo_{pg_type}",
        command=Command.ONE,
        sql=f"SELECT $1::{pg_type} AS v",
        data_api_sql=f"SELECT :v::{pg_type} AS v",
        params=(Param(name="v", number=1, pg_type=pg_type, nullable=True, type_hint=hint),),
        columns=(Column(name="v", pg_type=pg_type),),
        row=One,
        from_record=_one,
        data_api_decoders=(decoder,),
    )


async def _run(db: Database, tenants: TenantSet, q: Query[One], value: object) -> Any:
    ctx = TenantContext(tenant_id=tenants.c.tenant_id)
    try:
        async with db.tenant(ctx, readonly=True) as tx:
            row = await tx.one(q, (value,))
    except errors.TenantDBError as exc:
        return type(exc)
    assert row is not None
    return row.v


def _select(sql: str, pg_type: str, *, dims: int = 0, decoder: Any = None) -> Query[One]:
    return Query(
        name="Select_" + pg_type,
        command=Command.ONE,
        sql=sql,
        data_api_sql=sql,
        columns=(Column(name="v", pg_type=pg_type, array_dims=dims),),
        row=One,
        from_record=_one,
        data_api_decoders=(decoder,),
    )


async def _fetch(db: Database, tenants: TenantSet, q: Query[One]) -> Any:
    ctx = TenantContext(tenant_id=tenants.c.tenant_id)
    async with db.tenant(ctx, readonly=True) as tx:
        row = await tx.one(q, ())
    assert row is not None
    return row.v


# -- values: fixed defects (each docstring says what used to go wrong) ------------------------


async def test_timestamp_before_year_1000_binds(lane_db: Database, tenants_abc: TenantSet) -> None:
    """``strftime("%Y")`` does not zero-pad years < 1000 on glibc: the lane sends
    ``5-01-02 03:04:05.000006`` and the TIMESTAMP hint rejects it (QueryError)."""
    value = datetime.datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
    q = _echo("timestamptz", "TIMESTAMP", codecs.decode_timestamptz)
    assert await _run(lane_db, tenants_abc, q, value) == value


async def test_int_beyond_int64_is_the_same_error_class(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    """asyncpg: InvalidParameterValue (22023); Data API lane: NumericValueOutOfRange (22003)."""
    assert await _run(lane_db, tenants_abc, _echo("int8"), 2**63) is errors.InvalidParameterValue


async def test_bool_for_an_int8_parameter_binds_as_on_asyncpg(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    """``True`` type-checks as ``int``; asyncpg binds it as 1, the Data API lane sends
    ``booleanValue`` and PostgreSQL refuses ``boolean::bigint`` (CannotCoerce)."""
    assert await _run(lane_db, tenants_abc, _echo("int8"), True) == 1


async def test_datetime_for_a_date_parameter_binds_as_on_asyncpg(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    """A ``datetime`` is a ``date``: asyncpg binds its date; the Data API lane formats it as a
    timestamp under the DATE hint."""
    q = _echo("date", "DATE", codecs.decode_date)
    value = datetime.datetime(2024, 1, 2, 3, 4)
    assert await _run(lane_db, tenants_abc, q, value) == datetime.date(2024, 1, 2)


def test_cursor_variant_cache_is_bounded() -> None:
    """``_CURSORS`` bounds the number of queries, but each query's dict of (cursor number,
    page size) variants grows without limit (a page size taken from a request parameter, or
    many cursors in one transaction, keep adding DECLARE/FETCH Query pairs forever)."""
    q = _select("SELECT 1 AS v", "int4")
    variants = _CURSORS.get(q, lambda _: {})
    try:
        for size in range(1, 5001):
            _cursor_queries(q, 1, size)
        assert len(variants) <= 1024
    finally:
        variants.clear()


# -- values: subtle behaviour both lanes share (passing) ---------------------------------------


async def test_naive_datetime_for_timestamptz_is_utc_on_both_lanes(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    value = datetime.datetime(2024, 1, 2, 12, 0)
    q = _echo("timestamptz", "TIMESTAMP", codecs.decode_timestamptz)
    assert await _run(lane_db, tenants_abc, q, value) == value.replace(tzinfo=datetime.UTC)


async def test_empty_string_is_not_null_and_aware_time_drops_offset_on_both_lanes(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    assert await _run(lane_db, tenants_abc, _echo("text"), "") == ""
    aware = datetime.time(12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    q = _echo("time", "TIME", codecs.decode_time)
    assert await _run(lane_db, tenants_abc, q, aware) == datetime.time(12, 0)


# -- transactions: commit failures and cancellation (fixed defects) ---------------------------


async def test_commit_that_never_ran_does_not_leave_the_transaction_open(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    """A 5xx *before* CommitTransaction ran: outcome unknown, but the lane must not leave the
    transaction (and its database connection) open until the 3-minute idle expiry. A
    RollbackTransaction after a failed commit is harmless either way."""
    before = gateway.open_transactions
    tx_id = ""

    async def unit_of_work() -> None:
        nonlocal tx_id
        async with data_api_db.tenant(TenantContext(tenant_id=tenants_abc.a.tenant_id)) as tx:
            tx_id = tx.transaction_id  # type: ignore[attr-defined]
            await users.list_users(tx)
            gateway.inject(Fault.SERVICE_UNAVAILABLE, operations=["CommitTransaction"])

    try:
        with pytest.raises(errors.ConnectionLostError):
            await unit_of_work()
        assert gateway.open_transactions == before
    finally:
        gateway.clear_faults()
        with contextlib.suppress(Exception):  # tidy up what the lane left open
            await data_api_lane(data_api_db).client.rollback(tx_id)


async def test_cancelled_commit_does_not_leave_the_transaction_open(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    """Cancellation while CommitTransaction is in flight: the lane waits for COMMIT's answer
    (bounded) and delivers the cancellation after it, so the transaction is neither abandoned
    nor left in doubt (issue 13: the outcome is known)."""
    lane = data_api_lane(data_api_db)
    started = anyio.Event()

    async def slow_commit(**_: Any) -> None:
        started.set()
        await anyio.sleep(0.5)

    events = lane.client.client.meta.events
    events.register("before-call.rds-data.CommitTransaction", slow_commit)
    before = gateway.open_transactions
    tx_id = ""
    try:
        async with anyio.create_task_group() as tg:

            async def cancel_when_committing() -> None:
                await started.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(cancel_when_committing)
            async with data_api_db.tenant(TenantContext(tenant_id=tenants_abc.a.tenant_id)) as tx:
                tx_id = tx.transaction_id  # type: ignore[attr-defined]
                await users.list_users(tx)
        assert tx.committed  # type: ignore[attr-defined]
        assert gateway.open_transactions == before
    finally:
        events.unregister("before-call.rds-data.CommitTransaction", slow_commit)
        with contextlib.suppress(Exception):
            await lane.client.rollback(tx_id)


# -- retries: a reset connection is "outcome unknown", not "never sent" (fixed defects) ------

_MARK = b"review-reset-marker"
_COUNT = Query(
    name="BumpCounter",
    command=Command.ONE,
    sql="SELECT x",
    data_api_sql=(
        "SELECT set_config('app.review_n', (coalesce(nullif(current_setting('app.review_n', "
        "true), ''), '0')::int + 1)::text, true) AS v, 'review-reset-marker' AS m"
    ),
    columns=(Column(name="v", pg_type="text"), Column(name="m", pg_type="text")),
    row=One,
    from_record=lambda r: One(r[0]),
    data_api_decoders=(None, None),
)


@contextlib.asynccontextmanager
async def _resetting_proxy(target_port: int) -> Any:
    """A TCP proxy to the gateway that lets the first request carrying ``_MARK`` run, then
    answers it with a TCP reset instead of the response (a connection lost mid-answer)."""
    state = {"armed": True}

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
        reset_next = asyncio.Event()

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if state["armed"] and _MARK in data:
                    state["armed"] = False
                    reset_next.set()
                up_w.write(data)
                await up_w.drain()
            up_w.close()

        async def downstream() -> None:
            while data := await up_r.read(65536):
                if reset_next.is_set():
                    sock = client_w.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client_w.transport.abort()
                    up_w.close()
                    return
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        with contextlib.suppress(OSError):
            await asyncio.gather(upstream(), downstream())

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_statement_whose_answer_was_lost_is_not_resent(
    tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    """aiobotocore turns any aiohttp ClientConnectionError (e.g. ECONNRESET while reading the
    answer, after the statement ran) into EndpointConnectionError; the lane reads that as
    "never reached the service", retryable, and resends the statement in the transaction."""
    port = int(str(gateway.config.endpoint_url).rsplit(":", 1)[1].split("/")[0])
    async with _resetting_proxy(port) as proxy_port:
        config = msgspec.structs.replace(
            gateway.config, endpoint_url=f"http://127.0.0.1:{proxy_port}"
        )
        async with Database(admin=tenants_abc.pg.admin_dsn, tenant=config) as db:
            data_api_lane(db).retry = FAST_RETRY
            ctx = TenantContext(tenant_id=tenants_abc.c.tenant_id)
            outcome: Any
            try:
                async with db.tenant(ctx) as tx:
                    row = await tx.one(_COUNT, ())
                    outcome = None if row is None else row.v
            except errors.TenantDBError as exc:
                outcome = exc
    # Either the lost answer surfaces as a lost connection (the statement is not resent; the
    # block rolled back, so the unit of work is retryable), or the statement ran once.
    assert outcome == "1" or (
        isinstance(outcome, errors.ConnectionLostError)
        and not isinstance(outcome, errors.CommitOutcomeUnknownError)
    ), outcome


def test_server_disconnect_maps_to_connection_lost() -> None:
    """aiobotocore raises botocore's ConnectionClosedError for ServerDisconnectedError,
    ClientPayloadError and BadStatusLine (an answer lost mid-way). It is neither an OSError
    nor named *ConnectionError, so the lane maps it to a plain QueryError ("unexpected")."""
    exc = botocore.exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1:1")
    write = map_dataapi_error(exc, query="CreateUser", idempotent=False)
    read = map_dataapi_error(exc, query="ListUsers", idempotent=True)
    assert isinstance(write, errors.ConnectionLostError) and not write.retryable
    assert isinstance(read, errors.ConnectionLostError) and read.retryable


# -- non-finite doubles (the service sends "NaN" / "Infinity" as JSON strings) --------------------


@pytest.mark.parametrize(
    ("pg_type", "literal"),
    [("float8", "'NaN'"), ("float8", "'Infinity'"), ("float4", "'-Infinity'"), ("float4", "'NaN'")],
)
async def test_non_finite_doubles_come_back_as_floats(
    lane_db: Database, tenants_abc: TenantSet, pg_type: str, literal: str
) -> None:
    value = await _fetch(
        lane_db, tenants_abc, _select(f"SELECT {literal}::{pg_type} AS v", pg_type)
    )
    expected = float(literal.strip("'"))
    assert isinstance(value, float)
    assert (math.isnan(value) and math.isnan(expected)) or value == expected


async def test_non_finite_doubles_in_arrays_come_back_as_floats(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    q = _select("SELECT ARRAY[1.5, 'NaN', '-Infinity', NULL]::float8[] AS v", "float8", dims=1)
    value = await _fetch(lane_db, tenants_abc, q)
    assert value[0] == 1.5
    assert math.isnan(value[1])
    assert value[2] == float("-inf")
    assert value[3] is None


async def test_aware_datetime_for_a_timestamp_parameter_is_refused_on_both_lanes(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    tz = datetime.timezone(datetime.timedelta(hours=5))
    q = _echo("timestamp", "TIMESTAMP", codecs.decode_timestamp)
    result = await _run(lane_db, tenants_abc, q, datetime.datetime(2026, 1, 2, 12, tzinfo=tz))
    assert result is errors.InvalidParameterValue
    naive = datetime.datetime(2026, 1, 2, 12, 0, 0, 123456)
    assert await _run(lane_db, tenants_abc, q, naive) == naive
