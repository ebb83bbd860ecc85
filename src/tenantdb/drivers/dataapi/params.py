"""Data API parameters: ``Query`` arguments -> ``SqlParameter`` dicts.

Encoding follows the hints codegen stored on each ``Param`` (DATA_API.md §2.1, §4.1-4.2): the
Python type picks the ``Field`` member, ``Param.type_hint`` alone picks the ``typeHint``. A
string is never sent as UUID because it looks like one; a ``uuid.UUID`` whose parameter has no
hint travels as plain text, which the generated SQL casts.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

from tenantdb.errors import ConfigurationError, error_for_sqlstate
from tenantdb.query import Param, Query

__all__ = ("INTEGER_TYPES", "bare", "encode_params")

_INT64 = (-(2**63), 2**63 - 1)


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


def bare(pg_type: str) -> str:
    """A type name without its ``pg_catalog.`` prefix."""
    return pg_type.removeprefix("pg_catalog.")
