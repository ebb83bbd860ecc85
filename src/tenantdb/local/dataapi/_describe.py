"""Row descriptions for ``columnMetadata``: table, column number and typmod of each result column.

asyncpg keeps PostgreSQL's RowDescription private, and pgjdbc (which the real service uses)
derives ``tableName``, ``nullable``, ``isAutoIncrement``, ``serial`` type names and
precision/scale from exactly those fields. So when a caller asks for metadata, the gateway
describes the statement on a short-lived raw protocol connection (Parse + Describe, nothing
executes) and reads the catalog, like the per-request catalog query AWS runs. Servers that want
a password (``--dsn`` to a non-trust server) or statements that only parse in the caller's
session fall back to type-level metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import asyncpg

__all__ = ("ColumnOrigin", "describe", "describe_columns")

_PROTOCOL_3 = 196608
_TIMEOUT = 5.0


class ColumnOrigin(NamedTuple):
    """What pgjdbc knows about one result column."""

    typmod: int
    table: str  # "" for expressions
    not_null: bool
    auto_increment: bool


class _UnavailableError(Exception):
    """The raw describe could not run; callers fall back to type-level metadata."""


async def describe(dsn: str, sql: str, conn: asyncpg.Connection) -> list[ColumnOrigin] | None:
    """Origins of ``sql``'s result columns, or None when they cannot be had cheaply."""
    try:
        fields = await asyncio.wait_for(_row_description(dsn, sql), _TIMEOUT)
    except (_UnavailableError, OSError, TimeoutError, struct.error, UnicodeDecodeError):
        return None
    tables = {(t, a) for t, a, _ in fields if t}
    catalog: dict[tuple[int, int], Any] = {}
    if tables:
        try:
            rows = await conn.fetch(_CATALOG, [t for t, _ in tables], [a for _, a in tables])
        except asyncpg.PostgresError:
            return None
        catalog = {(r["attrelid"], r["attnum"]): r for r in rows}
    out = []
    for table_oid, attnum, typmod in fields:
        row = catalog.get((table_oid, attnum))
        if row is None:
            out.append(ColumnOrigin(typmod, "", not_null=False, auto_increment=False))
        else:
            out.append(ColumnOrigin(typmod, row["relname"], row["attnotnull"], row["autoinc"]))
    return out


_CATALOG = """
SELECT a.attrelid, a.attnum, a.attnotnull, c.relname,
       (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE '%nextval(%')
           AS autoinc
FROM unnest($1::oid[], $2::int2[]) AS w(relid, num)
JOIN pg_attribute a ON a.attrelid = w.relid AND a.attnum = w.num
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
"""


async def describe_columns(dsn: str, sql: str) -> list[tuple[str, int]] | None:
    """(label, type oid) of each result column, read from the RowDescription without asyncpg
    (which refuses to prepare some results, e.g. numrange under text numeric codecs)."""
    try:
        fields = await asyncio.wait_for(_row_description(dsn, sql, names=True), _TIMEOUT)
    except (_UnavailableError, OSError, TimeoutError, struct.error, UnicodeDecodeError):
        return None
    return [(name, oid) for name, oid in fields]


async def _row_description(dsn: str, sql: str, *, names: bool = False) -> list[Any]:
    url = urlsplit(dsn)
    if url.password:
        raise _UnavailableError  # only trust authentication is spoken here
    reader, writer = await asyncio.open_connection(url.hostname or "127.0.0.1", url.port or 5432)
    try:
        user = unquote(url.username or "postgres")
        database = unquote(url.path.lstrip("/") or user)
        if "\0" in user or "\0" in database:
            raise _UnavailableError  # a NUL would add startup parameters
        params = f"user\0{user}\0database\0{database}\0\0".encode()
        writer.write(struct.pack("!ii", 8 + len(params), _PROTOCOL_3) + params)
        await _until_ready(reader)
        writer.write(
            _message(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!h", 0))
            + _message(b"D", b"S\0")
            + _message(b"S", b"")
        )
        await writer.drain()
        fields: list[Any] = []
        while True:
            kind, body = await _read(reader)
            if kind == b"T":
                fields = _named_fields(body) if names else _fields(body)
            elif kind == b"E":
                raise _UnavailableError
            elif kind == b"Z":
                return fields
    finally:
        with contextlib.suppress(Exception):
            writer.write(_message(b"X", b""))
            writer.close()
            await writer.wait_closed()


async def _until_ready(reader: asyncio.StreamReader) -> None:
    while True:
        kind, body = await _read(reader)
        if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise _UnavailableError  # a password is wanted
        if kind == b"E":
            raise _UnavailableError
        if kind == b"Z":
            return


async def _read(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    header = await reader.readexactly(5)
    (length,) = struct.unpack("!i", header[1:])
    return header[:1], await reader.readexactly(length - 4)


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _fields(body: bytes) -> list[tuple[int, int, int]]:
    (count,) = struct.unpack("!h", body[:2])
    pos, out = 2, []
    for _ in range(count):
        end = body.index(b"\0", pos)
        table_oid, attnum, _type, _size, typmod, _fmt = struct.unpack(
            "!IhIhih", body[end + 1 : end + 19]
        )
        out.append((table_oid, attnum, typmod))
        pos = end + 19
    return out


def _named_fields(body: bytes) -> list[tuple[str, int]]:
    (count,) = struct.unpack("!h", body[:2])
    pos, out = 2, []
    for _ in range(count):
        end = body.index(b"\0", pos)
        name = body[pos:end].decode()
        (type_oid,) = struct.unpack("!I", body[end + 7 : end + 11])
        out.append((name, type_oid))
        pos = end + 19
    return out
