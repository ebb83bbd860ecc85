"""Developer and CI sessions.

CI (``.ci/run``) runs the README's test line:
``nox -s lint typecheck codegen_check tests bench_quick``.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "codegen_check", "tests", "bench_quick"]


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install("--quiet", "--disable-pip-version-check", "-e", f".[{extras}]")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("--quiet", "--disable-pip-version-check", "ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/, generated/ and the typing examples (incl. the negative check)."""
    _install(session)
    session.run("mypy")
    if os.path.exists("tests/typing/check_negative.py"):
        session.run("python", "tests/typing/check_negative.py")


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate generated/ with the real sqlc over schema/ and queries/."""
    _install(session)
    session.run("python", "-m", "tenantdb.codegen.run", *session.posargs)


@nox.session
def codegen_check(session: nox.Session) -> None:
    """Fail if `nox -s codegen` would change generated/."""
    _install(session)
    session.run("python", "-m", "tenantdb.codegen.run", "--check")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite against embedded PostgreSQL and the local Data API gateway."""
    _install(session)
    env = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    session.run("pytest", *session.posargs, env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """The whole benchmark suite: bench-results/results.json, report.md and the charts.

    Every figure is a ratio against a baseline measured in the same run (tenantdb and its peers
    in one process). ``nox -s bench -- --only transaction decode`` runs some sections.
    """
    _install(session, "bench")
    session.run(
        "python", "-m", "benchmarks.suite", *session.posargs, env={"PYTHONPATH": "generated"}
    )


@nox.session
def bench_quick(session: nox.Session) -> None:
    """The CI gate: every section small and fast; fails when a gated ratio misses its threshold
    twice (it is measured again once, with fresh rounds). Prints the report either way."""
    _install(session, "bench")
    session.run(
        "python",
        "-m",
        "benchmarks.suite",
        "--quick",
        *session.posargs,
        env={"PYTHONPATH": "generated"},
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Embedded PostgreSQL, migrate, seed, two tenants through generated code, metrics."""
    _install(session)
    session.run("python", "examples/demo.py", *session.posargs, env={"PYTHONPATH": "generated"})


@nox.session
def soak(session: nox.Session) -> None:
    """Both lanes under random faults for N minutes: ``nox -s soak -- --minutes 10``.

    Writes soak-results/report.md and report.json; fails if anything was lost, duplicated,
    crossed tenants or raised untyped. (A 60-second version is part of ``nox -s tests``.)
    """
    _install(session)
    session.run("python", "tests/soak.py", *session.posargs, env={"PYTHONPATH": "generated"})


@nox.session
def service(session: nox.Session) -> None:
    """The example FastAPI service (examples/service): embedded PostgreSQL, demo data, uvicorn."""
    _install(session)
    session.run(
        "python", "examples/service/app.py", *session.posargs, env={"PYTHONPATH": "generated"}
    )
