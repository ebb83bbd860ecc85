"""Data API results: raw ``ExecuteStatement`` bodies -> rows, generically.

Decoding reads the *raw* response body (msgspec, not botocore's parser): the lane's client
swaps the body for ``{}`` before botocore parses it (see ``client``). That is both the speed
of the lane (botocore walks every Field in Python) and the fix for botocore < 1.42.58, which
crashes on NULL elements of long/double arrays and turns NULL booleans into False
(DATA_API.md §4.6): here a JSON ``null`` element is simply ``None``. This module holds the
generic decoding (``unwrap`` + codegen's decoders); ``rows`` the typed fast path.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from tenantdb.errors import ConfigurationError
from tenantdb.query import Query

__all__ = (
    "FLOAT4_TYPES",
    "ExecuteResult",
    "QueryCache",
    "builder",
    "decode_rows",
    "parse_execute",
    "unwrap",
    "unwrap_array",
    "widen_float4",
    "widen_float4_array",
)

R = TypeVar("R")
V = TypeVar("V")
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
