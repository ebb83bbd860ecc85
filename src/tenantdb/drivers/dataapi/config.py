"""``DataApi``: how the tenant (or admin) lane reaches the RDS Data API.

A plain configuration value: the driver behind it (one aioboto3 session and one long-lived
``rds-data`` client per ``Database``) is internal. ``tenantdb.local.LocalDataApi`` hands out a
ready one pointing at the local gateway.

Example::

    tenantdb.DataApi(
        resource_arn="arn:aws:rds:eu-west-1:123456789012:cluster:prod",
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenant",
        database="app",
        region="eu-west-1",
    )
"""

from __future__ import annotations

import msgspec

from tenantdb.drivers.dataapi.retry import RetryPolicy

__all__ = ("DataApi",)


class DataApi(msgspec.Struct, frozen=True, kw_only=True):
    """Where and as whom to call the Data API.

    ``resource_arn`` names the Aurora cluster, ``secret_arn`` the Secrets Manager secret whose
    user the statements run as (the tenant role for the tenant lane, so RLS applies),
    ``database`` the database on the cluster. ``endpoint_url`` overrides the regional
    endpoint (the local gateway, or a VPC endpoint). ``session`` is an ``aioboto3.Session`` to
    reuse (credentials, profile); otherwise one is created from ``aws_access_key_id`` /
    ``aws_secret_access_key`` or the default credential chain.
    """

    resource_arn: str
    secret_arn: str
    database: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    session: object | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    retry: RetryPolicy | None = None
    """How the lane retries calls that did not run (resuming, throttling, "still running");
    None: ``RetryPolicy()``'s defaults. A write is never resent after a timeout or a 5xx."""
