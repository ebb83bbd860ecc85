"""Data API values: ``Query`` arguments -> ``SqlParameter`` dicts, raw ``records`` -> rows.

Encoding follows the hints codegen stored on each ``Param`` (DATA_API.md §2.1, §4.1-4.2): the
Python type picks the ``Field`` member, ``Param.type_hint`` alone picks the ``typeHint``. A
string is never sent as UUID because it looks like one; a ``uuid.UUID`` whose parameter has no
hint travels as plain text, which the generated SQL casts.

Decoding reads the *raw* response body (msgspec, not botocore's parser): the lane's client
swaps the body for ``{}`` before botocore parses it (see ``_dataapi_client``). That is both
the speed of the lane (botocore walks every Field in Python) and the fix for botocore < 1.42.58,
which crashes on NULL elements of long/double arrays and turns NULL booleans into False
(DATA_API.md §4.6): here a JSON ``null`` element is simply ``None``. This module holds the
generic decoding (``unwrap`` + codegen's decoders); ``_dataapi_rows`` the typed fast path.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import ipaddress
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from tenantdb.errors import ConfigurationError, error_for_sqlstate
from tenantdb.query import Param, Query

__all__ = (
    "FLOAT4_TYPES",
    "INTEGER_TYPES",
    "ExecuteResult",
    "QueryCache",
    "bare",
    "builder",
    "decode_rows",
    "encode_params",
    "parse_execute",
    "unwrap",
    "unwrap_array",
    "widen_float4",
    "widen_float4_array",
)

R = TypeVar("R")
V = TypeVar("V")
_INT64 = (-(2**63), 2**63 - 1)
_SCALAR_KEYS = frozenset({"stringValue", "longValue", "doubleValue", "booleanValue"})


class ExecuteResult(msgspec.Struct, frozen=True):
    """The members of an ExecuteStatement response the lane uses (camelCase as on the wire)."""

    records: list[list[dict[str, Any]]] | None = None
    numberOfRecordsUpdated: int = 0  # noqa: N815 - the wire name
    formattedRecords: str | None = None  # noqa: N815 - the wire name


_decoder = msgspec.json.Decoder(ExecuteResult)


def parse_execute(body: bytes) -> ExecuteResult:
    """A raw ExecuteStatement body; an empty body (AWS sends ``{}``) is an empty result."""
    return _decoder.decode(body) if body else ExecuteResult()


# -- parameters -------------------------------------------------------------------------------


INTEGER_TYPES = frozenset({"int2", "int4", "int8", "smallint", "integer", "bigint"})
"""Integer column/parameter types (bare names; ``pg_catalog.`` is stripped before the check)."""


def encode_params(query: Query[Any], args: Sequence[object]) -> list[dict[str, Any]]:
    """One ``SqlParameter`` per ``Param``, named as in ``Query.data_api_sql``."""
    params = query.params
    if len(args) != len(params):
        raise ConfigurationError(
            f"query {query.name} takes {len(params)} arguments, got {len(args)}"
        )
    return [_parameter(query, p, v) for p, v in zip(params, args, strict=True)]


def _parameter(query: Query[Any], param: Param, value: object) -> dict[str, Any]:
    if param.data_api_encode is not None:
        value = param.data_api_encode(value)
    hint = param.type_hint
    out: dict[str, Any] = {"name": param.name, "value": _field(query, param, value, hint)}
    if hint is not None and value is not None:
        out["typeHint"] = hint
    return out


def _field(query: Query[Any], param: Param, value: object, hint: str | None) -> dict[str, Any]:
    """The ``Field`` union member for one value (exactly one key, as botocore requires)."""
    if value is None:
        return {"isNull": True}
    if hint == "DECIMAL" and isinstance(value, decimal.Decimal | int | float | str):
        return {"stringValue": _decimal_text(query, param, value)}
    if isinstance(value, bool) and bare(param.pg_type) not in INTEGER_TYPES:
        return {"booleanValue": value}
    if isinstance(value, int):  # a bool for an integer parameter binds as 0/1, as on asyncpg
        if not _INT64[0] <= value <= _INT64[1]:
            # 22023 with the value hidden, as the asyncpg lane reports a bad argument
            raise error_for_sqlstate(
                "22023",
                f"invalid input for query argument {param.name}: out of the int64 range "
                "(value not shown)",
                query=query.name,
            )
        return {"longValue": int(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return (
        {"stringValue": _text(query, param, value)}
        if _texty(value)
        else _other(query, param, value)
    )


def _texty(value: object) -> bool:
    return isinstance(value, _TEXT_TYPES)


def _text(query: Query[Any], param: Param, value: object) -> str:
    """Values that travel as ``stringValue`` (the hint, if any, comes from the Param)."""
    if isinstance(value, datetime.datetime):
        if param.type_hint == "DATE":  # a datetime is a date: asyncpg keeps its date part
            return value.date().isoformat()
        if value.tzinfo is not None and bare(param.pg_type) == "timestamp":
            # asyncpg refuses an aware value for timestamp-without-time-zone; so do we, rather
            # than store its UTC wall-clock time
            raise error_for_sqlstate(
                "22023",
                f"invalid input for query argument {param.name}: an aware datetime for a "
                "timestamp without time zone (value not shown)",
                query=query.name,
            )
        return _timestamp_text(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, decimal.Decimal):
        return _decimal_text(query, param, value)
    return str(value)  # str, StrEnum (its label), UUID, ipaddress


def _other(query: Query[Any], param: Param, value: object) -> dict[str, Any]:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blobValue": bytes(value)}
    raise ConfigurationError(
        f"query {query.name}: parameter {param.name} got a {type(value).__name__}, which the "
        "Data API cannot carry (arrays and JSON need the generated function's encoding)"
    )


_TEXT_TYPES: tuple[type, ...] = (
    str,
    uuid.UUID,
    datetime.date,
    datetime.time,
    decimal.Decimal,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
)
"""Python types that travel as ``stringValue`` (datetime is a date subclass)."""


def _decimal_text(query: Query[Any], param: Param, value: object) -> str:
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        if value.is_nan():
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, str):
        try:
            decimal.Decimal(value)
        except decimal.InvalidOperation:
            raise error_for_sqlstate(
                "22P02", f"parameter {param.name} is not a decimal number", query=query.name
            ) from None
    return str(value)


def _timestamp_text(value: datetime.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC: the TIMESTAMP hint accepts no ``T``, ``Z`` or offset.

    Aware values are converted to UTC (Aurora's session time zone is UTC, so a timestamptz
    column stores the same instant); naive values are wall-clock times and travel as given.
    """
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    # isoformat zero-pads the year (strftime's %Y does not on glibc: year 5 would be "5-01-02")
    return value.isoformat(sep=" ", timespec="microseconds")


# -- results ----------------------------------------------------------------------------------


def unwrap(field: dict[str, Any]) -> Any:
    """A raw ``Field`` -> its scalar: ``isNull`` -> None, blobs -> bytes, arrays -> lists."""
    for key, value in field.items():
        if key == "doubleValue" and isinstance(value, str):
            return float(value)  # NaN and ±Infinity travel as strings: JSON has no such number
        if key in _SCALAR_KEYS:
            return value
        if key == "isNull":
            return None
        if key == "blobValue":
            return base64.b64decode(value)
        if key == "arrayValue":
            return unwrap_array(value)
    return None


def unwrap_array(value: dict[str, Any]) -> list[Any]:
    for key, items in value.items():
        if key == "arrayValues":
            return [None if a is None else unwrap_array(a) for a in items]
        if key == "doubleValues":
            return [float(v) if isinstance(v, str) else v for v in items]  # "NaN", "Infinity"
        return list(items)
    return []


def decode_rows(query: Query[R], records: list[list[dict[str, Any]]]) -> list[R]:
    """Raw records -> the Query's row Structs, exactly as asyncpg's rows become them."""
    steps = _plan(query)
    build = builder(query)
    if not steps:
        return [build([unwrap(f) for f in record]) for record in records]
    rows = []
    for record in records:
        values = [unwrap(f) for f in record]
        for i, decode in steps:
            v = values[i]
            if v is not None:
                values[i] = decode(v)
        rows.append(build(values))
    return rows


class QueryCache(Generic[V]):
    """Values derived from a ``Query`` (decode plans, paged variants), bounded.

    Keyed by the Query object's identity, with the Query kept alive while cached, so an id is
    never reused for another query; generated queries are module constants and hit forever,
    queries built per call (tests, dynamic code) only churn the oldest entries.
    """

    def __init__(self, size: int = 1024) -> None:
        self._items: dict[int, tuple[Query[Any], V]] = {}
        self._size = size

    def get(self, query: Query[Any], make: Callable[[Query[Any]], V]) -> V:
        hit = self._items.get(id(query))
        if hit is not None and hit[0] is query:
            return hit[1]
        value = make(query)
        if len(self._items) >= self._size:
            self._items.pop(next(iter(self._items)))
        self._items[id(query)] = (query, value)
        return value


_PLANS: QueryCache[tuple[tuple[int, Callable[[Any], Any]], ...]] = QueryCache()


def _plan(query: Query[Any]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(column index, decoder) pairs: codegen's decoders plus float4 widening.

    The Data API prints a ``real`` in its shortest float32 form (``0.09910322``); asyncpg
    returns the float32 widened to a double (``0.09910321980714798``). Rounding through
    float32 makes both lanes return the identical Python float.
    """
    return _PLANS.get(query, _make_plan)


def _make_plan(query: Query[Any]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    steps = dict(enumerate(query.data_api_decoders))
    for i, column in enumerate(query.columns):
        if column.pg_type in FLOAT4_TYPES and steps.get(i) is None:
            steps[i] = widen_float4 if column.array_dims == 0 else widen_float4_array
    return tuple((i, d) for i, d in sorted(steps.items()) if d is not None)


FLOAT4_TYPES = frozenset({"float4", "real", "pg_catalog.float4"})
_f32 = struct.Struct("f")


def widen_float4(value: float) -> float:
    widened: float = _f32.unpack(_f32.pack(value))[0]
    return widened


def widen_float4_array(value: list[Any]) -> list[Any]:
    return [None if v is None else widen_float4(v) for v in value]


def builder(query: Query[R]) -> Callable[[list[Any]], R]:
    if query.from_record is not None:
        return query.from_record
    row = query.row
    if row is not None:
        return lambda values: row(*values)
    raise ConfigurationError(f"query {query.name} returns rows but has no row type")


def bare(pg_type: str) -> str:
    """A type name without its ``pg_catalog.`` prefix."""
    return pg_type.removeprefix("pg_catalog.")
