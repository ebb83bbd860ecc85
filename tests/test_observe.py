"""Metrics totals, per-key stats, bounded memory, and structlog events without values."""

from __future__ import annotations

import structlog
from structlog.testing import capture_logs

from tenantdb.observe import OTHER_TENANTS, Metrics, MetricsSnapshot

A = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
B = "9b2e6f1c-1d2a-4c3b-8e4f-5a6b7c8d9e0f"


def _tx(
    m: Metrics, tenant: str | None, ms: float, *, ok: bool = True, lane: str = "tenant"
) -> None:
    m.record_transaction(lane=lane, tenant_id=tenant, duration_s=ms / 1000, ok=ok, context_sets=2)


def test_totals_match_the_brief_shape() -> None:
    m = Metrics(log=False)
    _tx(m, A, 10.0)
    _tx(m, A, 30.0)
    _tx(m, B, 20.0, ok=False)
    _tx(m, B, 40.0)
    snap = m.snapshot()
    assert snap.total_transactions == 4
    assert snap.total_context_sets == 8
    assert snap.errors == 1
    assert abs(snap.total_latency_ms - 100.0) < 1e-9
    assert abs(snap.avg_latency_ms - 25.0) < 1e-9
    assert snap.error_rate == 25.0
    assert snap.to_brief_dict() == {
        "totalTransactions": 4,
        "totalContextSets": 8,
        "totalLatencyMs": snap.total_latency_ms,
        "errors": 1,
        "avgLatencyMs": snap.avg_latency_ms,
        "errorRate": 25.0,
    }


def test_empty_snapshot_has_zero_rates() -> None:
    snap = Metrics(log=False).snapshot()
    assert isinstance(snap, MetricsSnapshot)
    assert (snap.avg_latency_ms, snap.error_rate, snap.per_tenant) == (0.0, 0.0, {})


def test_per_tenant_and_per_query_stats() -> None:
    m = Metrics(log=False)
    m.record_query(lane="tenant", tenant_id=A, query="ListBookings", rows=3, duration_s=0.002)
    m.record_query(
        lane="tenant", tenant_id=B, query="ListBookings", rows=0, duration_s=0.004, sqlstate="42501"
    )
    m.record_query(lane="admin", tenant_id=None, query="Seed", rows=5, duration_s=0.001)
    _tx(m, A, 5.0)
    snap = m.snapshot()
    assert snap.total_queries == 3
    assert snap.query_errors == 1
    listing = snap.per_query["ListBookings"]
    assert (listing.calls, listing.errors, listing.rows) == (2, 1, 3)
    assert set(snap.per_tenant) == {A, B}
    assert snap.per_tenant[A].queries == 1
    assert snap.per_tenant[A].rows == 3
    assert snap.per_tenant[A].transactions == 1
    assert snap.per_tenant[B].query_errors == 1
    assert snap.per_query["Seed"].rows == 5


def test_percentiles_are_within_histogram_precision() -> None:
    m = Metrics(log=False)
    for ms in range(1, 1001):
        m.record_query(lane="tenant", tenant_id=A, query="Q", rows=1, duration_s=ms / 1000)
    stats = m.snapshot().per_query["Q"]
    for got, want in [(stats.p50_ms, 500), (stats.p95_ms, 950), (stats.p99_ms, 990)]:
        assert abs(got - want) / want < 0.04, (got, want)
    assert stats.p99_ms <= 1000


def test_tenant_keys_are_bounded() -> None:
    m = Metrics(log=False, max_tenants=3)
    for i in range(10):
        _tx(m, f"tenant-{i}", 1.0)
    snap = m.snapshot()
    assert len(snap.per_tenant) == 4
    assert snap.per_tenant[OTHER_TENANTS].transactions == 7
    assert snap.total_transactions == 10


def test_reset_forgets_everything() -> None:
    m = Metrics(log=False)
    _tx(m, A, 1.0)
    m.reset()
    assert m.snapshot().total_transactions == 0


def test_query_event_carries_names_and_timings_only() -> None:
    secret = "guest-passport-X123"  # a parameter value the caller bound: must never appear
    m = Metrics(logger=structlog.get_logger("tenantdb"))
    with capture_logs() as logs:
        m.record_query(lane="tenant", tenant_id=A, query="FindGuest", rows=1, duration_s=0.0015)
        m.record_query(
            lane="tenant",
            tenant_id=A,
            query="FindGuest",
            rows=0,
            duration_s=0.001,
            sqlstate="23505",
        )
    ok, failed = logs
    assert ok == {
        "event": "query",
        "log_level": "debug",
        "query": "FindGuest",
        "lane": "tenant",
        "tenant_id": A,
        "rows": 1,
        "duration_ms": 1.5,
        "sqlstate": None,
        "ok": True,
    }
    assert failed["log_level"] == "info"  # a unique violation is a routine, handled outcome
    assert (failed["sqlstate"], failed["ok"]) == ("23505", False)
    assert secret not in repr(logs)


def test_transaction_events_admin_lane_at_info_failures_at_warning() -> None:
    m = Metrics()
    with capture_logs() as logs:
        _tx(m, A, 2.0)
        _tx(m, None, 3.0, lane="admin")
        m.record_transaction(
            lane="tenant",
            tenant_id=B,
            duration_s=0.001,
            ok=False,
            context_sets=2,
            error="ThrottledError",
        )
    assert [e["log_level"] for e in logs] == ["debug", "info", "warning"]
    assert logs[0] == {
        "event": "transaction",
        "log_level": "debug",
        "lane": "tenant",
        "tenant_id": A,
        "duration_ms": 2.0,
        "ok": True,
        "context_sets": 2,
    }
    assert logs[2]["error"] == "ThrottledError"


def test_failures_other_than_integrity_are_warnings_and_rollbacks_info() -> None:
    m = Metrics()
    with capture_logs() as logs:
        m.record_query(
            lane="tenant", tenant_id=A, query="Q", rows=0, duration_s=0.001, sqlstate="57014"
        )
        m.record_transaction(lane="tenant", tenant_id=A, duration_s=0.001, ok=False, context_sets=1)
    assert [e["log_level"] for e in logs] == ["warning", "info"]


def test_log_false_emits_nothing() -> None:
    m = Metrics(log=False)
    with capture_logs() as logs:
        _tx(m, A, 1.0)
        m.record_query(lane="tenant", tenant_id=A, query="Q", rows=0, duration_s=0.001)
    assert logs == []


_EMIT = """
import sys
from tenantdb.observe import Metrics
setup = sys.argv[1]
if setup == "logging":
    import logging
    logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
elif setup == "structlog":
    import structlog
    structlog.configure()
m = Metrics()
m.record_query(lane="tenant", tenant_id=None, query="Q", rows=1, duration_s=0.001)
m.record_query(lane="tenant", tenant_id=None, query="Q", rows=0, duration_s=0.001,
               sqlstate="23505")
m.record_query(lane="tenant", tenant_id=None, query="Q", rows=0, duration_s=0.001,
               sqlstate="57014")
"""


def _emit(setup: str) -> tuple[str, str]:
    import subprocess
    import sys

    out = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", _EMIT, setup], capture_output=True, text=True, check=True
    )
    return out.stdout, out.stderr


def test_nothing_prints_until_the_application_configures_logging() -> None:
    assert _emit("none") == ("", "")


def test_stdlib_logging_gets_the_events_at_its_levels() -> None:
    stdout, stderr = _emit("logging")
    assert stdout == ""
    lines = stderr.splitlines()
    assert [line.split()[1] for line in lines] == ["DEBUG", "INFO", "WARNING"]
    assert all(line.startswith("tenantdb ") and "query='Q'" in line for line in lines)


def test_a_structlog_configuration_gets_them_through_structlog() -> None:
    stdout, _ = _emit("structlog")
    assert [("warning" in line, "query" in line) for line in stdout.splitlines()] == [
        (False, True),
        (False, True),
        (True, True),
    ]
