"""Section 5: the Data API lane against hand-written aioboto3, over the local gateway.

The gateway runs in its own process (``tenantdb gateway --dsn …``), as Aurora's endpoint is
remote; real HTTP, real aioboto3. Single task, one RLS transaction per request:

* ``many_sdk``          ``db.tenant(ctx, readonly=True)`` + generated ``list_bookings`` of 1,000
                        rows: typed ``Booking`` Structs (Begin, set_config, query, Commit)
* ``many_handwritten``  the brief's style with a plain aioboto3 client: begin_transaction,
                        ``SET LOCAL app.current_tenant_id = '…'``, execute_statement, ``records``
                        read field by field into dicts (untyped), commit_transaction
* ``one_sdk`` / ``one_handwritten``  the same with ``get_booking`` (one row)

The full run adds the result-format choice measured on its own (``records`` with the lane's
typed plan vs ``formatRecordsAs=JSON``, both into the same Structs): see docs/dataapi.md.
HTTP calls per transaction are counted on the botocore event hooks of the lane's session.
One round runs one request of every variant in a rotated order; figures are medians.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aioboto3
import msgspec
from aiobotocore.config import AioConfig

from tenantdb import codecs
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.dataapi.client import keep_raw_body
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.dataapi.results import parse_execute
from tenantdb.drivers.dataapi.rows import _MEMBER_BY_PG_TYPE, _MSGSPEC_TYPES, decode_result

from . import calls
from .env import Env, Gateway, gateway_process
from .progress import Progress

ROWS = 1_000
POOL_SIZE = 4
_RAW = "tenantdb_raw_body"
_KEYS = ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue")


def _value(field: dict[str, Any]) -> Any:
    """The brief's field-by-field read: ``.stringValue`` / ``.longValue`` / … or null."""
    if field.get("isNull"):
        return None
    for key in _KEYS:
        if key in field:
            return field[key]
    return field.get("arrayValue")


@contextlib.asynccontextmanager
async def _client(gw: Gateway, *, raw: bool) -> AsyncIterator[Any]:
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


class _Bench:
    def __init__(self, env: Env, db: Database, gw: Gateway, plain: Any, raw: Any) -> None:
        self.db = db
        self.plain = plain
        self.raw = raw
        self.tenant = env.tenant
        self.booking = env.booking_id
        self.ctx = TenantContext(tenant_id=env.tenant, user_id=env.user_id)
        self.base = {"resourceArn": gw.resource_arn, "secretArn": gw.tenant_secret_arn}
        self.database = gw.database
        self.columns = [c.name for c in calls.LIST_BOOKINGS.columns]
        self.list_params = [
            {"name": "status", "value": {"isNull": True}},
            {"name": "after_check_in", "value": {"isNull": True}},
            {"name": "after_id", "value": {"isNull": True}},
            {"name": "page_limit", "value": {"longValue": ROWS}},
        ]
        self.get_params = [
            {"name": "id", "value": {"stringValue": str(env.booking_id)}, "typeHint": "UUID"}
        ]

    async def many_sdk(self) -> None:
        async with self.db.tenant(self.ctx, readonly=True) as tx:
            rows = await calls.list_bookings(tx, ROWS)
        assert len(rows) == ROWS

    async def one_sdk(self) -> None:
        async with self.db.tenant(self.ctx) as tx:
            row = await calls.get_booking(tx, self.booking)
        assert row is not None

    async def _handwritten(self, sql: str, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        c, base = self.plain, self.base
        tx = (await c.begin_transaction(**base, database=self.database))["transactionId"]
        await c.execute_statement(
            **base, sql=f"SET LOCAL app.current_tenant_id = '{self.tenant}'", transactionId=tx
        )
        res = await c.execute_statement(**base, sql=sql, parameters=params, transactionId=tx)
        rows = [
            {name: _value(f) for name, f in zip(self.columns, record, strict=True)}
            for record in res.get("records", [])
        ]
        await c.commit_transaction(**base, transactionId=tx)
        return rows

    async def many_handwritten(self) -> None:
        rows = await self._handwritten(calls.LIST_BOOKINGS.data_api_sql, self.list_params)
        assert len(rows) == ROWS

    async def one_handwritten(self) -> None:
        rows = await self._handwritten(calls.GET_BOOKING.data_api_sql, self.get_params)
        assert len(rows) == 1

    async def _raw(self, query: Any, params: list[dict[str, Any]], *, as_json: bool) -> list[Any]:
        c, base = self.raw, self.base
        tx = (await c.begin_transaction(**base, database=self.database))["transactionId"]
        await c.execute_statement(
            **base,
            sql="SELECT set_config('app.current_tenant_id', :t, true)",
            parameters=[{"name": "t", "value": {"stringValue": self.tenant}}],
            transactionId=tx,
        )
        extra = {"formatRecordsAs": "JSON"} if as_json else {}
        res = await c.execute_statement(
            **base, sql=query.data_api_sql, parameters=params, transactionId=tx, **extra
        )
        if as_json:
            rows = _decode_json_format(query, res[_RAW])
        else:
            rows, _ = decode_result(query, res[_RAW])
        await c.commit_transaction(**base, transactionId=tx)
        return rows

    async def many_raw_records(self) -> None:
        assert len(await self._raw(calls.LIST_BOOKINGS, self.list_params, as_json=False)) == ROWS

    async def many_raw_json(self) -> None:
        assert len(await self._raw(calls.LIST_BOOKINGS, self.list_params, as_json=True)) == ROWS


def _json_row_type(query: Any) -> Any:
    """A Struct keyed by the column labels, typed like the lane's records plan."""
    fields = []
    for column, decode in zip(query.columns, query.data_api_decoders, strict=True):
        py = _MSGSPEC_TYPES.get(decode) if decode is not None else None
        if py is None:
            py = _MEMBER_BY_PG_TYPE.get(column.pg_type, ("stringValue", str))[1]
        fields.append((column.name, py | None, None))
    return msgspec.defstruct("JsonRow", fields)


_JSON_ROWS = msgspec.json.Decoder(list[_json_row_type(calls.LIST_BOOKINGS)])  # type: ignore[misc]
_TZ = [
    i for i, d in enumerate(calls.LIST_BOOKINGS.data_api_decoders) if d is codecs.decode_timestamptz
]


def _decode_json_format(query: Any, body: bytes) -> list[Any]:
    result = parse_execute(body)
    rows = []
    for obj in _JSON_ROWS.decode(result.formattedRecords or "[]"):
        values = list(msgspec.structs.astuple(obj))
        for i in _TZ:
            if values[i] is not None:
                values[i] = values[i].replace(tzinfo=datetime.UTC)
        rows.append(query.from_record(values))
    return rows


async def _measure(
    variants: dict[str, Callable[[], Awaitable[None]]], rounds: int, warmup: int
) -> dict[str, float]:
    """Median ms per request; one round = one request of every variant, rotated."""
    for fn in variants.values():
        for _ in range(warmup):
            await fn()
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await variants[name]()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: sorted(v)[len(v) // 2] for name, v in samples.items()}


async def _calls_per_transaction(env: Env, gw: Gateway, config: DataApi) -> dict[str, int]:
    """HTTP calls of a tenant transaction with N queries, counted on botocore's events."""
    session = aioboto3.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the gateway ignores signatures
        region_name=gw.region,
    )
    counted: collections.Counter[str] = collections.Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    session.events.register("before-call.rds-data", count)
    cfg = msgspec.structs.replace(config, session=session)
    ctx = TenantContext(tenant_id=env.tenant, user_id=env.user_id)
    out: dict[str, int] = {}
    async with Database(tenant=cfg, pool=PoolOptions(min_size=1, max_size=1)) as db:
        for n in (1, 2, 5):
            counted.clear()
            async with db.tenant(ctx, readonly=True) as tx:
                for _ in range(n):
                    await calls.get_booking(tx, env.booking_id)
            out[str(n)] = sum(counted.values())
    return out


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg = env.cfg
    async with (
        gateway_process(env.pg) as gw,
        _client(gw, raw=False) as plain,
        _client(gw, raw=True) as raw,
    ):
        config = DataApi(
            resource_arn=gw.resource_arn,
            secret_arn=gw.tenant_secret_arn,
            database=gw.database,
            endpoint_url=gw.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the gateway ignores signatures
        )
        calls_per_tx = await _calls_per_transaction(env, gw, config)
        options = PoolOptions(min_size=1, max_size=POOL_SIZE)
        async with Database(tenant=config, pool=options) as db:
            b = _Bench(env, db, gw, plain, raw)
            many_names = ["many_sdk", "many_handwritten"]
            if not cfg.quick:
                many_names += ["many_raw_records", "many_raw_json"]
            many = await _measure(
                {n: getattr(b, n) for n in many_names}, cfg.dataapi_many_rounds, warmup=3
            )
            progress.advance()
            one = await _measure(
                {"one_sdk": b.one_sdk, "one_handwritten": b.one_handwritten},
                cfg.dataapi_one_rounds,
                warmup=20,
            )
            progress.advance()
    result: dict[str, Any] = {
        "ms_per_request": many | one,
        "calls_per_transaction": calls_per_tx,
        "calls_are_n_plus_3": all(v == int(n) + 3 for n, v in calls_per_tx.items()),
        "many_handwritten_over_sdk": many["many_handwritten"] / many["many_sdk"],
        "one_sdk_over_handwritten": one["one_sdk"] / one["one_handwritten"],
    }
    if "many_raw_json" in many:
        result["many_json_over_records"] = many["many_raw_json"] / many["many_raw_records"]
    return result
