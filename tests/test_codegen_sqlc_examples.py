"""sqlc's own examples (authors, batch, booktest, jets, ondeck; SQL unchanged, in
tests/codegen/sqlc_examples) generate with our plugin, pass ``mypy --strict``, and every
generated function runs on both tenant lanes with synthesised arguments (the same
synthesiser as scripts/sqlc_corpus.py). A call *runs* when it returns or PostgreSQL rejects
the synthesised data (a constraint or data error); nothing else is allowed."""

from __future__ import annotations

import importlib
import inspect
import shutil
import sys
import typing
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from scripts.sqlc_corpus import RAN_CLASSES, synthesise
from tenantdb import Database, TenantContext
from tenantdb.codegen.run import run
from tenantdb.errors import QueryError
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.dataapi import LocalDataApi

EXAMPLES = Path(__file__).resolve().parent / "codegen" / "sqlc_examples"
NAMES = ("authors", "batch", "booktest", "jets", "ondeck")
TENANT = TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")


@pytest.fixture(scope="module")
async def examples(
    local_pg: LocalPostgres, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sqlc_examples")
    shutil.copytree(EXAMPLES, root, dirs_exist_ok=True)
    await run(root / "sqlc.yaml", server_dsn=local_pg.dsn("postgres", "postgres"))
    out = root / "out"
    mypy = await anyio.run_process(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *NAMES],
        cwd=out, check=False,
    )  # fmt: skip
    for key in [k for k in sys.modules if k.split(".")[0] in NAMES]:
        del sys.modules[key]  # the other example suites use the same package names
    sys.path.insert(0, str(out))
    try:
        mods = {
            name: [importlib.import_module(f"{name}.{p.stem}")
                   for p in sorted((out / name).glob("*.py"))
                   if p.stem not in ("__init__", "models")]
            for name in NAMES
        }  # fmt: skip
    finally:
        sys.path.remove(str(out))
    return {"mods": mods, "mypy": mypy}


def test_sqlc_examples_pass_mypy_strict(examples: dict[str, Any]) -> None:
    mypy = examples["mypy"]
    assert mypy.returncode == 0, (mypy.stdout + mypy.stderr).decode()


@pytest.mark.parametrize("lane", ["asyncpg", "data_api"])
@pytest.mark.parametrize("name", NAMES)
async def test_every_function_of_sqlc_examples_runs(
    examples: dict[str, Any],
    fresh_db: LocalDatabase,
    gateway: LocalDataApi,
    name: str,
    lane: str,
) -> None:
    schema = EXAMPLES / name / ("schema" if name == "ondeck" else "schema.sql")
    conn = await asyncpg.connect(fresh_db.superuser_dsn)
    try:
        for f in sorted(schema.glob("*.sql")) if schema.is_dir() else [schema]:
            await conn.execute(f.read_text())
        await conn.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO PUBLIC;"
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO PUBLIC;"
        )
    finally:
        await conn.close()
    tenant: Any = fresh_db.tenant_dsn if lane == "asyncpg" else gateway.data_api(fresh_db.name)
    failures: list[str] = []
    calls = 0
    async with Database(admin=fresh_db.admin_dsn, tenant=tenant) as db:
        for mod in examples["mods"][name]:
            for fname in mod.__all__:
                fn = getattr(mod, fname)
                if not inspect.iscoroutinefunction(fn):
                    continue
                hints = typing.get_type_hints(fn)
                args, kwargs = synthesise(fn, hints)
                calls += 1
                try:
                    async with db.tenant(TENANT) as tx:
                        await fn(tx, *args, **kwargs)
                except QueryError as exc:
                    if (exc.sqlstate or "")[:2] not in RAN_CLASSES:
                        failures.append(f"{mod.__name__}.{fname}: {exc!r}")
                except Exception as exc:
                    failures.append(f"{mod.__name__}.{fname}: {exc!r}")
    assert calls > 0
    assert failures == []
