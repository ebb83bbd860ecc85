"""OpenTelemetry traces and metrics for tenantdb (the optional extra ``tenantdb[otel]``).

Install ``tenantdb[otel]`` (``opentelemetry-api`` only; configure the SDK and exporters in
your service as usual), then::

    from tenantdb.otel import instrument

    telemetry = instrument(db)          # global tracer/meter providers by default

What it reports, following the OpenTelemetry database semantic conventions:

* one ``tenantdb.transaction`` span (INTERNAL) per outermost ``db.tenant()``/``db.admin()``
  block, from acquire to COMMIT/ROLLBACK, and inside it one CLIENT span per statement named by
  the generated query's name (``db.query.summary``). Attributes: ``db.system.name``
  (``postgresql``), ``db.namespace``, ``db.operation.name`` (the statement's first keyword),
  ``db.query.summary``, ``server.address``/``server.port``, ``db.response.status_code`` and
  ``error.type`` (the SQLSTATE, else the exception class), ``tenantdb.rows`` (rows returned or
  affected), ``tenantdb.lane``/``tenantdb.transport`` and ``tenantdb.tenant_id``
  (``tenant_attribute``, on by default; never in a span name). ``db.query.text`` only with
  ``query_text=True``, and then as the generated SQL with every literal replaced by ``?``
  (parameters are ``$n`` placeholders: values never appear). The BEGIN round trip that carries
  the context (``set_config('app.current_tenant_id', …)``) is never a span or a text;
* metrics through the OTel meter: ``db.client.operation.duration`` (histogram, s, per
  statement), ``tenantdb.transaction.duration`` (histogram, s), ``tenantdb.retries``,
  ``tenantdb.errors`` and ``tenantdb.connections.discarded`` (counters), and the pool:
  ``db.client.connection.count`` (``db.client.connection.state`` = ``used``/``idle``),
  ``db.client.connection.pending_requests`` and ``db.client.connection.max``. Attributes are
  bounded: query names come from codegen, errors are SQLSTATEs or class names, and the tenant
  id is a metric attribute only with ``tenant_metric_attribute=True`` (then at most
  ``max_tenants`` distinct values, the rest reported as ``(other)``).

The observer hangs off the ``Metrics`` recording points both lanes already call once per
statement and transaction (``tenantdb.observe``): nothing is instrumented twice, and the
generic asyncpg/botocore instrumentations are not needed (leave them off for tenantdb's
connections: they would record the BEGIN text with the tenant id).
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tenantdb._sqllex import SqlLexError, tokenize
from tenantdb.errors import ConfigurationError, QueryError
from tenantdb.observe import (
    OTHER_TENANTS,
    BlockEvent,
    DiscardEvent,
    LaneInfo,
    Observer,
    QueryEvent,
    RetryEvent,
    TransactionEvent,
)
from tenantdb.query import query_sql

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from opentelemetry.trace import Span, TracerProvider

    from tenantdb.database import Database

__all__ = ("SCOPE", "OtelObserver", "instrument", "operation_name", "sanitize_sql")

SCOPE = "tenantdb"
"""Instrumentation scope name of the tracer and the meter."""
_SEMCONV = "https://opentelemetry.io/schemas/1.33.0"
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
"""The semantic conventions' advice for ``db.client.operation.duration`` (seconds)."""
_NUMBER = re.compile(r"(?<![\w$.])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?(?![\w.])")
_KEYWORD = re.compile(r"[A-Za-z]+")
_PREFIXED = re.compile(r"(?<![\w$])(?:[EeBbXx]|[Uu]&)\?")
_OPERATIONS = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "VALUES",
        "CALL",
        "COPY",
        "DECLARE",
        "FETCH",
        "TABLE",
        "DO",
        "TRUNCATE",
        "SHOW",
        "SAVEPOINT",
        "RELEASE",
        "ROLLBACK",
    }
)


def sanitize_sql(sql: str) -> str:
    """``sql`` with comments dropped, every string and number literal replaced by ``?`` and
    whitespace collapsed; ``$n`` placeholders stay (they carry no value)."""
    parts: list[str] = []
    run: list[str] = []  # consecutive "other" characters, scanned for numbers as one text
    try:
        tokens = list(tokenize(sql))
    except SqlLexError:
        return "?"  # unterminated literal: show nothing rather than part of it
    for token in tokens:
        if token.kind == "other":
            run.append(token.text)
            continue
        if run:
            parts.append(_NUMBER.sub("?", "".join(run)))
            run.clear()
        if token.kind == "comment":
            parts.append(" ")
        elif token.kind == "string":
            parts.append("?")
        else:
            parts.append(token.text)
    if run:
        parts.append(_NUMBER.sub("?", "".join(run)))
    text = _PREFIXED.sub("?", "".join(parts))  # E'…', B'…', X'…', U&'…' are one literal
    return " ".join(text.split())


def operation_name(sql: str) -> str | None:
    """The first SQL operation keyword of ``sql`` (``SELECT``, ``INSERT``, …; ``WITH`` skipped
    to the first operation, as the conventions ask), or None."""
    try:
        tokens = list(tokenize(sql))
    except SqlLexError:
        return None
    for token in tokens:
        if token.kind != "other":
            continue
        for match in _KEYWORD.finditer(token.text):
            upper = match.group(0).upper()
            if upper in _OPERATIONS:
                return upper
    return None


class _QueryShape:
    """What the spans say about one named query: operation and sanitized text (cached)."""

    __slots__ = ("operation", "text")

    def __init__(self, name: str) -> None:
        sql = query_sql(name)
        self.operation = None if sql is None else operation_name(sql)
        self.text = None if sql is None else sanitize_sql(sql)


class _OpenBlock:
    """The span of one open block, the context token to detach at its end, and the block
    that was open around it in the same task (an admin block inside a tenant block)."""

    __slots__ = ("parent", "span", "token")

    def __init__(self, span: Span, token: Token[Context], parent: _OpenBlock | None) -> None:
        self.span = span
        self.token = token
        self.parent = parent


class OtelObserver(Observer):
    """Spans and metrics for one or more ``Database`` objects (see the module docstring).

    ``tracer_provider`` / ``meter_provider``: default the global ones. ``tenant_attribute``:
    put ``tenantdb.tenant_id`` on spans (default True). ``tenant_metric_attribute``: also on
    metrics (default False: one series per tenant can be expensive); bounded by
    ``max_tenants``. ``query_text``: add the sanitized ``db.query.text`` (default False).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        tenant_attribute: bool = True,
        tenant_metric_attribute: bool = False,
        query_text: bool = False,
        max_tenants: int = 1000,
    ) -> None:
        try:
            from opentelemetry import context, metrics, trace
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise ConfigurationError(
                "tenantdb.otel needs the otel extra: pip install 'tenantdb[otel]'"
            ) from None
        version = _version()
        self._context = context
        self._trace = trace
        self._tracer = trace.get_tracer(
            SCOPE, version, tracer_provider=tracer_provider, schema_url=_SEMCONV
        )
        meter = metrics.get_meter(
            SCOPE, version, meter_provider=meter_provider, schema_url=_SEMCONV
        )
        self._tenant_attribute = tenant_attribute
        self._tenant_metric_attribute = tenant_metric_attribute
        self._query_text = query_text
        self._max_tenants = max_tenants
        self._metric_tenants: set[str] = set()
        self._shapes: dict[str, _QueryShape] = {}
        self._open: contextvars.ContextVar[_OpenBlock | None] = contextvars.ContextVar(
            "tenantdb_otel_block", default=None
        )
        self._databases: list[Database] = []
        self._operation_duration = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations (one per statement).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._transaction_duration = meter.create_histogram(
            "tenantdb.transaction.duration",
            unit="s",
            description="Duration of tenantdb transactions, from acquire to COMMIT/ROLLBACK.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._retries = meter.create_counter(
            "tenantdb.retries",
            unit="{retry}",
            description="Work tenantdb repeated by itself: Data API calls and units of work.",
        )
        self._errors = meter.create_counter(
            "tenantdb.errors",
            unit="{error}",
            description="Failed statements and transactions that did not commit.",
        )
        self._discards = meter.create_counter(
            "tenantdb.connections.discarded",
            unit="{connection}",
            description="Connections destroyed instead of pooled (state unknown).",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.count",
            callbacks=[self._observe_connections],
            unit="{connection}",
            description="Connections (Data API lane: transaction slots) in use or idle.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests",
            callbacks=[self._observe_pending],
            unit="{request}",
            description="Tasks waiting for a connection or transaction slot.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.max",
            callbacks=[self._observe_max],
            unit="{connection}",
            description="Maximum connections (transaction slots) of the pool.",
        )

    # -- wiring ----------------------------------------------------------------------------------
    def attach(self, db: Database) -> None:
        """Observe ``db``: its events, and its pools through the observable instruments."""
        db.metrics_recorder.add_observer(self)
        self._databases.append(db)

    def detach(self, db: Database) -> None:
        db.metrics_recorder.remove_observer(self)
        self._databases = [d for d in self._databases if d is not db]

    # -- spans -----------------------------------------------------------------------------------
    def on_block_start(self, event: BlockEvent) -> None:
        attributes = self._base(event.info, event.lane, event.tenant_id, spans=True)
        attributes["tenantdb.readonly"] = event.readonly
        if event.isolation is not None:
            attributes["tenantdb.isolation"] = event.isolation
        span = self._tracer.start_span(
            "tenantdb.transaction", kind=self._trace.SpanKind.INTERNAL, attributes=attributes
        )
        token = self._context.attach(self._trace.set_span_in_context(span))
        self._open.set(_OpenBlock(span, token, self._open.get()))

    def on_block_end(self, event: BlockEvent, error: BaseException | None) -> None:
        block = self._open.get()
        if block is None:
            return
        self._open.set(block.parent)
        self._context.detach(block.token)
        span = block.span
        if error is None:
            span.set_attribute("tenantdb.outcome", "commit")
        else:
            span.set_attribute("tenantdb.outcome", "rollback")
            kind = _error_type(error)
            span.set_attribute("error.type", kind)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, kind))
        span.end()

    def on_query(self, event: QueryEvent) -> None:
        end_ns = time.time_ns()
        shape = self._shapes.get(event.query)
        if shape is None:
            shape = self._shapes[event.query] = _QueryShape(event.query)
        attributes = self._base(event.info, event.lane, event.tenant_id, spans=True)
        attributes["db.query.summary"] = event.query
        if shape.operation is not None:
            attributes["db.operation.name"] = shape.operation
        if self._query_text and shape.text is not None:
            attributes["db.query.text"] = shape.text
        error = event.sqlstate or event.error
        if event.sqlstate is not None:
            attributes["db.response.status_code"] = event.sqlstate
        if error is not None:
            attributes["error.type"] = error
        else:
            attributes["tenantdb.rows"] = event.rows
        span = self._tracer.start_span(
            event.query,
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=end_ns - round(event.duration_s * 1e9),
        )
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=end_ns)
        metric = self._base(event.info, event.lane, event.tenant_id, spans=False)
        metric["db.query.summary"] = event.query
        if shape.operation is not None:
            metric["db.operation.name"] = shape.operation
        if error is not None:
            metric["error.type"] = error
            if event.sqlstate is not None:
                metric["db.response.status_code"] = event.sqlstate
            self._errors.add(1, {**metric, "tenantdb.scope": "query"})
        self._operation_duration.record(event.duration_s, metric)

    # -- metrics ---------------------------------------------------------------------------------
    def on_transaction(self, event: TransactionEvent) -> None:
        attributes = self._base(event.info, event.lane, event.tenant_id, spans=False)
        attributes["tenantdb.outcome"] = "commit" if event.ok else "rollback"
        self._transaction_duration.record(event.duration_s, attributes)
        if not event.ok:
            self._errors.add(1, {**attributes, "tenantdb.scope": "transaction"})

    def on_retry(self, event: RetryEvent) -> None:
        attributes = self._base(event.info, event.lane or "", event.tenant_id, spans=False)
        attributes["tenantdb.retry.kind"] = event.kind
        attributes["tenantdb.retry.operation"] = event.operation
        attributes["error.type"] = event.error
        self._retries.add(1, attributes)
        span = self._trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "tenantdb.retry",
                {
                    "tenantdb.retry.kind": event.kind,
                    "tenantdb.retry.operation": event.operation,
                    "tenantdb.retry.attempt": event.attempt,
                    "tenantdb.retry.delay_s": event.delay_s,
                    "error.type": event.error,
                },
            )

    def on_discard(self, event: DiscardEvent) -> None:
        attributes = self._base(event.info, event.lane, None, spans=False)
        attributes["tenantdb.discard.reason"] = event.reason
        self._discards.add(1, attributes)

    def _observe_connections(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for pool, usage in self._pools():
            yield Observation(usage.in_use, {**pool, "db.client.connection.state": "used"})
            yield Observation(usage.idle, {**pool, "db.client.connection.state": "idle"})

    def _observe_pending(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for pool, usage in self._pools():
            yield Observation(usage.waiting, pool)

    def _observe_max(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for pool, usage in self._pools():
            yield Observation(usage.max_size, pool)

    def _pools(self) -> Iterable[tuple[dict[str, Any], Any]]:
        for db in self._databases:
            for usage in db.pool_usage():
                pool = {
                    "db.client.connection.pool.name": f"tenantdb.{usage.lane}",
                    "db.system.name": "postgresql",
                    "tenantdb.transport": usage.transport,
                }
                yield pool, usage

    # -- attributes ------------------------------------------------------------------------------
    def _base(
        self, info: LaneInfo | None, lane: str, tenant_id: str | None, *, spans: bool
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {"db.system.name": "postgresql", "tenantdb.lane": lane}
        if info is not None:
            attributes["tenantdb.transport"] = info.transport
            if info.namespace is not None:
                attributes["db.namespace"] = info.namespace
            if info.server_address is not None:
                attributes["server.address"] = info.server_address
            if info.server_port is not None:
                attributes["server.port"] = info.server_port
        if tenant_id is not None:
            if spans and self._tenant_attribute:
                attributes["tenantdb.tenant_id"] = tenant_id
            elif not spans and self._tenant_metric_attribute:
                attributes["tenantdb.tenant_id"] = self._bounded(tenant_id)
        return attributes

    def _bounded(self, tenant_id: str) -> str:
        if tenant_id in self._metric_tenants:
            return tenant_id
        if len(self._metric_tenants) >= self._max_tenants:
            return OTHER_TENANTS
        self._metric_tenants.add(tenant_id)
        return tenant_id


def instrument(db: Database, **options: Any) -> OtelObserver:
    """An :class:`OtelObserver` (``options`` as its constructor's) attached to ``db``."""
    observer = OtelObserver(**options)
    observer.attach(db)
    return observer


def _version() -> str:
    """tenantdb's installed version (the instrumentation scope's version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tenantdb")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _error_type(error: BaseException) -> str:
    if isinstance(error, QueryError) and error.sqlstate:
        return error.sqlstate
    return type(error).__name__
