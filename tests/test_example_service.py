"""examples/service: its own test suite (FastAPI + httpx through the tenantdb pytest plugin, on
both transports) passes, run the way a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tenantdb.local import LocalPostgres

SERVICE = Path(__file__).resolve().parent.parent / "examples" / "service"


def test_the_example_services_suite_passes(local_pg: LocalPostgres) -> None:
    out = subprocess.run(  # noqa: S603 - this interpreter, pytest on the example
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--tenantdb-server-dsn",
            local_pg.dsn("postgres", "postgres"),
        ],
        cwd=SERVICE,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "10 passed" in out.stdout
