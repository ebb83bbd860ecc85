"""mypy accepts tests/typing/examples.py and rejects misuse of the generated API.

Run: ``python tests/typing/check_negative.py`` (``nox -s typecheck`` does). Exit status 0
only if examples.py passes ``mypy --strict`` and every broken snippet below is reported
with the expected error code on its line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

PRELUDE = """\
import uuid
from hospitality import bookings, models
from tenantdb.drivers.base import Executor

async def f(db: Executor) -> None:
"""

# (snippet inside f, mypy error code it must produce)
NEGATIVE = [
    ('    await bookings.get_booking(db, id="not-a-uuid")', "arg-type"),
    ("    await bookings.get_booking(db, uuid.uuid4())", "call-arg"),
    ("    await bookings.get_booking(db)", "call-arg"),
    ('    await bookings.update_booking_status(db, status="confirmed", id=uuid.uuid4())',
     "arg-type"),
    ("    b = await bookings.get_booking(db, id=uuid.uuid4())\n    b.status", "union-attr"),
    ("    r = await bookings.count_bookings(db)\n    assert r\n    r.nope", "attr-defined"),
    ("    n: str | None = await bookings.count_bookings(db)", "assignment"),
    ("    await bookings.update_booking_statuses(db, [(models.BookingStatus.PENDING, 1)])",
     "list-item"),
    ("    n: str = await bookings.soft_delete_booking(db, id=uuid.uuid4())", "assignment"),
]  # fmt: skip


def _mypy(*files: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MYPYPATH=os.pathsep.join([str(ROOT / "generated"), str(ROOT / "src")]))
    return subprocess.run(  # noqa: S603 - this interpreter's mypy, fixed arguments
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file",
         str(ROOT / "pyproject.toml"), *files],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False, timeout=600,
    )  # fmt: skip


def main() -> int:
    ok = _mypy(str(HERE / "examples.py"))
    if ok.returncode != 0:
        print(f"examples.py must type-check:\n{ok.stdout}{ok.stderr}")
        return 1
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (snippet, _) in enumerate(NEGATIVE):
            path = Path(tmp) / f"neg_{i}.py"
            path.write_text(PRELUDE + snippet + "\n")
            paths.append(path)
        out = _mypy(*map(str, paths)).stdout
        for path, (snippet, code) in zip(paths, NEGATIVE, strict=True):
            if not any(path.name in line and f"[{code}]" in line for line in out.splitlines()):
                print(f"mypy did not report [{code}] for:\n{snippet}\n")
                failures += 1
    if failures:
        print(out)
        return 1
    print(f"typing examples pass; {len(NEGATIVE)} misuses rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
