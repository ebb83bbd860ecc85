"""Roots of the error hierarchy, apart so the generated ``_sqlstates`` can subclass them.

Public names live in :mod:`tenantdb.errors`; ``__module__`` is set there so tracebacks and
pickles name ``tenantdb.errors.UniqueViolation``, never this private module.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle without calling ``__init__`` (subclasses take keyword-only arguments)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class TenantDBError(Exception):
    """Root of every error tenantdb raises.

    ``retryable`` says whether rerunning the whole unit of work (the transaction) can
    succeed and is safe: the failed attempt left no effect. Drivers and retry helpers read
    it; it is a class default that an instance may override.
    """

    retryable: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _prefix(query: str | None, message: str) -> str:
    return f"[{query}] {message}" if query else message


class QueryError(TenantDBError):
    """A statement failed in the database; carries the SQLSTATE and the query's name.

    ``str(err)`` reads ``[ListBookings] duplicate key value violates unique constraint
    "bookings_pkey" (SQLSTATE 23505)``. ``detail`` and ``hint`` are PostgreSQL's fields;
    they may quote row values, so they are kept out of the message (and out of logs).
    Generated subclasses (one per SQLSTATE) set ``sqlstate`` as a class attribute.
    """

    sqlstate: str | None = None

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        query: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        self.query = query
        self.detail = detail
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        text = _prefix(self.query, self.message)
        return f"{text} (SQLSTATE {self.sqlstate})" if self.sqlstate else text
