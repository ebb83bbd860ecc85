"""The ``tenantdb`` command: one subcommand per module, imported only when used.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``
(``run`` may be a coroutine function; it is then run with anyio).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Sequence

import anyio

__all__ = ("main",)

# name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "migrate": ("tenantdb.admin.migrate", "apply, roll back, inspect or create migrations"),
    "seed": ("tenantdb.admin.seed", "load deterministic demo data (admin role, COPY)"),
    "doctor": ("tenantdb.admin.audit", "audit a live database's RLS setup (I-1…I-7)"),
    "gateway": ("tenantdb.local.gateway_cli", "run the local RDS Data API gateway"),
    "postgres": ("tenantdb.local.postgres_cli", "run an embedded PostgreSQL in the foreground"),
}


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantdb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = argv[0] if argv else None
    for name, (module, help_text) in _COMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        if name == wanted:  # import only the module that will run
            importlib.import_module(module).add_arguments(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tenantdb`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser(args_list).parse_args(args_list)
    run = importlib.import_module(_COMMANDS[args.command][0]).run
    if inspect.iscoroutinefunction(run):
        code: int = anyio.run(run, args)
    else:
        code = run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
