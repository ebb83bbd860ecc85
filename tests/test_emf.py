"""CloudWatch EMF lines per interval on both tenant lanes, validated against the Embedded
Metric Format specification (issue 13, part 3)."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import anyio
import fix_database as fd
import pytest
from fix_database import new_tenant
from fix_ops import MakeOpsDb, both_lanes

from tenantdb import TenantContext
from tenantdb.emf import EmfExporter
from tenantdb.errors import ConfigurationError, UniqueViolation

INSERT_ITEM = both_lanes(fd.INSERT_ITEM)
COUNT_ITEMS = both_lanes(fd.COUNT_ITEMS)
LANES = ("asyncpg", "data_api")

# -- the specification, as rules -----------------------------------------------------------------
# CloudWatch "Specification: Embedded metric format": a root object with "_aws" (a metadata
# object: Timestamp in epoch milliseconds and a CloudWatchMetrics array of MetricDirectives);
# a MetricDirective has Namespace (1-1024 chars), Dimensions (an array of DimensionSets, each
# an array of at most 30 dimension keys) and Metrics (at most 100 MetricDefinitions: Name,
# optional Unit from the CloudWatch unit list, optional StorageResolution 1 or 60); objects the
# spec defines carry no other members; every referenced dimension is a root member with a
# string value and every metric a root member with a number or an array of at most 100 numbers;
# a document is at most 256 KB here (the lowest limit CloudWatch Logs has applied).
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)


def validate_emf(line: str) -> dict[str, Any]:
    """Raise AssertionError where ``line`` breaks the EMF specification; return the document."""
    assert "\n" not in line
    assert len(line.encode()) <= 256 * 1024
    doc = json.loads(line)
    assert isinstance(doc, dict)
    meta = doc["_aws"]
    assert isinstance(meta, dict)
    assert set(meta) <= {"Timestamp", "CloudWatchMetrics", "LogGroupName"}
    assert isinstance(meta["Timestamp"], int)
    assert meta["Timestamp"] > 1_500_000_000_000  # epoch milliseconds, not seconds
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        namespace = directive["Namespace"]
        assert isinstance(namespace, str)
        assert 1 <= len(namespace) <= 1024
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list)
            assert len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(key, str)
                assert 1 <= len(key) <= 250
                value = doc[key]
                assert isinstance(value, str)
                assert 1 <= len(value) <= 1024
        metrics = directive["Metrics"]
        assert isinstance(metrics, list)
        assert 1 <= len(metrics) <= 100
        names = [m["Name"] for m in metrics]
        assert len(set(names)) == len(names)
        for definition in metrics:
            assert set(definition) <= {"Name", "Unit", "StorageResolution"}
            assert isinstance(definition["Name"], str)
            assert 1 <= len(definition["Name"]) <= 1024
            if "Unit" in definition:
                assert definition["Unit"] in UNITS
            if "StorageResolution" in definition:
                assert definition["StorageResolution"] in (1, 60)
            value = doc[definition["Name"]]
            values = value if isinstance(value, list) else [value]
            assert len(values) <= 100
            for v in values:
                assert isinstance(v, int | float)
                assert not isinstance(v, bool)
                assert math.isfinite(v)
    return doc


def test_the_validator_rejects_documents_that_break_the_spec() -> None:
    good = (
        '{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"n",'
        '"Dimensions":[["A"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"A":"x","M":1}'
    )
    validate_emf(good)
    for bad in (
        good.replace('"A":"x",', ""),  # dimension without a root member
        good.replace('"A":"x"', '"A":1'),  # dimension value not a string
        good.replace('"M":1', '"M":"1"'),  # metric value not a number
        good.replace('"Count"', '"Things"'),  # unknown unit
        good.replace("1700000000000", "1700000000"),  # seconds, not milliseconds
        good.replace('"Namespace":"n",', ""),  # no namespace
    ):
        with pytest.raises((AssertionError, KeyError)):
            validate_emf(bad)


# -- the exporter on both lanes ------------------------------------------------------------------
@pytest.mark.parametrize("kind", LANES)
async def test_one_flush_writes_per_tenant_per_query_and_per_lane_documents(
    kind: str, make_ops_db: MakeOpsDb
) -> None:
    first, second = new_tenant(), new_tenant()
    out = io.StringIO()
    emf = EmfExporter(namespace="Test/tenantdb", stream=out, dimensions={"Service": "bookings"})
    async with make_ops_db(kind) as db:
        emf.attach(db)
        for tenant in (first, second):
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "x"))
                await tx.one(COUNT_ITEMS, ())
        with pytest.raises(UniqueViolation):
            async with db.tenant(TenantContext(tenant_id=first)) as tx:
                await tx.exec(INSERT_ITEM, (first, 1, "again"))
        assert out.getvalue() == ""  # nothing is written per query
        lines = emf.flush()
    assert out.getvalue() == "".join(line + "\n" for line in lines)
    docs = [validate_emf(line) for line in lines]
    for doc in docs:
        assert doc["Service"] == "bookings"
        assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Test/tenantdb"
        assert doc["Lane"] == "tenant"
    tenants = {d["TenantId"]: d for d in docs if "TenantId" in d}
    queries = {d["Query"]: d for d in docs if "Query" in d}
    [lane] = [d for d in docs if "TenantId" not in d and "Query" not in d]
    assert len(docs) == 5  # 2 tenants + 2 queries + 1 lane
    assert (tenants[first]["Transactions"], tenants[first]["TransactionErrors"]) == (2, 1)
    assert (tenants[first]["Queries"], tenants[first]["QueryErrors"]) == (3, 1)
    assert (tenants[second]["Transactions"], tenants[second]["Queries"]) == (1, 2)
    assert (
        0
        < tenants[first]["LatencyP50"]
        <= tenants[first]["LatencyP95"]
        <= tenants[first]["LatencyP99"]
    )
    assert tenants[first]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["Service", "Lane", "TenantId"]
    ]
    assert (queries["InsertItem"]["Calls"], queries["InsertItem"]["Errors"]) == (3, 1)
    assert (queries["CountItems"]["Calls"], queries["CountItems"]["Rows"]) == (2, 2)
    assert (lane["Transactions"], lane["TransactionErrors"], lane["Queries"]) == (3, 1, 5)
    assert emf.flush() == []  # an idle interval writes nothing


async def test_tenant_dimension_values_are_bounded(make_ops_db: MakeOpsDb) -> None:
    emf = EmfExporter(stream=io.StringIO(), max_tenants=1)
    tenants = [new_tenant() for _ in range(3)]
    async with make_ops_db("asyncpg") as db:
        emf.attach(db)
        for tenant in tenants:
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.one(COUNT_ITEMS, ())
        docs = [validate_emf(line) for line in emf.flush()]
    per_tenant = {d["TenantId"]: d["Transactions"] for d in docs if "TenantId" in d}
    assert per_tenant == {tenants[0]: 1, "(other)": 2}


async def test_run_flushes_on_the_way_out(make_ops_db: MakeOpsDb) -> None:
    out = io.StringIO()
    emf = EmfExporter(stream=out)
    async with make_ops_db("data_api") as db:
        emf.attach(db)
        async with anyio.create_task_group() as tg:
            tg.start_soon(emf.run, 3600.0)
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.one(COUNT_ITEMS, ())
            tg.cancel_scope.cancel()
    lines = out.getvalue().splitlines()
    assert lines
    for line in lines:
        validate_emf(line)


def test_configuration_is_checked() -> None:
    with pytest.raises(ConfigurationError):
        EmfExporter(namespace="")
    with pytest.raises(ConfigurationError):
        EmfExporter(storage_resolution=5)
