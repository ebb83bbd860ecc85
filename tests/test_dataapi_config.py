"""``DataApi(retry=...)`` reaches the Data API lane (the only way users set the policy)."""

from __future__ import annotations

import tenantdb
from tenantdb.drivers.dataapi.lane import DataApiLane


def test_retry_policy_on_the_config_is_the_lanes_policy() -> None:
    policy = tenantdb.RetryPolicy(deadline=1.5, max_attempts=3)
    config = tenantdb.DataApi(resource_arn="arn:r", secret_arn="arn:s", database="d", retry=policy)
    db = tenantdb.Database(tenant=config)
    lane = db._tenant  # the configured lane, before any I/O
    assert isinstance(lane, DataApiLane)
    assert lane.retry is policy


def test_default_retry_policy_when_the_config_has_none() -> None:
    config = tenantdb.DataApi(resource_arn="arn:r", secret_arn="arn:s", database="d")
    lane = tenantdb.Database(tenant=config)._tenant
    assert isinstance(lane, DataApiLane)
    assert lane.retry == tenantdb.RetryPolicy()
