"""The one seam where asyncpg exceptions become ``tenantdb.errors`` (STYLE.md practice 2).

Server errors keep their SQLSTATE and get the class ``error_for_sqlstate`` picks; a lost
connection (class 08, a closed or reset socket, asyncpg's "connection is closed") becomes the
retryable :class:`ConnectionLostError`; a pool that cannot hand out a connection in time becomes
:class:`PoolTimeoutError`. Messages name the query, so a log line says which statement failed.

Messages carry no parameter value or row data (docs/security.md): PostgreSQL's DETAIL (``Key
(…)=(…)``, ``Failing row contains (…)``) goes to ``.detail`` only; quoted input in a data
exception's message (``invalid input syntax for type integer: "…"``) and the Python value in
asyncpg's argument-encoding errors are replaced by ``<redacted>``. The driver exception stays
chained as ``__cause__`` for its traceback, scrubbed the same way, because asyncpg's ``str()``
appends DETAIL and a logged traceback prints the whole chain.
"""

from __future__ import annotations

import re

import asyncpg
from asyncpg import exceptions as pgexc

from tenantdb.drivers._redact import redact_message
from tenantdb.errors import (
    CommitOutcomeUnknownError,
    ConnectionLostError,
    PoolTimeoutError,
    QueryError,
    StatementTimeoutError,
    TenantDBError,
    error_for_sqlstate,
)

__all__ = ("map_asyncpg_error", "pool_timeout")

_LOST_HINTS = (
    "connection is closed",
    "connection was closed",
    "underlying connection",
    "released back to the pool",  # asyncpg dropped a lost connection from under the proxy
)
_SHUTDOWN = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the session is gone with the answer."""
_ARGUMENT = re.compile(r"\Ainvalid input for query argument (\$\d+)")
"""asyncpg's client-side encoding error, whose message quotes the Python value."""


def map_asyncpg_error(exc: BaseException, *, query: str | None) -> TenantDBError:
    """The ``tenantdb.errors`` instance for ``exc`` raised while running ``query`` (a name)."""
    if isinstance(exc, TenantDBError):
        return exc
    if _is_lost(exc):
        # Lost while COMMIT was in flight: the outcome is unknown.
        lost = CommitOutcomeUnknownError if query == "COMMIT" else ConnectionLostError
        return lost(f"connection to PostgreSQL lost: {exc}", query=query)
    if isinstance(exc, pgexc.DataError) and (arg := _ARGUMENT.match(_message(exc))):
        # asyncpg refused to encode an argument before sending it (wrong Python type).
        message = f"invalid input for query argument {arg.group(1)} (value not shown)"
        _scrub(exc, message)
        return error_for_sqlstate("22023", message, query=query)
    if isinstance(exc, asyncpg.PostgresError):
        return _server_error(exc, query)
    if isinstance(exc, TimeoutError):
        return StatementTimeoutError("PostgreSQL did not answer in time", query=query)
    return QueryError(f"unexpected driver error: {type(exc).__name__}: {exc}", query=query)


def pool_timeout(lane: str, timeout: float) -> PoolTimeoutError:
    """The error for an acquire that waited ``timeout`` seconds without a free connection."""
    return PoolTimeoutError(
        f"no {lane}-lane connection became free within {timeout:g} s "
        "(raise max_size or acquire_timeout, or look for transactions held open too long)"
    )


def _server_error(exc: asyncpg.PostgresError, query: str | None) -> TenantDBError:
    sqlstate = str(getattr(exc, "sqlstate", None) or "XX000")
    if query == "COMMIT" and sqlstate in _SHUTDOWN:
        # The server shut the session down while COMMIT was in flight: it may have committed.
        _scrub(exc, _message(exc))
        return CommitOutcomeUnknownError(
            f"the server ended the session during COMMIT (SQLSTATE {sqlstate}): {_message(exc)}",
            query=query,
        )
    message = redact_message(sqlstate, _message(exc))
    detail = getattr(exc, "detail", None)
    _scrub(exc, message)
    return error_for_sqlstate(
        sqlstate, message, query=query, detail=detail, hint=getattr(exc, "hint", None)
    )


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _scrub(exc: BaseException, message: str) -> None:
    """Make the chained driver exception print like ours: no DETAIL, no quoted value."""
    exc.args = (message,)
    if hasattr(exc, "detail"):
        exc.detail = None
    # asyncpg chains the codec's own error, whose message repeats the value.
    exc.__cause__ = None
    exc.__suppress_context__ = True


def _is_lost(exc: BaseException) -> bool:
    """Class 08, a socket error, or asyncpg saying the connection is closed."""
    if isinstance(exc, TimeoutError):  # an OSError subclass, but nothing was lost yet
        return False
    if isinstance(exc, pgexc.PostgresConnectionError | OSError):
        return True
    if isinstance(exc, pgexc.InterfaceError):
        text = str(exc).lower()
        return any(hint in text for hint in _LOST_HINTS)
    return False
