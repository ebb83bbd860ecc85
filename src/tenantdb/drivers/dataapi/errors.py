"""The one seam where botocore/aiobotocore exceptions become ``tenantdb.errors``.

``DatabaseErrorException`` carries PostgreSQL's error as pgjdbc text
(``ERROR: msg\\n  Detail: …\\n  Hint: …\\n  Position: n; SQLState: XXXXX``, DATA_API.md §4.14):
the SQLSTATE is parsed from it, so a unique violation is ``UniqueViolation`` on both lanes.
Service-level codes map to the transport errors (throttling, resuming, expired transaction,
result too large); a timeout or a 5xx is "outcome unknown" unless the caller says the call
was harmless to repeat (``idempotent=True``: BeginTransaction, a read-only transaction).
No botocore, aiobotocore or aiohttp exception leaves the lane.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tenantdb.drivers._redact import redact_message
from tenantdb.errors import (
    CommitOutcomeUnknownError,
    ConfigurationError,
    ConnectionLostError,
    DatabaseResumingError,
    PoolTimeoutError,
    QueryError,
    ResultTooLargeError,
    StatementTimeoutError,
    TenantDBError,
    ThrottledError,
    TransactionExpiredError,
    TransportError,
    UnsupportedQueryError,
    error_for_sqlstate,
)

__all__ = ("STILL_RUNNING", "error_code", "map_dataapi_error", "resendable")

STILL_RUNNING = "Transaction is still running a query"
_SQLSTATE = re.compile(r"SQLState:\s*(\w{5})\s*$")
_FIELD = re.compile(r"\n\s+(Detail|Hint|Position|Where):\s*", re.IGNORECASE)
_NOT_FOUND = re.compile(r"Transaction .* is not found", re.DOTALL)
_CONFIG_CODES = frozenset(
    {
        "AccessDeniedException",
        "ForbiddenException",
        "HttpEndpointNotEnabledException",
        "InvalidSecretException",
        "SecretsErrorException",
        "DatabaseNotFoundException",
        "InvalidResourceStateException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)
_SERVER_FAULTS = frozenset(
    {
        "InternalServerErrorException",
        "ServiceUnavailableError",
        "DatabaseUnavailableException",
    }
)


def error_code(exc: BaseException) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ``ClientError``; ("", "", 0) otherwise."""
    response: Any = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", "", 0
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return (
        str(error.get("Code") or ""),
        str(error.get("Message") or ""),
        int(meta.get("HTTPStatusCode") or 0),
    )


def map_dataapi_error(
    exc: BaseException, *, query: str | None, idempotent: bool = False
) -> TenantDBError:
    """The ``tenantdb.errors`` instance for ``exc`` raised by the call running ``query``.

    ``idempotent``: repeating the call is harmless (a read-only transaction, BeginTransaction),
    so a timeout or server fault may be reported as retryable.
    """
    if isinstance(exc, TenantDBError):
        return exc
    code, message, status = error_code(exc)
    if code:
        error = _client_error(code, message, status, query, idempotent)
        _scrub(exc, code, message, error)
        return error
    return _transport_error(exc, query, idempotent)


def _scrub(exc: BaseException, code: str, message: str, error: TenantDBError) -> None:
    """Make the chained botocore error print no value: it keeps its type and request id
    (``response["ResponseMetadata"]``), its message becomes ours (already redacted)."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    clean = redact_message(sqlstate, message)
    if clean == message:
        return
    exc.args = (f"An error occurred ({code}): {clean}",)
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        _replace_in(response, message, clean)


def _replace_in(tree: dict[str, Any], old: str, new: str) -> None:
    """Every copy of the server's message in botocore's parsed response (``Error.Message``,
    the body's own ``message``) becomes the redacted one."""
    for key, value in tree.items():
        if isinstance(value, dict):
            _replace_in(value, old, new)
        elif isinstance(value, str) and old in value:
            tree[key] = value.replace(old, new)


def _client_error(
    code: str, message: str, status: int, query: str | None, idempotent: bool
) -> TenantDBError:
    simple = _SIMPLE.get(code)
    if simple is not None:
        return simple(message, query, idempotent)
    if _NOT_FOUND.search(message):
        return _expired(message, query, idempotent)
    if code in _CONFIG_CODES:
        return ConfigurationError(f"Data API refused the call ({code}): {message}")
    if code in _SERVER_FAULTS or status >= 500:
        return _outcome_unknown(
            f"the Data API failed ({code}, HTTP {status}); the call's outcome is unknown: "
            f"{message}",
            query,
            idempotent,
        )
    # ValidationException, BadRequestException, ...: the call itself was wrong.
    return QueryError(f"Data API rejected the call ({code}): {message}", query=query)


def _resuming(message: str, query: str | None, _idempotent: bool) -> TenantDBError:
    return DatabaseResumingError(f"the database is resuming: {message}", query=query)


def _throttled(message: str, query: str | None, _idempotent: bool) -> TenantDBError:
    return ThrottledError(f"the Data API throttled the call: {message}", query=query)


def _expired(message: str, query: str | None, _idempotent: bool) -> TenantDBError:
    return TransactionExpiredError(
        "the Data API transaction is gone (expired or terminated); nothing in it was "
        f"committed: {message}",
        query=query,
    )


def _database_error(message: str, query: str | None, _idempotent: bool = False) -> TenantDBError:
    if STILL_RUNNING in message:
        return ThrottledError(f"the transaction was busy: {message}", query=query)
    match = _SQLSTATE.search(message)
    body = message[: match.start()].rstrip("; ") if match else message
    if body.startswith("ERROR:"):
        body = body[len("ERROR:") :].strip()
    fields = _fields(body)
    text = fields.pop("", body)
    if match is None:
        return QueryError(f"Data API database error: {text}", query=query)
    sqlstate = match.group(1)
    if sqlstate.startswith("08") or sqlstate in _BACKEND_GONE:
        return _backend_lost(sqlstate, text, query)
    return error_for_sqlstate(
        sqlstate,
        redact_message(sqlstate, text),
        query=query,
        detail=fields.get("detail"),
        hint=fields.get("hint"),
    )


def _fields(body: str) -> dict[str, str]:
    """pgjdbc's ``msg\\n  Detail: …\\n  Hint: …`` -> {"": msg, "detail": …, "hint": …}."""
    parts = _FIELD.split(body)
    out = {"": parts[0].strip()}
    for name, value in zip(parts[1::2], parts[2::2], strict=False):
        out[name.lower()] = value.strip()
    return out


def _statement_timeout(message: str, query: str | None, idempotent: bool) -> TenantDBError:
    if "Connection is not available" in message:
        # The gateway/cluster had no free connection: the call never started.
        return PoolTimeoutError(f"the Data API had no database connection free: {message}")
    return StatementTimeoutError(
        f"the statement exceeded the Data API's time limit; its outcome is unknown: {message}",
        query=query,
        retryable=idempotent,
    )


def _unsupported_result(
    message: str, query: str | None, _idempotent: bool = False
) -> TenantDBError:
    if "size limit" in message.lower() or "too large" in message.lower():
        return ResultTooLargeError(
            f"the result of {query or 'the statement'} exceeds the Data API's 1 MiB response "
            f"limit (the transaction was terminated); page it with LIMIT/keyset: {message}",
            query=query,
        )
    return UnsupportedQueryError(f"the Data API cannot return this result: {message}", query=query)


_OUTCOME_UNKNOWN = frozenset(
    {"EndpointConnectionError", "ConnectionClosedError", "HTTPClientError"}
)
"""botocore errors raised after the request may have reached the service (aiobotocore reports
a reset while reading the answer as EndpointConnectionError too): never resend a write."""


def _never_connected(exc: BaseException) -> bool:
    """True only when the connection itself failed, so the service saw nothing."""
    name = type(exc).__name__
    if name in ("ConnectTimeoutError", "ClientConnectorError"):
        return True
    if name == "EndpointConnectionError":
        # botocore keeps the transport's exception in kwargs["error"]: only a failed connect
        # (refused, DNS, TLS handshake) proves the request was never sent.
        inner = getattr(exc, "kwargs", {}).get("error")
        return type(inner).__name__.startswith("ClientConnector") or isinstance(
            inner, ConnectionRefusedError
        )
    return False


def _transport_error(exc: BaseException, query: str | None, idempotent: bool) -> TenantDBError:
    name = type(exc).__name__
    if name in ("ReadTimeoutError", "TimeoutError", "ServerTimeoutError") or isinstance(
        exc, TimeoutError
    ):
        return StatementTimeoutError(
            f"no answer from the Data API in time; the call's outcome is unknown: {exc}",
            query=query,
            retryable=idempotent,
        )
    if _never_connected(exc):
        # The request never reached the service: nothing ran, so the call may be resent.
        return resendable(
            ConnectionLostError(f"cannot reach the Data API endpoint: {exc}", query=query)
        )
    if name in ("ParamValidationError", "ValidationError"):
        return ConfigurationError(f"invalid Data API request: {exc}")
    if (
        isinstance(exc, OSError)
        or name in _OUTCOME_UNKNOWN
        or name.endswith(("ConnectionError", "ServerDisconnectedError"))
    ):
        return _outcome_unknown(
            f"connection to the Data API lost; the call's outcome is unknown: {exc}",
            query,
            idempotent,
        )
    return QueryError(f"unexpected Data API error: {name}: {exc}", query=query)


_BACKEND_GONE = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the database session is gone."""


def _backend_lost(sqlstate: str, text: str, query: str | None) -> TenantDBError:
    """The transaction's database connection died (pgjdbc's 08xxx, or FATAL 57P0x).

    08003 (``This connection has been closed.``) means it was gone before the call: nothing
    ran, and at COMMIT nothing committed. Any other loss during COMMIT leaves the outcome
    unknown. Never resent: the transaction is gone with its connection.
    """
    if query == "COMMIT" and sqlstate != "08003":
        return CommitOutcomeUnknownError(
            f"the database connection was lost during COMMIT (SQLSTATE {sqlstate}); the "
            f"transaction may or may not have committed: {text}",
            query=query,
        )
    return ConnectionLostError(
        f"the database connection was lost (SQLSTATE {sqlstate}); nothing of the transaction "
        f"committed: {text}",
        query=query,
    )


def _outcome_unknown(message: str, query: str | None, idempotent: bool) -> TenantDBError:
    """A call that may have run: resent only when running it twice is harmless; a COMMIT
    whose answer was lost is :class:`CommitOutcomeUnknownError`."""
    if query == "COMMIT":
        return CommitOutcomeUnknownError(message, query=query)
    error = ConnectionLostError(message, query=query, retryable=idempotent)
    return resendable(error) if idempotent else error


def resendable(error: TransportError) -> TransportError:
    """Mark ``error``: its call provably did not run (or may run twice), so the lane's retry
    loop may send it again (``RetryPolicy.delay``)."""
    error._resend = True
    return error


_SIMPLE: dict[str, Callable[[str, str | None, bool], TenantDBError]] = {
    "DatabaseErrorException": _database_error,
    "DatabaseResumingException": _resuming,
    "ThrottlingException": _throttled,
    "TooManyRequestsException": _throttled,
    "TransactionNotFoundException": _expired,
    "NotFoundException": _expired,
    "StatementTimeoutException": _statement_timeout,
    "UnsupportedResultException": _unsupported_result,
}
