"""OpenTelemetry spans and metrics on both tenant lanes, read back through the OTel SDK's
in-memory span exporter and metric reader (issue 13, part 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fix_database as fd
import pytest
from fix_database import _q, new_tenant
from fix_ops import MakeOpsDb, both_lanes
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tenantdb import Database, RetryPolicy, TenantContext
from tenantdb.errors import UniqueViolation
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.otel import OtelObserver, instrument, operation_name, sanitize_sql
from tenantdb.query import Command

# Unique names: the golden codegen corpus defines another "InsertItem", and telemetry reports
# the operation and text only for a name whose SQL is unambiguous in the process.
INSERT_ITEM = both_lanes(fd.INSERT_ITEM, name="OtelInsertItem")
COUNT_ITEMS = both_lanes(fd.COUNT_ITEMS, name="OtelCountItems")
COUNT_WITH_LITERALS: Any = both_lanes(
    _q(
        "CountNotSecret",
        Command.ONE,
        "SELECT count(*) FROM items WHERE name <> 'secret-literal' AND id > 5 -- note",
        row=fd.Count,
        from_record=fd._count,
    )
)
RAISE_40001: Any = _q(
    "Raise40001",
    Command.EXEC,
    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
)
LANES = ("asyncpg", "data_api")


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def instrument(self, db: Database, **options: Any) -> OtelObserver:
        return instrument(
            db,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            **options,
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def _server(kind: str, items_pg: LocalDatabase, gateway: LocalDataApi) -> tuple[str, int]:
    if kind == "asyncpg":
        return "127.0.0.1", items_pg.server.port
    return "127.0.0.1", int(gateway.endpoint_url.rsplit(":", 1)[1])


@pytest.mark.parametrize("kind", LANES)
async def test_a_span_per_transaction_and_per_query_with_db_conventions(
    kind: str,
    make_ops_db: MakeOpsDb,
    telemetry: Telemetry,
    items_pg: LocalDatabase,
    gateway: LocalDataApi,
) -> None:
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    async with make_ops_db(kind) as db:
        telemetry.instrument(db)
        async with db.tenant(ctx) as tx:
            await tx.exec(INSERT_ITEM, (tenant, 1, "first"))
            count = await tx.one(COUNT_ITEMS, ())
        assert count is not None
        with pytest.raises(UniqueViolation):
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "again"))
    spans = telemetry.finished()
    assert [s.name for s in spans] == [
        "OtelInsertItem",
        "OtelCountItems",
        "tenantdb.transaction",
        "OtelInsertItem",
        "tenantdb.transaction",
    ]
    insert, count_span, tx1, failed, tx2 = spans
    address, port = _server(kind, items_pg, gateway)
    common = {
        "db.system.name": "postgresql",
        "db.namespace": items_pg.name,
        "server.address": address,
        "server.port": port,
        "tenantdb.lane": "tenant",
        "tenantdb.transport": kind,
        "tenantdb.tenant_id": tenant,
    }
    assert dict(insert.attributes or {}) == {
        **common,
        "db.query.summary": "OtelInsertItem",
        "db.operation.name": "INSERT",
        "tenantdb.rows": 1,
    }
    assert dict(count_span.attributes or {}) == {
        **common,
        "db.query.summary": "OtelCountItems",
        "db.operation.name": "SELECT",
        "tenantdb.rows": 1,
    }
    for child in (insert, count_span):
        assert child.kind is SpanKind.CLIENT
        assert child.parent is not None
        assert child.parent.span_id == tx1.context.span_id
        assert tx1.start_time is not None
        assert child.start_time is not None
        assert child.end_time is not None
        assert tx1.end_time is not None
        assert tx1.start_time <= child.start_time <= child.end_time <= tx1.end_time
    assert tx1.kind is SpanKind.INTERNAL
    assert dict(tx1.attributes or {}) == {
        **common,
        "tenantdb.readonly": False,
        "tenantdb.outcome": "commit",
    }
    assert tx1.status.status_code is StatusCode.UNSET
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "23505"
    assert failed.attributes["db.response.status_code"] == "23505"
    assert "tenantdb.rows" not in failed.attributes
    assert failed.status.status_code is StatusCode.ERROR
    assert tx2.attributes is not None
    assert (tx2.attributes["tenantdb.outcome"], tx2.attributes["error.type"]) == (
        "rollback",
        "23505",
    )
    assert tx2.status.status_code is StatusCode.ERROR
    # Never the BEGIN text, never the tenant id outside its attribute, no query text by default.
    for span in spans:
        assert "db.query.text" not in (span.attributes or {})
        rendered = span.to_json()
        assert "set_config" not in rendered
        assert "BEGIN" not in rendered
        assert tenant not in span.name
        assert rendered.count(tenant) == 1


@pytest.mark.parametrize("kind", LANES)
async def test_query_text_is_opt_in_and_sanitized(
    kind: str, make_ops_db: MakeOpsDb, telemetry: Telemetry
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    async with make_ops_db(kind) as db:
        telemetry.instrument(db, query_text=True, tenant_attribute=False)
        async with db.tenant(ctx) as tx:
            await tx.one(COUNT_WITH_LITERALS, ())
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "bound value"))
    count_span, insert, tx_span = telemetry.finished()
    assert count_span.attributes is not None
    assert insert.attributes is not None
    assert count_span.attributes["db.query.text"] == (
        "SELECT count(*) FROM items WHERE name <> ? AND id > ?"
    )
    assert insert.attributes["db.query.text"] == (
        "INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)"
    )
    for span in (count_span, insert, tx_span):
        rendered = span.to_json()
        assert "tenantdb.tenant_id" not in rendered
        assert ctx.tenant_id not in rendered
        assert "secret-literal" not in rendered
        assert "bound value" not in rendered


@pytest.mark.parametrize("kind", LANES)
async def test_metrics_through_the_meter_with_bounded_attributes(
    kind: str, make_ops_db: MakeOpsDb, telemetry: Telemetry
) -> None:
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    calls = 0

    async def conflict_once(tx: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await tx.exec(RAISE_40001, ())
        await tx.exec(INSERT_ITEM, (tenant, 1, "x"))

    retry = RetryPolicy(base_delay=0.001, max_delay=0.01)
    async with make_ops_db(kind) as db:
        telemetry.instrument(db)
        await db.run(ctx, conflict_once, retry=retry)
        async with db.tenant(ctx) as tx:
            await tx.one(COUNT_ITEMS, ())
        pools = {
            (
                dict(p.attributes)["db.client.connection.pool.name"],
                p.attributes.get("db.client.connection.state"),
            ): p.value
            for p in telemetry.points("db.client.connection.count")
        }
        max_points = telemetry.points("db.client.connection.max")
        pending = telemetry.points("db.client.connection.pending_requests")
    durations = telemetry.points("db.client.operation.duration")
    by_query: dict[tuple[str, str | None], int] = {}
    for point in durations:
        attrs = dict(point.attributes)
        assert "tenantdb.tenant_id" not in attrs  # tenant is a metric attribute only on request
        assert attrs["db.system.name"] == "postgresql"
        assert attrs["tenantdb.transport"] == kind
        by_query[attrs["db.query.summary"], attrs.get("error.type")] = point.count
    assert by_query == {
        ("Raise40001", "40001"): 1,
        ("OtelInsertItem", None): 1,
        ("OtelCountItems", None): 1,
    }
    tx_points = {
        dict(p.attributes)["tenantdb.outcome"]: p.count
        for p in telemetry.points("tenantdb.transaction.duration")
    }
    assert tx_points == {"commit": 2, "rollback": 1}
    [retries] = telemetry.points("tenantdb.retries")
    assert retries.value == 1
    assert dict(retries.attributes)["tenantdb.retry.kind"] == "unit"
    assert dict(retries.attributes)["error.type"] == "40001"
    errors = {
        dict(p.attributes)["tenantdb.scope"]: p.value for p in telemetry.points("tenantdb.errors")
    }
    assert errors == {"query": 1, "transaction": 1}
    # pool usage: every lane reports used and idle; nothing in use once the blocks ended
    assert pools[("tenantdb.tenant", "used")] == 0
    assert pools[("tenantdb.tenant", "idle")] >= 1
    assert ("tenantdb.admin", "idle") in pools
    assert {dict(p.attributes)["db.client.connection.pool.name"] for p in max_points} == {
        "tenantdb.admin",
        "tenantdb.tenant",
    }
    assert all(p.value == 0 for p in pending)


@pytest.mark.parametrize("kind", LANES)
async def test_pool_usage_sees_transactions_in_use(kind: str, make_ops_db: MakeOpsDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    async with make_ops_db(kind) as db:
        async with db.tenant(ctx):
            usage = {u.lane: u for u in db.pool_usage()}
            assert usage["tenant"].in_use == 1
            assert usage["tenant"].transport == kind
        usage = {u.lane: u for u in db.pool_usage()}
        assert usage["tenant"].in_use == 0
        assert usage["tenant"].waiting == 0


async def test_tenant_as_a_metric_attribute_is_opt_in_and_bounded(
    make_ops_db: MakeOpsDb, telemetry: Telemetry
) -> None:
    first, second = new_tenant(), new_tenant()
    async with make_ops_db("asyncpg") as db:
        telemetry.instrument(db, tenant_metric_attribute=True, max_tenants=1)
        for tenant in (first, second):
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.one(COUNT_ITEMS, ())
    tenants = {
        dict(p.attributes)["tenantdb.tenant_id"]
        for p in telemetry.points("db.client.operation.duration")
    }
    assert tenants == {first, "(other)"}


async def test_an_admin_block_inside_a_tenant_block_nests_its_span(
    make_ops_db: MakeOpsDb, telemetry: Telemetry
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    async with make_ops_db("asyncpg") as db:
        telemetry.instrument(db)
        async with db.tenant(ctx) as tx:
            async with db.admin(reason="test") as adm:
                await adm.one(COUNT_ITEMS, ())
            await tx.one(COUNT_ITEMS, ())
    admin_query, admin_tx, tenant_query, tenant_tx = telemetry.finished()
    assert admin_tx.attributes is not None
    assert admin_tx.attributes["tenantdb.lane"] == "admin"
    assert admin_query.parent is not None
    assert admin_query.parent.span_id == admin_tx.context.span_id
    assert admin_tx.parent is not None
    assert admin_tx.parent.span_id == tenant_tx.context.span_id
    assert tenant_query.parent is not None
    assert tenant_query.parent.span_id == tenant_tx.context.span_id


def test_sanitize_and_operation() -> None:
    sql = "WITH x AS (SELECT 1.5e3 AS v, E'it''s' AS s, $$dollar$$) UPDATE t SET a = $1 /* c */"
    assert sanitize_sql(sql) == "WITH x AS (SELECT ? AS v, ? AS s, ?) UPDATE t SET a = $1"
    assert operation_name(sql) == "SELECT"
    assert operation_name("  insert into t1 values ($1)") == "INSERT"
    assert sanitize_sql("SELECT 'unterminated") == "?"
    assert sanitize_sql("SELECT t1.c2, x3 FROM t1") == "SELECT t1.c2, x3 FROM t1"


def test_an_ambiguous_query_name_gets_no_operation_or_text() -> None:
    from tenantdb.query import query_sql

    first = _q("OtelTwice", Command.EXEC, "DELETE FROM items")
    assert query_sql("OtelTwice") == "DELETE FROM items"
    _q("OtelTwice", Command.EXEC, "DELETE FROM items")  # the same SQL again: still known
    assert query_sql("OtelTwice") == first.sql
    _q("OtelTwice", Command.EXEC, "TRUNCATE items")  # another SQL under the same name
    assert query_sql("OtelTwice") is None
