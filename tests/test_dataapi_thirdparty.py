"""Third-party Data API clients against the gateway (issue 11): aurora-data-api (DB-API 2.0),
sqlalchemy-aurora-data-api (its SQLAlchemy dialect) and a plain boto3 ``rds-data`` client.

These clients run against real Aurora in their own CI; the tests are ours and cover what their
suites cover. The clients are synchronous and the gateway serves on this event loop, so each
scenario runs in a worker thread.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anyio
import boto3
import pytest
from botocore.config import Config

from tenantdb.local import LocalDataApi, LocalPostgres

aurora_data_api = pytest.importorskip("aurora_data_api")
sqlalchemy = pytest.importorskip("sqlalchemy")

T = TypeVar("T")
_DB = "dataapi_thirdparty"


@pytest.fixture(scope="module")
async def thirdparty_db(local_pg: LocalPostgres) -> Any:
    await local_pg.drop_database(_DB)
    await local_pg.create_database(_DB)
    yield _DB
    await local_pg.drop_database(_DB)


def _client(gw: LocalDataApi) -> Any:
    return boto3.client(
        "rds-data",
        region_name="us-east-1",
        endpoint_url=gw.endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=70),
    )


@pytest.fixture
def connect(gateway: LocalDataApi, thirdparty_db: str) -> Iterator[Callable[..., Any]]:
    client = _client(gateway)

    def factory(**kw: Any) -> Any:
        return aurora_data_api.connect(
            aurora_cluster_arn=gateway.resource_arn,
            secret_arn=gateway.admin_secret_arn,
            rds_data_client=client,
            database=thirdparty_db,
            **kw,
        )

    yield factory
    client.close()


async def _in_thread(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


# -- aurora-data-api -------------------------------------------------------------------------
def _setup_table(connect: Callable[..., Any]) -> None:
    with connect() as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS ada_test")
        cur.execute(
            "CREATE TABLE ada_test (id SERIAL, name TEXT, doc JSONB DEFAULT '{}', "
            "num NUMERIC (10, 5) DEFAULT 0.0, ts TIMESTAMP WITHOUT TIME ZONE)"
        )
        cur.executemany(
            "INSERT INTO ada_test(name, doc, num, ts) "
            "VALUES (:name, CAST(:doc AS JSONB), :num, CAST(:ts AS TIMESTAMP))",
            [
                {
                    "name": f"row{i}",
                    "doc": json.dumps(
                        {"x": i, "y": str(i), "z": [i, i * i, i**i if i < 128 else 0]}
                    ),
                    "num": decimal.Decimal(f"{i}.{i}"),
                    "ts": "2020-09-17 13:49:32.780180",
                }
                for i in range(300)
            ],
        )


async def test_aurora_data_api_round_trip(connect: Callable[..., Any]) -> None:
    def scenario() -> None:
        _setup_table(connect)
        with connect() as conn, conn.cursor() as cur:
            cur.execute("select * from ada_test order by id")
            rows = cur.fetchall()
            assert len(rows) == 300
            assert rows[0] == (
                1,
                "row0",
                '{"x":0,"y":"0","z":[0,0,1]}',
                decimal.Decimal(0),
                datetime.datetime(2020, 9, 17, 13, 49, 32, 780180),
            )
            assert rows[-1][-2] == decimal.Decimal("299.299")
            cur.execute(
                "select count(*) from ada_test where pg_column_size(doc) < :s", {"s": 2**10}
            )
            assert cur.fetchone() == (300,)
            cur.execute("select * from ada_test limit 8")
            assert cur.rowcount == 8
            cur.execute("UPDATE ada_test SET doc = '{}' WHERE name like 'row1%'")
            assert cur.rowcount == 111

    await _in_thread(scenario)


async def test_aurora_data_api_errors_then_commit(connect: Callable[..., Any]) -> None:
    """Its tests (maintained against Data API v2) catch an expected error and then leave the
    connection block, which commits: AWS answers "Transaction Committed"."""
    from aurora_data_api import exceptions

    def scenario() -> None:
        with (
            connect() as conn,
            conn.cursor() as cur,
            pytest.raises(exceptions.PostgreSQLError.ER_SYNTAX_ERR),
        ):
            cur.execute("selec * from table")
        with connect() as conn, conn.cursor() as cur:
            with pytest.raises(exceptions.PostgreSQLError.ER_UNDEF_TABLE) as err:
                cur.execute("select * from aurora_data_api_nonexistent_test_table")
            assert "does not exist" in str(err.value)
            assert isinstance(err.value.response, dict)

    await _in_thread(scenario)


async def test_aurora_data_api_uuid_date_and_types(connect: Callable[..., Any]) -> None:
    def scenario() -> None:
        with connect() as conn, conn.cursor() as cur:
            u = uuid.uuid4()
            cur.execute(
                "select :u::uuid, :d::date, :b::bytea, :f, :t, :n",
                {"u": str(u), "d": "2024-02-29", "b": b"\x00\x01", "f": 1.5, "t": True, "n": None},
            )
            assert cur.fetchone() == (
                str(u),
                datetime.date(2024, 2, 29),
                b"\x00\x01",
                1.5,
                True,
                None,
            )
            cur.execute("select '[1,10)'::int4range, 'q'::\"char\"")
            assert cur.fetchone() == ("[1,10)", "q")

    await _in_thread(scenario)


# -- sqlalchemy-aurora-data-api --------------------------------------------------------------
@pytest.fixture
def engine(gateway: LocalDataApi, thirdparty_db: str) -> Iterator[Any]:
    client = _client(gateway)
    eng = sqlalchemy.create_engine(
        f"postgresql+auroradataapi://:@/{thirdparty_db}",
        connect_args={
            "aurora_cluster_arn": gateway.resource_arn,
            "secret_arn": gateway.admin_secret_arn,
            "rds_data_client": client,
        },
    )
    yield eng
    eng.dispose()
    client.close()


async def test_sqlalchemy_dialect_core_and_orm(engine: Any) -> None:
    from sqlalchemy import Column, Integer, String, Text, select, text
    from sqlalchemy.orm import Session, declarative_base

    base = declarative_base()

    class User(base):  # type: ignore[misc,valid-type]
        __tablename__ = "sa_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        notes = Column(Text)

    def scenario() -> None:
        base.metadata.drop_all(engine)
        base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                text("insert into sa_users(name, notes) values (:n, :m)"), {"n": "a", "m": "x"}
            )
            assert conn.execute(text("select count(*) from sa_users")).scalar() == 1
        with Session(engine) as session:
            session.add_all([User(name="ann", notes="n1"), User(name="bob", notes=None)])
            session.commit()
            names = session.scalars(select(User.name).order_by(User.id)).all()
            assert names == ["a", "ann", "bob"]
            bob = session.scalars(select(User).where(User.name == "bob")).one()
            bob.notes = "updated"
            session.commit()
        with Session(engine) as session:
            assert session.scalars(select(User.notes).where(User.name == "bob")).one() == "updated"
        # a rolled-back transaction leaves nothing behind
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(text("insert into sa_users(name) values ('ghost')"))
            trans.rollback()
        with engine.connect() as conn:
            n = conn.execute(text("select count(*) from sa_users where name = 'ghost'")).scalar()
            assert n == 0
        base.metadata.drop_all(engine)

    await _in_thread(scenario)


# -- boto3 -----------------------------------------------------------------------------------
async def test_boto3_rds_data_transaction_and_formats(
    gateway: LocalDataApi, thirdparty_db: str
) -> None:
    def scenario() -> None:
        client = _client(gateway)
        args = {"resourceArn": gateway.resource_arn, "secretArn": gateway.admin_secret_arn}
        try:
            client.execute_statement(
                **args, database=thirdparty_db, sql="create table if not exists b3 (id int, v text)"
            )
            tx = client.begin_transaction(**args, database=thirdparty_db)["transactionId"]
            client.batch_execute_statement(
                **args,
                sql="insert into b3 values (:id, :v)",
                transactionId=tx,
                parameterSets=[
                    [
                        {"name": "id", "value": {"longValue": i}},
                        {"name": "v", "value": {"stringValue": f"v{i}"}},
                    ]
                    for i in range(3)
                ],
            )
            assert client.commit_transaction(**args, transactionId=tx)["transactionStatus"] == (
                "Transaction Committed"
            )
            res = client.execute_statement(
                **args,
                database=thirdparty_db,
                sql="select id, v from b3 order by id",
                formatRecordsAs="JSON",
            )
            assert json.loads(res["formattedRecords"]) == [
                {"id": i, "v": f"v{i}"} for i in range(3)
            ]
            res = client.execute_statement(
                **args,
                database=thirdparty_db,
                sql="select id from b3 where id = :id",
                parameters=[{"name": "id", "value": {"longValue": 2}}],
                includeResultMetadata=True,
            )
            assert res["records"] == [[{"longValue": 2}]]
            assert res["columnMetadata"][0]["typeName"] == "int4"
            with pytest.raises(client.exceptions.DatabaseErrorException):
                client.execute_statement(**args, database=thirdparty_db, sql="select 1/0")
            client.execute_statement(**args, database=thirdparty_db, sql="drop table b3")
        finally:
            client.close()

    await _in_thread(scenario)
