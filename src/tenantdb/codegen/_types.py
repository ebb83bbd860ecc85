"""The one PostgreSQL -> Python -> Data API type table, and the alias normaliser.

sqlc reports type names unnormalised (``bigserial``, ``pg_catalog.int8``, ``bigint``,
``int8``, ``integer``, ``other.mood`` with an empty schema, ``timestamp with time zone``…).
:func:`canonical` maps every spelling to ``(schema, name)``; :data:`BUILTINS` says, per
canonical built-in, what the Python annotation is, which Data API typeHint carries it, how
asyncpg's value must be converted (most need nothing), how Data API text decodes, and
whether the Data API can return it at all.
"""

from __future__ import annotations

import msgspec

__all__ = ("ALIASES", "BUILTINS", "PgType", "TypeSpec", "canonical")


class TypeSpec(msgspec.Struct, frozen=True, kw_only=True):
    py: str
    """Annotation, spelled with the generated modules' import aliases (``_decimal.Decimal``)."""
    hint: str | None = None
    """Data API typeHint for a stringValue parameter (then no cast is needed)."""
    cast_after_hint: bool = False
    """Cast even with a hint (the hint's type is not the column type: jsonb, timestamptz)."""
    record: str = "none"
    """asyncpg value -> declared type: ``none`` or ``json``."""
    text: str | None = None
    """Name of the ``tenantdb.codecs`` decoder for the Data API value, or None (as is)."""
    data_api: bool = True
    """False: the Data API answers UnsupportedResultException for this result type."""
    convert: str | None = None
    """asyncpg value ``{v}`` -> declared type, for types asyncpg returns as text (hstore)."""
    decoder: str | None = None
    """Data API decoder expression (when ``text`` does not name one)."""
    encode: str | None = None
    """Argument -> bound value on both lanes (hstore, vector: their text forms)."""
    data_api_encode: str | None = None
    """Argument -> bound value on the Data API only (ranges: their text form)."""


class PgType(msgspec.Struct, frozen=True):
    schema: str
    name: str

    def sql(self) -> str:
        """The type as written in a cast (``pg_catalog`` names unqualified)."""
        if self.schema == "pg_catalog":
            return self.name
        return f"{_quote(self.schema)}.{_quote(self.name)}"

    def dotted(self) -> str:
        return self.name if self.schema == "pg_catalog" else f"{self.schema}.{self.name}"


def _quote(ident: str) -> str:
    if ident.isidentifier() and ident.islower():
        return ident
    return '"' + ident.replace('"', '""') + '"'


def _range(py: str, element: str) -> TypeSpec:
    return TypeSpec(
        py=f"_codecs.Range[{py}]",
        decoder=f"_codecs.range_decoder({element})",
        data_api_encode="_codecs.range_literal",
    )


_INT = TypeSpec(py="int")
_TEXT = TypeSpec(py="str")
_NO_DATA_API_STR = TypeSpec(py="str", data_api=False)

BUILTINS: dict[str, TypeSpec] = {
    "int2": _INT,
    "int4": _INT,
    "int8": _INT,
    "oid": _INT,
    "float4": TypeSpec(py="float", text="float4"),
    "float8": TypeSpec(py="float"),
    "numeric": TypeSpec(py="_decimal.Decimal", hint="DECIMAL", text="numeric"),
    "bool": TypeSpec(py="bool"),
    "text": _TEXT,
    "varchar": _TEXT,
    "bpchar": _TEXT,
    "char": _TEXT,
    "name": _TEXT,
    "citext": _TEXT,
    "uuid": TypeSpec(py="_uuid.UUID", hint="UUID", text="uuid"),
    "date": TypeSpec(py="_datetime.date", hint="DATE", text="date"),
    "time": TypeSpec(py="_datetime.time", hint="TIME", text="time"),
    "timetz": TypeSpec(py="_datetime.time", data_api=False),
    "timestamp": TypeSpec(py="_datetime.datetime", hint="TIMESTAMP", text="timestamp"),
    "timestamptz": TypeSpec(
        py="_datetime.datetime",
        hint="TIMESTAMP",
        cast_after_hint=True,
        text="timestamptz",
    ),
    "interval": TypeSpec(py="_datetime.timedelta", data_api=False),
    "bytea": TypeSpec(py="bytes"),
    "json": TypeSpec(py="JsonValue", hint="JSON", record="json", text="json"),
    "jsonb": TypeSpec(
        py="JsonValue", hint="JSON", cast_after_hint=True, record="json", text="json"
    ),
    "inet": TypeSpec(
        py="_ipaddress.IPv4Address | _ipaddress.IPv6Address | _ipaddress.IPv4Interface"
        " | _ipaddress.IPv6Interface",
        text="inet",
    ),
    "cidr": TypeSpec(py="_ipaddress.IPv4Network | _ipaddress.IPv6Network", text="cidr"),
    "tsvector": _NO_DATA_API_STR,
    "tsquery": _NO_DATA_API_STR,
    "money": _NO_DATA_API_STR,
    "macaddr": _NO_DATA_API_STR,
    "macaddr8": _NO_DATA_API_STR,
    "xml": _NO_DATA_API_STR,
    "bit": _NO_DATA_API_STR,
    "varbit": _NO_DATA_API_STR,
    "regclass": _NO_DATA_API_STR,
    "regconfig": _NO_DATA_API_STR,
    "void": TypeSpec(py="None", data_api=False),
    "int4range": _range("int", "int"),
    "int8range": _range("int", "int"),
    "numrange": _range("_decimal.Decimal", "_codecs.decode_numeric"),
    "daterange": _range("_datetime.date", "_codecs.decode_date"),
    "tsrange": _range("_datetime.datetime", "_codecs.decode_timestamp"),
    "tstzrange": _range("_datetime.datetime", "_codecs.decode_timestamptz"),
    # extension types (asyncpg returns and binds their text form)
    "hstore": TypeSpec(
        py="dict[str, str | None]",
        convert="_codecs.decode_hstore({v})",
        encode="_codecs.encode_hstore",
    ),
    # transaction and tuple ids (asyncpg: int, and (block, offset) for tid)
    "xid": TypeSpec(py="int", decoder="int"),
    "xid8": TypeSpec(py="int", decoder="int"),
    "cid": TypeSpec(py="int", decoder="int"),
    "tid": TypeSpec(py="tuple[int, int]", data_api=False),
    # geometric types: asyncpg's classes (the Data API returns text; not decoded)
    "point": TypeSpec(py="_asyncpg.Point", data_api=False),
    "line": TypeSpec(py="_asyncpg.Line", data_api=False),
    "lseg": TypeSpec(py="_asyncpg.LineSegment", data_api=False),
    "box": TypeSpec(py="_asyncpg.Box", data_api=False),
    "path": TypeSpec(py="_asyncpg.Path", data_api=False),
    "polygon": TypeSpec(py="_asyncpg.Polygon", data_api=False),
    "circle": TypeSpec(py="_asyncpg.Circle", data_api=False),
    # multiranges: asyncpg returns a list of ranges
    "int4multirange": TypeSpec(py="list[_codecs.Range[int]]", data_api=False),
    "int8multirange": TypeSpec(py="list[_codecs.Range[int]]", data_api=False),
    "nummultirange": TypeSpec(py="list[_codecs.Range[_decimal.Decimal]]", data_api=False),
    "datemultirange": TypeSpec(py="list[_codecs.Range[_datetime.date]]", data_api=False),
    "tsmultirange": TypeSpec(py="list[_codecs.Range[_datetime.datetime]]", data_api=False),
    "tstzmultirange": TypeSpec(py="list[_codecs.Range[_datetime.datetime]]", data_api=False),
    # a record (a function returning one, ROW(...)): asyncpg.Record, as sqlc-gen-go's any
    "record": TypeSpec(py="Any", data_api=False),
    "ltree": _TEXT,
    "lquery": _TEXT,
    "ltxtquery": _TEXT,
    "vector": TypeSpec(
        py="list[float]",
        convert="_codecs.decode_vector({v})",
        encode="_codecs.encode_vector",
    ),
}
"""Canonical pg_catalog type -> how it travels. Anything absent fails loudly at codegen."""

ALIASES: dict[str, str] = {
    "smallint": "int2",
    "integer": "int4",
    "int": "int4",
    "bigint": "int8",
    "smallserial": "int2",
    "serial": "int4",
    "bigserial": "int8",
    "serial2": "int2",
    "serial4": "int4",
    "serial8": "int8",
    "real": "float4",
    "float": "float8",
    "double precision": "float8",
    "decimal": "numeric",
    "boolean": "bool",
    "character varying": "varchar",
    "character": "bpchar",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "bit varying": "varbit",
}
"""Every spelling sqlc has been seen to report -> the canonical pg_catalog name."""

EXTENSION_TYPES = frozenset({"citext", "hstore", "ltree", "lquery", "ltxtquery", "vector"})
"""Extension types found by name in whatever schema the extension was installed in."""


def canonical(schema: str, name: str, *, user_types: dict[str, set[str]]) -> PgType:
    """Normalise a type as sqlc reports it.

    ``user_types`` maps each non-system schema to its enum/composite/table names, so an
    unqualified user type lands in the schema that defines it (the default schema first).
    """
    if not schema and "." in name:
        schema, name = name.split(".", 1)
    low = name.lower()
    if schema in ("", "pg_catalog"):
        base = ALIASES.get(low, low)
        if base in BUILTINS:
            return PgType("pg_catalog", base)
    if schema and schema != "pg_catalog":
        if low in EXTENSION_TYPES and name not in user_types.get(schema, ()):
            return PgType("pg_catalog", low)
        return PgType(schema, name)
    for sch, names in user_types.items():
        if name in names:
            return PgType(sch, name)
    return PgType(schema or "pg_catalog", name)
