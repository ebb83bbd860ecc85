"""SQL text the asyncpg lane sends on its own behalf: BEGIN scripts, context, bulk insert.

Nothing here embeds a caller-chosen value except the tenant and user ids, and only after they
passed both the context validator and ``drivers._settings.SAFE_LITERAL`` (a conservative ASCII
set with no quote, backslash or NUL); anything else travels as a bound parameter in a second
statement.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantdb.query import Param

from tenantdb.drivers._settings import check_setting_name as _check_setting_name
from tenantdb.drivers._settings import quote_literal, split_settings
from tenantdb.drivers.lane import Isolation
from tenantdb.errors import ConfigurationError

__all__ = (
    "COMMIT_LSN_NOTICE",
    "DEALLOCATE_SQL_PREPARED",
    "TENANT_COMMIT",
    "TENANT_COMMIT_LSN",
    "begin_script",
    "bound_settings_sql",
    "may_prepare",
    "quote_ident",
    "quote_literal",
    "split_settings",
    "unnest_insert_sql",
    "values_insert_sql",
)

_TYPE_PART = re.compile(r"\A[A-Za-z_][A-Za-z0-9_$ ]*\Z")
"""One dotted part of a type name (``public.booking_status``, ``double precision``)."""

DEALLOCATE_SQL_PREPARED = (
    "DO $tenantdb$DECLARE s text;BEGIN "
    "FOR s IN SELECT name FROM pg_catalog.pg_prepared_statements WHERE from_sql LOOP "
    "EXECUTE pg_catalog.format($f$DEALLOCATE %I$f$,s);END LOOP;END$tenantdb$"
)
"""``DEALLOCATE`` of every statement the application's SQL made with ``PREPARE``.

``DEALLOCATE ALL`` would also drop asyncpg's protocol-level statements (its statement cache);
those have ``from_sql = false`` and stay. Written without a single quote, so every quoted
piece of the BEGIN script is still one of the validated id literals. Reading
``pg_prepared_statements`` costs ~60 µs with a full statement cache, so the lane appends this
only to the BEGIN of a connection whose previous transaction ran SQL that may have prepared
(:func:`may_prepare`).
"""

_PREPARE_WORD = re.compile(r"\bprepare\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def may_prepare(sql: str) -> bool:
    """Whether ``sql`` could create a SQL-level prepared statement (any ``PREPARE`` word:
    a false positive only costs the next BEGIN the sweep)."""
    return _PREPARE_WORD.search(sql) is not None


_CLEAR_SESSION = (
    "RESET ALL;RESET ROLE;DISCARD TEMP;DISCARD SEQUENCES;CLOSE ALL;UNLISTEN *;"
    "SELECT pg_catalog.pg_advisory_unlock_all()"
)
"""Run inside every tenant BEGIN, before the context is set (docs/security.md).

tenantdb sends no session-level SQL, but the application's SQL may, in a query or a function
it calls, and the tenant pool runs no reset on release. What survives COMMIT and is cleared
here, in the same message as BEGIN (no round trip; ``DISCARD ALL`` cannot run in a
transaction block, so its parts are spelled out):

* ``RESET ALL``/``RESET ROLE``: ``set_config(…, false)``, ``SET x`` (another tenant's
  ``app.*`` variable, a ``search_path``), ``SET ROLE``;
* ``DISCARD TEMP``: a temporary table that would shadow a tenant table (``pg_temp`` is
  searched first);
* ``DISCARD SEQUENCES``: ``currval``/``lastval`` of the previous user's ``nextval``;
* ``CLOSE ALL``: a ``WITH HOLD`` cursor, materialised at its COMMIT under the previous
  tenant's context (a real leak: the next tenant could ``FETCH`` its rows);
* ``UNLISTEN *`` and ``pg_advisory_unlock_all()``: notifications and session advisory locks;
* :data:`DEALLOCATE_SQL_PREPARED`: SQL ``PREPARE``d statements (only after SQL that may
  have prepared one ran on the connection).

BEGIN itself states every characteristic (``begin_script``), because ``SET SESSION
CHARACTERISTICS`` or ``default_transaction_*`` would already have shaped the transaction
before this reset runs.
"""


TENANT_COMMIT = "UNLISTEN *;COMMIT"
"""How the tenant lane commits: see ``lane._tenant_commit``."""

COMMIT_LSN_NOTICE = "tenantdb_commit_lsn "
"""Prefix of the NOTICE that carries the commit position (``TENANT_COMMIT_LSN``)."""

TENANT_COMMIT_LSN = (
    TENANT_COMMIT + ";DO $tenantdb$BEGIN "
    "PERFORM pg_catalog.set_config($n$client_min_messages$n$,$n$notice$n$,true);"
    "RAISE NOTICE $m$" + COMMIT_LSN_NOTICE + "%$m$,pg_catalog.pg_current_wal_insert_lsn();"
    "END$tenantdb$"
)
"""A writable tenant block's commit when read replicas are configured (``replicas.py``).

Same message, so no round trip: the ``DO`` runs after the COMMIT, in its own implicit
transaction, and reports the WAL insert position, which is at or past the end of the commit
record, in a NOTICE (the simple protocol returns no rows to asyncpg; notices it does). If the
block had failed, ``UNLISTEN`` fails first and nothing after it runs; if COMMIT fails, neither
does the ``DO``. ``client_min_messages`` is raised locally so a role setting cannot hide it.
"""


def quote_ident(name: str) -> str:
    """A double-quoted identifier; a dotted name is quoted part by part."""
    parts = name.split(".")
    for part in parts:
        if not part or "\x00" in part:
            raise ConfigurationError(f"invalid SQL identifier {name!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def begin_script(
    *,
    readonly: bool,
    isolation: Isolation | None,
    statement_timeout: float | None,
    literal: Sequence[tuple[str, str]],
    clear_session: bool = False,
    deallocate: bool = False,
    set_local: bool = False,
) -> str:
    """``BEGIN …;[<the session reset>;]SELECT set_config(…, true), …``.

    Every ``set_config`` is transaction-local (third argument ``true``); the statement timeout is
    a transaction-local setting too, so nothing tenantdb sets survives COMMIT/ROLLBACK and the
    pool needs no reset query. ``clear_session`` (the tenant lane) first resets any session-level
    state the application's own SQL left on the backend (:data:`_CLEAR_SESSION`).

    ``set_local`` spells the same settings as ``SET LOCAL name = 'value'`` statements in the
    same message (``PoolOptions(context_statements="set_local")``): equally transaction-local,
    and the form a distributed PostgreSQL forwards to its workers (Citus with
    ``citus.propagate_set_commands = 'local'`` propagates ``SET LOCAL``, never a
    ``set_config()`` call; docs/scale.md §5).
    """
    begin = "BEGIN"
    if clear_session:
        # The tenant lane states every characteristic: a session default left by the previous
        # user (SET SESSION CHARACTERISTICS, default_transaction_*) must not choose them.
        level = Isolation(isolation or Isolation.READ_COMMITTED).value.upper()
        access = "READ ONLY" if readonly else "READ WRITE"
        begin += f" ISOLATION LEVEL {level} {access} NOT DEFERRABLE"
    else:
        if isolation is not None:
            begin += " ISOLATION LEVEL " + Isolation(isolation).value.upper()
        if readonly:
            begin += " READ ONLY"
    if clear_session:
        begin += ";" + _CLEAR_SESSION
    if deallocate:
        begin += ";" + DEALLOCATE_SQL_PREPARED
    if set_local:
        return begin + "".join(_set_local(literal, statement_timeout))
    calls = []
    if statement_timeout is not None:
        millis = max(1, int(statement_timeout * 1000))
        calls.append(f"set_config('statement_timeout','{millis}',true)")
    calls.extend(f"set_config({quote_literal(n)},{quote_literal(v)},true)" for n, v in literal)
    if not calls:
        return begin
    return begin + ";SELECT " + ",".join(calls)


def _set_local(literal: Sequence[tuple[str, str]], statement_timeout: float | None) -> list[str]:
    """``;SET LOCAL statement_timeout = 30000;SET LOCAL app.x = '…'`` (names validated)."""
    out = []
    if statement_timeout is not None:
        out.append(f";SET LOCAL statement_timeout = {max(1, int(statement_timeout * 1000))}")
    out.extend(f";SET LOCAL {_check_setting_name(n)} = {quote_literal(v)}" for n, v in literal)
    return out


def bound_settings_sql(names: Sequence[str]) -> str:
    """``SELECT set_config('app.x',$1,true), …`` for values that must travel bound."""
    calls = (
        f"set_config({quote_literal(_check_setting_name(n))},${i},true)"
        for i, n in enumerate(names, 1)
    )
    return "SELECT " + ",".join(calls)


def _check_type(pg_type: str) -> str:
    if not all(_TYPE_PART.fullmatch(part) for part in pg_type.split(".")):
        raise ConfigurationError(f"unsupported column type {pg_type!r} for a bulk insert")
    return pg_type


def values_insert_sql(table: str, columns: Sequence[str], params: Sequence[Param]) -> str:
    """``INSERT INTO t (a, b) VALUES ($1::ta, $2::tb[])``: one row, for array-typed columns."""
    cols = ", ".join(quote_ident(c) for c in columns)
    values = ", ".join(
        f"${p.number}::{_check_type(p.pg_type)}{'[]' * p.array_dims}" for p in params
    )
    return f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({values})"


def unnest_insert_sql(table: str, columns: Sequence[str], pg_types: Sequence[str]) -> str:
    """``INSERT INTO t (a, b) SELECT * FROM unnest($1::ta[], $2::tb[])``: bulk insert under RLS.

    COPY FROM is refused on tables with row security, so the tenant lane sends one column array
    per parameter; the policies' WITH CHECK applies to every row as for any INSERT.
    """
    for pg_type in pg_types:
        _check_type(pg_type)
    cols = ", ".join(quote_ident(c) for c in columns)
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(pg_types, 1))
    return f"INSERT INTO {quote_ident(table)} ({cols}) SELECT * FROM unnest({arrays})"
