"""``tenantdb migrate create NAME``: the next-numbered empty up/down pair."""

from __future__ import annotations

import re
from pathlib import Path

from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.migrate._files import next_version

__all__ = ("create",)

_VALID = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def create(
    directory: str | Path,
    name: str,
    *,
    tenant_table: str | None = None,
    tenant_role: str = "app_tenant",
) -> tuple[Path, Path]:
    """Write ``NNNN_<name>.up.sql`` and ``.down.sql``; return both.

    Empty but for a comment, or, with ``tenant_table``, a new tenant-scoped table with the RLS
    conventions (``tenant_id`` leading the key and an index, RLS enabled and forced, one
    ``FOR ALL`` policy for ``tenant_role``, DML grants) that ``tenantdb doctor`` accepts.
    """
    if not _VALID.match(name):
        raise MigrationError(
            f"migration name {name!r} must be lowercase letters, digits and underscores"
        )
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    stem = f"{next_version(root):04d}_{name}"
    up, down = root / f"{stem}.up.sql", root / f"{stem}.down.sql"
    if tenant_table is not None:
        from tenantdb.scaffold import tenant_table_migration

        up_sql, down_sql = tenant_table_migration(tenant_table, tenant_role=tenant_role)
        up.write_text(f"-- {stem}\n{up_sql}", encoding="utf-8")
        down.write_text(f"-- {stem}: undo the up file.\n{down_sql}", encoding="utf-8")
        return up, down
    up.write_text(
        f"-- {stem}: runs in one transaction under SET LOCAL ROLE <owner>.\n"
        "-- Put `-- tenantdb:no-transaction` on the first line for CREATE INDEX CONCURRENTLY.\n",
        encoding="utf-8",
    )
    down.write_text(f"-- {stem}: undo everything the up file does.\n", encoding="utf-8")
    return up, down
