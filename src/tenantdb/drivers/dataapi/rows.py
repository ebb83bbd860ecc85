"""Raw ExecuteStatement bodies -> rows, with a typed msgspec plan per query.

Per query, msgspec decodes the raw body straight into typed values: each column's Field is a
small Struct whose one value member (renamed ``v``) has the column's Python type, so UUIDs,
decimals, dates and timestamps are parsed in C instead of one Python call per value. The
mapping is derived from the decoders codegen chose (``codecs.decode_uuid`` -> ``uuid.UUID``
...), so codegen stays the source of truth; columns with any other decoder (arrays, inet,
...) go through the generic unwrap + decoder. Every Field Struct forbids unknown members: if
the service answers with a member the plan did not expect, decoding raises and the whole body
takes the generic path, so a surprise can cost speed but never correctness.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from tenantdb import codecs
from tenantdb.drivers.dataapi.params import INTEGER_TYPES, bare
from tenantdb.drivers.dataapi.results import (
    FLOAT4_TYPES,
    QueryCache,
    builder,
    decode_rows,
    parse_execute,
    unwrap_array,
    widen_float4,
    widen_float4_array,
)
from tenantdb.query import Column, Query

__all__ = ("FALLBACKS", "decode_result")

R = TypeVar("R")

_MSGSPEC_TYPES: dict[Callable[[Any], Any], Any] = {
    codecs.decode_uuid: uuid.UUID,
    codecs.decode_numeric: decimal.Decimal,
    codecs.decode_date: datetime.date,
    codecs.decode_time: datetime.time,
    codecs.decode_timestamp: datetime.datetime,
    codecs.decode_timestamptz: datetime.datetime,
}
_MEMBER_BY_PG_TYPE: dict[str, tuple[str, Any]] = {
    **dict.fromkeys((*INTEGER_TYPES, "oid"), ("longValue", int)),
    **dict.fromkeys(("float4", "float8", "real", "double precision"), ("doubleValue", float)),
    "bool": ("booleanValue", bool),
    "boolean": ("booleanValue", bool),
    "bytea": ("blobValue", bytes),
}
_FIELD_TYPES: dict[tuple[str, Any], type[msgspec.Struct]] = {}


class _AnyField(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A Field of a column without a typed plan: unwrapped like ``unwrap``."""

    isNull: bool = False  # noqa: N815 - the wire name
    stringValue: str | None = None  # noqa: N815 - the wire name
    longValue: int | None = None  # noqa: N815 - the wire name
    doubleValue: float | None = None  # noqa: N815 - the wire name
    booleanValue: bool | None = None  # noqa: N815 - the wire name
    blobValue: bytes | None = None  # noqa: N815 - the wire name
    arrayValue: dict[str, Any] | None = None  # noqa: N815 - the wire name

    @property
    def v(self) -> Any:
        for value in (self.stringValue, self.longValue, self.doubleValue, self.booleanValue):
            if value is not None:
                return value
        if self.blobValue is not None:
            return self.blobValue
        return None if self.arrayValue is None else unwrap_array(self.arrayValue)


def _field_type(member: str, py: Any) -> type[msgspec.Struct]:
    key = (member, py)
    cls = _FIELD_TYPES.get(key)
    if cls is None:
        cls = msgspec.defstruct(
            f"_{member}_{getattr(py, '__name__', 'value')}",
            [("isNull", bool, False), ("v", py | None, msgspec.field(default=None, name=member))],
            forbid_unknown_fields=True,
            frozen=True,
            gc=False,  # scalars only: 17,000 per 1,000-row result need no GC tracking
        )
        _FIELD_TYPES[key] = cls
    return cls


class _Plan:
    """How one query's raw body becomes rows: a typed msgspec decoder plus post-steps."""

    __slots__ = ("build", "decoder", "post")

    def __init__(self, query: Query[Any]) -> None:
        fields: list[Any] = []
        post: list[tuple[int, Callable[[Any], Any]]] = []
        decoders = query.data_api_decoders
        for i, column in enumerate(query.columns):
            decode = decoders[i] if i < len(decoders) else None
            field, step = _column_plan(column, decode)
            fields.append(field)
            if step is not None:
                post.append((i, step))
        record = tuple.__class_getitem__(tuple(fields)) if fields else tuple[Any, ...]
        result = msgspec.defstruct(
            "_TypedResult",
            [("records", list[record] | None, None), ("numberOfRecordsUpdated", int, 0)],  # type: ignore[valid-type]
        )
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(result)
        self.post = tuple(post)
        self.build = builder(query)


def _column_plan(
    column: Column, decode: Callable[[Any], Any] | None
) -> tuple[Any, Callable[[Any], Any] | None]:
    """(Field Struct type, post-step or None) for one result column."""
    if column.array_dims == 0:
        py = _MSGSPEC_TYPES.get(decode) if decode is not None else None
        if py is not None:
            utc = decode is codecs.decode_timestamptz
            return _field_type("stringValue", py), (_as_utc if utc else None)
        if decode is not None and decode is FLOAT4_TYPES_DECODER:
            return _field_type("doubleValue", float), decode
        if decode is None:
            member, py = _MEMBER_BY_PG_TYPE.get(bare(column.pg_type), ("stringValue", str))
            widen = bare(column.pg_type) in FLOAT4_TYPES
            return _field_type(member, py), (widen_float4 if widen else None)
    if decode is None and column.array_dims and bare(column.pg_type) in FLOAT4_TYPES:
        return _AnyField, widen_float4_array
    return _AnyField, decode


FLOAT4_TYPES_DECODER = getattr(codecs, "decode_float4", None)


def _as_utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


_TYPED: QueryCache[_Plan] = QueryCache()
FALLBACKS: Counter[str] = Counter()
"""Per query name, responses the typed plan could not read (diagnostics; tests assert 0)."""


def decode_result(query: Query[R], body: bytes) -> tuple[list[R], int]:
    """A raw ExecuteStatement body -> (rows as the Query's Structs, numberOfRecordsUpdated)."""
    if not query.columns or len(query.data_api_decoders) > len(query.columns):
        generic = parse_execute(body)  # no column list to plan from (hand-built queries)
        return decode_rows(query, generic.records or []), generic.numberOfRecordsUpdated
    plan = _TYPED.get(query, _Plan)
    try:
        result = plan.decoder.decode(body) if body else None
    except msgspec.ValidationError:
        FALLBACKS[query.name] += 1
        generic = parse_execute(body)
        return decode_rows(query, generic.records or []), generic.numberOfRecordsUpdated
    if result is None:
        return [], 0
    rows = []
    post, build = plan.post, plan.build
    for record in result.records or ():
        values = [f.v for f in record]
        for i, step in post:
            value = values[i]
            if value is not None:
                values[i] = step(value)
        rows.append(build(values))
    return rows, result.numberOfRecordsUpdated
