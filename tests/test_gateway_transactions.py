"""Gateway transactions: lifetimes, the reaper, one call at a time, ids bound to their caller."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import asyncpg
import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, open_rds_data, param
from polling import POLL_CAP, wait_for_active_query

from tenantdb.local import LocalDataApi, LocalPostgres


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


async def _gateway_backends(local_pg: LocalPostgres, database: str) -> list[Any]:
    conn = await asyncpg.connect(local_pg.dsn("postgres", database))
    try:
        return list(
            await conn.fetch(
                "select state from pg_stat_activity "
                "where application_name = 'tenantdb-dataapi' and datname = $1",
                database,
            )
        )
    finally:
        await conn.close()


async def test_reaper_rolls_back_idle_transaction_without_another_call(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with (
        LocalDataApi(local_pg, transaction_idle_timeout=1.0) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        tx = await api.begin()
        await api.execute("select 1", transactionId=tx)
        assert gw.open_transactions == 1
        with anyio.fail_after(POLL_CAP):
            while gw.open_transactions:  # noqa: ASYNC110 - polling the reaper's effect
                await anyio.sleep(0.05)
        states = [r["state"] for r in await _gateway_backends(local_pg, gateway_db)]
        assert "idle in transaction" not in states
        with pytest.raises(ClientError) as err:
            await api.commit(tx)
        assert code(err.value) == "TransactionNotFoundException"
        assert "expired" in err.value.response["Error"]["Message"]


async def test_max_age_ends_a_busy_transaction(local_pg: LocalPostgres, gateway_db: str) -> None:
    async with (
        LocalDataApi(local_pg, transaction_idle_timeout=30, transaction_max_age=0.5) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        tx = await api.begin()
        error: ClientError | None = None
        with anyio.fail_after(10):
            while error is None:  # never idle, yet it must end once it is older than max age
                try:
                    await api.execute("select 1", transactionId=tx)
                except ClientError as exc:
                    error = exc
                await anyio.sleep(0.05)
        assert code(error) == "TransactionNotFoundException"


_IDLE = 1.0
"""Idle timeout of the keep-alive test: 20x the gap between its calls."""


async def test_activity_keeps_a_transaction_alive(local_pg: LocalPostgres, gateway_db: str) -> None:
    async with (
        LocalDataApi(local_pg, transaction_idle_timeout=_IDLE) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        tx = await api.begin()
        # Calls 0.05 s apart (far below the idle timeout) for twice the idle timeout in total.
        start = time.monotonic()
        while time.monotonic() - start < 2 * _IDLE:
            await api.execute("select 1", transactionId=tx)
            await anyio.sleep(0.05)
        assert (await api.commit(tx))["transactionStatus"] == "Transaction Committed"


async def test_still_running_applies_to_commit_too(local_pg: LocalPostgres, api: Api) -> None:
    tx = await api.begin()
    slow = asyncio.ensure_future(api.execute("select pg_sleep(2) as still", transactionId=tx))
    await wait_for_active_query(local_pg, api.database, "pg_sleep(2) as still")
    with pytest.raises(ClientError) as err:
        await api.commit(tx)
    assert err.value.response["Error"]["Message"] == "Transaction is still running a query"
    await slow
    assert (await api.commit(tx))["transactionStatus"] == "Transaction Committed"


async def test_transaction_id_is_bound_to_its_secret(api: Api, tenant_api: Api) -> None:
    """A tenant-secret caller cannot ride an admin (BYPASSRLS) transaction, and vice versa."""
    admin_tx = await api.begin()
    with pytest.raises(ClientError) as err:
        await tenant_api.execute("select count(*) from rls_items", transactionId=admin_tx)
    assert code(err.value) == "TransactionNotFoundException"
    with pytest.raises(ClientError):
        await tenant_api.commit(admin_tx)
    tenant_tx = await tenant_api.begin()
    with pytest.raises(ClientError):
        await api.execute("select 1", transactionId=tenant_tx)
    await api.rollback(admin_tx)
    await tenant_api.rollback(tenant_tx)


async def test_commit_after_a_failed_statement_answers_like_aws(api: Api) -> None:
    """aurora-data-api's v2-maintained tests commit after an expected error and expect no
    error: AWS answers "Transaction Committed", and nothing was written (PostgreSQL rolled
    the aborted transaction back)."""
    k = "aborted-commit-aws"
    tx = await api.begin()
    await api.execute("insert into t(tag) values (:k)", param("k", stringValue=k), transactionId=tx)
    with pytest.raises(ClientError):
        await api.execute("select 1/0", transactionId=tx)
    assert (await api.commit(tx))["transactionStatus"] == "Transaction Committed"
    res = await api.execute("select count(*) from t where tag = :k", param("k", stringValue=k))
    assert res["records"] == [[{"longValue": 0}]]
    with pytest.raises(ClientError) as err:
        await api.commit(tx)
    assert code(err.value) == "TransactionNotFoundException"


async def test_commit_of_aborted_transaction_is_an_error_when_asked(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with (
        LocalDataApi(local_pg, aborted_commit="error") as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        k = "aborted-commit"
        tx = await api.begin()
        await api.execute(
            "insert into t(tag) values (:k)", param("k", stringValue=k), transactionId=tx
        )
        with pytest.raises(ClientError):
            await api.execute("select 1/0", transactionId=tx)
        with pytest.raises(ClientError) as err:
            await api.commit(tx)
        assert code(err.value) == "DatabaseErrorException"
        assert err.value.response["Error"]["Message"].endswith("SQLState: 25P02")
        res = await api.execute("select count(*) from t where tag = :k", param("k", stringValue=k))
        assert res["records"] == [[{"longValue": 0}]]


async def test_session_settings_persist_inside_a_transaction(api: Api) -> None:
    tx = await api.begin()
    await api.execute("set search_path to pg_catalog", transactionId=tx)
    res = await api.execute("show search_path", transactionId=tx)
    assert res["records"] == [[{"stringValue": "pg_catalog"}]]
    await api.rollback(tx)


async def test_no_transaction_left_open_after_commit_and_rollback(
    gateway: LocalDataApi, api: Api
) -> None:
    before = gateway.open_transactions
    txs = [await api.begin() for _ in range(3)]
    assert gateway.open_transactions == before + 3
    await api.commit(txs[0])
    await api.rollback(txs[1])
    await api.commit(txs[2])
    assert gateway.open_transactions == before


async def test_continue_after_timeout_in_a_transaction_next_call_sees_it(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    """aurora-data-api's test_continue_after_timeout: the statement times out but continues;
    the next call on the transaction waits for it (one JDBC connection per transaction runs
    one statement at a time) and sees its row, rather than "still running" at once."""
    async with (
        # the continuing statement outlives the timeout by 0.3 s; the next call may wait up to
        # one statement timeout (1 s) for it
        LocalDataApi(local_pg, statement_timeout=1.0) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        k = "continue-after-timeout-tx"
        tx = await api.begin()
        with pytest.raises(ClientError) as err:
            await api.execute(
                "insert into t(tag) select :k from pg_sleep(1.3)",
                param("k", stringValue=k),
                continueAfterTimeout=True,
                transactionId=tx,
            )
        assert code(err.value) == "StatementTimeoutException"
        res = await api.execute(
            "select count(*) from t where tag = :k", param("k", stringValue=k), transactionId=tx
        )
        assert res["records"] == [[{"longValue": 1}]]
        assert (await api.commit(tx))["transactionStatus"] == "Transaction Committed"


async def test_continue_after_timeout_then_commit_waits_for_the_statement(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with (
        # the continuing statement outlives the timeout by 0.3 s; the next call may wait up to
        # one statement timeout (1 s) for it
        LocalDataApi(local_pg, statement_timeout=1.0) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        k = "continue-after-timeout-commit"
        tx = await api.begin()
        with pytest.raises(ClientError):
            await api.execute(
                "insert into t(tag) select :k from pg_sleep(1.3)",
                param("k", stringValue=k),
                continueAfterTimeout=True,
                transactionId=tx,
            )
        assert (await api.commit(tx))["transactionStatus"] == "Transaction Committed"
        res = await api.execute("select count(*) from t where tag = :k", param("k", stringValue=k))
        assert res["records"] == [[{"longValue": 1}]]
