"""One cold start, in a fresh interpreter: ``python _cold_child.py MODE [ARGS…]``.

Prints one JSON object: seconds from this script's first line to the end of the imports
(``import_s``) and to the end of the first tenant query (``first_s``, when the mode runs one),
and whether botocore was imported. Run by ``s7_coldstart`` only.
"""

import time

T0 = time.perf_counter()

import asyncio  # noqa: E402 - the clock must start before any import
import json  # noqa: E402
import sys  # noqa: E402


def _imports(mode: str) -> None:
    if mode in ("asyncpg", "asyncpg_first"):
        import asyncpg
    elif mode in ("tenantdb", "tenantdb_first"):
        from hospitality import bookings

        import tenantdb
    elif mode in ("transports_dataapi", "aioboto3_first"):
        import aioboto3  # noqa: F401
        import asyncpg  # noqa: F401
    elif mode in ("tenantdb_dataapi", "tenantdb_dataapi_first"):
        from hospitality import bookings  # noqa: F401

        import tenantdb
        import tenantdb.drivers.dataapi.lane  # noqa: F401
    else:
        raise SystemExit(f"unknown mode {mode}")


async def _first(mode: str, args: list[str]) -> None:
    if mode == "asyncpg_first":
        import asyncpg

        dsn, tenant, booking = args
        conn = await asyncpg.connect(dsn)
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_tenant_id', $1, true)", tenant)
            row = await conn.fetchrow("SELECT * FROM bookings WHERE id = $1", booking)
        await conn.close()
    elif mode == "tenantdb_first":
        from hospitality import bookings

        import tenantdb

        dsn, tenant, booking = args
        ctx = tenantdb.TenantContext(tenant_id=tenant)
        async with tenantdb.Database(tenant=dsn) as db, db.tenant(ctx) as tx:
            row = await bookings.get_booking(tx, id=__import__("uuid").UUID(booking))
    elif mode == "aioboto3_first":
        import aioboto3

        endpoint, resource, secret, database, tenant, booking = args
        base = {"resourceArn": resource, "secretArn": secret}
        async with aioboto3.Session().client(
            "rds-data",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106
        ) as c:
            tx = (await c.begin_transaction(**base, database=database))["transactionId"]
            await c.execute_statement(
                **base, sql=f"SET LOCAL app.current_tenant_id = '{tenant}'", transactionId=tx
            )
            row = await c.execute_statement(
                **base,
                sql="SELECT * FROM bookings WHERE id = :id::uuid",
                parameters=[{"name": "id", "value": {"stringValue": booking}}],
                transactionId=tx,
            )
            await c.commit_transaction(**base, transactionId=tx)
    elif mode == "tenantdb_dataapi_first":
        import uuid

        from hospitality import bookings

        import tenantdb

        endpoint, resource, secret, database, tenant, booking = args
        api = tenantdb.DataApi(
            resource_arn=resource,
            secret_arn=secret,
            database=database,
            endpoint_url=endpoint,
            region="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106
        )
        ctx = tenantdb.TenantContext(tenant_id=tenant)
        async with tenantdb.Database(tenant=api) as db, db.tenant(ctx) as tx:
            row = await bookings.get_booking(tx, id=uuid.UUID(booking))
    else:
        return
    assert row is not None


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    _imports(mode)
    t_import = time.perf_counter() - T0
    asyncio.run(_first(mode, args))
    t_first = time.perf_counter() - T0
    print(
        json.dumps(
            {
                "import_s": t_import,
                "first_s": t_first if mode.endswith("_first") else None,
                "botocore": "botocore" in sys.modules,
            }
        )
    )


if __name__ == "__main__":
    main()
