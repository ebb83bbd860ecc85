"""The Data API transport is the ``dataapi`` extra: asyncpg-only services never import it."""

from __future__ import annotations

import subprocess
import sys

from tenantdb.local import LocalPostgres

_BLOCK = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('aioboto3', 'aiobotocore', 'botocore', 'boto3'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
)

_ASYNCPG_ONLY = """
import sys
import anyio
import tenantdb
import tenantdb.migrate

ADMIN, TENANT, SCHEMA = sys.argv[1:4]

async def main():
    await tenantdb.migrate.status(ADMIN, SCHEMA)
    async with tenantdb.Database(admin=ADMIN, tenant=TENANT) as db:
        ctx = tenantdb.TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        async with db.tenant(ctx) as tx:
            pass
        async with db.admin(reason="extras test") as adm:
            pass
        await db.health()

anyio.run(main)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("aioboto3", "aiobotocore", "botocore"))
print("heavy:", heavy)
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_asyncpg_lane_never_imports_aioboto3_or_botocore(local_pg: LocalPostgres) -> None:
    out = _python(_ASYNCPG_ONLY, local_pg.admin_dsn, local_pg.tenant_dsn, "schema")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "heavy: []"


def test_it_also_runs_with_the_extra_not_installed(local_pg: LocalPostgres) -> None:
    out = _python(_BLOCK + _ASYNCPG_ONLY, local_pg.admin_dsn, local_pg.tenant_dsn, "schema")
    assert out.returncode == 0, out.stderr


def test_a_data_api_config_without_the_extra_is_one_line_naming_it() -> None:
    code = _BLOCK + (
        "import tenantdb\n"
        "api = tenantdb.DataApi(resource_arn='arn:aws:rds:us-east-1:1:cluster:c',\n"
        "                       secret_arn='arn:aws:secretsmanager:us-east-1:1:secret:s',\n"
        "                       database='d')\n"
        "try:\n"
        "    tenantdb.Database(tenant=api)\n"
        "except tenantdb.ConfigurationError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    tenantdb.Database.from_env({'USE_DATA_API': 'true'})\n"
        "except tenantdb.ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all("pip install 'tenantdb[dataapi]'" in line for line in lines)
