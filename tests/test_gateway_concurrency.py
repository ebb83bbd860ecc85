"""Many concurrent RLS transactions through the gateway under a small connection cap."""

from __future__ import annotations

import random
import uuid

import anyio
from fix_gateway import Api, open_rds_data, param

from tenantdb.local import LocalDataApi, LocalPostgres


async def test_concurrent_tenant_transactions_stay_isolated(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    tenants = [uuid.uuid4().hex for _ in range(10)]
    rng = random.Random(5)
    seen: dict[str, set[str]] = {t: set() for t in tenants}
    async with (
        LocalDataApi(local_pg, max_connections=8, connection_timeout=60) as gw,
        open_rds_data(gw.endpoint_url, max_pool_connections=100) as client,
    ):
        admin = Api(client, gw, gateway_db)
        tenant = Api(client, gw, gateway_db, admin=False)
        for i, t in enumerate(tenants):
            await admin.execute(
                "insert into rls_items(tenant, v) values (:t, :v)",
                param("t", stringValue=t),
                param("v", longValue=i + 1),
            )

        async def unit(t: str) -> None:
            tx = await tenant.begin()
            try:
                await tenant.execute(
                    "select set_config('app.tenant_id', :t, true)",
                    param("t", stringValue=t),
                    transactionId=tx,
                )
                res = await tenant.execute("select tenant from rls_items", transactionId=tx)
                seen[t].update(row[0]["stringValue"] for row in res["records"])
                await tenant.commit(tx)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await tenant.rollback(tx)
                raise

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(unit, rng.choice(tenants))
        assert all(s <= {t} for t, s in seen.items())
        assert sum(bool(s) for s in seen.values()) >= 5
        assert gw.open_transactions == 0
        assert gw.open_connections <= 8
