"""The Data API lane's own promises: call shape, retries, faults, limits, botocore's array bug.

Everything runs over real HTTP against ``tenantdb.local.LocalDataApi`` with real aioboto3
clients; faults come from the gateway's injection control. Calls are counted by a botocore
``provide-client-params`` hook on the lane's client, which also sees every request's params.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections import Counter
from typing import Any

import botocore
import msgspec
import pytest
from fix_gateway import open_rds_data
from fix_lanes import FAST_RETRY, data_api_lane, open_lane_db
from fix_schema import FIXTURE_COUNTS, TenantSet
from hospitality import bookings, models, users
from polling import wait_for_active_query

from tenantdb import codecs, errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.dataapi.errors import map_dataapi_error
from tenantdb.drivers.dataapi.lane import BATCH_MAX_BYTES, BATCH_MAX_SETS, RetryPolicy
from tenantdb.local.dataapi import Fault, LocalDataApi
from tenantdb.query import Column, Command, Param, Query


class Calls:
    """Every rds-data call of one lane: operation names and their request params.

    ``log`` is what the lane asked botocore for (one entry per API call); ``http()`` is what
    reached the gateway (one per HTTP request, so an SDK-level resend would show there).
    """

    def __init__(self, db: Database, gateway: LocalDataApi | None = None) -> None:
        self.log: list[tuple[str, dict[str, Any]]] = []
        self._gateway = gateway
        self._base = Counter(gateway.call_counts) if gateway is not None else Counter()
        client = data_api_lane(db).client.client
        client.meta.events.register("provide-client-params.rds-data.*", self._hook)

    def http(self) -> Counter[str]:
        assert self._gateway is not None
        return Counter(self._gateway.call_counts) - self._base

    def _hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.log.append((model.name, dict(params)))

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.log)


def _ctx(tenants: TenantSet, user: bool = False) -> TenantContext:
    a = tenants.a
    return TenantContext(tenant_id=a.tenant_id, user_id=a.users[0] if user else None)


async def _admin_count(db: Database, sql: str) -> int:
    query: Query[Any] = Query(
        name="AdminCount",
        command=Command.ONE,
        sql=sql,
        data_api_sql=sql,
        from_record=lambda r: r[0],
    )
    async with db.admin(reason="test check") as adm:
        value = await adm.one(query, ())
    assert isinstance(value, int)
    return value


# -- call shape ------------------------------------------------------------------------------


async def test_rls_transaction_is_exactly_n_plus_3_calls_all_in_the_transaction(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    for n in (0, 1, 3):
        calls = Calls(data_api_db, gateway)
        async with data_api_db.tenant(_ctx(tenants_abc, user=True)) as tx:
            for _ in range(n):
                assert await bookings.count_bookings(tx) == 2
        expected = Counter(BeginTransaction=1, ExecuteStatement=n + 1, CommitTransaction=1)
        assert calls.counts() == expected
        assert calls.http() == expected
        tx_ids = {p.get("transactionId") for name, p in calls.log if name != "BeginTransaction"}
        assert len(tx_ids) == 1 and None not in tx_ids
        (_, context), *_ = (c for c in calls.log if c[0] == "ExecuteStatement")
        sql = context["sql"]
        assert sql.startswith("SELECT set_config('statement_timeout', ")
        a = tenants_abc.a
        # the ids travel bound (issue 9, finding 5): the statement text holds none
        assert "set_config('app.current_tenant_id', :v1, true)" in sql
        assert "set_config('app.current_user_id', :v2, true)" in sql
        assert a.tenant_id not in sql and a.users[0] not in sql
        assert context["parameters"] == [
            {"name": "v1", "value": {"stringValue": a.tenant_id}},
            {"name": "v2", "value": {"stringValue": a.users[0]}},
        ]
        assert all("database" not in p for name, p in calls.log if "transactionId" in p)


async def test_extra_variables_travel_bound_in_the_same_call(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    calls = Calls(data_api_db)
    odd = "it's; DROP TABLE users; --"
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id, variables=(("app.note", odd),))
    async with data_api_db.tenant(ctx) as tx:
        assert await tx.one(_NOTE, ()) == odd
    assert calls.counts()["ExecuteStatement"] == 2
    context = next(p for n, p in calls.log if n == "ExecuteStatement")
    assert odd not in context["sql"]
    assert context["parameters"][-1] == {"name": "v3", "value": {"stringValue": odd}}


_NOTE: Query[Any] = Query(
    name="Note",
    command=Command.ONE,
    sql="SELECT current_setting('app.note')",
    data_api_sql="SELECT current_setting('app.note')",
    from_record=lambda r: r[0],
)


async def test_readonly_is_free_and_isolation_costs_one_call(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    calls = Calls(data_api_db)
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
        await bookings.count_bookings(tx)
    assert calls.counts()["ExecuteStatement"] == 2
    calls.log.clear()
    async with data_api_db.tenant(_ctx(tenants_abc), isolation="serializable") as tx:
        await bookings.count_bookings(tx)
    assert calls.counts()["ExecuteStatement"] == 3
    set_tx = next(p["sql"] for n, p in calls.log if n == "ExecuteStatement")
    assert set_tx == "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"


async def test_unsupported_query_raises_before_any_call(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    query: Query[Any] = Query(
        name="GetSlot",
        command=Command.ONE,
        sql="SELECT during FROM slots",
        data_api_sql="SELECT during FROM slots",
        columns=(Column(name="during", pg_type="tstzrange"),),
        data_api_unsupported="column during has type tstzrange, which the Data API cannot return",
    )
    async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
        calls = Calls(data_api_db)
        with pytest.raises(errors.UnsupportedQueryError) as info:
            await tx.one(query, ())
        assert calls.log == []
    assert info.value.column == "during" and info.value.query == "GetSlot"
    assert "tstzrange" in str(info.value)


async def test_concurrent_calls_on_one_transaction_are_serialised(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    import anyio

    results: list[Any] = []
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:

        async def read() -> None:
            results.append(await bookings.count_bookings(tx))

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(read)
    assert results == [2] * 8


async def test_health_reports_the_data_api_lane(data_api_db: Database) -> None:
    health = await data_api_db.health()
    assert health.reachable and "tenant:data_api" in health.lanes
    assert health.server_version


# -- retries and faults (gateway fault injection) ---------------------------------------------


async def test_resuming_twice_then_success(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    calls = Calls(data_api_db)
    gateway.inject(Fault.RESUMING, times=2, operations=["BeginTransaction"])
    try:
        async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
            assert await bookings.count_bookings(tx) == 2
    finally:
        gateway.clear_faults()
    assert calls.counts()["BeginTransaction"] == 3


async def test_resuming_without_retries_is_typed(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    data_api_lane(data_api_db).retry = RetryPolicy(max_attempts=1)
    gateway.inject(Fault.RESUMING, times=1, operations=["BeginTransaction"])
    try:
        with pytest.raises(errors.DatabaseResumingError) as info:
            async with data_api_db.tenant(_ctx(tenants_abc)):
                pass
    finally:
        gateway.clear_faults()
    assert info.value.retryable


async def test_throttled_statement_is_retried_inside_the_transaction(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    calls = Calls(data_api_db)
    async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
        gateway.inject(Fault.THROTTLING, times=3, operations=["ExecuteStatement"])
        try:
            assert len(await users.list_users(tx)) == FIXTURE_COUNTS["users"]
        finally:
            gateway.clear_faults()
    assert calls.counts()["ExecuteStatement"] == 1 + 4


async def test_throttling_past_the_deadline_raises_throttled(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    data_api_lane(data_api_db).retry = RetryPolicy(
        deadline=0.05, base_delay=0.01, max_delay=0.02, resuming_delays=(0.01,)
    )
    gateway.inject(Fault.THROTTLING, duration=5, operations=["BeginTransaction"])
    try:
        with pytest.raises(errors.ThrottledError):
            async with data_api_db.tenant(_ctx(tenants_abc)):
                pass
    finally:
        gateway.clear_faults()


async def test_expired_transaction_mid_unit_of_work_writes_nothing(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    email = f"expired-{uuid.uuid4().hex[:8]}@example.com"
    calls = Calls(data_api_db)

    async def unit_of_work() -> None:
        async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
            await users.create_user(tx, email=email, display_name="E", role=models.UserRole.OWNER)
            gateway.inject(Fault.DROP_TRANSACTION, operations=["ExecuteStatement"])
            await users.list_users(tx)

    try:
        with pytest.raises(errors.TransactionExpiredError) as info:
            await unit_of_work()
    finally:
        gateway.clear_faults()
    # nothing of the block committed, so redoing the unit of work is safe (docs/errors.md)
    assert info.value.retryable and info.value.query == "ListUsers"
    assert calls.counts()["RollbackTransaction"] == 0  # the transaction is gone: nothing to undo
    assert (
        await _admin_count(data_api_db, f"SELECT count(*) FROM users WHERE email = '{email}'") == 0
    )
    assert gateway.open_transactions == 0


async def test_504_after_an_insert_is_not_resent(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    email = f"once-{uuid.uuid4().hex[:8]}@example.com"
    calls = Calls(data_api_db, gateway)

    async def insert() -> None:
        async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
            gateway.inject(
                Fault.DATABASE_UNAVAILABLE, when="after", operations=["ExecuteStatement"]
            )
            await users.create_user(tx, email=email, display_name="O", role=models.UserRole.OWNER)

    try:
        with pytest.raises(errors.ConnectionLostError) as info:
            await insert()
    finally:
        gateway.clear_faults()
    # the call is never resent; the block rolled back, so the unit of work is retryable
    assert info.value.retryable is True and info.value.query == "CreateUser"
    inserts = [p for n, p in calls.log if n == "ExecuteStatement" and "INSERT" in p["sql"]]
    assert len(inserts) == 1  # sent once, never resent
    assert calls.http()["ExecuteStatement"] == 2  # context + the INSERT: no SDK resend either
    assert calls.counts()["RollbackTransaction"] == 1
    assert (
        await _admin_count(data_api_db, f"SELECT count(*) FROM users WHERE email = '{email}'") == 0
    )


async def test_5xx_on_commit_is_outcome_unknown_and_not_resent(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    email = f"commit-{uuid.uuid4().hex[:8]}@example.com"
    calls = Calls(data_api_db, gateway)

    async def insert() -> None:
        async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
            await users.create_user(tx, email=email, display_name="C", role=models.UserRole.OWNER)
            gateway.inject(
                Fault.SERVICE_UNAVAILABLE, when="after", operations=["CommitTransaction"]
            )

    try:
        with pytest.raises(errors.ConnectionLostError) as info:
            await insert()
    finally:
        gateway.clear_faults()
    assert info.value.retryable is False
    assert calls.counts()["CommitTransaction"] == 1
    assert calls.http()["CommitTransaction"] == 1
    assert (
        await _admin_count(data_api_db, f"SELECT count(*) FROM users WHERE email = '{email}'") == 1
    )
    async with data_api_db.tenant(_ctx(tenants_abc)) as tx:  # tidy up the committed row
        row = await users.get_user_by_email(tx, email=email)
        assert row is not None
        assert await users.delete_user(tx, id=row.id) == 1


# -- limits: result size, batches ------------------------------------------------------------

_BIG = Query(
    name="BigBlob",
    command=Command.MANY,
    sql="SELECT repeat('x', $1::int) AS s FROM generate_series(1, 3)",
    data_api_sql="SELECT repeat('x', :size::int) AS s FROM generate_series(1, 3)",
    params=(Param(name="size", number=1, pg_type="int4"),),
    columns=(Column(name="s", pg_type="text"),),
    from_record=lambda r: r[0],
)


async def test_result_over_one_mib_is_typed_and_names_the_query(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    async def read() -> None:
        async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
            await tx.many(_BIG, (600_000,))

    with pytest.raises(errors.ResultTooLargeError) as info:
        await read()
    assert info.value.query == "BigBlob" and "BigBlob" in str(info.value)
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
        pages = [len(s) async for s in tx.stream(_BIG, (600_000,), page_size=1)]
    assert pages == [600_000] * 3  # one row per page stays under the limit
    assert gateway.open_transactions == 0


async def test_batchexec_is_chunked_and_runs_in_the_transaction(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a
    calls = Calls(data_api_db)
    n = BATCH_MAX_SETS * 2 + 5
    rows = [
        bookings.CopyBookingsParams(
            tenant_id=uuid.UUID(a.tenant_id),
            id=uuid.uuid4(),
            reference=f"BK-B{i}",
            property_id=uuid.UUID(a.properties[0]),
            room_id=uuid.UUID(a.rooms[0]),
            guest_id=uuid.UUID(a.guests[0]),
            status=models.BookingStatus.PENDING,
            check_in=datetime.date(2030, 1, 1),
            check_out=datetime.date(2030, 1, 2),
            guests_count=1,
            total_amount=decimal.Decimal("1.00"),
            currency="EUR",
            metadata={"i": i},
        )
        for i in range(n)
    ]

    class _RollbackError(Exception):
        pass

    async def copy() -> None:
        async with data_api_db.tenant(_ctx(tenants_abc)) as tx:
            assert await bookings.copy_bookings(tx, rows) == n
            assert await bookings.count_bookings(tx) == n + 2
            raise _RollbackError

    with pytest.raises(_RollbackError):
        await copy()
    batch = [p for name, p in calls.log if name == "BatchExecuteStatement"]
    sizes = [len(p["parameterSets"]) for p in batch]
    assert sum(sizes) == n and len(batch) > 2 and max(sizes) <= BATCH_MAX_SETS
    assert all(len(msgspec.json.encode(p["parameterSets"])) <= BATCH_MAX_BYTES for p in batch)
    assert all("transactionId" in p for p in batch)


# -- botocore's sparse-array bug -------------------------------------------------------------

_ARRAYS = Query(
    name="Arrays",
    command=Command.ONE,
    sql=(
        "SELECT '{1,NULL,3}'::int8[], '{t,NULL,f}'::bool[],"
        " '{1.5,NULL}'::float8[], '{a,NULL}'::text[]"
    ),
    data_api_sql=(
        "SELECT '{1,NULL,3}'::int8[] AS l, '{t,NULL,f}'::bool[] AS b,"
        " '{1.5,NULL}'::float8[] AS d, '{a,NULL}'::text[] AS s"
    ),
    columns=(
        Column(name="l", pg_type="int8", array_dims=1),
        Column(name="b", pg_type="bool", array_dims=1),
        Column(name="d", pg_type="float8", array_dims=1),
        Column(name="s", pg_type="text", array_dims=1),
    ),
    data_api_decoders=(
        codecs.array_decoder(None),
        codecs.array_decoder(None),
        codecs.array_decoder(None),
        codecs.array_decoder(None),
    ),
    from_record=tuple,
)
_FIXED = (1, 42, 58)
"""botocore 1.42.58 parses NULL list elements (boto/botocore#3618)."""


def _botocore_version() -> tuple[int, ...]:
    return tuple(int(p) for p in botocore.__version__.split(".")[:3])


async def test_botocore_mishandles_null_array_elements_but_the_lane_does_not(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    base = {"resourceArn": gateway.resource_arn, "secretArn": gateway.tenant_secret_arn}
    async with open_rds_data(gateway.endpoint_url) as client:
        if _botocore_version() < _FIXED:
            with pytest.raises(TypeError):  # int(None) inside botocore's list parser
                await client.execute_statement(**base, sql="SELECT '{1,NULL}'::int8[]")
            res = await client.execute_statement(**base, sql="SELECT '{t,NULL}'::bool[]")
            assert res["records"][0][0]["arrayValue"]["booleanValues"] == [True, False]  # wrong
        else:
            res = await client.execute_statement(**base, sql="SELECT '{1,NULL}'::int8[]")
            assert res["records"][0][0]["arrayValue"]["longValues"] == [1, None]
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
        row = await tx.one(_ARRAYS, ())
    assert row == ([1, None, 3], [True, None, False], [1.5, None], ["a", None])


# -- error seam ------------------------------------------------------------------------------


def test_pgjdbc_messages_keep_sqlstate_detail_and_hint() -> None:
    from botocore.exceptions import ClientError

    message = (
        'ERROR: duplicate key value violates unique constraint "users_email_key"\n'
        "  Detail: Key (email)=(x) already exists.\n  Hint: try another; SQLState: 23505"
    )
    exc = ClientError(
        {"Error": {"Code": "DatabaseErrorException", "Message": message}}, "ExecuteStatement"
    )
    error = map_dataapi_error(exc, query="CreateUser")
    assert isinstance(error, errors.UniqueViolation)
    assert error.detail == "Key (email)=(x) already exists." and error.hint == "try another"
    assert str(error).startswith("[CreateUser] duplicate key value")
    gone = ClientError(
        {"Error": {"Code": "BadRequestException", "Message": "Transaction abc is not found"}},
        "CommitTransaction",
    )
    assert isinstance(map_dataapi_error(gone, query="COMMIT"), errors.TransactionExpiredError)
    assert isinstance(map_dataapi_error(TimeoutError(), query="Q"), errors.StatementTimeoutError)


async def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(errors.ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(errors.ConfigurationError):
        RetryPolicy(base_delay=-1)
    assert msgspec.structs.replace(FAST_RETRY, deadline=1).deadline == 1


async def test_parameters_round_trip_with_asyncpg_types(
    data_api_db: Database, tenants_abc: TenantSet
) -> None:
    echo: Query[Any] = Query(
        name="Echo",
        command=Command.ONE,
        sql="SELECT $1::uuid, $2::date, $3::timestamptz, $4::numeric, $5::bool, $6::int8,"
        " $7::float8, $8::text, $9::bytea, $10::timestamp",
        data_api_sql="SELECT :u, :d, :tz, :n, :b, :i, :f, :t, :by, :ts",
        params=(
            Param(name="u", number=1, pg_type="uuid", type_hint="UUID"),
            Param(name="d", number=2, pg_type="date", type_hint="DATE"),
            Param(name="tz", number=3, pg_type="timestamptz", type_hint="TIMESTAMP"),
            Param(name="n", number=4, pg_type="numeric", type_hint="DECIMAL"),
            Param(name="b", number=5, pg_type="bool"),
            Param(name="i", number=6, pg_type="int8"),
            Param(name="f", number=7, pg_type="float8"),
            Param(name="t", number=8, pg_type="text"),
            Param(name="by", number=9, pg_type="bytea"),
            Param(name="ts", number=10, pg_type="timestamp", type_hint="TIMESTAMP"),
        ),
        data_api_decoders=(
            codecs.decode_uuid,
            codecs.decode_date,
            codecs.decode_timestamp,  # a bare TIMESTAMP-hinted parameter echoes as timestamp
            codecs.decode_numeric,
            None,
            None,
            None,
            None,
            None,
            codecs.decode_timestamp,
        ),
        from_record=tuple,
    )
    tz = datetime.timezone(datetime.timedelta(hours=2))
    args = (
        uuid.uuid4(),
        datetime.date(2024, 2, 29),
        datetime.datetime(2024, 1, 2, 5, 4, 5, 120000, tzinfo=tz),
        decimal.Decimal("19.990"),
        True,
        -(2**63),
        1.25,
        'it\'s "quoted" ∑',
        b"\x00\xff",
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    )
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
        row = await tx.one(echo, args)
    assert row is not None
    u, d, ts, n, b, i, f, t, by, naive = row
    assert (u, d, n, b, i, f, t, by, naive) == (*args[:2], *args[3:])
    assert ts == datetime.datetime(2024, 1, 2, 3, 4, 5, 120000)  # sent as UTC wall-clock time
    async with data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx:
        with pytest.raises(errors.ConfigurationError):
            await tx.one(echo, args[:3])


# -- the lane's own limits: transaction slots, the service's statement timeout ---------------


async def test_transaction_slots_bound_open_transactions(
    tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    import anyio

    options = PoolOptions(max_size=1, acquire_timeout=0.2)
    async with open_lane_db("data_api", tenants_abc, gateway, pool=options) as db:
        async with db.tenant(_ctx(tenants_abc), readonly=True) as tx:
            failures: list[BaseException] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(_open_other, db, tenants_abc, failures)
            assert [type(f) for f in failures] == [errors.PoolTimeoutError]
            assert await bookings.count_bookings(tx) == 2
        with anyio.fail_after(5):  # the slot came back
            async with db.tenant(_ctx(tenants_abc), readonly=True) as tx:
                await bookings.count_bookings(tx)


async def _open_other(db: Database, tenants: TenantSet, failures: list[BaseException]) -> None:
    """Another task (a nested block in the same task would be a savepoint)."""
    try:
        async with db.tenant(TenantContext(tenant_id=tenants.b.tenant_id), readonly=True):
            pass
    except errors.PoolTimeoutError as exc:
        failures.append(exc)


_SLEEP = Query(
    name="Sleep",
    command=Command.ONE,
    sql="SELECT pg_sleep(3)::text",
    data_api_sql="SELECT pg_sleep(3)::text",
    from_record=lambda r: r[0],
)


async def test_the_services_statement_timeout_is_typed_and_outcome_unknown(
    tenants_abc: TenantSet, local_pg: Any
) -> None:
    options = PoolOptions(statement_timeout=None)
    # 0.6 s: every other call of the transaction must fit under it, even on a busy machine.
    async with LocalDataApi(local_pg, statement_timeout=0.6) as gw:
        for readonly in (False, True):
            async with open_lane_db("data_api", tenants_abc, gw, pool=options) as db:
                with pytest.raises(errors.StatementTimeoutError) as info:
                    async with db.tenant(_ctx(tenants_abc), readonly=readonly) as tx:
                        await tx.one(_SLEEP, ())
            assert info.value.query == "Sleep"
            # raised inside the block, before COMMIT: the block rolled back, so redoing the unit
            # of work is safe whether it read or wrote (docs/errors.md)
            assert info.value.retryable is True
        assert gw.open_transactions == 0


async def test_a_given_session_is_used(tenants_abc: TenantSet, gateway: LocalDataApi) -> None:
    import aioboto3
    from aiobotocore.session import AioSession

    for session in (
        aioboto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        ),
        _aiobotocore_session(AioSession),
    ):
        config = msgspec.structs.replace(
            gateway.config, session=session, aws_access_key_id=None, aws_secret_access_key=None
        )
        db = Database(admin=tenants_abc.pg.admin_dsn, tenant=config)
        async with db, db.tenant(_ctx(tenants_abc), readonly=True) as tx:
            assert await bookings.count_bookings(tx) == 2


def _aiobotocore_session(cls: Any) -> Any:
    session = cls()
    session.set_credentials("local", "local")
    return session


async def test_from_env_reaches_the_gateway_like_a_deployment(
    tenants_abc: TenantSet, gateway: LocalDataApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The brief's variables plus botocore's own (credentials, AWS_ENDPOINT_URL_RDS_DATA)."""
    env = {
        "USE_DATA_API": "true",
        "DB_CLUSTER_ARN": gateway.resource_arn,
        "DB_SECRET_ARN": gateway.tenant_secret_arn,
        "DATABASE_NAME": gateway.config.database,
        "AWS_REGION": "us-east-1",
    }
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS_DATA", gateway.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    async with Database.from_env(env) as db:
        async with db.tenant(_ctx(tenants_abc), readonly=True) as tx:
            assert await bookings.count_bookings(tx) == 2
        health = await db.health()
    assert health.reachable and health.lanes == ("tenant:data_api",)


async def test_still_running_is_waited_out_not_failed(
    data_api_db: Database, tenants_abc: TenantSet, gateway: LocalDataApi, local_pg: Any
) -> None:
    """Another caller keeps the transaction busy: the lane's call gets "Transaction is still
    running a query" and retries with backoff until the transaction is free."""
    import anyio

    calls = Calls(data_api_db)
    # Enough attempts to outlast the 1 s hog (the default 20 quick ones last ~0.5 s).
    data_api_lane(data_api_db).retry = msgspec.structs.replace(FAST_RETRY, max_attempts=1000)
    base = {"resourceArn": gateway.resource_arn, "secretArn": gateway.tenant_secret_arn}
    async with (
        open_rds_data(gateway.endpoint_url) as other,
        data_api_db.tenant(_ctx(tenants_abc), readonly=True) as tx,
        anyio.create_task_group() as tg,
    ):
        tx_id = tx.transaction_id  # type: ignore[attr-defined]
        started = anyio.Event()

        async def hog() -> None:
            started.set()
            await other.execute_statement(**base, sql=f"SELECT {hogging}", transactionId=tx_id)

        hogging = "pg_sleep(1) AS hog"  # 1 s: our call surely arrives while it still runs
        tg.start_soon(hog)
        await started.wait()
        await wait_for_active_query(local_pg, gateway.config.database, hogging)
        assert await bookings.count_bookings(tx) == 2
    assert calls.counts()["ExecuteStatement"] > 2  # context + retried CountBookings
