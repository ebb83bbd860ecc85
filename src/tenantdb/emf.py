"""Per-tenant CloudWatch metrics in the Embedded Metric Format (EMF), aggregated per interval.

On Lambda or ECS (awslogs / FireLens), a JSON log line in EMF becomes CloudWatch metrics with
no API call. :class:`EmfExporter` is an observer of a ``Database``'s ``Metrics``: it
aggregates every query and transaction in memory and writes, once per flush interval (never
once per query), one EMF document per dimension value active in the interval::

    emf = EmfExporter(namespace="Hospitality/tenantdb")      # stdout by default
    emf.attach(db)
    async with anyio.create_task_group() as tg:
        tg.start_soon(emf.run, 60.0)     # flush every 60 s, and once more when cancelled
        ...

* ``Lane`` + ``TenantId``: Transactions, TransactionErrors, Queries, QueryErrors, Retries and
  transaction latency ``LatencyP50``/``LatencyP95``/``LatencyP99`` (milliseconds);
* ``Lane`` + ``Query``: Calls, Errors, Rows and statement latency percentiles;
* ``Lane``: the lane's totals (Transactions, TransactionErrors, Queries, QueryErrors,
  CallRetries, UnitRetries, DiscardedConnections, transaction latency percentiles).

One document can hold a single value per dimension (the spec resolves dimensions from root
members), so a flush writes one line per tenant and per query seen in the interval, plus one
per lane; an idle interval writes nothing. Tenants are bounded like ``Metrics``: after
``max_tenants`` distinct tenants in an interval the rest share ``TenantId="(other)"``.
Percentiles use the same 4 % log-bucket histogram as ``Metrics``.

The format is written here rather than with ``aws-embedded-metrics``: that library emits one
document per scope or call (a flush per invocation), without aggregation or percentiles, and
would add a runtime dependency; ``tests/test_emf.py`` validates the output against the EMF
specification instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import msgspec

from tenantdb.errors import ConfigurationError
from tenantdb.observe import (
    OTHER_TENANTS,
    DiscardEvent,
    Observer,
    QueryEvent,
    RetryEvent,
    TransactionEvent,
    _Histogram,
)

if TYPE_CHECKING:
    from tenantdb.database import Database

__all__ = ("EmfExporter",)

_MAX_METRICS = 100
"""EMF: at most 100 metrics per directive."""
_encode = msgspec.json.encode


class _Key:
    """Aggregates of one dimension value in the current interval."""

    __slots__ = (
        "call_retries",
        "calls",
        "discarded",
        "errors",
        "latency",
        "queries",
        "query_errors",
        "rows",
        "transactions",
        "tx_errors",
        "unit_retries",
    )

    def __init__(self) -> None:
        self.calls = self.errors = self.rows = 0
        self.transactions = self.tx_errors = self.queries = self.query_errors = 0
        self.call_retries = self.unit_retries = self.discarded = 0
        self.latency = _Histogram()


class EmfExporter(Observer):
    """Aggregate a ``Database``'s events and write EMF lines per interval (module docstring).

    ``namespace``: the CloudWatch namespace. ``stream``: where lines go (``sys.stdout`` by
    default, read at each flush). ``dimensions``: extra fixed dimensions added to every
    document (e.g. ``{"Service": "bookings"}``). ``max_tenants``: distinct tenants per interval
    before the rest share ``(other)``. ``storage_resolution``: 60 (standard) or 1 (high
    resolution).
    """

    def __init__(
        self,
        *,
        namespace: str = "tenantdb",
        stream: TextIO | None = None,
        dimensions: dict[str, str] | None = None,
        max_tenants: int = 1000,
        storage_resolution: int = 60,
    ) -> None:
        if not 1 <= len(namespace) <= 1024:
            raise ConfigurationError("EMF namespace must be 1 to 1024 characters")
        if storage_resolution not in (1, 60):
            raise ConfigurationError("storage_resolution must be 1 or 60")
        fixed = dict(dimensions or {})
        if len(fixed) > 28:  # plus Lane and TenantId/Query: 30 per dimension set
            raise ConfigurationError("at most 28 extra EMF dimensions")
        self._namespace = namespace
        self._stream = stream
        self._fixed = fixed
        self._max_tenants = max_tenants
        self._resolution = storage_resolution
        self._started = time.time()
        self._tenants: dict[tuple[str, str], _Key] = {}
        self._queries: dict[tuple[str, str], _Key] = {}
        self._lanes: dict[str, _Key] = {}
        self._tenant_ids: set[str] = set()

    # -- wiring ----------------------------------------------------------------------------------
    def attach(self, db: Database) -> None:
        """Aggregate ``db``'s events from now on."""
        db.metrics_recorder.add_observer(self)

    def detach(self, db: Database) -> None:
        db.metrics_recorder.remove_observer(self)

    async def run(self, interval: float = 60.0) -> None:
        """Flush every ``interval`` seconds until cancelled; flushes once more on the way out
        (so a shutdown does not lose the last partial interval)."""
        if not interval > 0:
            raise ConfigurationError("interval must be a positive number of seconds")
        try:
            while True:
                await anyio.sleep(interval)
                self.flush()
        finally:
            self.flush()

    # -- observer --------------------------------------------------------------------------------
    def on_query(self, event: QueryEvent) -> None:
        failed = event.sqlstate is not None or event.error is not None
        ms = event.duration_s * 1000.0
        query = self._key(self._queries, (event.lane, event.query))
        query.calls += 1
        query.errors += failed
        query.rows += event.rows
        query.latency.add(ms)
        lane = self._lane(event.lane)
        lane.queries += 1
        lane.query_errors += failed
        if event.tenant_id is not None:
            tenant = self._tenant(event.lane, event.tenant_id)
            tenant.queries += 1
            tenant.query_errors += failed

    def on_transaction(self, event: TransactionEvent) -> None:
        ms = event.duration_s * 1000.0
        lane = self._lane(event.lane)
        lane.transactions += 1
        lane.tx_errors += not event.ok
        lane.latency.add(ms)
        if event.tenant_id is not None:
            tenant = self._tenant(event.lane, event.tenant_id)
            tenant.transactions += 1
            tenant.tx_errors += not event.ok
            tenant.latency.add(ms)

    def on_retry(self, event: RetryEvent) -> None:
        lane_name = event.lane or "(none)"
        lane = self._lane(lane_name)
        if event.kind == "call":
            lane.call_retries += 1
        else:
            lane.unit_retries += 1
        if event.tenant_id is not None:
            self._tenant(lane_name, event.tenant_id).call_retries += 1

    def on_discard(self, event: DiscardEvent) -> None:
        self._lane(event.lane).discarded += 1

    # -- output ----------------------------------------------------------------------------------
    def flush(self) -> list[str]:
        """Write (and return) the interval's EMF lines, then start a new interval."""
        now = time.time()
        lines = list(self._documents(now))
        self._tenants, self._queries, self._lanes = {}, {}, {}
        self._tenant_ids = set()
        self._started = now
        if lines:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write("".join(line + "\n" for line in lines))
            stream.flush()
        return lines

    def _documents(self, now: float) -> Iterable[str]:
        interval = round(now - self._started, 3)
        timestamp = int(now * 1000)
        for (lane, tenant), key in sorted(self._tenants.items()):
            p50, p95, p99 = _percentiles(key)
            yield self._document(
                timestamp,
                interval,
                {"Lane": lane, "TenantId": tenant},
                [
                    ("Transactions", key.transactions, "Count"),
                    ("TransactionErrors", key.tx_errors, "Count"),
                    ("Queries", key.queries, "Count"),
                    ("QueryErrors", key.query_errors, "Count"),
                    ("Retries", key.call_retries, "Count"),
                    ("LatencyP50", p50, "Milliseconds"),
                    ("LatencyP95", p95, "Milliseconds"),
                    ("LatencyP99", p99, "Milliseconds"),
                ],
            )
        for (lane, query), key in sorted(self._queries.items()):
            p50, p95, p99 = _percentiles(key)
            yield self._document(
                timestamp,
                interval,
                {"Lane": lane, "Query": query},
                [
                    ("Calls", key.calls, "Count"),
                    ("Errors", key.errors, "Count"),
                    ("Rows", key.rows, "Count"),
                    ("LatencyP50", p50, "Milliseconds"),
                    ("LatencyP95", p95, "Milliseconds"),
                    ("LatencyP99", p99, "Milliseconds"),
                ],
            )
        for lane, key in sorted(self._lanes.items()):
            p50, p95, p99 = _percentiles(key)
            yield self._document(
                timestamp,
                interval,
                {"Lane": lane},
                [
                    ("Transactions", key.transactions, "Count"),
                    ("TransactionErrors", key.tx_errors, "Count"),
                    ("Queries", key.queries, "Count"),
                    ("QueryErrors", key.query_errors, "Count"),
                    ("CallRetries", key.call_retries, "Count"),
                    ("UnitRetries", key.unit_retries, "Count"),
                    ("DiscardedConnections", key.discarded, "Count"),
                    ("LatencyP50", p50, "Milliseconds"),
                    ("LatencyP95", p95, "Milliseconds"),
                    ("LatencyP99", p99, "Milliseconds"),
                ],
            )

    def _document(
        self,
        timestamp: int,
        interval: float,
        dimensions: dict[str, str],
        metrics: list[tuple[str, float, str]],
    ) -> str:
        values = {**self._fixed, **dimensions}
        directive = {
            "Namespace": self._namespace,
            "Dimensions": [list(values)],
            "Metrics": [
                {"Name": name, "Unit": unit, "StorageResolution": self._resolution}
                for name, _, unit in metrics[:_MAX_METRICS]
            ],
        }
        document: dict[str, Any] = {
            "_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [directive]},
            **values,
            **{name: value for name, value, _ in metrics},
            "IntervalSeconds": interval,
        }
        return _encode(document).decode()

    # -- keys ------------------------------------------------------------------------------------
    def _key(self, table: dict[tuple[str, str], _Key], key: tuple[str, str]) -> _Key:
        found = table.get(key)
        if found is None:
            found = table[key] = _Key()
        return found

    def _tenant(self, lane: str, tenant_id: str) -> _Key:
        if tenant_id not in self._tenant_ids:
            if len(self._tenant_ids) >= self._max_tenants:
                tenant_id = OTHER_TENANTS
            else:
                self._tenant_ids.add(tenant_id)
        return self._key(self._tenants, (lane, tenant_id))

    def _lane(self, lane: str) -> _Key:
        found = self._lanes.get(lane)
        if found is None:
            found = self._lanes[lane] = _Key()
        return found


def _percentiles(key: _Key) -> tuple[float, float, float]:
    h = key.latency
    return (
        round(h.quantile(0.50), 3),
        round(h.quantile(0.95), 3),
        round(h.quantile(0.99), 3),
    )
