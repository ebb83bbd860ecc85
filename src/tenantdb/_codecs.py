"""Runtime helpers generated code imports: JSON values, array literals, Data API decoders.

Codegen decides per parameter and per column which of these apply; nothing here inspects
types at run time. Data API decoders take the scalar a ``Field`` holds (after the driver
unwrapped ``stringValue``/``longValue``/``arrayValue``) and return the declared Python type.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import asyncpg
import msgspec

from tenantdb.errors import UnsupportedQueryError

__all__ = (
    "JsonValue",
    "Range",
    "absent_embed",
    "array_decoder",
    "array_literal",
    "decode_cidr",
    "decode_date",
    "decode_float4",
    "decode_hstore",
    "decode_inet",
    "decode_json",
    "decode_numeric",
    "decode_time",
    "decode_timestamp",
    "decode_timestamptz",
    "decode_uuid",
    "decode_vector",
    "encode_hstore",
    "encode_json",
    "encode_json_array",
    "encode_vector",
    "map_array",
    "range_decoder",
    "range_literal",
)

if TYPE_CHECKING:
    from asyncpg import Range

    JsonValue: TypeAlias = (
        str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
    )
else:
    # At run time the alias must be introspectable (msgspec.convert, typing.get_type_hints on
    # generated Structs); Python 3.11 has no recursive runtime aliases, so nesting is Any.
    JsonValue = str | int | float | bool | list[Any] | dict[str, Any] | None
"""Any JSON document, decoded to plain Python values (what a jsonb column holds by default)."""

if not TYPE_CHECKING:

    class Range:
        """``Range[int]`` in a generated annotation: ``asyncpg.Range`` for mypy, and at run
        time (``typing.get_type_hints``) ``asyncpg.Range`` itself, which is not generic."""

        def __class_getitem__(cls, item: object) -> type:
            return asyncpg.Range


_json_encode = msgspec.json.encode


def encode_json(value: object) -> str:
    """A JSON parameter as text: asyncpg has no json codec and the Data API wants a string."""
    return _json_encode(value).decode()


def encode_json_array(value: Sequence[object] | None) -> list[str | None] | None:
    """A json[]/jsonb[] parameter: each element as JSON text."""
    if value is None:
        return None
    return [None if v is None else encode_json(v) for v in value]


decode_json: Callable[[str | bytes], Any] = msgspec.json.decode
"""JSON text (asyncpg's or the Data API's) -> plain JSON values; msgspec's own decoder,
aliased so the per-row call costs no Python frame."""


def absent_embed(query: str, field: str) -> NoReturn:
    """A ``sqlc.embed`` declared non-nullable came back without its row (a NOT NULL column of
    it is NULL): an outer join the query did not mark. Refuse rather than build a Struct
    whose fields lie about their types."""
    raise UnsupportedQueryError(
        f"sqlc.embed {field!r} of {query} is NULL (an outer join?): add "
        f"`-- @nullable-embed {field}` to the query and regenerate",
        query=query,
        column=field,
    )


# -- array literals (the Data API rejects array parameters) --------------------------------


def array_literal(value: Sequence[object] | None) -> str | None:
    """A Python sequence as a PostgreSQL array literal, every element quoted and escaped.

    ``["a", 'b"c', None]`` -> ``{"a","b\\"c",NULL}``; nested sequences give N-D literals;
    ``None`` stays None (an SQL NULL array). The SQL casts the text to the array type.
    """
    if value is None:
        return None
    return _literal(value)


def _literal(value: Sequence[object]) -> str:
    parts = []
    for item in value:
        if item is None:
            parts.append("NULL")
        elif isinstance(item, list | tuple):
            parts.append(_literal(item))
        else:
            text = _element_text(item)
            parts.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def _element_text(item: object) -> str:
    if isinstance(item, bool):
        return "t" if item else "f"
    if isinstance(item, datetime.datetime):
        return item.isoformat(sep=" ")
    if isinstance(item, bytes):
        return "\\x" + item.hex()
    if isinstance(item, dict):
        return encode_json(item)
    return str(item)


# -- Data API text -> Python -------------------------------------------------------------

decode_numeric: Callable[[str], decimal.Decimal] = decimal.Decimal
decode_uuid: Callable[[str], uuid.UUID] = uuid.UUID
decode_date: Callable[[str], datetime.date] = datetime.date.fromisoformat
decode_time: Callable[[str], datetime.time] = datetime.time.fromisoformat


_F32 = struct.Struct("f")


def decode_float4(value: float) -> float:
    """The Data API prints a ``real`` in its shortest float32 form (``0.1``); asyncpg widens
    the float32 to a double (``0.10000000149011612``): round through float32 to match."""
    widened: float = _F32.unpack(_F32.pack(value))[0]
    return widened


def decode_timestamp(value: str) -> datetime.datetime:
    """``YYYY-MM-DD HH:MM:SS[.f…]`` (any number of fraction digits) -> naive datetime."""
    return datetime.datetime.fromisoformat(_pad_fraction(value))


def decode_timestamptz(value: str) -> datetime.datetime:
    """The Data API prints timestamptz in UTC without an offset: -> aware UTC datetime."""
    dt = datetime.datetime.fromisoformat(_pad_fraction(value))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=datetime.UTC)


def _pad_fraction(value: str) -> str:
    # PostgreSQL trims trailing zeros (".78018"); pad to 6 digits so every Python parses it.
    dot = value.rfind(".")
    if dot < 0:
        return value
    end = dot + 1
    while end < len(value) and value[end].isdigit():
        end += 1
    digits = value[dot + 1 : end]
    return value[: dot + 1] + (digits + "000000")[:6] + value[end:]


def decode_inet(
    value: str,
) -> (
    ipaddress.IPv4Address
    | ipaddress.IPv6Address
    | ipaddress.IPv4Interface
    | ipaddress.IPv6Interface
):
    """PostgreSQL inet text -> what asyncpg returns: an address for a host (no prefix, or
    /32 and /128 as ``inet::text`` prints them), else an interface."""
    iface = ipaddress.ip_interface(value)
    if iface.network.prefixlen == iface.max_prefixlen:
        return iface.ip
    return iface


def decode_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(value)


def array_decoder(element: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """Decode a 1-D Data API ``arrayValue`` (already a list) element by element."""
    if element is None:
        return _identity_list

    def decode(value: list[Any] | None) -> list[Any] | None:
        if value is None:
            return None
        return [None if v is None else element(v) for v in value]

    return decode


def _identity_list(value: list[Any] | None) -> list[Any] | None:
    return value


def map_array(convert: Callable[[Any], Any], value: list[Any] | None) -> list[Any] | None:
    """Convert every non-NULL element of an (N-D) array value, keeping its shape."""
    if value is None:
        return None
    return [
        None if v is None else map_array(convert, v) if isinstance(v, list) else convert(v)
        for v in value
    ]


# -- extension and range types (text forms) --------------------------------------------------


def range_decoder(element: Callable[[str], Any] | None) -> Callable[[str | None], Any]:
    """A range's text form (``[1,10)``, ``empty``, ``(,"2026-01-01 00:00:00"]``: what the Data
    API returns) -> ``asyncpg.Range`` with bounds decoded by ``element`` (as asyncpg returns)."""

    def decode(value: str | None) -> Any:
        if value is None:
            return None
        if value == "empty":
            return asyncpg.Range(empty=True)
        lower, upper = _range_bounds(value[1:-1])
        conv = element or (lambda x: x)
        return asyncpg.Range(
            None if lower is None else conv(lower),
            None if upper is None else conv(upper),
            lower_inc=value[0] == "[",
            upper_inc=value[-1] == "]",
        )

    return decode


def _range_bounds(inner: str) -> tuple[str | None, str | None]:
    bounds: list[str | None] = []
    i, n = 0, len(inner)
    while len(bounds) < 2:
        if i < n and inner[i] == '"':
            j, text = i + 1, []
            while j < n and inner[j] != '"':
                if inner[j] == "\\" and j + 1 < n:
                    j += 1
                text.append(inner[j])
                j += 1
            bounds.append("".join(text))
            i = j + 2  # closing quote and comma
        else:
            j = inner.find(",", i)
            j = n if j < 0 else j
            bounds.append(inner[i:j] or None)
            i = j + 1
    return bounds[0], bounds[1]


def range_literal(value: Any) -> str | None:
    """An ``asyncpg.Range`` (or None) as range text for the Data API (the SQL casts it)."""
    if value is None:
        return None
    if value.isempty:
        return "empty"
    lo = "" if value.lower is None else '"' + _element_text(value.lower) + '"'
    hi = "" if value.upper is None else '"' + _element_text(value.upper) + '"'
    return ("[" if value.lower_inc else "(") + lo + "," + hi + ("]" if value.upper_inc else ")")


def decode_hstore(value: str) -> dict[str, str | None]:
    """hstore text (``"a"=>"1", "b"=>NULL``) -> dict (asyncpg returns the text form)."""
    out: dict[str, str | None] = {}
    i, n = 0, len(value)
    while i < n:
        key, i = _hstore_token(value, i)
        i = value.index("=>", i) + 2
        val, i = _hstore_token(value, i)
        out[key or ""] = val
        comma = value.find(",", i)
        i = n if comma < 0 else comma + 1
    return out


def _hstore_token(text: str, i: int) -> tuple[str | None, int]:
    while text[i] == " ":
        i += 1
    if text[i] != '"':
        end = i
        while end < len(text) and text[end] not in ",= ":
            end += 1
        word = text[i:end]
        return (None if word.upper() == "NULL" else word), end
    out, i = [], i + 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def encode_hstore(value: dict[str, str | None]) -> str:
    """A dict as hstore text (both lanes bind it as text; the SQL casts it)."""

    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return ", ".join(f"{quote(k)}=>{'NULL' if v is None else quote(v)}" for k, v in value.items())


def decode_vector(value: str) -> list[float]:
    """pgvector text (``[1,2.5]``) -> list of floats."""
    return [float(x) for x in value[1:-1].split(",")] if value != "[]" else []


def encode_vector(value: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in value) + "]"
