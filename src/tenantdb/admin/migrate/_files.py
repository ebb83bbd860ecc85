"""Migration files on disk: golang-migrate naming, checksums and the directive comment.

``0001_init.up.sql`` / ``0001_init.down.sql``. Every up file needs its down file: a chain that
cannot be rolled back is refused before anything touches the database.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import msgspec

from tenantdb.admin.migrate._errors import MigrationError

__all__ = ("NO_TRANSACTION", "MigrationFile", "load_directory", "next_version", "no_transaction")

#: First-line directive that makes a file run outside a transaction (CREATE INDEX
#: CONCURRENTLY, ALTER TYPE ... ADD VALUE before PostgreSQL 12, VACUUM).
NO_TRANSACTION = "-- tenantdb:no-transaction"

_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<name>[A-Za-z0-9_\-]+)\.(?P<dir>up|down)\.sql$")


class MigrationFile(msgspec.Struct, frozen=True):
    """One migration: its version, both files and the sha256 of the up file."""

    version: int
    name: str
    up_path: Path
    down_path: Path
    checksum: str

    def up_sql(self) -> str:
        return self.up_path.read_text(encoding="utf-8")

    def down_sql(self) -> str:
        return self.down_path.read_text(encoding="utf-8")


def no_transaction(sql: str) -> bool:
    """True when the file opts out of the per-migration transaction on its first line."""
    first = sql.lstrip("\ufeff").split("\n", 1)[0].strip()
    return first.lower() == NO_TRANSACTION


def load_directory(directory: str | Path) -> list[MigrationFile]:
    """Read and validate a migrations directory, sorted by version."""
    root = Path(directory)
    if not root.is_dir():
        raise MigrationError(f"migrations directory {str(root)!r} does not exist")
    ups: dict[int, tuple[str, Path]] = {}
    downs: dict[int, tuple[str, Path]] = {}
    for path in sorted(root.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: not a migration file name (expected 0001_name.up.sql / .down.sql)",
                path=str(path),
            )
        _register(
            ups if match["dir"] == "up" else downs, int(match["version"]), match["name"], path
        )
    _refuse_orphans(ups, downs)
    return [_pair(version, ups[version], downs) for version in sorted(ups)]


def next_version(directory: str | Path) -> int:
    """The version ``create`` gives to a new migration."""
    root = Path(directory)
    versions = [int(m["version"]) for p in root.glob("*.sql") if (m := _NAME.match(p.name))]
    return max(versions, default=0) + 1


def _register(seen: dict[int, tuple[str, Path]], version: int, name: str, path: Path) -> None:
    if version <= 0:
        raise MigrationError(f"{path.name}: versions start at 1", path=str(path))
    if version in seen:
        raise MigrationError(
            f"duplicate migration version {version}: {seen[version][1].name} and {path.name}",
            path=str(path),
        )
    seen[version] = (name, path)


def _pair(version: int, up: tuple[str, Path], downs: dict[int, tuple[str, Path]]) -> MigrationFile:
    name, up_path = up
    down = downs.get(version)
    if down is None:
        raise MigrationError(
            f"{up_path.name}: missing down file {version:04d}_{name}.down.sql "
            "(every migration must be reversible)",
            path=str(up_path),
        )
    if down[0] != name:
        raise MigrationError(
            f"version {version}: up file {up_path.name} and down file {down[1].name} disagree "
            "on the name",
            path=str(down[1]),
        )
    checksum = hashlib.sha256(up_path.read_bytes()).hexdigest()
    return MigrationFile(version, name, up_path, down[1], checksum)


def _refuse_orphans(ups: dict[int, tuple[str, Path]], downs: dict[int, tuple[str, Path]]) -> None:
    for version, (_, path) in downs.items():
        if version not in ups:
            raise MigrationError(f"{path.name}: down file without an up file", path=str(path))
