"""The Data API lane against the brief's hand-written aioboto3 code, on the same local gateway.

Starts its own embedded PostgreSQL, migrates the hospitality schema, seeds one tenant with
1,000 bookings and starts the local gateway on it (``tenantdb gateway --dsn …`` in its own
process, like a remote Aurora endpoint; ``--same-process`` runs ``LocalDataApi`` on the
benchmark's event loop instead). Real HTTP, real aioboto3.
Single task, sequential requests; every variant runs one RLS transaction per request:

* ``many_sdk``          ``async with db.tenant(ctx, readonly=True)`` + generated
                        ``list_bookings(page_limit=1000)``: 1,000 typed ``Booking`` Structs
                        (Begin, set_config, query, Commit = 4 calls)
* ``many_handwritten``  the brief's style with a plain aioboto3 client: begin_transaction,
                        ``SET LOCAL app.current_tenant_id = '…'``, execute_statement, reading
                        ``records`` field by field into dicts (untyped: strings stay strings),
                        commit_transaction (4 calls)
* ``many_raw_records`` / ``many_raw_json``  the decoding choice measured on its own: the same
                        4 calls through a client with the raw-body hook, decoding ``records``
                        with the lane's typed plan vs ``formatRecordsAs=JSON`` with an equally
                        typed msgspec Struct keyed by label, into the same ``Booking`` Structs.
                        The measurement behind the lane's choice of ``records`` (on Aurora v2
                        the JSON format also costs a catalog query per call, which the gateway
                        does not model).
* ``one_sdk`` / ``one_handwritten``  a single-query RLS transaction (``get_booking``);
                        ``one_raw_records`` / ``one_raw_json`` the format choice for one row.

One round runs one request of every variant, in a rotated order (interleaved request by
request); the figure is the median over the rounds (``--rounds`` for ``:many``, ten times as
many for the single-query pair), after a warm-up.

Run: ``PYTHONPATH=generated python benchmarks/bench_dataapi.py [--rounds 41] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aioboto3
import asyncpg
import msgspec
import structlog
from aiobotocore.config import AioConfig
from hospitality import bookings, models

from tenantdb import codecs
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.dataapi.client import keep_raw_body
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.dataapi.results import parse_execute
from tenantdb.drivers.dataapi.rows import _MEMBER_BY_PG_TYPE, _MSGSPEC_TYPES, decode_result
from tenantdb.local import LocalPostgres
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.migrate import up

ROWS = 1_000
POOL_SIZE = 4
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
USER = "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
COLUMNS = [c.name for c in bookings.LIST_BOOKINGS.columns]
_RAW = "tenantdb_raw_body"


async def seed(pg: LocalPostgres) -> uuid.UUID:
    """One tenant with 1,000 bookings; returns one booking id."""
    await up(pg.admin_dsn, SCHEMA_DIR)
    conn = await asyncpg.connect(pg.admin_dsn)
    try:
        await conn.execute(
            "INSERT INTO tenants (id, slug, name) VALUES ($1, 'bench', 'Bench Inn')", TENANT
        )
        await conn.execute(
            "INSERT INTO users (tenant_id, id, email, display_name, role)"
            " VALUES ($1, $2, 'owner@example.com', 'Owner', 'owner')",
            TENANT,
            USER,
        )
        prop = await conn.fetchval(
            "INSERT INTO properties (tenant_id, code, name, city) VALUES ($1, 'HQ', 'Grand',"
            " 'Lisbon') RETURNING id",
            TENANT,
        )
        room = await conn.fetchval(
            "INSERT INTO rooms (tenant_id, property_id, number, nightly_rate) VALUES ($1, $2,"
            " '101', 120) RETURNING id",
            TENANT,
            prop,
        )
        guest = await conn.fetchval(
            "INSERT INTO guests (tenant_id, full_name) VALUES ($1, 'Ada Lovelace') RETURNING id",
            TENANT,
        )
        start = datetime.date(2026, 1, 1)
        await conn.executemany(
            "INSERT INTO bookings (tenant_id, reference, property_id, room_id, guest_id,"
            " created_by, status, check_in, check_out, total_amount, metadata)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', $7, $8, 240.50, $9)",
            [
                (
                    TENANT,
                    f"BK-{i:05d}",
                    prop,
                    room,
                    guest,
                    USER,
                    start + datetime.timedelta(days=i),
                    start + datetime.timedelta(days=i + 2),
                    json.dumps({"source": "web", "n": i}),
                )
                for i in range(ROWS)
            ],
        )
        booking = await conn.fetchval("SELECT id FROM bookings ORDER BY check_in LIMIT 1")
    finally:
        await conn.close()
    assert isinstance(booking, uuid.UUID)
    return booking


class Gateway:
    """Where the gateway listens and the config to reach it with the tenant secret."""

    def __init__(self, endpoint_url: str, resource_arn: str, secret_arn: str, database: str):
        self.endpoint_url = endpoint_url
        self.resource_arn = resource_arn
        self.tenant_secret_arn = secret_arn
        self.region = "us-east-1"
        self.config = DataApi(
            resource_arn=resource_arn,
            secret_arn=secret_arn,
            database=database,
            endpoint_url=endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the gateway ignores signatures
        )


@contextlib.asynccontextmanager
async def gateway_process(pg: LocalPostgres) -> AsyncIterator[Gateway]:
    """``tenantdb gateway --dsn …`` in its own process, as Aurora's endpoint is remote: the
    gateway's CPU work then does not run on the client's event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from tenantdb.cli import main; raise SystemExit(main())",
        "gateway",
        "--dsn",
        pg.admin_dsn,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: dict[str, str] = {}
    try:
        while "admin secret ARN" not in seen:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                raise RuntimeError("the gateway process exited before it was ready")
            key, _, value = line.partition(":")
            seen[key.strip()] = value.strip()
        yield Gateway(seen["endpoint"], seen["resource ARN"], seen["tenant secret ARN"], pg.name)
    finally:
        proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def in_process_gateway(pg: LocalPostgres) -> AsyncIterator[Gateway]:
    async with LocalDataApi(pg) as gw:
        yield Gateway(gw.endpoint_url, gw.resource_arn, gw.tenant_secret_arn, pg.name)


@contextlib.asynccontextmanager
async def plain_client(gw: Gateway, *, raw: bool) -> AsyncIterator[Any]:
    """An aioboto3 rds-data client like the brief's (optionally with the lane's raw hook)."""
    session = aioboto3.Session()
    async with session.client(
        "rds-data",
        region_name=gw.region,
        endpoint_url=gw.endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the gateway ignores signatures
        config=AioConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=70,
            max_pool_connections=POOL_SIZE,
        ),
    ) as client:
        if raw:
            client.meta.events.register("before-parse.rds-data.ExecuteStatement", keep_raw_body)
        yield client


def _value(field: dict[str, Any]) -> Any:
    """The brief's field-by-field read: ``.stringValue`` / ``.longValue`` / … or null."""
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if key in field:
            return field[key]
    return field.get("arrayValue")


class Bench:
    def __init__(self, db: Database, gw: Gateway, plain: Any, raw: Any, booking: uuid.UUID):
        self.db = db
        self.plain = plain
        self.raw = raw
        self.booking = booking
        self.ctx = TenantContext(tenant_id=TENANT, user_id=USER)
        self.base = {"resourceArn": gw.resource_arn, "secretArn": gw.tenant_secret_arn}
        self.database = gw.config.database

    # -- :many of 1,000 rows ---------------------------------------------------------------------
    async def many_sdk(self) -> None:
        async with self.db.tenant(self.ctx, readonly=True) as tx:
            rows = await bookings.list_bookings(
                tx, status=None, after_check_in=None, after_id=None, page_limit=ROWS
            )
        assert len(rows) == ROWS

    async def _handwritten(self, sql: str, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        c, base = self.plain, self.base
        tx = (await c.begin_transaction(**base, database=self.database))["transactionId"]
        await c.execute_statement(
            **base, sql=f"SET LOCAL app.current_tenant_id = '{TENANT}'", transactionId=tx
        )
        res = await c.execute_statement(**base, sql=sql, parameters=params, transactionId=tx)
        rows = [
            {name: _value(f) for name, f in zip(COLUMNS, record, strict=True)}
            for record in res.get("records", [])
        ]
        await c.commit_transaction(**base, transactionId=tx)
        return rows

    async def many_handwritten(self) -> None:
        rows = await self._handwritten(bookings.LIST_BOOKINGS.data_api_sql, _LIST_PARAMS)
        assert len(rows) == ROWS

    async def _raw(
        self, query: Any, params: list[dict[str, Any]], *, as_json: bool
    ) -> list[models.Booking]:
        c, base = self.raw, self.base
        tx = (await c.begin_transaction(**base, database=self.database))["transactionId"]
        await c.execute_statement(
            **base,
            sql="SELECT set_config('app.current_tenant_id', :t, true)",
            parameters=[{"name": "t", "value": {"stringValue": TENANT}}],
            transactionId=tx,
        )
        extra = {"formatRecordsAs": "JSON"} if as_json else {}
        res = await c.execute_statement(
            **base, sql=query.data_api_sql, parameters=params, transactionId=tx, **extra
        )
        body = res[_RAW]
        if as_json:
            rows = _decode_json_format(query, body)
        else:
            rows, _ = decode_result(query, body)
        await c.commit_transaction(**base, transactionId=tx)
        return rows

    async def many_raw_records(self) -> None:
        rows = await self._raw(bookings.LIST_BOOKINGS, _LIST_PARAMS, as_json=False)
        assert len(rows) == ROWS

    async def many_raw_json(self) -> None:
        rows = await self._raw(bookings.LIST_BOOKINGS, _LIST_PARAMS, as_json=True)
        assert len(rows) == ROWS

    async def one_raw_records(self) -> None:
        rows = await self._raw(bookings.GET_BOOKING, self._get_params, as_json=False)
        assert len(rows) == 1

    async def one_raw_json(self) -> None:
        rows = await self._raw(bookings.GET_BOOKING, self._get_params, as_json=True)
        assert len(rows) == 1

    # -- a single-query RLS transaction -----------------------------------------------------------
    async def one_sdk(self) -> None:
        async with self.db.tenant(self.ctx) as tx:
            row = await bookings.get_booking(tx, id=self.booking)
        assert row is not None

    async def one_handwritten(self) -> None:
        rows = await self._handwritten(bookings.GET_BOOKING.data_api_sql, self._get_params)
        assert len(rows) == 1

    @property
    def _get_params(self) -> list[dict[str, Any]]:
        return [{"name": "id", "value": {"stringValue": str(self.booking)}, "typeHint": "UUID"}]


_LIST_PARAMS = [
    {"name": "status", "value": {"isNull": True}},
    {"name": "after_check_in", "value": {"isNull": True}},
    {"name": "after_id", "value": {"isNull": True}},
    {"name": "page_limit", "value": {"longValue": ROWS}},
]


def _json_row_type(query: Any) -> Any:
    """A Struct keyed by the column labels, typed like the lane's records plan."""
    fields = []
    for column, decode in zip(query.columns, query.data_api_decoders, strict=True):
        py = _MSGSPEC_TYPES.get(decode) if decode is not None else None
        if py is None:
            py = _MEMBER_BY_PG_TYPE.get(column.pg_type, ("stringValue", str))[1]
        fields.append((column.name, py | None, None))
    return msgspec.defstruct("JsonRow", fields)


_JSON_ROW = _json_row_type(bookings.LIST_BOOKINGS)
_json_rows = msgspec.json.Decoder(list[_JSON_ROW])  # type: ignore[valid-type]
_TZ_COLUMNS = [
    i
    for i, d in enumerate(bookings.LIST_BOOKINGS.data_api_decoders)
    if d is codecs.decode_timestamptz
]


def _decode_json_format(query: Any, body: bytes) -> list[Any]:
    """``formatRecordsAs=JSON`` decoded as fast as msgspec allows: typed rows by label."""
    result = parse_execute(body)
    rows = []
    for obj in _json_rows.decode(result.formattedRecords or "[]"):
        values = list(msgspec.structs.astuple(obj))
        for i in _TZ_COLUMNS:
            if values[i] is not None:
                values[i] = values[i].replace(tzinfo=datetime.UTC)
        rows.append(query.from_record(values))
    return rows


async def _timed(fn: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await fn()
    return (time.perf_counter() - start) * 1e3  # ms per request


async def measure(bench: Bench, names: list[str], rounds: int, warmup: int) -> dict[str, float]:
    """Median per-request time; one round = one request of every variant, rotated order.

    Interleaving request by request (the machine is shared) keeps load drift from favouring
    one variant; the median over many rounds drops the outliers.
    """
    variants = {name: getattr(bench, name) for name in names}
    for fn in variants.values():  # warm-up: HTTP connections, plans, caches
        for _ in range(warmup):
            await fn()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(await _timed(variants[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


async def main(rounds: int, one_factor: int, *, same_process: bool) -> dict[str, Any]:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    async with LocalPostgres() as pg:
        booking = await seed(pg)
        start = in_process_gateway if same_process else gateway_process
        async with (
            start(pg) as gw,
            plain_client(gw, raw=False) as plain,
            plain_client(gw, raw=True) as raw,
        ):
            options = PoolOptions(min_size=1, max_size=POOL_SIZE)
            async with Database(admin=pg.admin_dsn, tenant=gw.config, pool=options) as db:
                bench = Bench(db, gw, plain, raw, booking)
                many = await measure(
                    bench,
                    ["many_sdk", "many_handwritten", "many_raw_records", "many_raw_json"],
                    rounds,
                    warmup=5,
                )
                one = await measure(
                    bench,
                    ["one_sdk", "one_handwritten", "one_raw_records", "one_raw_json"],
                    rounds * one_factor,
                    warmup=50,
                )
    return _report(many, one, rounds, one_factor, same_process)


def _report(
    many: dict[str, float],
    one: dict[str, float],
    rounds: int,
    one_factor: int,
    same_process: bool,
) -> dict[str, Any]:
    ratios = {
        "many_handwritten_vs_sdk_speedup": many["many_handwritten"] / many["many_sdk"],
        "many_json_vs_records": many["many_raw_json"] / many["many_raw_records"],
        "one_json_vs_records": one["one_raw_json"] / one["one_raw_records"],
        "one_sdk_vs_handwritten": one["one_sdk"] / one["one_handwritten"],
    }
    result = {
        "rounds": {"many": rounds, "one": rounds * one_factor},
        "gateway": "same process" if same_process else "own process",
        "median_ms_per_request": many | one,
        "ratios": ratios,
        "targets": {
            "many_sdk_at_least_2x_faster": ratios["many_handwritten_vs_sdk_speedup"] >= 2.0,
            "one_sdk_within_5_percent": ratios["one_sdk_vs_handwritten"] <= 1.05,
        },
    }
    print(json.dumps(result, indent=2))
    print()
    print(f"{'variant':<18} {'ms/request':>11}  ratio")
    for name, value in many.items():
        print(f"{name:<18} {value:>11.2f}  {value / many['many_sdk']:>6.2f}x vs many_sdk")
    for name, value in one.items():
        print(f"{name:<18} {value:>11.2f}  {value / one['one_sdk']:>6.2f}x vs one_sdk")
    return result


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=41, help="rounds of the :many variants")
    parser.add_argument(
        "--one-factor", type=int, default=10, help="the single-query variants run this many x"
    )
    parser.add_argument("--json", dest="json_path", default=None)
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="run the gateway on the benchmark's event loop (default: its own process)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    ns = _args()
    figures = asyncio.run(main(ns.rounds, ns.one_factor, same_process=ns.same_process))
    if ns.json_path:
        with open(ns.json_path, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
