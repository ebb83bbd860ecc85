"""``tenantdb gateway``: a real process serving real clients, printing what users need."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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
        assert line.startswith(("#", "export ")), line  # the output is valid shell
        if line.startswith("export "):
            key, _, value = shlex.split(line)[1].partition("=")
            env[key] = value
        if line.startswith("# fault control"):
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
    assert env["DB_ADMIN_SECRET_ARN"].endswith("-admin")
    records = await anyio.to_thread.run_sync(_select_one, env)
    assert records == [[{"stringValue": "app_tenant"}]]
    code, rest = await anyio.to_thread.run_sync(_stop, embedded_gateway)
    assert (code, rest.strip()) == (0, "# stopped.")


async def test_cli_existing_server_via_dsn(local_pg: LocalPostgres) -> None:
    proc = _start("--dsn", local_pg.dsn("nobody"))
    try:
        env = await anyio.to_thread.run_sync(_banner, proc)
        assert env["DATABASE_NAME"] == local_pg.name
        records = await anyio.to_thread.run_sync(_select_one, env)
        assert records == [[{"stringValue": "app_tenant"}]]
    finally:
        await anyio.to_thread.run_sync(_stop, proc)


def test_print_env_detaches_like_ssh_agent_and_eval_works() -> None:
    """`eval "$(tenantdb gateway --print-env)"` returns, the variables reach the shell, the
    background gateway serves them, and `kill $TENANTDB_GATEWAY_PID` stops it cleanly."""
    script = (
        f'eval "$({shlex.quote(sys.executable)} -m tenantdb.cli gateway --print-env)"\n'
        'echo "PID=$TENANTDB_GATEWAY_PID"\n'
        'env | grep -E "^(USE_DATA_API|DB_|DATABASE_NAME|AWS_)"\n'
    )
    out = subprocess.run(  # noqa: S603 - our own CLI through sh
        ["sh", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    env = dict(line.split("=", 1) for line in out.splitlines())
    pid = int(env.pop("PID"))
    try:
        assert env["DB_ADMIN_SECRET_ARN"].endswith("-admin")
        assert _select_one(env) == [[{"stringValue": "app_tenant"}]]
    finally:
        os.kill(pid, signal.SIGTERM)
    _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    import time

    stat = Path(f"/proc/{pid}/stat")
    for _ in range(600):  # the child shuts PostgreSQL down first: poll, never assert a duration
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state == "Z":  # exited; its new parent has not reaped it yet
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still running")
