"""What both lanes' transactions share; each transport's protocol stays in its own module.

The asyncpg lane (``asyncpg/lane``) and the Data API lane (``dataapi/lane``, ``transaction``)
differ in how they begin, commit and run statements, but not in these rules: the tenant lane
never runs without a context, a block commits only when it ended normally and no statement
failed in it (a caught failure rolls back and raises 25P02), an executor refuses queries after
its block ended, savepoints are numbered by depth, and each transaction is recorded once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tenantdb.errors import (
    CommitOutcomeUnknownError,
    ConfigurationError,
    ConnectionLostError,
    ContextError,
    StatementTimeoutError,
    TransactionExpiredError,
    error_for_sqlstate,
)
from tenantdb.query import Command, Query

if TYPE_CHECKING:
    from tenantdb.drivers.lane import TxRequest
    from tenantdb.observe import Metrics

__all__ = (
    "SAVEPOINT_QUERY",
    "block_ended",
    "check_request",
    "end_block",
    "mark_redo_safe",
    "record_transaction",
    "savepoint_name",
)

SAVEPOINT_QUERY: Query[Any] = Query(
    name="SAVEPOINT", command=Command.EXEC, sql="SAVEPOINT", data_api_sql="SAVEPOINT"
)
"""The pseudo-query savepoint statements are guarded and reported as."""


def check_request(lane: str, request: TxRequest) -> None:
    """Refuse a tenant-lane transaction without a context (defence in depth: ``Database``
    only builds tenant requests from a validated ``TenantContext``)."""
    if lane == "tenant" and request.ctx is None:
        raise ContextError("the tenant lane needs a TenantContext", variable="tenant_id")


_REDO_SAFE = (ConnectionLostError, StatementTimeoutError, TransactionExpiredError)
"""Transport faults that only leave a *call's* outcome unknown: raised before COMMIT, the block
rolls back, so nothing of the unit of work committed and redoing it is safe."""


def mark_redo_safe(exc: BaseException | None) -> None:
    """``exc`` left a transaction before COMMIT was sent (its BEGIN, a statement): nothing
    of the unit of work committed, so a transport fault in it is ``retryable``."""
    if isinstance(exc, _REDO_SAFE) and not isinstance(exc, CommitOutcomeUnknownError):
        exc.retryable = True


async def end_block(
    exc_type: type[BaseException] | None,
    *,
    broken: bool,
    commit: Callable[[], Awaitable[None]],
    rollback: Callable[[], Awaitable[None]],
    exc: BaseException | None = None,
) -> bool:
    """Commit a block that ended normally with no failed statement, else roll back.

    Returns True when it committed. A block that ended normally although a statement in it
    failed (the caller caught the error) is rolled back and raises 25P02: PostgreSQL aborted
    the transaction, so nothing may look written. A transport fault leaving the block (``exc``,
    raised before COMMIT) is marked ``retryable``: nothing of the block committed.
    """
    if exc_type is None and not broken:
        await commit()
        return True
    mark_redo_safe(exc)
    await rollback()
    if exc_type is None:
        raise error_for_sqlstate(
            "25P02",
            "the transaction was rolled back because a statement in it failed "
            "(the error was caught inside the block); nothing was written",
            query="COMMIT",
        )
    return False


def record_transaction(
    metrics: Metrics,
    lane: str,
    request: TxRequest,
    t0: float,
    *,
    ok: bool,
    context_sets: int,
    error: str | None = None,
) -> None:
    """The one metric of a transaction that started at ``t0`` (``time.perf_counter()``)."""
    metrics.record_transaction(
        lane=lane,
        tenant_id=request.tenant_id,
        duration_s=time.perf_counter() - t0,
        ok=ok,
        context_sets=context_sets,
        error=error,
    )


def block_ended(query: Query[Any]) -> ConfigurationError:
    """The error for a query on a transaction whose block has ended (I-14)."""
    return ConfigurationError(
        f"query {query.name} used a transaction after its block ended; "
        "open a new `async with db.tenant(ctx)` block"
    )


def savepoint_name(depth: int) -> str:
    """The savepoint of nesting level ``depth`` (1 for the first nested block)."""
    return f"tenantdb_sp_{depth}"
