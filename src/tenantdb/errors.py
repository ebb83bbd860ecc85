"""One exception hierarchy for every driver.

Both transports raise the same class for the same fault, so service code catches
``UniqueViolation`` or checks ``err.retryable`` without knowing whether asyncpg or the Data
API ran the query::

    try:
        await q.create_booking(tx, ...)
    except errors.UniqueViolation as err:
        ...  # err.sqlstate == "23505", err.query == "CreateBooking"

``QueryError`` has one generated subclass per PostgreSQL SQLSTATE (``_sqlstates.py``, from
PostgreSQL's errcodes.txt by ``scripts/gen_sqlstates.py``); drivers build them with
:func:`error_for_sqlstate`. See docs/errors.md for the retry rules.
"""

from __future__ import annotations

from tenantdb import _sqlstates
from tenantdb._errors_base import QueryError, TenantDBError, _prefix
from tenantdb._sqlstates import *  # noqa: F403  (the generated classes are public names)
from tenantdb._sqlstates import RETRYABLE_SQLSTATES, SQLSTATE_CLASSES

__all__: tuple[str, ...] = (
    "CommitOutcomeUnknownError",
    "ConfigurationError",
    "ConnectionLostError",
    "ContextError",
    "DatabaseClosedError",
    "DatabaseResumingError",
    "NoRowError",
    "PoolTimeoutError",
    "QueryError",
    "ResultTooLargeError",
    "StatementTimeoutError",
    "TenantDBError",
    "ThrottledError",
    "TransactionExpiredError",
    "TransactionTimeoutError",
    "TransportError",
    "UnsupportedQueryError",
    "error_for_sqlstate",
    "sqlstate_class",
)
__all__ += _sqlstates.__all__


class ConfigurationError(TenantDBError):
    """The SDK or a local stand-in was configured or used wrongly."""


class ContextError(TenantDBError, ValueError):
    """The tenant context is missing or invalid; raised before any SQL is sent.

    ``variable`` names the offending setting: ``tenant_id``, ``user_id``, ``app.<name>``,
    or ``authorization`` for a rejected token. Messages quote at most a short ``repr`` of
    the bad value, so a hostile input cannot flood logs.
    """

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class UnsupportedQueryError(QueryError):
    """The query cannot run on this transport (e.g. a Data API-unsupported column type).

    Not retryable: it fails the same way every time; run it on the asyncpg lane instead.
    """

    def __init__(
        self, message: str, *, query: str | None = None, column: str | None = None
    ) -> None:
        super().__init__(message, query=query)
        self.column = column


class NoRowError(TenantDBError):
    """A query whose row is guaranteed (``INSERT … VALUES … RETURNING``, typed ``T``, not
    ``T | None``) returned none: a trigger or rule suppressed it. ``query`` names the query."""

    def __init__(self, message: str, *, query: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.query = query

    def __str__(self) -> str:
        return _prefix(self.query, self.message)


class TransportError(TenantDBError):
    """The request did not reach the database or its answer was lost (retryable by default).

    ``query`` names the statement in flight, when there was one.
    """

    retryable = True
    _resend = False
    """Internal: the failed *call* provably did not run (or running it twice is harmless), so
    the Data API lane's retry loop may send it again. ``retryable`` is about the unit of work."""

    def __init__(
        self, message: str, *, query: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return _prefix(self.query, self.message)


class ConnectionLostError(TransportError):
    """The connection (or the database backend) was lost before COMMIT was sent, so the
    transaction rolled back and nothing of it committed: retryable.

    A loss while COMMIT was in flight is :class:`CommitOutcomeUnknownError` instead.
    """


class CommitOutcomeUnknownError(ConnectionLostError):
    """COMMIT was sent but its answer never came (connection lost, or no answer within the
    cleanup bound): the transaction may or may not have committed. Not retryable: check
    whether its effects exist before redoing the work (an idempotency key helps).
    """

    retryable = False


class PoolTimeoutError(TransportError):
    """No pooled connection became free within the acquire timeout; nothing ran."""


class ThrottledError(TransportError):
    """The Data API answered ThrottlingException; back off and rerun."""


class DatabaseResumingError(TransportError):
    """The Data API answered DatabaseResumingException (Aurora auto-pause); rerun shortly."""


class TransactionExpiredError(TransportError):
    """The Data API no longer knows the transaction id (expired, dropped or terminated).

    Nothing of the transaction committed, so redoing the whole unit of work is safe
    (``retryable``); the transaction itself cannot be continued.
    """


class StatementTimeoutError(TransportError):
    """A statement or transport call timed out and its outcome is unknown.

    Not retryable by default: outside a transaction a write may or may not have committed.
    Raised inside a transaction block, before COMMIT, it is retryable (the block rolls back,
    so nothing of it committed); drivers also pass ``retryable=True`` for read-only work.
    """

    retryable = False


class ResultTooLargeError(TransportError):
    """The Data API refused a result over its 1 MiB response limit; page the query instead."""

    retryable = False


class TransactionTimeoutError(TenantDBError):
    """The whole transaction exceeded its deadline (``Database.tenant(..., timeout=)``).

    The transaction was rolled back; not retryable by default, since the same work would
    likely time out again.
    """


class DatabaseClosedError(TenantDBError):
    """The ``Database`` is closing or closed: no new transaction starts, and a transaction
    still open when the drain timeout of ``db.close()`` ran out was rolled back.

    Not retryable on this ``Database``: nothing of the unit of work committed, but this
    instance will not run it again (a client may resend the request to another instance).
    """


def sqlstate_class(code: str) -> type[QueryError]:
    """The most specific class for ``code``: exact, else its class-level code, else QueryError.

    >>> sqlstate_class("23505").__name__
    'UniqueViolation'
    """
    exact = SQLSTATE_CLASSES.get(code)
    if exact is not None:
        return exact
    return SQLSTATE_CLASSES.get(code[:2] + "000", QueryError)


def error_for_sqlstate(
    sqlstate: str,
    message: str,
    *,
    query: str | None = None,
    detail: str | None = None,
    hint: str | None = None,
) -> QueryError:
    """Build the error a driver raises for a server error (the one translation seam).

    ``retryable`` comes from the class; a code unknown to this PostgreSQL version (mapped to
    its class-level class) is retryable only if it is listed in ``RETRYABLE_SQLSTATES``.

    >>> str(error_for_sqlstate("23505", "duplicate key", query="CreateBooking"))
    '[CreateBooking] duplicate key (SQLSTATE 23505)'
    """
    cls = sqlstate_class(sqlstate)
    retryable = None if cls.sqlstate == sqlstate else sqlstate in RETRYABLE_SQLSTATES
    return cls(
        message, sqlstate=sqlstate, query=query, detail=detail, hint=hint, retryable=retryable
    )


def _publish() -> None:
    """Name the classes ``tenantdb.errors.X`` in tracebacks and pickles."""
    for cls in (TenantDBError, QueryError, *SQLSTATE_CLASSES.values()):
        cls.__module__ = __name__


_publish()
