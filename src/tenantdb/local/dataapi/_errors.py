"""AWS error shapes: one exception type carrying the code, HTTP status and message.

Handlers raise :class:`ApiError`; the server turns it into the response AWS sends (status,
``x-amzn-ErrorType`` header and a ``{"__type", "message"}`` body), which botocore maps to the
modeled exception class (or a plain ``ClientError`` for ValidationException/Throttling).
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

__all__ = (
    "ApiError",
    "connection_closed",
    "connection_failed",
    "database_error",
    "transaction_not_found",
)

# Modeled codes (botocore service-2.json) and the two unmodeled ones v2 uses.
_STATUS: dict[str, int] = {
    "BadRequestException": 400,
    "DatabaseErrorException": 400,
    "DatabaseResumingException": 400,
    "HttpEndpointNotEnabledException": 400,
    "InvalidResourceStateException": 400,
    "InvalidSecretException": 400,
    "SecretsErrorException": 400,
    "StatementTimeoutException": 400,
    "UnsupportedResultException": 400,
    "ValidationException": 400,
    "ThrottlingException": 400,
    "AccessDeniedException": 403,
    "ForbiddenException": 403,
    "DatabaseNotFoundException": 404,
    "NotFoundException": 404,
    "TransactionNotFoundException": 404,
    "UnknownOperationException": 404,
    "InternalServerErrorException": 500,
    "ServiceUnavailableError": 503,
    "DatabaseUnavailableException": 504,
}


class ApiError(Exception):
    """An error response: ``code`` is the AWS error code, ``extra`` modeled extra members."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUS[code]
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, **self.extra}


def database_error(exc: asyncpg.PostgresError) -> ApiError:
    """A PostgreSQL error in pgjdbc's text form plus the Data API's ``; SQLState: X`` suffix."""
    parts = [f"ERROR: {exc.args[0] if exc.args else exc}"]
    detail, hint, position = (getattr(exc, a, None) for a in ("detail", "hint", "position"))
    if detail:
        parts.append(f"\n  Detail: {detail}")
    if hint:
        parts.append(f"\n  Hint: {hint}")
    if position:
        parts.append(f"\n  Position: {position}")
    parts.append(f"; SQLState: {exc.sqlstate}")
    return ApiError("DatabaseErrorException", "".join(parts))


def connection_closed() -> ApiError:
    """pgjdbc's answer for a call on a connection that was already gone (08003): the call
    never reached the database."""
    return ApiError("DatabaseErrorException", "This connection has been closed.; SQLState: 08003")


def connection_failed(exc: BaseException) -> ApiError:
    """The transaction's connection died during the call: pgjdbc's FATAL (57P0x) when the
    server said why, else its I/O error (08006)."""
    if isinstance(exc, ApiError) and "SQLState: 57P0" in exc.message:
        return exc
    return ApiError(
        "DatabaseErrorException",
        "An I/O error occurred while sending to the backend.; SQLState: 08006",
    )


def transaction_not_found(transaction_id: str, cause: str) -> ApiError:
    """AWS's message: ``Transaction <id> is not found`` plus why (expired, terminated...)."""
    shown = transaction_id if _TX_ID.fullmatch(transaction_id) else "(invalid id)"
    return ApiError("TransactionNotFoundException", f"Transaction {shown} is not found. {cause}")


_TX_ID = re.compile(r"[A-Za-z0-9+/=_-]{1,192}")
