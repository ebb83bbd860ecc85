"""``tenant_batch`` overloads: precise result types for tuples of operations (mypy --strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "typing"
ROOT = HERE.parent.parent

BROKEN = """
from hospitality import bookings
import tenantdb

async def f(db: tenantdb.Database, ctx: tenantdb.TenantContext) -> None:
    count, sums = await db.tenant_batch(
        ctx, (bookings.count_bookings, bookings.sum_bookings_by_status)
    )
    sums.bookings
"""


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter's mypy
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"MYPYPATH": str(ROOT / "generated"), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=300,
    )


def test_tuples_of_operations_are_typed_per_position(tmp_path: Path) -> None:
    ok = _mypy(HERE / "batch_examples.py")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.py"
    broken.write_text(BROKEN)
    out = _mypy(broken)
    assert '"list[SumBookingsByStatusRow]" has no attribute "bookings"' in out.stdout, out.stdout
