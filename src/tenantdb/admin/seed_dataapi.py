"""Seeding over the RDS Data API: BatchExecuteStatement instead of COPY, all in one transaction.

The Data API has no COPY. Each table's rows become one ``INSERT … VALUES (CAST(:c0 AS <type>),
…)`` sent with ``parameterSets`` in chunks that stay under the 4 MiB request limit and
``MAX_SETS`` sets, all inside one Data API transaction (BeginTransaction … Commit): a failure
anywhere leaves nothing. Parameters carry typeHints from their Python type (UUID, DECIMAL,
DATE, TIMESTAMP) or, for json/jsonb columns, JSON; the ``CAST`` to the column's declared type
(from the catalog) covers enums and citext, which have no typeHint. Timestamps travel as UTC
wall-clock text and the Data API session's TimeZone is UTC, so a timestamptz column stores the
same instant COPY stores: the same seed gives the same tables on both transports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from tenantdb.admin import seed_data as data
from tenantdb.admin.session import DataApiSession, encode_value

__all__ = (
    "MAX_REQUEST_BYTES",
    "MAX_SETS",
    "chunks",
    "column_types",
    "insert_rows",
    "insert_sql",
    "load",
)

MAX_REQUEST_BYTES = 3_500_000
"""Budget for the encoded parameter sets of one call: the Data API's limit is 4 MiB for the
whole request (JSON, headers, SQL), so this leaves room for the envelope."""
MAX_SETS = 1_000
"""Parameter sets per BatchExecuteStatement: bounds one call's duration (45 s limit) too."""
_JSON_TYPES = frozenset({"json", "jsonb"})


async def column_types(s: DataApiSession, table: str) -> dict[str, str]:
    """``column -> format_type(...)`` for ``public.<table>`` (the CAST target per column)."""
    rows = await s.fetch(
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type"
        " FROM pg_attribute a WHERE a.attrelid = to_regclass($1)"
        " AND a.attnum > 0 AND NOT a.attisdropped",
        f"public.{table}",
    )
    return {str(r["name"]): str(r["type"]) for r in rows}


def insert_sql(table: str, columns: tuple[str, ...], types: dict[str, str]) -> str:
    """``INSERT INTO t (a, b) VALUES (CAST(:c0 AS uuid), CAST(:c1 AS citext))``."""
    values = ", ".join(f"CAST(:c{i} AS {types[c]})" for i, c in enumerate(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def chunks(
    sets: Iterable[list[dict[str, Any]]],
    *,
    max_bytes: int = MAX_REQUEST_BYTES,
    max_sets: int = MAX_SETS,
) -> Iterator[list[list[dict[str, Any]]]]:
    """Group parameter sets so each call stays under ``max_bytes`` (JSON) and ``max_sets``."""
    chunk: list[list[dict[str, Any]]] = []
    size = 0
    for params in sets:
        n = len(msgspec.json.encode(params)) + 1
        if chunk and (size + n > max_bytes or len(chunk) >= max_sets):
            yield chunk
            chunk, size = [], 0
        chunk.append(params)
        size += n
    if chunk:
        yield chunk


async def insert_rows(
    s: DataApiSession,
    table: str,
    records: Iterable[tuple[Any, ...]],
    *,
    columns: tuple[str, ...],
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Insert ``records`` into ``table`` by BatchExecuteStatement (in ``s``'s transaction)."""
    types = await column_types(s, table)
    hints = [("JSON" if types[c] in _JSON_TYPES else None) for c in columns]
    sql = insert_sql(table, columns, types)

    def sets() -> Iterator[list[dict[str, Any]]]:
        for record in records:
            yield [encode_value(f"c{i}", value, hint=hints[i]) for i, value in enumerate(record)]

    # Module globals read per call (not default arguments), so tests can shrink them.
    for chunk in chunks(sets(), max_bytes=MAX_REQUEST_BYTES, max_sets=MAX_SETS):
        await s.batch(sql, chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))


async def load(
    s: DataApiSession,
    plans: list[data.TenantPlan],
    *,
    seed: int,
    counted: Callable[[str, Iterator[tuple[Any, ...]]], Iterator[tuple[Any, ...]]],
    done: Callable[[str], None],
) -> None:
    """Every example table, in dependency order (the caller holds the transaction)."""
    for table in data.TABLES:
        records = counted(table, (r for p in plans for r in data.rows(p, table, seed=seed)))
        await insert_rows(s, table, records, columns=data.COLUMNS[table])
        done(table)
