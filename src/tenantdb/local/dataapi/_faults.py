"""Fault injection: make the next calls fail the way AWS fails, for driver retry tests.

``LocalDataApi.inject(Fault.RESUMING, times=2)`` makes the next two calls answer
DatabaseResumingException; ``operations`` restricts which calls count; ``duration`` makes the
fault last for a time window instead of a number of calls; ``when="after"`` runs the call
first and then fails (the response is "lost": the statement ran, the client sees a 5xx).
``Fault.DROP_TRANSACTION`` applies to calls that carry a transactionId: the transaction is
rolled back and deleted, and the call gets TransactionNotFoundException.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tenantdb.local.dataapi._errors import ApiError

__all__ = ("Fault", "FaultQueue", "PendingFault")

OPERATIONS = (
    "ExecuteStatement",
    "BatchExecuteStatement",
    "BeginTransaction",
    "CommitTransaction",
    "RollbackTransaction",
    "ExecuteSql",
)


class Fault(enum.StrEnum):
    """What an injected fault answers."""

    THROTTLING = "throttling"
    """400 ThrottlingException "Rate exceeded" (botocore retries it unless retries are off)."""
    RESUMING = "resuming"
    """400 DatabaseResumingException (auto-paused Serverless v2; botocore does not retry)."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """503 ServiceUnavailableError."""
    DATABASE_UNAVAILABLE = "database_unavailable"
    """504 DatabaseUnavailableException."""
    INTERNAL_ERROR = "internal_error"
    """500 InternalServerErrorException."""
    DROP_TRANSACTION = "drop_transaction"
    """The call's transaction disappears server-side: TransactionNotFoundException (404)."""


def fault_error(fault: Fault) -> ApiError:
    if fault is Fault.THROTTLING:
        return ApiError("ThrottlingException", "Rate exceeded")
    if fault is Fault.RESUMING:
        return ApiError(
            "DatabaseResumingException",
            "The Aurora DB instance tenantdb-local-instance-1 is resuming after being "
            "auto-paused. Please wait a few seconds and try again.",
        )
    if fault is Fault.SERVICE_UNAVAILABLE:
        return ApiError("ServiceUnavailableError", "Service unavailable")
    if fault is Fault.DATABASE_UNAVAILABLE:
        return ApiError("DatabaseUnavailableException", "Database unavailable")
    return ApiError("InternalServerErrorException", "Internal error")


@dataclass
class PendingFault:
    fault: Fault
    times: int | None
    until: float | None
    operations: frozenset[str] | None
    when: Literal["before", "after"]

    def matches(self, operation: str, has_transaction: bool) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        return has_transaction or self.fault is not Fault.DROP_TRANSACTION


class FaultQueue:
    """Pending faults, first injected first served."""

    def __init__(self) -> None:
        self._pending: list[PendingFault] = []

    def inject(
        self,
        fault: Fault | str,
        *,
        times: int = 1,
        operations: Iterable[str] | None = None,
        duration: float | None = None,
        when: Literal["before", "after"] = "before",
    ) -> None:
        fault = Fault(fault)
        ops = None if operations is None else frozenset(operations)
        if ops is not None and not ops <= set(OPERATIONS):
            raise ValueError(f"unknown operations: {sorted(ops - set(OPERATIONS))}")
        if when not in ("before", "after") or (when == "after" and fault is Fault.DROP_TRANSACTION):
            raise ValueError(f"when={when!r} is not valid for {fault}")
        if times < 1 and duration is None:
            raise ValueError("times must be >= 1")
        until = None if duration is None else time.monotonic() + duration
        self._pending.append(
            PendingFault(fault, None if duration is not None else times, until, ops, when)
        )

    def clear(self) -> None:
        self._pending.clear()

    def take(self, operation: str, *, has_transaction: bool) -> PendingFault | None:
        """The fault this call suffers (consuming one of its ``times``), if any."""
        now = time.monotonic()
        self._pending = [p for p in self._pending if p.until is None or p.until > now]
        for pending in self._pending:
            if pending.matches(operation, has_transaction):
                if pending.times is not None:
                    pending.times -= 1
                    if pending.times == 0:
                        self._pending.remove(pending)
                return pending
        return None

    def describe(self) -> list[dict[str, object]]:
        return [
            {
                "fault": p.fault.value,
                "times": p.times,
                "operations": sorted(p.operations) if p.operations else None,
                "when": p.when,
            }
            for p in self._pending
        ]
