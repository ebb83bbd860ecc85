"""What the SDK does by itself is visible: Data API call retries and discarded connections are
logged and counted in ``MetricsSnapshot`` (issue 13, part 4)."""

from __future__ import annotations

from typing import Any

import pytest
from fix_database import new_tenant
from fix_ops import MakeOpsDb
from structlog.testing import capture_logs

from tenantdb import TenantContext
from tenantdb.drivers.asyncpg import lane as asyncpg_lane
from tenantdb.errors import ConnectionLostError
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.observe import Metrics, record_retry, recording


async def test_data_api_call_retries_are_logged_and_counted(
    make_ops_db: MakeOpsDb, gateway: LocalDataApi
) -> None:
    tenant = new_tenant()
    async with make_ops_db("data_api") as db:
        gateway.inject("throttling", times=2, operations=["BeginTransaction"])
        gateway.inject("resuming", times=1, operations=["CommitTransaction"])
        try:
            with capture_logs() as logs:
                async with db.tenant(TenantContext(tenant_id=tenant)):
                    pass
        finally:
            gateway.clear_faults()
        snap = db.metrics()
    retries = [e for e in logs if e["event"] == "retry"]
    assert [(e["operation"], e["attempt"], e["error"]) for e in retries] == [
        ("BeginTransaction", 1, "ThrottledError"),
        ("BeginTransaction", 2, "ThrottledError"),
        ("CommitTransaction", 1, "DatabaseResumingError"),
    ]
    for e in retries:
        assert (e["kind"], e["lane"], e["tenant_id"], e["log_level"]) == (
            "call",
            "tenant",
            tenant,
            "info",
        )
        assert e["delay_ms"] >= 0
    assert snap.call_retries == 3
    assert snap.unit_retries == 0
    assert snap.retries_by_error == {"ThrottledError": 2, "DatabaseResumingError": 1}
    assert snap.per_tenant[tenant].retries == 3
    assert snap.total_transactions == 1
    assert snap.errors == 0


def test_a_retry_outside_any_block_is_still_logged() -> None:
    with capture_logs() as logs:
        record_retry(
            operation="ExecuteStatement",
            query="SHOW",
            attempt=1,
            error="ThrottledError",
            delay_s=0.1,
        )
    assert logs == [
        {
            "event": "retry",
            "log_level": "info",
            "kind": "call",
            "lane": None,
            "tenant_id": None,
            "operation": "ExecuteStatement",
            "query": "SHOW",
            "attempt": 1,
            "error": "ThrottledError",
            "delay_ms": 100.0,
        }
    ]


def test_recording_scopes_nest_and_reset() -> None:
    outer, inner = Metrics(log=False), Metrics(log=False)
    with recording(outer, lane="tenant", tenant_id="t1"):
        with recording(inner, lane="admin", tenant_id=None):
            record_retry(operation="X", query=None, attempt=1, error="E", delay_s=0)
        record_retry(operation="X", query=None, attempt=1, error="E", delay_s=0)
    record_retry(operation="X", query=None, attempt=1, error="E", delay_s=0)  # logged only
    assert (outer.snapshot().call_retries, inner.snapshot().call_retries) == (1, 1)
    assert outer.snapshot().per_tenant["t1"].retries == 1


async def test_a_connection_whose_rollback_failed_is_discarded_and_counted(
    make_db: Any, pg_proxy: Any, items_pg: LocalDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The network stalls: the ROLLBACK gets no answer within the cleanup bound, so the lane
    terminates the connection instead of pooling it, logs it and counts it."""
    monkeypatch.setattr(asyncpg_lane, "_CLEANUP_TIMEOUT_S", 0.3)
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name))
    await db.open()
    ctx = TenantContext(tenant_id=new_tenant())

    async def fail_while_stalled() -> None:
        async with db.tenant(ctx):
            pg_proxy.hold()
            raise RuntimeError("the caller's own failure")

    try:
        with capture_logs() as logs, pytest.raises(RuntimeError):
            await fail_while_stalled()
    finally:
        pg_proxy.flow()
    snap = db.metrics()
    assert snap.discarded_connections == 1
    [event] = [e for e in logs if e["event"] == "connection_discarded"]
    assert event == {
        "event": "connection_discarded",
        "log_level": "warning",
        "lane": "tenant",
        "reason": "ROLLBACK failed",
    }
    # The pool replaced it: the next transaction works.
    async with db.tenant(ctx):
        pass
    assert db.metrics().discarded_connections == 1


async def test_a_clean_rollback_discards_nothing(ops_db: Any) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    with pytest.raises(ConnectionLostError):
        async with ops_db.tenant(ctx):
            raise ConnectionLostError("simulated by the caller")
    assert ops_db.metrics().discarded_connections == 0
