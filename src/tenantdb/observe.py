"""Metrics and structured logs for every query and transaction, from one call site each.

Drivers call :meth:`Metrics.record_query` once per statement and
:meth:`Metrics.record_transaction` once per transaction; each call updates the counters and
emits one structlog event (``query`` / ``transaction``) on the ``tenantdb`` logger::

    metrics = Metrics()
    metrics.record_query(lane="tenant", tenant_id=tid, query="ListBookings", rows=20,
                         duration_s=0.0012)
    snap = metrics.snapshot()          # MetricsSnapshot; snap.to_brief_dict() -> camelCase

Events carry names, counts and timings only, never parameter values or row data: the API
does not even receive them. Latency percentiles come from a sparse log-bucket histogram
per key (4% wide buckets, so a percentile is within about 2% of the true value) whose
memory is bounded by the number of distinct buckets, not by the number of samples.

Not locked: all updates are plain attribute arithmetic on one event loop. Use one
``Metrics`` per event loop (per ``Database``) when running several loops in threads.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from tenantdb._log import tenantdb_logger

__all__ = ("OTHER_TENANTS", "Metrics", "MetricsSnapshot", "QueryStats", "TenantStats")

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

    __slots__ = ("errors", "latency", "queries", "query_errors", "rows", "total_ms")

    def __init__(self) -> None:
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


class Metrics:
    """Counters, histograms and the structlog events for one ``Database``.

    ``max_tenants`` bounds memory: tenants seen after that many share the ``(other)`` key.
    ``log=False`` turns the events off (the counters still run). Query and transaction
    events are logged at debug level, failures at warning, and admin-lane transactions at
    info, so the explicit admin lane always leaves a trace at normal log levels.
    """

    def __init__(self, *, logger: Any = None, log: bool = True, max_tenants: int = 10_000) -> None:
        self._logger = logger if logger is not None else tenantdb_logger()
        self._log = log
        self._max_tenants = max_tenants
        self.reset()

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
