"""``Query``: the immutable descriptor generated code hands to drivers.

Everything a driver needs is decided at codegen time and stored here, so nothing is parsed
at run time: SQL for both transports, parameter and column types, Data API type hints, the
row constructor for asyncpg records and per-column decoders for Data API values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec

__all__ = ("Column", "Command", "ExecResult", "Param", "Query", "query_sql")

R = TypeVar("R")


class Command(enum.StrEnum):
    """sqlc query commands with a PostgreSQL meaning (``:execlastid`` has none)."""

    ONE = "one"
    MANY = "many"
    EXEC = "exec"
    EXECROWS = "execrows"
    EXECRESULT = "execresult"
    COPYFROM = "copyfrom"
    BATCHEXEC = "batchexec"
    BATCHONE = "batchone"
    BATCHMANY = "batchmany"


class Param(msgspec.Struct, frozen=True, kw_only=True):
    """One bound parameter, in ``$n`` order (``number`` is n)."""

    name: str
    """Keyword name in the generated function, and ``:name`` in ``Query.data_api_sql``."""
    number: int
    pg_type: str
    """Canonical PostgreSQL type: ``uuid``, ``numeric``, ``public.booking_status``, ``text``…
    (element type for arrays; see ``array_dims``)."""
    nullable: bool = False
    array_dims: int = 0
    type_hint: str | None = None
    """Data API ``typeHint`` (DATE, TIME, TIMESTAMP, DECIMAL, UUID, JSON) or None."""
    encode: Callable[[Any], Any] | None = None
    """Python value -> value the driver binds (e.g. JSON documents to text); None: as is.
    Generated functions have already applied it: executors receive encoded arguments."""
    data_api_encode: Callable[[Any], Any] | None = None
    """Applied by the Data API driver only, after ``encode``: array parameters become escaped
    PostgreSQL array literals (``{"a","b\\"c",NULL}``), which ``data_api_sql`` casts to the
    array type (the Data API rejects array parameters)."""


class Column(msgspec.Struct, frozen=True, kw_only=True):
    """One result column, in select-list order."""

    name: str
    """Field name on the row Struct (the SQL label in ``data_api_sql`` may be made unique)."""
    pg_type: str
    nullable: bool = True
    array_dims: int = 0


class Query(msgspec.Struct, Generic[R], frozen=True, kw_only=True):
    """A compiled query: generated modules define one module-level constant per query."""

    name: str
    command: Command
    sql: str
    """SQL with ``$n`` placeholders (asyncpg and the admin lane)."""
    data_api_sql: str
    """SQL with ``:name`` placeholders, explicit casts where no typeHint exists, unique labels."""
    params: tuple[Param, ...] = ()
    columns: tuple[Column, ...] = ()
    row: type[R] | None = None
    """The msgspec Struct each row becomes (None for commands returning no rows)."""
    from_record: Callable[[Sequence[Any]], R] | None = None
    """asyncpg ``Record`` (positional) -> row; conversions chosen per column at codegen time."""
    data_api_decoders: tuple[Callable[[Any], Any] | None, ...] = ()
    """Per column (flat select-list order, embedded tables expanded): Data API value after
    Field unwrapping -> the value asyncpg would return for that column (numeric -> Decimal,
    uuid -> UUID, date/time/timestamp -> datetime objects, timestamptz -> aware UTC,
    inet/cidr -> ipaddress, arrays element-wise); None: as is. json text and enum labels
    stay text here: the driver then builds the row with ``from_record`` exactly like asyncpg
    (which decodes json and converts enums), so one row constructor serves both lanes."""
    data_api_unsupported: str | None = None
    """None when the query runs on the Data API; otherwise why not, naming the column."""
    unique_labels: bool = True
    """False when two result columns share a label (e.g. an embedded table's ``id`` and another
    ``id``): the Data API's ``formatRecordsAs: JSON`` rejects that, so use ``records``."""
    copy_table: str | None = None
    """``:copyfrom`` target table as ``schema.table`` (unquoted) and its columns, in
    parameter order."""
    copy_columns: tuple[str, ...] = ()
    source: str = ""
    """The query file this came from (``queries/bookings.sql``), for error messages."""

    def __post_init__(self) -> None:
        # Telemetry reports a query by name; this lets it find the text (opt-in) and the
        # operation without every driver passing the Query along. Import-time cost only.
        known = _SQL_BY_NAME.get(self.name, self.sql)
        _SQL_BY_NAME[self.name] = self.sql if known == self.sql else None


_SQL_BY_NAME: dict[str, str | None] = {}


def query_sql(name: str) -> str | None:
    """The ``$n`` SQL of the query constant called ``name``; None when no query of that name
    was defined, or when two queries of that name have different SQL (ambiguous)."""
    return _SQL_BY_NAME.get(name)


class ExecResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an ``:execresult`` query returns."""

    rows_affected: int
