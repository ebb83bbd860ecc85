"""Retries of Data API calls: backoff with a deadline, never a blind resend of a write.

botocore's own retries are off (``max_attempts=1``): botocore would resend an ExecuteStatement
after a 5xx or a read timeout, running a write twice (DATA_API.md §3.1). Here a call is repeated
only when the error says the statement did not run (throttling, a resuming database, "still
running a query", no connection available, a connect failure) or when the caller declared the
call harmless to repeat (``idempotent``: BeginTransaction, Rollback, statements of a read-only
transaction). Every other error — a timeout or 5xx on a write, any statement timeout, a SQL
error — is raised at once.

Every repeat is visible: :func:`tenantdb.observe.record_retry` logs it (``retry`` event on the
``tenantdb`` logger: operation, attempt, error, delay) and counts it in the ``Metrics`` of the
transaction block it happens in (``MetricsSnapshot.call_retries``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import msgspec

from tenantdb.drivers.dataapi.errors import map_dataapi_error
from tenantdb.errors import (
    ConfigurationError,
    DatabaseResumingError,
    PoolTimeoutError,
    TenantDBError,
    ThrottledError,
    TransportError,
)
from tenantdb.observe import record_retry

__all__ = ("RetryPolicy", "call_with_retry")

T = TypeVar("T")


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How long and how often the Data API lane repeats a call that did not run, and
    ``Database.run`` a unit of work that did not commit.

    ``deadline`` bounds the whole retry loop of one call (seconds). ``resuming_delays`` is the
    schedule for DatabaseResumingException (an auto-paused Aurora Serverless v2 takes ~15-30 s
    to resume); throttling, "still running" and a busy connection pool back off exponentially
    from ``base_delay`` to ``max_delay`` with full jitter. Tests use tiny values.
    """

    deadline: float = 60.0
    resuming_delays: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
    base_delay: float = 0.05
    max_delay: float = 2.0
    max_attempts: int = 20

    def __post_init__(self) -> None:
        if not self.deadline >= 0 or self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy needs deadline >= 0 and max_attempts >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or any(d < 0 for d in self.resuming_delays):
            raise ConfigurationError("RetryPolicy delays must not be negative")

    def delay(self, error: TenantDBError, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up now."""
        if not _resendable(error):
            return None
        return self.backoff(error, attempt)

    def backoff(self, error: TenantDBError, attempt: int) -> float | None:
        """The wait before attempt ``attempt + 1`` whatever the error's class (the caller
        decided it is worth repeating), or None when ``max_attempts`` is used up.

        ``DatabaseResumingError`` follows ``resuming_delays``; anything else backs off
        exponentially from ``base_delay`` to ``max_delay`` with jitter (half to full delay).
        ``Database.run`` uses it between units of work.
        """
        if attempt + 1 >= self.max_attempts:
            return None
        if isinstance(error, DatabaseResumingError):
            delays = self.resuming_delays or (self.max_delay,)
            return delays[min(attempt, len(delays) - 1)]
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not cryptography


def _resendable(error: TenantDBError) -> bool:
    """Whether the failed call may be sent again. ``retryable`` is advice about the whole unit
    of work; a call is resent only when it provably did not run: throttled, resuming, no free
    database connection, or marked by the error mapping (never reached the endpoint, or
    harmless twice). Never a timed-out statement (it aborted its transaction), an expired
    transaction or a lost database connection (the transaction is gone with it)."""
    if isinstance(error, ThrottledError | DatabaseResumingError | PoolTimeoutError):
        return True
    return isinstance(error, TransportError) and error._resend


async def call_with_retry(
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    *,
    query: str | None,
    idempotent: bool,
) -> T:
    """``await call()``, repeated per ``policy``; errors leave as ``tenantdb.errors`` only."""
    start = time.monotonic()
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            error = map_dataapi_error(exc, query=query, idempotent=idempotent)
            wait = policy.delay(error, attempt)
            if wait is None or time.monotonic() - start + wait > policy.deadline:
                raise error from (None if error is exc else exc)
            record_retry(
                operation=_operation(exc, query),
                query=query,
                attempt=attempt + 1,
                error=getattr(error, "sqlstate", None) or type(error).__name__,
                delay_s=wait,
            )
        await anyio.sleep(wait)
        attempt += 1


_OPERATIONS = {
    "BEGIN": "BeginTransaction",
    "COMMIT": "CommitTransaction",
    "ROLLBACK": "RollbackTransaction",
}


def _operation(exc: BaseException, query: str | None) -> str:
    """The rds-data operation that failed: botocore names it on a ``ClientError``; otherwise
    (a connect failure) it is inferred from the statement's name."""
    name = getattr(exc, "operation_name", None)
    if isinstance(name, str) and name:
        return name
    return _OPERATIONS.get(query or "", "ExecuteStatement")
