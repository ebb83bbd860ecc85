"""Measure the plugin over sqlc's own PostgreSQL corpus (a measurement, not a CI test).

    python scripts/sqlc_corpus.py /path/to/sqlc [--only SUBSTRING] [--keep DIR] [--json FILE]

``/path/to/sqlc`` is a checkout of github.com/sqlc-dev/sqlc (this script fetches nothing).
Cases: every ``examples/*`` project and every ``internal/endtoend/testdata`` case with a
PostgreSQL package (one variant per case: pgx/v5, else stdlib, else pgx/v4, else the first),
except those whose ``exec.json`` runs another command than ``generate`` (vet, analyze, …).

Per case, with one embedded PostgreSQL (or ``--server-dsn``):

1. generate with our plugin (sqlc's managed, database-backed analysis); a case whose sqlc-gen-go
   run is expected to fail (``stderr.txt`` beside its config) is counted apart;
2. ``mypy --strict`` over every generated package (one mypy run for all of them);
3. apply the case's schema to a scratch database and call every generated function once with
   synthesised arguments (AsyncpgExecutor, each call in a savepoint, everything rolled back).
   A call *ran* when it returned, or when PostgreSQL rejected the synthesised data (SQLSTATE
   classes 22, 23, 2B, 40, 55, P0: constraint and data errors); anything else is a failure.

Prints the figures and the failures; needs pyyaml for the YAML configs (``pip install pyyaml``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import enum
import importlib
import inspect
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
import typing
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from tenantdb._sqllex import split_statements
from tenantdb.codegen.run import CodegenRunError, run
from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.query import Query

_VARIANTS = ("pgx/v5", "stdlib", "pgx/v4", "pgx", "")
RAN_CLASSES = ("22", "23", "2B", "40", "55", "P0")
"""SQLSTATE classes of a call that ran but whose synthesised data PostgreSQL rejected."""
_EXPECTED_REFUSALS = ("sqlc.slice expands to", ":execlastid has no meaning")


@dataclass
class Package:
    schema: list[str]
    queries: list[str]


@dataclass
class Case:
    name: str
    root: Path
    packages: list[Package]
    go_fails: bool
    status: str = ""
    detail: str = ""
    modules: list[str] = field(default_factory=list)
    mypy_errors: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    call_failures: list[str] = field(default_factory=list)


def _load(config: Path) -> dict[str, Any]:
    if config.suffix == ".json":
        loaded: dict[str, Any] = json.loads(config.read_text())
        return loaded
    import yaml  # type: ignore[import-untyped]

    data: dict[str, Any] = yaml.safe_load(config.read_text())
    return data


def _as_list(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else list(v or [])


def _packages(config: Path) -> list[Package]:
    data = _load(config)
    entries = data.get("packages") or data.get("sql") or []
    return [
        Package(_as_list(e.get("schema")), _as_list(e.get("queries")))
        for e in entries
        if e.get("engine") == "postgresql"
    ]


_VARIANT_SUFFIX = re.compile(r"(/postgresql)?(/(pgx|stdlib|postgres|pganalyze))?(/v\d)?$")


def discover(sqlc: Path) -> list[Case]:
    testdata = sqlc / "internal" / "endtoend" / "testdata"
    configs: dict[str, list[tuple[Path, list[Package]]]] = {}
    found = [(cfg, cfg.parent.relative_to(testdata).as_posix())
             for pattern in ("sqlc.json", "sqlc.yaml", "sqlc.yml")
             for cfg in testdata.rglob(pattern)]  # fmt: skip
    found += [(cfg, f"examples/{cfg.parent.name}")
              for pattern in ("sqlc.json", "sqlc.yaml") for cfg in (sqlc / "examples").glob(
                  f"*/{pattern}")]  # fmt: skip
    for cfg, rel in found:
        exec_json = cfg.parent / "exec.json"
        if exec_json.exists():
            command = json.loads(exec_json.read_text()).get("command", "generate")
            if command != "generate":
                continue
        try:
            packages = _packages(cfg)
        except Exception:  # noqa: S112 - an unreadable config is not a case
            continue
        if packages:
            name = _VARIANT_SUFFIX.sub("", rel) or rel
            configs.setdefault(name, []).append((cfg, packages))
    cases = []
    for name, cfgs in sorted(configs.items()):
        cfg, packages = min(cfgs, key=lambda c: next(
            (i for i, v in enumerate(_VARIANTS) if c[0].parent.as_posix().endswith(v)), 99
        ))  # fmt: skip
        go_fails = (cfg.parent / "stderr.txt").exists() or (cfg.parent / "stderr").exists()
        cases.append(Case(name, cfg.parent, packages, go_fails))
    return cases


def _config(case: Case, idx: int, root: Path) -> dict[str, Any]:
    """sqlc resolves paths against the config's folder (absolute ones too): relative ones."""
    sql = []
    for k, p in enumerate(case.packages):
        pkg = f"c{idx}_{k}"
        case.modules.append(pkg)
        schema = [os.path.relpath((case.root / x).resolve(), root) for x in p.schema]
        queries = [os.path.relpath((case.root / x).resolve(), root) for x in p.queries]
        sql.append({
            "engine": "postgresql", "schema": schema, "queries": queries,
            "database": {"managed": True},
            "codegen": [{"plugin": "tenantdb", "out": f"out/{pkg}", "options": {"package": pkg}}],
        })  # fmt: skip
    return {
        "version": "2",
        "servers": [{"engine": "postgresql", "uri": "${TENANTDB_SQLC_DATABASE_URI}"}],
        "plugins": [{"name": "tenantdb", "env": ["TENANTDB_CODEGEN_DUMP"],
                     "process": {"cmd": "tenantdb-sqlc-gen", "format": "json"}}],
        "sql": sql,
    }  # fmt: skip


async def generate(case: Case, idx: int, work: Path, dsn: str) -> Path | None:
    root = work / f"case{idx}"
    root.mkdir()
    cfg = root / "tenantdb-sqlc.json"
    cfg.write_text(json.dumps(_config(case, idx, root)))
    try:
        await run(cfg, server_dsn=dsn)
    except CodegenRunError as exc:
        text = str(exc)
        refused = "tenantdb-sqlc-gen" in text or "\n" not in text.strip()
        if any(r in text for r in _EXPECTED_REFUSALS) and refused:
            case.status = "refused (expected)"
        elif "error running command tenantdb-sqlc-gen" in text:
            case.status = "plugin refused"
        else:
            case.status = "sqlc failed"
        case.detail = text.strip().splitlines()[-1][:300] if text.strip() else ""
        return None
    case.status = "generated"
    return root / "out"


def _mypy(outs: list[Path], cases: dict[str, Case]) -> None:
    """One mypy --strict run over every generated package; errors attributed per case."""
    merged = Path(tempfile.mkdtemp(prefix="sqlc-corpus-mypy-"))
    for out in outs:
        for pkg in out.iterdir():
            shutil.copytree(pkg, merged / pkg.name)
    if not any(merged.iterdir()):
        return
    proc = subprocess.run(  # noqa: S603 - this interpreter's mypy
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary",
         *sorted(p.name for p in merged.iterdir())],
        cwd=merged, capture_output=True, text=True, check=False,
    )  # fmt: skip
    for line in proc.stdout.splitlines():
        m = re.match(r"(c\d+_\d+)/", line)
        if m and ": error:" in line and m.group(1) in cases:
            cases[m.group(1)].mypy_errors.append(line)
    shutil.rmtree(merged)


# -- synthesised arguments -------------------------------------------------------------------


def _value(annotation: Any, pg_type: str = "") -> Any:  # noqa: PLR0911, PLR0912 - a type table
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _value(options[0], pg_type) if options else None
    if origin is list:
        return []
    if origin is dict:
        return {}
    if annotation is Any or annotation is object:
        return None
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation))
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, str):
            return {"date": "2026-01-02", "timestamp": "2026-01-02 03:04:05"}.get(pg_type, "a")
        if issubclass(annotation, bytes):
            return b"a"
        if issubclass(annotation, decimal.Decimal):
            return decimal.Decimal(1)
        if issubclass(annotation, uuid.UUID):
            return uuid.uuid4()
        if issubclass(annotation, datetime.datetime):
            aware = pg_type in ("timestamptz", "pg_catalog.timestamptz")
            return datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC if aware else None)
        if issubclass(annotation, datetime.date):
            return datetime.date(2026, 1, 2)
        if issubclass(annotation, datetime.time):
            return datetime.time(3, 4, 5)
        if issubclass(annotation, datetime.timedelta):
            return datetime.timedelta(seconds=1)
        if annotation.__module__ == "ipaddress":
            return ipaddress.ip_address("127.0.0.1")
        if annotation is asyncpg.Range:
            return asyncpg.Range(1, 2)
        if issubclass(annotation, msgspec.Struct):
            hints = typing.get_type_hints(annotation)
            return annotation(**{n: _value(hints[n]) for n in annotation.__struct_fields__})
    return None


def synthesise(fn: Any, hints: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Arguments for a generated function after its executor: one value of each declared
    type (``items``: a one-item list); pg types of the Query's params pick timestamp zones."""
    module = vars(inspect.getmodule(fn))
    query = next(
        (module[n] for n in fn.__code__.co_names if isinstance(module.get(n), Query)), None
    )
    pg = {p.name: p.pg_type for p in getattr(query, "params", ())}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for pname, p in list(inspect.signature(fn).parameters.items())[1:]:
        if pname == "items":
            value: Any = [_value(typing.get_args(hints[pname])[0])]
        else:
            value = _value(hints[pname], pg.get(pname, ""))
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[pname] = value
    return args, kwargs


async def call_all(case: Case, out: Path, dsn_for: Any) -> None:
    for pkg in case.modules:
        if not (out / pkg).exists():
            continue
        db_dsn = await dsn_for(case, pkg)
        conn = await asyncpg.connect(db_dsn)
        sys.path.insert(0, str(out))
        try:
            tx = conn.transaction()
            await tx.start()
            ex = AsyncpgExecutor(conn)
            for path in sorted((out / pkg).glob("*.py")):
                if path.stem in ("__init__", "models"):
                    continue
                mod = importlib.import_module(f"{pkg}.{path.stem}")
                await _call_module(case, mod, conn, ex)
            await tx.rollback()
        finally:
            sys.path.remove(str(out))
            await conn.close()


async def _call_module(case: Case, mod: Any, conn: Any, ex: Any) -> None:
    for name in getattr(mod, "__all__", ()):
        fn = getattr(mod, name)
        if not inspect.iscoroutinefunction(fn) or not inspect.isfunction(fn):
            continue
        args, kwargs = synthesise(fn, typing.get_type_hints(fn))
        try:
            async with conn.transaction():
                await fn(ex, *args, **kwargs)
            case.calls["ok"] += 1
        except asyncpg.PostgresError as exc:
            state = getattr(exc, "sqlstate", "") or ""
            if state[:2] in RAN_CLASSES:
                case.calls["rejected data"] += 1
            else:
                case.calls["failed"] += 1
                case.call_failures.append(f"{mod.__name__}.{name}: {state} {exc}"[:300])
        except Exception as exc:
            case.calls["failed"] += 1
            case.call_failures.append(f"{mod.__name__}.{name}: {type(exc).__name__}: {exc}"[:300])


async def main_async(args: argparse.Namespace) -> int:
    cases = discover(Path(args.sqlc))
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    work = Path(args.keep or tempfile.mkdtemp(prefix="sqlc-corpus-"))
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any task
    from tenantdb.local import LocalPostgres

    async with LocalPostgres() as pg:
        dsn = args.server_dsn or pg.dsn("postgres", "postgres")
        outs: dict[int, Path] = {}
        for idx, case in enumerate(cases):
            out = await generate(case, idx, work, dsn)
            if out is not None:
                outs[idx] = out
            print(f"[{idx + 1}/{len(cases)}] {case.name}: {case.status}", file=sys.stderr)
        by_pkg = {pkg: cases[i] for i in outs for pkg in cases[i].modules}
        _mypy(list(outs.values()), by_pkg)
        counter = iter(range(10**6))

        async def dsn_for(case: Case, pkg: str) -> str:
            name = f"corpus_{next(counter)}"
            db = await pg.create_database(name)
            conn = await asyncpg.connect(db.superuser_dsn)
            try:
                k = int(pkg.split("_")[1])
                for entry in case.packages[k].schema:
                    p = case.root / entry
                    files = sorted(p.glob("*.sql")) if p.is_dir() else [p]
                    for f in files:
                        text = f.read_text()
                        if not f.name.endswith(".down.sql") and split_statements(text):
                            await conn.execute(text)
            finally:
                await conn.close()
            return db.superuser_dsn

        for idx, out in outs.items():
            try:
                await call_all(cases[idx], out, dsn_for)
            except Exception as exc:
                cases[idx].call_failures.append(f"setup: {type(exc).__name__}: {exc}"[:300])
    _report(cases, args.json)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _why(c: Case) -> str:
    if c.status == "refused (expected)":
        return "sqlc.slice / :execlastid (refused by design)"
    if "returns no columns" in c.detail:
        return "no result columns (refused, issue item 3)"
    if "gen_random_uuid" in c.detail or "extension" in c.detail:
        return "extension missing on the analysis server"
    if c.status == "sqlc failed":
        return "PostgreSQL 18 (managed analysis) or sqlc's parser rejects the SQL"
    return "plugin refused"


def _report(cases: list[Case], json_path: str | None) -> None:
    status = Counter(c.status for c in cases)
    gen = [c for c in cases if c.status == "generated"]
    go_ok = [c for c in cases if not c.go_fails]
    calls: Counter[str] = Counter()
    for c in gen:
        calls.update(c.calls)
    lines = [
        f"cases: {len(cases)} ({len(go_ok)} that sqlc-gen-go generates, "
        f"{len(cases) - len(go_ok)} it refuses)",
        f"by status: {dict(status)}",
        f"generated: {len(gen)}; of the cases sqlc-gen-go generates: "
        f"{sum(c.status == 'generated' for c in go_ok)} / {len(go_ok)}",
        f"mypy --strict clean: {sum(not c.mypy_errors for c in gen)} / {len(gen)}",
        f"calls: {sum(calls.values())}: ok {calls['ok']}, rejected data {calls['rejected data']}"
        f" (ran), failed {calls['failed']}",
    ]
    why: Counter[str] = Counter()
    for c in go_ok:
        if c.status != "generated":
            why[_why(c)] += 1
    lines.append(f"cases sqlc-gen-go generates that we do not: {dict(why)}")
    print("\n".join(lines))
    for c in cases:
        if c.status in ("plugin refused", "sqlc failed") and not c.go_fails:
            print(f"  {c.status}: {c.name}: {c.detail}")
        for e in c.mypy_errors[:3]:
            print(f"  mypy: {c.name}: {e}")
        for f in c.call_failures[:3]:
            print(f"  call: {c.name}: {f}")
    if json_path:
        Path(json_path).write_text(json.dumps([
            {"name": c.name, "status": c.status, "go_fails": c.go_fails, "detail": c.detail,
             "mypy": c.mypy_errors, "calls": dict(c.calls), "failures": c.call_failures}
            for c in cases
        ], indent=1))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sqlc", help="path to a checkout of github.com/sqlc-dev/sqlc")
    parser.add_argument("--only", help="only cases whose name contains this")
    parser.add_argument("--keep", help="work in (and keep) this directory")
    parser.add_argument("--json", help="write per-case results here")
    parser.add_argument("--server-dsn", help="superuser URI (default: embedded PostgreSQL)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
