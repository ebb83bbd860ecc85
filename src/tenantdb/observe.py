"""Metrics and structured logs for every query and transaction, from one call site each.

Drivers call :meth:`Metrics.record_query` once per statement and
:meth:`Metrics.record_transaction` once per transaction; each call updates the counters and
emits one structlog event (``query`` / ``transaction``) on the ``tenantdb`` logger. What the
SDK does by itself is recorded the same way: :meth:`Metrics.record_retry` (a Data API call
repeated by the lane, or a unit of work re-run by ``Database.run``) and
:meth:`Metrics.record_discard` (a connection destroyed because its state was unknown)::

    metrics = Metrics()
    metrics.record_query(lane="tenant", tenant_id=tid, query="ListBookings", rows=20,
                         duration_s=0.0012)
    snap = metrics.snapshot()          # MetricsSnapshot; snap.to_brief_dict() -> camelCase

Events carry names, counts and timings only, never parameter values or row data: the API
does not even receive them. Latency percentiles come from a sparse log-bucket histogram
per key (4% wide buckets, so a percentile is within about 2% of the true value) whose
memory is bounded by the number of distinct buckets, not by the number of samples.

Exporters are *observers* (:class:`Observer`): ``Metrics(observers=[...])`` or
:meth:`Metrics.add_observer` hands them every event after the counters are updated
(``tenantdb.otel.OtelObserver``, ``tenantdb.emf.EmfExporter``). Observers see the lane's
description (:class:`LaneInfo`: transport, database, server) that ``Database`` registers.

Not locked: all updates are plain attribute arithmetic on one event loop. Use one
``Metrics`` per event loop (per ``Database``) when running several loops in threads.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import msgspec

from tenantdb._log import tenantdb_logger

__all__ = (
    "OTHER_TENANTS",
    "BlockEvent",
    "DiscardEvent",
    "LaneInfo",
    "Metrics",
    "MetricsSnapshot",
    "Observer",
    "QueryEvent",
    "QueryStats",
    "RetryEvent",
    "TenantStats",
    "TransactionEvent",
    "enter_scope",
    "exit_scope",
    "record_retry",
    "recording",
)

_GROWTH = 1.04
_LOG_GROWTH = math.log(_GROWTH)
OTHER_TENANTS = "(other)"
"""Key that collects tenants beyond ``max_tenants`` in ``MetricsSnapshot.per_tenant``."""


class _Histogram:
    """Sparse log-bucket histogram of milliseconds; bucket i holds (G**(i-1), G**i]."""

    __slots__ = ("buckets", "count", "max", "min")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.min = math.inf
        self.max = 0.0

    def add(self, ms: float) -> None:
        index = math.ceil(math.log(ms) / _LOG_GROWTH) if ms > 0 else -(2**31)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.min = min(self.min, ms)
        self.max = max(self.max, ms)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile: the upper edge of its bucket, clamped to the observed range."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                edge = _GROWTH**index if index > -(2**31) else 0.0
                return min(max(edge, self.min), self.max)
        return self.max  # pragma: no cover - rank <= count always lands in a bucket


class _Counter:
    """Counts for one key (a tenant or a query)."""

    __slots__ = ("errors", "latency", "queries", "query_errors", "retries", "rows", "total_ms")

    def __init__(self) -> None:
        self.retries = 0
        self.queries = 0
        self.query_errors = 0
        self.rows = 0
        self.errors = 0
        self.total_ms = 0.0
        self.latency = _Histogram()

    def add_latency(self, ms: float) -> None:
        self.total_ms += ms
        self.latency.add(ms)

    def add_query(self, rows: int, failed: bool) -> None:
        self.queries += 1
        self.query_errors += failed
        self.rows += rows

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p95 and p99 of the latency histogram, in milliseconds."""
        h = self.latency
        return h.quantile(0.50), h.quantile(0.95), h.quantile(0.99)


class TenantStats(msgspec.Struct, frozen=True, kw_only=True):
    """One tenant's work; latency percentiles are of its transactions."""

    transactions: int
    transaction_errors: int
    queries: int
    query_errors: int
    rows: int
    total_latency_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    retries: int = 0
    """Data API calls repeated and units of work re-run for this tenant."""


class QueryStats(msgspec.Struct, frozen=True, kw_only=True):
    """One named query's executions; latency percentiles are per statement."""

    calls: int
    errors: int
    rows: int
    total_latency_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


class MetricsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Totals since the last reset, plus per-tenant and per-query statistics.

    ``errors`` counts failed transactions, ``error_rate`` is their percentage, and the
    latency totals are of transactions: the product brief's ``getMetrics()`` figures.
    """

    total_transactions: int
    total_context_sets: int
    total_latency_ms: float
    errors: int
    avg_latency_ms: float
    error_rate: float
    total_queries: int
    query_errors: int
    per_tenant: dict[str, TenantStats]
    per_query: dict[str, QueryStats]
    call_retries: int = 0
    """Data API calls the lane repeated because they did not run (throttling, resuming, ...)."""
    unit_retries: int = 0
    """Units of work ``Database.run`` re-ran in a fresh transaction (40001, 40P01, ...)."""
    retries_by_error: dict[str, int] = msgspec.field(default_factory=dict)
    """Both kinds of retry by the error that caused them (SQLSTATE, else the class name)."""
    discarded_connections: int = 0
    """Connections destroyed instead of pooled because their state was unknown (a failed or
    hung ROLLBACK, a COMMIT without an answer)."""

    def to_brief_dict(self) -> dict[str, float]:
        """The brief's ``getMetrics()`` shape (``totalTransactions``, ``errorRate``, ...)."""
        return {
            "totalTransactions": self.total_transactions,
            "totalContextSets": self.total_context_sets,
            "totalLatencyMs": self.total_latency_ms,
            "errors": self.errors,
            "avgLatencyMs": self.avg_latency_ms,
            "errorRate": self.error_rate,
        }


class LaneInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What observers may say about a lane (``Database`` registers one per lane)."""

    name: str
    """``"tenant"`` or ``"admin"``."""
    transport: str
    """``"asyncpg"`` or ``"data_api"``."""
    namespace: str | None = None
    """The database name."""
    server_address: str | None = None
    server_port: int | None = None


class QueryEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One statement ended (``sqlstate`` or ``error`` set when it failed)."""

    lane: str
    tenant_id: str | None
    query: str
    rows: int
    duration_s: float
    sqlstate: str | None
    error: str | None
    info: LaneInfo | None


class TransactionEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One transaction ended (``ok``: committed)."""

    lane: str
    tenant_id: str | None
    duration_s: float
    ok: bool
    context_sets: int
    error: str | None
    info: LaneInfo | None


class RetryEvent(msgspec.Struct, frozen=True, kw_only=True):
    """The SDK is about to repeat work by itself after ``delay_s`` seconds.

    ``kind`` is ``"call"`` (the Data API lane repeats one call that did not run) or ``"unit"``
    (``Database.run`` re-runs the whole unit of work in a fresh transaction). ``attempt`` is
    the number of the attempt that failed (1 for the first); ``operation`` the Data API
    operation or ``"transaction"``; ``query`` the statement's name, when there was one.
    """

    kind: Literal["call", "unit"]
    lane: str | None
    tenant_id: str | None
    operation: str
    query: str | None
    attempt: int
    error: str
    """SQLSTATE when the error has one, else the error class name."""
    delay_s: float
    info: LaneInfo | None


class DiscardEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A connection was destroyed instead of returned to its pool."""

    lane: str
    reason: str
    info: LaneInfo | None


class BlockEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An outermost transaction block starts or ends (``Database`` reports both, so a tracer
    can open a span around acquire, BEGIN, the caller's code and COMMIT/ROLLBACK)."""

    lane: str
    tenant_id: str | None
    readonly: bool
    isolation: str | None
    info: LaneInfo | None


class Observer:
    """Receives every event a :class:`Metrics` records, after its own counters.

    Subclass it and override what you need (every method does nothing here). Methods are
    called synchronously on the event loop, for every query: keep the work small (aggregate,
    or hand off to an exporter's own batching). An observer that raises is not protected.
    ``on_block_start``/``on_block_end`` bracket each outermost transaction block in the task
    that runs it (queries of the block are recorded in between, in the same task).
    """

    def on_query(self, event: QueryEvent) -> None:
        """One statement ended."""

    def on_transaction(self, event: TransactionEvent) -> None:
        """One transaction ended (committed or rolled back)."""

    def on_retry(self, event: RetryEvent) -> None:
        """The SDK repeats work by itself."""

    def on_discard(self, event: DiscardEvent) -> None:
        """A connection was destroyed instead of pooled."""

    def on_block_start(self, event: BlockEvent) -> None:
        """An outermost transaction block is entered (before acquire and BEGIN)."""

    def on_block_end(self, event: BlockEvent, error: BaseException | None) -> None:
        """That block has ended (after COMMIT/ROLLBACK); ``error`` is what it raises."""


class Metrics:
    """Counters, histograms and the structlog events for one ``Database``.

    ``max_tenants`` bounds memory: tenants seen after that many share the ``(other)`` key.
    ``log=False`` turns the events off (the counters still run). Query and transaction
    events are logged at debug level, failures at warning, and admin-lane transactions at
    info, so the explicit admin lane always leaves a trace at normal log levels.
    """

    def __init__(
        self,
        *,
        logger: Any = None,
        log: bool = True,
        max_tenants: int = 10_000,
        observers: Iterable[Observer] = (),
    ) -> None:
        self._logger = logger if logger is not None else tenantdb_logger()
        self._log = log
        self._max_tenants = max_tenants
        self._observers: tuple[Observer, ...] = tuple(observers)
        self._lanes: dict[str, LaneInfo] = {}
        self.reset()

    @property
    def max_tenants(self) -> int:
        """Tenants kept apart before the rest share ``OTHER_TENANTS`` (exporters use it too)."""
        return self._max_tenants

    def add_observer(self, observer: Observer) -> None:
        """Hand ``observer`` every event from now on."""
        self._observers = (*self._observers, observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers = tuple(o for o in self._observers if o is not observer)

    @property
    def observed(self) -> bool:
        """True when at least one observer is attached."""
        return bool(self._observers)

    def block_started(
        self, *, lane: str, tenant_id: str | None, readonly: bool, isolation: str | None
    ) -> BlockEvent | None:
        """An outermost block starts; returns the event to pass to :meth:`block_ended`
        (None when no observer is attached: nothing to do at the end either)."""
        if not self._observers:
            return None
        event = BlockEvent(
            lane=lane,
            tenant_id=tenant_id,
            readonly=readonly,
            isolation=isolation,
            info=self._lanes.get(lane),
        )
        for observer in self._observers:
            observer.on_block_start(event)
        return event

    def block_ended(self, event: BlockEvent, error: BaseException | None) -> None:
        """The block of ``event`` ended, raising ``error`` (None: committed)."""
        for observer in self._observers:
            observer.on_block_end(event, error)

    def describe_lane(self, info: LaneInfo) -> None:
        """Register what observers may report about lane ``info.name`` (``Database`` does)."""
        self._lanes[info.name] = info

    def lane_info(self, lane: str) -> LaneInfo | None:
        return self._lanes.get(lane)

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self._transactions = 0
        self._context_sets = 0
        self._tx_ms = 0.0
        self._tx_errors = 0
        self._queries = 0
        self._query_errors = 0
        self._tenants: dict[str, _Counter] = {}
        self._per_query: dict[str, _Counter] = {}
        self._retries: Counter[str] = Counter()
        self._retry_errors: Counter[str] = Counter()
        self._discarded = 0

    def record_query(
        self,
        *,
        lane: str,
        tenant_id: str | None,
        query: str,
        rows: int,
        duration_s: float,
        sqlstate: str | None = None,
        error: str | None = None,
    ) -> None:
        """One statement ran (``sqlstate`` or ``error``, an error class name, if it failed)."""
        ms = duration_s * 1000.0
        failed = sqlstate is not None or error is not None
        self._queries += 1
        self._query_errors += failed
        per_query = self._per_query.get(query)
        if per_query is None:
            per_query = self._per_query[query] = _Counter()
        per_query.add_query(rows, failed)
        per_query.add_latency(ms)
        if tenant_id is not None:
            self._tenant(tenant_id).add_query(rows, failed)
        if self._log:
            event = _failed_query_level(self._logger, sqlstate) if failed else self._logger.debug
            event(
                "query",
                query=query,
                lane=lane,
                tenant_id=tenant_id,
                rows=rows,
                duration_ms=round(ms, 3),
                sqlstate=sqlstate,
                ok=not failed,
                **_error_field(error),
            )
        if self._observers:
            event = QueryEvent(
                lane=lane,
                tenant_id=tenant_id,
                query=query,
                rows=rows,
                duration_s=duration_s,
                sqlstate=sqlstate,
                error=error,
                info=self._lanes.get(lane),
            )
            for observer in self._observers:
                observer.on_query(event)

    def record_transaction(
        self,
        *,
        lane: str,
        tenant_id: str | None,
        duration_s: float,
        ok: bool,
        context_sets: int,
        error: str | None = None,
    ) -> None:
        """One transaction ended (``ok``: committed); ``context_sets``: settings it sent."""
        ms = duration_s * 1000.0
        self._transactions += 1
        self._context_sets += context_sets
        self._tx_ms += ms
        self._tx_errors += not ok
        if tenant_id is not None:
            tenant = self._tenant(tenant_id)
            tenant.errors += not ok
            tenant.add_latency(ms)
        if self._log:
            self._log_transaction(lane, tenant_id, ms, ok=ok, sets=context_sets, error=error)
        if self._observers:
            event = TransactionEvent(
                lane=lane,
                tenant_id=tenant_id,
                duration_s=duration_s,
                ok=ok,
                context_sets=context_sets,
                error=error,
                info=self._lanes.get(lane),
            )
            for observer in self._observers:
                observer.on_transaction(event)

    def record_retry(
        self,
        *,
        kind: Literal["call", "unit"],
        lane: str | None,
        tenant_id: str | None,
        operation: str,
        query: str | None,
        attempt: int,
        error: str,
        delay_s: float,
    ) -> None:
        """The SDK repeats work by itself (see :class:`RetryEvent`); logged at info."""
        self._retries[kind] += 1
        self._retry_errors[error] += 1
        if tenant_id is not None:
            self._tenant(tenant_id).retries += 1
        if self._log:
            _log_retry(
                self._logger, kind, lane, tenant_id, operation, query, attempt, error, delay_s
            )
        if self._observers:
            event = RetryEvent(
                kind=kind,
                lane=lane,
                tenant_id=tenant_id,
                operation=operation,
                query=query,
                attempt=attempt,
                error=error,
                delay_s=delay_s,
                info=None if lane is None else self._lanes.get(lane),
            )
            for observer in self._observers:
                observer.on_retry(event)

    def record_discard(self, *, lane: str, reason: str) -> None:
        """A connection was destroyed instead of pooled (its state was unknown); warning."""
        self._discarded += 1
        if self._log:
            self._logger.warning("connection_discarded", lane=lane, reason=reason)
        if self._observers:
            event = DiscardEvent(lane=lane, reason=reason, info=self._lanes.get(lane))
            for observer in self._observers:
                observer.on_discard(event)

    def _log_transaction(
        self, lane: str, tenant_id: str | None, ms: float, *, ok: bool, sets: int, error: str | None
    ) -> None:
        if not ok:
            # A rollback is the caller's exception propagating (it reports it); transport
            # faults (``error``) are the lane's own problem and stay warnings.
            event = self._logger.warning if error is not None else self._logger.info
        elif lane == "admin":
            event = self._logger.info
        else:
            event = self._logger.debug
        event(
            "transaction",
            lane=lane,
            tenant_id=tenant_id,
            duration_ms=round(ms, 3),
            ok=ok,
            context_sets=sets,
            **_error_field(error),
        )

    def _tenant(self, tenant_id: str) -> _Counter:
        counter = self._tenants.get(tenant_id)
        if counter is None:
            if len(self._tenants) >= self._max_tenants:
                tenant_id = OTHER_TENANTS
                counter = self._tenants.get(tenant_id)
            if counter is None:
                counter = self._tenants[tenant_id] = _Counter()
        return counter

    def snapshot(self) -> MetricsSnapshot:
        """An immutable copy of the current figures."""
        tx = self._transactions
        return MetricsSnapshot(
            total_transactions=tx,
            total_context_sets=self._context_sets,
            total_latency_ms=self._tx_ms,
            errors=self._tx_errors,
            avg_latency_ms=self._tx_ms / tx if tx else 0.0,
            error_rate=100.0 * self._tx_errors / tx if tx else 0.0,
            total_queries=self._queries,
            query_errors=self._query_errors,
            per_tenant={key: _tenant_stats(c) for key, c in self._tenants.items()},
            per_query={key: _query_stats(c) for key, c in self._per_query.items()},
            call_retries=self._retries["call"],
            unit_retries=self._retries["unit"],
            retries_by_error=dict(self._retry_errors),
            discarded_connections=self._discarded,
        )


_SCOPE: contextvars.ContextVar[tuple[Metrics, str | None, str | None] | None] = (
    contextvars.ContextVar("tenantdb_metrics_scope", default=None)
)


def enter_scope(
    metrics: Metrics, *, lane: str | None, tenant_id: str | None
) -> contextvars.Token[tuple[Metrics, str | None, str | None] | None]:
    """Start a :func:`recording` scope by hand (``Database`` does, per block: cheaper than a
    context manager); end it with :func:`exit_scope` in the same task."""
    return _SCOPE.set((metrics, lane, tenant_id))


def exit_scope(token: contextvars.Token[tuple[Metrics, str | None, str | None] | None]) -> None:
    _SCOPE.reset(token)


@contextlib.contextmanager
def recording(metrics: Metrics, *, lane: str | None, tenant_id: str | None) -> Iterator[None]:
    """Within the block, :func:`record_retry` counts in ``metrics`` for this lane and tenant.

    ``Database`` opens such a scope around each transaction block, so retries the transport
    makes inside (the Data API lane's ``call_with_retry``) land in the right ``Metrics``
    without the transport holding a reference to it.
    """
    token = enter_scope(metrics, lane=lane, tenant_id=tenant_id)
    try:
        yield
    finally:
        exit_scope(token)


def record_retry(
    *, operation: str, query: str | None, attempt: int, error: str, delay_s: float
) -> None:
    """A transport call is about to be repeated: counted in the current :func:`recording`
    scope's ``Metrics`` (and its observers), else only logged on the ``tenantdb`` logger."""
    scope = _SCOPE.get()
    if scope is None:
        _log_retry(_LOGGER, "call", None, None, operation, query, attempt, error, delay_s)
        return
    metrics, lane, tenant_id = scope
    metrics.record_retry(
        kind="call",
        lane=lane,
        tenant_id=tenant_id,
        operation=operation,
        query=query,
        attempt=attempt,
        error=error,
        delay_s=delay_s,
    )


_LOGGER = tenantdb_logger()


def _log_retry(  # noqa: PLR0917 - private; every field of the event, in order
    logger: Any,
    kind: str,
    lane: str | None,
    tenant_id: str | None,
    operation: str,
    query: str | None,
    attempt: int,
    error: str,
    delay_s: float,
) -> None:
    logger.info(
        "retry",
        kind=kind,
        lane=lane,
        tenant_id=tenant_id,
        operation=operation,
        query=query,
        attempt=attempt,
        error=error,
        delay_ms=round(delay_s * 1000.0, 3),
    )


def _failed_query_level(logger: Any, sqlstate: str | None) -> Any:
    """Integrity violations (class 23: unique, foreign key, check) are routine outcomes a
    caller maps to 409/422, so they log at info; every other failure at warning."""
    return logger.info if sqlstate is not None and sqlstate.startswith("23") else logger.warning


def _error_field(error: str | None) -> dict[str, str]:
    """The ``error`` event field, present only when there was an error."""
    return {} if error is None else {"error": error}


def _tenant_stats(c: _Counter) -> TenantStats:
    p50, p95, p99 = c.percentiles()
    return TenantStats(
        transactions=c.latency.count,
        transaction_errors=c.errors,
        queries=c.queries,
        query_errors=c.query_errors,
        rows=c.rows,
        total_latency_ms=c.total_ms,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        retries=c.retries,
    )


def _query_stats(c: _Counter) -> QueryStats:
    p50, p95, p99 = c.percentiles()
    return QueryStats(
        calls=c.queries,
        errors=c.query_errors,
        rows=c.rows,
        total_latency_ms=c.total_ms,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
    )
