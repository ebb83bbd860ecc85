"""``tenantdb gateway``: a real process serving real clients, printing what users need."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import anyio
import boto3
import pytest
from botocore.config import Config

from tenantdb.local import LocalPostgres


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "tenantdb.cli", "gateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    env: dict[str, str] = {}
    for line in proc.stdout:
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            env[key] = value
        if line.startswith("fault control"):
            return env
    raise AssertionError(f"gateway exited early (code {proc.wait()})")


def _select_one(env: dict[str, str]) -> object:
    client = boto3.client(
        "rds-data",
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL_RDS_DATA"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    res = client.execute_statement(
        resourceArn=env["DB_CLUSTER_ARN"],
        secretArn=env["DB_SECRET_ARN"],
        database=env["DATABASE_NAME"],
        sql="select current_user",
    )
    return res["records"]


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGINT, then (exit code, the rest of the output)."""
    proc.send_signal(signal.SIGINT)
    try:
        rest, _ = proc.communicate(timeout=60)
        return proc.returncode, rest
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def embedded_gateway() -> Iterator[subprocess.Popen[str]]:
    proc = _start()
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


async def test_cli_embedded_postgres(embedded_gateway: subprocess.Popen[str]) -> None:
    env = await anyio.to_thread.run_sync(_banner, embedded_gateway)
    assert env["USE_DATA_API"] == "true"
    records = await anyio.to_thread.run_sync(_select_one, env)
    assert records == [[{"stringValue": "app_tenant"}]]
    code, rest = await anyio.to_thread.run_sync(_stop, embedded_gateway)
    assert (code, rest.strip()) == (0, "stopped.")


async def test_cli_existing_server_via_dsn(local_pg: LocalPostgres) -> None:
    proc = _start("--dsn", local_pg.dsn("nobody"))
    try:
        env = await anyio.to_thread.run_sync(_banner, proc)
        assert env["DATABASE_NAME"] == local_pg.name
        records = await anyio.to_thread.run_sync(_select_one, env)
        assert records == [[{"stringValue": "app_tenant"}]]
    finally:
        await anyio.to_thread.run_sync(_stop, proc)
