"""``tenantdb init [DIR]``: a working project skeleton on your own schema.

It writes ``sqlc.yaml`` (the tenantdb process plugin, sqlc's managed database analysis),
``schema/0001_init.{up,down}.sql`` (the ``app`` schema, the ``app.current_tenant_id()``
helpers, a ``tenants`` registry and a tenant-scoped ``projects`` table with a forced
``FOR ALL`` policy), ``queries/projects.sql``, ``tests/`` using the tenantdb pytest plugin,
a ``pyproject.toml`` holding the pytest configuration, and a README. Then::

    tenantdb codegen && pytest

Roles are not created by migrations (a DBA creates them once, docs/schema.md "Roles"); the
embedded server and the pytest plugin create them for you.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tenantdb.errors import ConfigurationError

__all__ = ("add_arguments", "init_project", "package_name", "run", "tenant_table_migration")

_PACKAGE = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
_IDENT = re.compile(r"\A[a-z_][a-z0-9_]{0,62}\Z")


def package_name(directory: Path) -> str:
    """A Python package name derived from the project directory (``my-app`` -> ``my_app_db``)."""
    base = re.sub(r"[^a-z0-9_]+", "_", directory.resolve().name.lower()).strip("_") or "app"
    if base[0].isdigit():
        base = f"p_{base}"
    return f"{base}_db"


def tenant_table_migration(
    table: str, *, tenant_role: str = "app_tenant", registry: str | None = "tenants"
) -> tuple[str, str]:
    """The up and down SQL of a new tenant-scoped table with the RLS conventions.

    ``tenant_id`` leads the primary key and every index, defaults to the transaction's tenant,
    and references the registry; RLS is enabled and FORCEd with one ``FOR ALL`` policy
    ``USING (p) WITH CHECK (p)`` for the tenant role, which gets DML grants only.
    ``tenantdb doctor`` accepts the result.
    """
    for label, name in (("--tenant-table", table), ("--tenant-role", tenant_role)):
        if not _IDENT.match(name):
            raise ConfigurationError(
                f"{label} must be a lowercase SQL identifier (a-z, 0-9, _), got {name!r}"
            )
    fk = f" REFERENCES {registry} (id) ON DELETE CASCADE" if registry else ""
    predicate = "tenant_id = (SELECT app.current_tenant_id())"
    up = f"""\
-- The tenant-scoped table {table}. The conventions (docs/schema.md, checked by tenantdb doctor):
-- tenant_id leads the primary key and every index, RLS is enabled and FORCEd (the owner is
-- filtered too), one FOR ALL policy with the same predicate in USING and WITH CHECK, and the
-- tenant role gets DML only (never TRUNCATE, REFERENCES or TRIGGER).
CREATE TABLE {table} (
    tenant_id  uuid        NOT NULL DEFAULT app.current_tenant_id(){fk},
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    -- your columns here; unique keys must include tenant_id: UNIQUE (tenant_id, name)
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX {table}_tenant_created_at_idx ON {table} (tenant_id, created_at);

ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table} AS PERMISSIVE FOR ALL TO {tenant_role}
    USING ({predicate})
    WITH CHECK ({predicate});
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {tenant_role};
"""
    down = f"DROP TABLE {table};\n"
    return up, down


_INIT_UP = """\
-- The first migration: the RLS building blocks and one tenant-scoped example table.
--
-- Roles are created once, outside migrations (docs/schema.md "Roles"): app_owner (NOLOGIN,
-- owns every object: `tenantdb migrate` runs each file under SET LOCAL ROLE app_owner),
-- app_admin (LOGIN, BYPASSRLS, member of app_owner: migrations, seeding, db.admin()) and
-- app_tenant (LOGIN, DML grants only: the tenant lane). The embedded server
-- (`tenantdb postgres`) and the pytest plugin create them for you.

-- The helpers live in their own schema; the tenant role may use it, never create in it.
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO app_tenant;
GRANT USAGE ON SCHEMA public TO app_tenant;

-- The tenant of the current transaction (set by db.tenant(ctx)), NULL when unset; nullif
-- because a pooled connection shows '' after an earlier transaction set it. STABLE, never
-- IMMUTABLE (a cached plan would keep one tenant). A malformed value fails the cast.
CREATE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT nullif(pg_catalog.current_setting('app.current_tenant_id', true), '')::uuid $$;

-- The acting user (TenantContext.user_id), NULL when unset. text, so that opaque identity
-- provider ids (auth0|...) work as well as UUIDs.
CREATE FUNCTION app.current_user_id() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT nullif(pg_catalog.current_setting('app.current_user_id', true), '') $$;

REVOKE ALL ON FUNCTION app.current_tenant_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_tenant_id() TO app_tenant;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO app_tenant;

-- The tenant registry: protected on id, so a tenant sees only its own row. Creating tenants
-- is admin work (db.admin()).
CREATE TABLE tenants (
    id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants AS PERMISSIVE FOR ALL TO app_tenant
    USING (id = (SELECT app.current_tenant_id()))
    WITH CHECK (id = (SELECT app.current_tenant_id()));
GRANT SELECT ON tenants TO app_tenant;

-- A tenant-scoped table (`tenantdb migrate create NAME --tenant-table T` writes more).
CREATE TABLE projects (
    tenant_id  uuid        NOT NULL DEFAULT app.current_tenant_id()
                           REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    name       text        NOT NULL CHECK (name <> ''),
    archived   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- Unique per tenant: a global UNIQUE (name) would tell one tenant another's names.
    CONSTRAINT projects_tenant_name_key UNIQUE (tenant_id, name)
);
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON projects AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
GRANT SELECT, INSERT, UPDATE, DELETE ON projects TO app_tenant;
"""

_INIT_DOWN = """\
DROP TABLE projects;
DROP TABLE tenants;
DROP FUNCTION app.current_user_id();
DROP FUNCTION app.current_tenant_id();
DROP SCHEMA app;
"""

_QUERIES = """\
-- name: CreateProject :one
-- tenant_id defaults to the transaction's tenant (app.current_tenant_id()).
INSERT INTO projects (name) VALUES (@name) RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE id = @id;

-- name: ListProjects :many
-- Keyset pagination: pass the last name seen (NULL for the first page).
SELECT * FROM projects
WHERE NOT archived AND (sqlc.narg(after_name)::text IS NULL OR name > sqlc.narg(after_name))
ORDER BY name
LIMIT @page_limit;

-- name: ArchiveProject :execrows
UPDATE projects SET archived = true WHERE id = @id;

-- name: CountProjects :one
SELECT count(*) AS projects FROM projects;
"""

_SQLC = """\
# sqlc configuration. `tenantdb codegen` runs the real sqlc with the tenantdb process plugin:
# it starts an embedded PostgreSQL for sqlc's database-backed analysis and sets
# TENANTDB_SQLC_DATABASE_URI. `tenantdb codegen --check` fails when generated/ is stale.
version: "2"
servers:
  - engine: postgresql
    uri: ${{TENANTDB_SQLC_DATABASE_URI}}
plugins:
  - name: tenantdb
    process:
      cmd: tenantdb-sqlc-gen
      format: json
    env:
      - TENANTDB_CODEGEN_DUMP
sql:
  - engine: postgresql
    schema: schema
    queries: queries
    database:
      managed: true
    codegen:
      - plugin: tenantdb
        out: generated/{package}
        options:
          package: {package}
"""

_PYPROJECT = """\
# Test configuration. The tenantdb pytest plugin is installed with tenantdb (docs/testing.md).
[tool.pytest.ini_options]
pythonpath = ["generated", "."]
testpaths = ["tests"]
anyio_mode = "auto"
tenantdb_migrations = "schema"
# the tenant lane of tenantdb_database: asyncpg, and the RDS Data API through a local gateway
tenantdb_transports = ["asyncpg", "data_api"]
"""

_CONFTEST = """\
\"\"\"Fixtures of this project, built on the tenantdb pytest plugin's (tenantdb_*).

The plugin gives every test its own copy of a database migrated once per session,
``tenantdb_database`` (an opened tenantdb.Database, parametrized over both transports),
``tenantdb_tenant`` (creates a tenant row and returns its TenantContext) and ``tenantdb_jwt``
(mints tokens for middleware tests).
\"\"\"

from __future__ import annotations

import pytest

import tenantdb


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def acme(tenantdb_tenant) -> tenantdb.TenantContext:
    return await tenantdb_tenant(name="Acme")


@pytest.fixture
async def globex(tenantdb_tenant) -> tenantdb.TenantContext:
    return await tenantdb_tenant(name="Globex")
"""

_TEST = """\
\"\"\"The example table, through the generated functions, on both transports.\"\"\"

from __future__ import annotations

import pytest
from {package} import projects

import tenantdb


async def test_a_tenant_sees_only_its_own_projects(tenantdb_database, acme, globex) -> None:
    async with tenantdb_database.tenant(acme) as tx:
        roadmap = await projects.create_project(tx, name="Roadmap")
    assert roadmap is not None
    async with tenantdb_database.tenant(globex) as tx:
        assert await projects.get_project(tx, id=roadmap.id) is None
        assert await projects.list_projects(tx, after_name=None, page_limit=10) == []
        assert await projects.archive_project(tx, id=roadmap.id) == 0
    async with tenantdb_database.tenant(acme, readonly=True) as tx:
        mine = await projects.list_projects(tx, after_name=None, page_limit=10)
    assert [p.name for p in mine] == ["Roadmap"]


async def test_names_are_unique_per_tenant(tenantdb_database, acme, globex) -> None:
    for ctx in (acme, globex):
        async with tenantdb_database.tenant(ctx) as tx:
            await projects.create_project(tx, name="Launch")
    with pytest.raises(tenantdb.errors.UniqueViolation):
        async with tenantdb_database.tenant(acme) as tx:
            await projects.create_project(tx, name="Launch")


async def test_every_test_starts_from_the_migrated_template(tenantdb_database) -> None:
    async with tenantdb_database.admin(reason="test") as adm:
        count = await projects.count_projects(adm)
    assert count == 0


async def test_a_token_becomes_the_tenant_context(tenantdb_jwt, acme) -> None:
    verifier = tenantdb_jwt.verifier()
    assert await verifier.verify(tenantdb_jwt.mint(acme)) == acme
"""

_README = """\
# {name}

A service schema on [tenantdb](https://pypi.org/project/tenantdb/): typed async queries
generated by sqlc, tenant isolation enforced by PostgreSQL row-level security, on asyncpg or
the AWS RDS Data API.

## Setup

```sh
python3 -m venv .venv && . .venv/bin/activate
pip install 'tenantdb[local,codegen,jwt,dataapi]' pytest
tenantdb codegen           # schema/ + queries/ -> generated/{package}/
pytest                     # your tests, on both transports, against an embedded PostgreSQL
```

## Layout

- `schema/`: migrations (`NNNN_name.up.sql` / `.down.sql`). `tenantdb migrate create NAME
  --tenant-table T` adds a tenant-scoped table with the RLS boilerplate.
- `queries/`: annotated SQL (`-- name: GetProject :one`).
- `generated/{package}/`: `tenantdb codegen` output, msgspec Structs and one async function
  per query (never edited by hand).
- `tests/`: pytest with the tenantdb plugin's fixtures (`tenantdb_database`,
  `tenantdb_tenant`, `tenantdb_jwt`).

## Everyday commands

```sh
tenantdb postgres                         # a local server; prints DATABASE_URL etc.
tenantdb migrate up                       # apply schema/ to $DATABASE_URL (the admin role)
tenantdb doctor                           # audit the live database's RLS setup
tenantdb migrate create add_tasks --tenant-table tasks
tenantdb codegen --check                  # in CI: fail when generated/ is stale
```

In code:

```python
import tenantdb
from {package} import projects

db = tenantdb.Database.from_env()   # DATABASE_URL (admin), TENANT_DATABASE_URL (tenant)
async with db:
    ctx = tenantdb.TenantContext(tenant_id=tenant_id)
    async with db.tenant(ctx) as tx:            # one RLS transaction
        project = await projects.create_project(tx, name="Roadmap")
```
"""

_GITIGNORE = """\
__pycache__/
.venv/
.pytest_cache/
"""


def _files(name: str, package: str) -> dict[str, str]:
    return {
        "sqlc.yaml": _SQLC.format(package=package),
        "schema/0001_init.up.sql": _INIT_UP,
        "schema/0001_init.down.sql": _INIT_DOWN,
        "queries/projects.sql": _QUERIES,
        "pyproject.toml": _PYPROJECT,
        "tests/conftest.py": _CONFTEST,
        "tests/test_projects.py": _TEST.format(package=package),
        "README.md": _README.format(name=name, package=package),
        ".gitignore": _GITIGNORE,
    }


def init_project(
    directory: str | Path, *, package: str | None = None, force: bool = False
) -> list[Path]:
    """Write the skeleton into ``directory`` (created if missing); return the files written.

    Existing files are never overwritten unless ``force``: a collision raises
    ``ConfigurationError`` before anything is written.
    """
    root = Path(directory)
    pkg = package or package_name(root)
    if not _PACKAGE.match(pkg):
        raise ConfigurationError(
            f"--package must be a Python package name (a-z, 0-9, _), got {pkg!r}"
        )
    files = _files(root.resolve().name, pkg)
    clashes = [rel for rel in files if (root / rel).exists()]
    if clashes and not force:
        raise ConfigurationError(
            f"{root}: {', '.join(clashes)} already exist(s); pass --force to overwrite"
        )
    written: list[Path] = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    (root / "generated" / pkg).mkdir(parents=True, exist_ok=True)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", default=".", help="project directory (default: the current one)"
    )
    parser.add_argument(
        "--package",
        default=None,
        help="package name of the generated code (default: the directory name + _db)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    try:
        written = init_project(args.directory, package=args.package, force=args.force)
    except ConfigurationError as exc:
        print(f"tenantdb init: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    root = Path(args.directory)
    print(
        "\nnext:\n"
        f"  cd {root}\n"
        "  pip install 'tenantdb[local,codegen,jwt,dataapi]' pytest\n"
        "  tenantdb codegen\n"
        "  pytest"
    )
    return 0
