"""Done-when of issue 12: from an empty directory to a passing suite with the built wheel only.

Builds the wheel, installs it with its extras into a fresh virtualenv (no repository on the
path), then ``tenantdb init`` -> ``tenantdb codegen`` -> the skeleton's tests on both
transports against the embedded server, under anyio's pytest plugin and under pytest-asyncio
(auto mode, and strict mode with ``@pytest.mark.asyncio``). Needs PyPI (or a pip cache) for
the dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STRICT_ASYNCIO = """
import pytest

@pytest.mark.asyncio
async def test_the_database_fixture_under_pytest_asyncio(tenantdb_database, tenantdb_tenant):
    ctx = await tenantdb_tenant(name="strict")
    async with tenantdb_database.tenant(ctx) as tx:
        assert tx is not None
"""


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(  # noqa: S603 - fixed tools in the test's own venv
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-12000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Outside pytest's basetemp: pytest resets ``/tmp/pytest-of-<user>`` to mode 0700, and
    when run as root the embedded server's unprivileged user must traverse to the venv's
    PostgreSQL binaries."""
    path = Path(tempfile.mkdtemp(prefix="tenantdb-wheel-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(1200)
def test_init_to_green_suite_with_the_built_wheel(workdir: Path) -> None:
    tmp_path = workdir
    started = time.monotonic()
    dist = tmp_path / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        dist,
        ROOT,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("tenantdb-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_ = venv / "bin"
    _run(
        bin_ / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        f"{wheel}[local,codegen,jwt,dataapi]",
        "pytest",
        cwd=tmp_path,
    )
    # Only the venv: no repository sources, no inherited PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"
    probe = _run(
        bin_ / "python", "-c", "import tenantdb; print(tenantdb.__file__)", cwd=tmp_path, env=env
    )
    assert str(venv) in probe and str(ROOT) not in probe

    _run(bin_ / "tenantdb", "init", "shop", cwd=tmp_path, env=env)
    project = tmp_path / "shop"
    _run(bin_ / "tenantdb", "codegen", cwd=project, env=env)
    out = _run(
        bin_ / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env
    )
    assert "7 passed" in out, out

    _run(
        bin_ / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "pytest-asyncio",
        cwd=tmp_path,
    )
    out = _run(
        bin_ / "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:anyio",
        "-o",
        "asyncio_mode=auto",
        cwd=project,
        env=env,
    )
    assert "7 passed" in out, out
    (project / "tests" / "test_strict_asyncio.py").write_text(STRICT_ASYNCIO)
    out = _run(
        bin_ / "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:anyio",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "error::pytest.PytestDeprecationWarning",  # "async @pytest.fixture in strict mode"
        "tests/test_strict_asyncio.py",
        cwd=project,
        env=env,
    )
    assert "2 passed" in out, out
    print(f"wheel to green suite: {time.monotonic() - started:.0f} s")
