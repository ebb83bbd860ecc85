"""PostgreSQL results -> Data API ``records`` Fields, ``formattedRecords`` JSON, ``columnMetadata``.

Connections decode the types whose *text* form AWS returns (numeric, dates, times, uuid,
json...) as PostgreSQL's own text output (:data:`TEXT_TYPES`), so trimmed fractional seconds and
numeric scale come out exactly as the server prints them. Encoders are resolved once per
result from the column types, then applied to every row.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from asyncpg.types import Attribute, Type

from tenantdb.local.dataapi._describe import ColumnOrigin
from tenantdb.local.dataapi._errors import ApiError

__all__ = (
    "RANGE_TYPES",
    "TEXT_TYPES",
    "ColumnCodec",
    "Options",
    "column_codecs",
    "column_metadata",
    "is_range",
    "is_range_array",
)

RANGE_TYPES = ("int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange")
TEXT_TYPES = (
    "numeric",
    "date",
    "time",
    "timestamp",
    "uuid",
    "json",
    "jsonb",
    "inet",
    "cidr",
)

# pg_catalog scalar type -> category
_CATEGORY = {
    "bool": "bool",
    "int2": "long",
    "int4": "long",
    "int8": "long",
    "oid": "long",
    "float4": "double",
    "float8": "double",
    "numeric": "decimal",
    "bytea": "blob",
    "json": "json",
    "jsonb": "json",
    "timestamptz": "timestamptz",
    "timetz": "timetz",
    "char": "pgchar",
    **dict.fromkeys(
        ("text", "varchar", "bpchar", "name", "uuid", "date", "time", "timestamp"),
        "string",
    ),
    **dict.fromkeys(("inet", "cidr", "xml", "citext", "void"), "string"),
}
# java.sql.Types codes pgjdbc reports (TypeInfoCache)
_JAVA_TYPE = {
    "int2": 5,
    "int4": 4,
    "int8": -5,
    "oid": -5,
    "numeric": 2,
    "float4": 7,
    "float8": 8,
    "money": 8,
    "bool": -7,
    "bpchar": 1,
    "char": 1,
    "varchar": 12,
    "text": 12,
    "name": 12,
    "bytea": -2,
    "date": 91,
    "time": 92,
    "timetz": 92,
    "timestamp": 93,
    "timestamptz": 93,
}
_PRECISION = {
    "int2": (5, 0),
    "int4": (10, 0),
    "int8": (19, 0),
    "oid": (10, 0),
    "float4": (8, 8),
    "float8": (17, 17),
    "bool": (1, 0),
    "char": (1, 0),
    "date": (13, 0),
    "time": (15, 6),
    "timetz": (21, 6),
    "timestamp": (29, 6),
    "timestamptz": (35, 6),
    "interval": (49, 6),
    "numeric": (0, 0),
}
# pgjdbc TypeInfoCache.isCaseSensitive: false for these, true for every other type (text,
# bytea, uuid, json, "char", arrays, enums...).
_CASE_INSENSITIVE = frozenset(
    (
        "oid",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "bool",
        "bit",
        "varbit",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
    )
)
# getDisplaySize's worst-case widths before the fractional seconds
_DATETIME_WIDTH = {"time": 8, "timetz": 14, "timestamp": 22, "timestamptz": 28}
_UNKNOWN_LENGTH = 2147483647
_JSON_SPACE = re.compile(r'("(?:[^"\\]|\\.)*")|\s+')


class Options(NamedTuple):
    """``resultSetOptions``: longs as strings, decimals as numbers."""

    long_as_string: bool = False
    decimal_as_number: bool = False


class ColumnCodec(NamedTuple):
    """How one column becomes a Field (``records``) and a JSON value (``formattedRecords``)."""

    name: str
    type_name: str  # pgjdbc's typeName: `int4`, `_text`, the enum's name...
    field: Callable[[Any], dict[str, Any]]
    plain: Callable[[Any], Any]


def column_codecs(attrs: Sequence[Attribute], options: Options) -> list[ColumnCodec]:
    """Resolve every column's encoders, or raise UnsupportedResultException naming the type."""
    return [_codec(a.name, a.type, options) for a in attrs]


def column_metadata(
    codec: ColumnCodec, attr: Attribute, origin: ColumnOrigin | None
) -> dict[str, Any]:
    """A pgjdbc-style ColumnMetadata; ``origin`` (table, typmod) refines it when known."""
    type_name = codec.type_name
    is_array = attr.type.kind == "array"
    base = type_name[1:] if is_array else type_name
    java = 2003 if is_array else _JAVA_TYPE.get(base, 1111)
    if attr.type.schema != "pg_catalog" and attr.type.kind == "scalar":
        java = 12  # pgjdbc reports enums (the common user-defined scalar) as VARCHAR
    typmod = origin.typmod if origin is not None else -1
    precision, scale = _precision_scale(base, typmod)
    category = _CATEGORY.get(base, "string")
    auto = origin is not None and origin.auto_increment
    if auto and not is_array and base in _SERIAL:
        type_name = _SERIAL[base]
    return {
        "name": codec.name,
        "label": codec.name,
        "type": java,
        "typeName": type_name,
        "schemaName": "",
        "tableName": origin.table if origin is not None else "",
        "isAutoIncrement": auto,
        "isSigned": category in ("long", "double", "decimal"),
        "isCurrency": base == "money",
        "isCaseSensitive": is_array or base not in _CASE_INSENSITIVE,
        "nullable": 0 if origin is not None and origin.not_null else 1,
        "precision": precision,
        "scale": scale,
        "arrayBaseColumnType": _JAVA_TYPE.get(base, 1111) if is_array else 0,
    }


_SERIAL = {"int2": "smallserial", "int4": "serial", "int8": "bigserial"}


def _precision_scale(base: str, typmod: int) -> tuple[int, int]:
    """pgjdbc's TypeInfoCache.getPrecision/getScale for the common types."""
    if typmod < 0:
        return _PRECISION.get(base, (_UNKNOWN_LENGTH, 0))
    if base == "numeric":
        return ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    if base in ("varchar", "bpchar"):
        return typmod - 4, 0
    if base in _DATETIME_WIDTH:
        # pgjdbc: typmod 0 -> no fraction; 1 -> two digits (PostgreSQL prints two); n -> n
        seconds = {0: 0, 1: 3}.get(typmod, typmod + 1)
        return _DATETIME_WIDTH[base] + seconds, typmod
    return _PRECISION.get(base, (_UNKNOWN_LENGTH, 0))


# -- resolution --------------------------------------------------------------------------------
def _codec(name: str, typ: Type, options: Options) -> ColumnCodec:
    if typ.kind == "array":
        elem = typ.name.removesuffix("[]")
        if elem in RANGE_TYPES:  # cast to text[] by ``_run``
            field, plain = _array("string", options)
            return ColumnCodec(name, f"_{elem}", field, plain)
        category = _category(elem, typ.schema, f"_{elem}")
        if category == "blob":
            _unsupported(f"_{elem}")
        field, plain = _array(category, options)
        return ColumnCodec(name, f"_{elem}", field, plain)
    if is_range(typ):
        # pgjdbc hands ranges over as PGobject, i.e. PostgreSQL's text output; the statement
        # casts them to text (see ``_run``), so they arrive as str
        scalar_field, scalar_plain = _SCALAR_CODECS["string"](options)
        return ColumnCodec(name, typ.name, _nullable(scalar_field), scalar_plain)
    if typ.kind != "scalar":
        _unsupported(typ.name)
    category = _category(typ.name, typ.schema, typ.name)
    scalar_field, scalar_plain = _SCALAR_CODECS[category](options)
    return ColumnCodec(name, typ.name, _nullable(scalar_field), scalar_plain)


def _category(type_name: str, schema: str, shown: str) -> str:
    if schema != "pg_catalog":
        return "dynamic"  # enums, extension types (citext, vector): decoded as text
    category = _CATEGORY.get(type_name)
    if category is None:
        _unsupported(shown)
    return category  # type: ignore[return-value]  # _unsupported never returns


def _unsupported(type_name: str) -> None:
    raise ApiError(
        "UnsupportedResultException", f"The result contains the unsupported data type {type_name}."
    )


def _nullable(field: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def encode(value: Any) -> dict[str, Any]:
        return {"isNull": True} if value is None else field(value)

    return encode


# -- scalar conversions ------------------------------------------------------------------------
def compact_json(text: str) -> str:
    """v2 re-serialises JSON compactly; dropping whitespace outside strings keeps numbers exact."""
    return _JSON_SPACE.sub(lambda m: m.group(1) or "", text)


def pg_timestamp(value: dt.datetime) -> str:
    """PostgreSQL's ISO text form of a timestamp: trailing fractional zeros trimmed."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{value.year:04d}-{value:%m-%d %H:%M:%S}{_fraction(value.microsecond)}"


def pg_char(value: bytes) -> str:
    """PostgreSQL's charout for the one-byte ``"char"`` (asyncpg decodes it to bytes)."""
    if not value:
        return ""
    byte = value[0]
    return chr(byte) if byte < 0x80 else f"\\{byte:03o}"


def is_range(typ: Type) -> bool:
    """A built-in range type (returned as its text, like pgjdbc's PGobject)."""
    return typ.kind == "range" and typ.schema == "pg_catalog" and typ.name in RANGE_TYPES


def is_range_array(typ: Type) -> bool:
    return typ.kind == "array" and typ.name.removesuffix("[]") in RANGE_TYPES


def pg_time_utc(value: dt.time) -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    moment = dt.datetime.combine(dt.date(2000, 1, 1), value.replace(tzinfo=None)) - offset
    return f"{moment:%H:%M:%S}{_fraction(moment.microsecond)}"


def _fraction(micro: int) -> str:
    return f".{micro:06d}".rstrip("0") if micro else ""


def _double_field(value: Any) -> dict[str, Any]:
    number = float(value)
    if math.isfinite(number):
        return {"doubleValue": number}
    # botocore parses these strings back to float; JSON has no literal for them.
    return {
        "doubleValue": "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    }


def _decimal_number(value: str) -> Any:
    if any(c in value for c in ".eEN"):
        return float(value)
    return int(value)


def _long_codecs(options: Options) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if options.long_as_string:
        return (lambda v: {"stringValue": str(v)}), str
    return (lambda v: {"longValue": v}), (lambda v: v)


def _decimal_codecs(options: Options) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if not options.decimal_as_number:
        return (lambda v: {"stringValue": v}), (lambda v: v)

    def field(v: str) -> dict[str, Any]:
        number = _decimal_number(v)
        return _double_field(number) if isinstance(number, float) else {"longValue": number}

    return field, _decimal_number


def _dynamic_field(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return _double_field(value)
    if isinstance(value, bytes):
        return {"blobValue": base64.b64encode(value).decode()}
    return {"stringValue": str(value)}


def _dynamic_plain(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


_Codecs = tuple[Callable[[Any], Any], Callable[[Any], Any]]
_SCALAR_CODECS: dict[str, Callable[[Options], _Codecs]] = {
    "bool": lambda o: ((lambda v: {"booleanValue": v}), (lambda v: v)),
    "long": _long_codecs,
    "double": lambda o: (_double_field, float),
    "decimal": _decimal_codecs,
    "blob": lambda o: ((lambda v: {"blobValue": _b64(v)}), _b64),
    "string": lambda o: ((lambda v: {"stringValue": v}), (lambda v: v)),
    "json": lambda o: ((lambda v: {"stringValue": compact_json(v)}), compact_json),
    "timestamptz": lambda o: ((lambda v: {"stringValue": pg_timestamp(v)}), pg_timestamp),
    "timetz": lambda o: ((lambda v: {"stringValue": pg_time_utc(v)}), pg_time_utc),
    "dynamic": lambda o: (_dynamic_field, _dynamic_plain),
    "pgchar": lambda o: ((lambda v: {"stringValue": pg_char(v)}), pg_char),
}


# -- arrays ------------------------------------------------------------------------------------
_ARRAY_MEMBER = {"bool": "booleanValues", "long": "longValues", "double": "doubleValues"}


def _array(category: str, options: Options) -> _Codecs:
    member = _ARRAY_MEMBER.get(category, "stringValues")
    _, elem_plain = _SCALAR_CODECS[category](options)
    if category == "double":
        elem_plain = _finite_or_text
    elif category in {"decimal", "long"}:
        elem_plain = _SCALAR_CODECS[category](Options())[1]

    def items(value: list[Any]) -> list[Any]:
        if any(isinstance(x, list) for x in value):
            raise ApiError(
                "UnsupportedResultException",
                "The result contains the unsupported data type multidimensional array.",
            )
        return [None if x is None else elem_plain(x) for x in value]

    def field(value: Any) -> dict[str, Any]:
        if value is None:
            return {"isNull": True}
        elements = items(value)
        if member == "stringValues":
            elements = [None if x is None else str(x) for x in elements]
        return {"arrayValue": {member: elements}}

    def plain(value: Any) -> Any:
        return None if value is None else items(value)

    return field, plain


def _finite_or_text(value: Any) -> Any:
    number = float(value)
    return number if math.isfinite(number) else str(number)
