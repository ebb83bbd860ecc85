"""One long-lived aioboto3 ``rds-data`` client per lane, reading result bodies raw.

Client settings (DATA_API.md §7): SDK retries off with ``total_max_attempts=1`` (beware: in a
botocore client config ``{"max_attempts": 1}`` counts *retries*, i.e. two sends), because the
lane retries only what is safe (``retry``); read timeout above the Data API's 45 s
statement limit; connect timeout ``PoolOptions.connect_timeout``; ``max_pool_connections``
equal to the lane's pool size, so the HTTP pool is the concurrency limit just as the asyncpg
pool is on the other lane.

ExecuteStatement bodies bypass botocore's response parser: a ``before-parse`` hook keeps the raw
bytes and hands botocore ``{}``; ``results`` decodes the bytes with msgspec. Error bodies
(status >= 300) are left to botocore, so errors keep their modeled codes.
"""

from __future__ import annotations

import contextlib
import platform
from typing import TYPE_CHECKING, Any

import aioboto3
import aiobotocore
import botocore
from aiobotocore.config import AioConfig

from tenantdb.drivers.dataapi.results import parse_execute

if TYPE_CHECKING:
    from tenantdb.drivers.dataapi.config import DataApi

__all__ = ("READ_TIMEOUT_S", "DataApiClient", "keep_raw_body")

READ_TIMEOUT_S = 70.0
"""Above the Data API's 45 s statement limit, so the service answers before the SDK gives up."""
_RAW = "tenantdb_raw_body"
_USER_AGENT = (
    f"tenantdb aiobotocore/{aiobotocore.__version__} botocore/{botocore.__version__} "
    f"Python/{platform.python_version()}"
)


def keep_raw_body(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """``before-parse`` hook: stash a successful body and let botocore parse ``{}``."""
    if response_dict.get("status_code", 500) < 300:
        customized_response_dict[_RAW] = response_dict["body"]
        response_dict["body"] = b"{}"


class DataApiClient:
    """The five rds-data operations the lane uses, with the ARNs and database filled in."""

    def __init__(self, config: DataApi, *, pool_size: int, connect_timeout: float) -> None:
        self.config = config
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    async def open(self) -> None:
        if self._client is not None:
            return
        cfg = self.config
        session: Any = cfg.session
        if session is None:
            session = aioboto3.Session(
                aws_access_key_id=cfg.aws_access_key_id,
                aws_secret_access_key=cfg.aws_secret_access_key,
                region_name=cfg.region,
            )
        aio_config = AioConfig(
            # botocore's client-config ``max_attempts`` counts *retries* (it adds one), so
            # ``max_attempts: 1`` would still resend once; ``total_max_attempts: 1`` is no retry.
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=self._connect_timeout,
            read_timeout=READ_TIMEOUT_S,
            max_pool_connections=self._pool_size,
            # The lane builds every request itself (codec-checked Fields, one member each), so
            # botocore's per-call walk over the parameters only costs CPU.
            parameter_validation=False,
            # A fixed User-Agent: botocore otherwise rebuilds it from ~20 components twice per
            # call (about a tenth of its per-call CPU).
            user_agent=_USER_AGENT,
        )
        # An aioboto3.Session has .client(); an aiobotocore AioSession has .create_client().
        factory = getattr(session, "client", None) or session.create_client
        stack = contextlib.AsyncExitStack()
        client = await stack.enter_async_context(
            factory(
                "rds-data",
                region_name=cfg.region,
                endpoint_url=cfg.endpoint_url,
                config=aio_config,
            )
        )
        client.meta.events.register("before-parse.rds-data.ExecuteStatement", keep_raw_body)
        self._stack, self._client = stack, client

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @property
    def client(self) -> Any:
        """The underlying aiobotocore client (tests register event hooks on it)."""
        return self._client

    def _base(self) -> dict[str, str]:
        return {"resourceArn": self.config.resource_arn, "secretArn": self.config.secret_arn}

    async def begin(self) -> str:
        res = await self._client.begin_transaction(**self._base(), database=self.config.database)
        tx_id: str = res["transactionId"]
        return tx_id

    async def execute(
        self, sql: str, parameters: list[dict[str, Any]], transaction_id: str
    ) -> bytes:
        """ExecuteStatement in a transaction; the raw response body (see ``results``)."""
        return await self.execute_raw(sql, parameters, transaction_id=transaction_id)

    async def execute_raw(
        self,
        sql: str,
        parameters: list[dict[str, Any]],
        *,
        transaction_id: str | None = None,
        **options: Any,
    ) -> bytes:
        """ExecuteStatement, the raw response body. Outside a transaction it names the
        database (an autocommitted call); ``options`` are extra request members
        (``formatRecordsAs="JSON"``, ``continueAfterTimeout=True``)."""
        request: dict[str, Any] = {**self._base(), "sql": sql, **options}
        if parameters:
            request["parameters"] = parameters
        if transaction_id is None:
            request["database"] = self.config.database
        else:
            request["transactionId"] = transaction_id
        res = await self._client.execute_statement(**request)
        body: bytes = res.get(_RAW, b"")
        return body

    async def batch_execute(
        self, sql: str, parameter_sets: list[list[dict[str, Any]]], transaction_id: str
    ) -> None:
        await self._client.batch_execute_statement(
            **self._base(), sql=sql, parameterSets=parameter_sets, transactionId=transaction_id
        )

    async def commit(self, transaction_id: str) -> str:
        res = await self._client.commit_transaction(**self._base(), transactionId=transaction_id)
        return str(res.get("transactionStatus", ""))

    async def rollback(self, transaction_id: str) -> str:
        res = await self._client.rollback_transaction(**self._base(), transactionId=transaction_id)
        return str(res.get("transactionStatus", ""))

    async def server_version(self) -> str:
        """``SHOW server_version`` outside any transaction (sets nothing, reads no table)."""
        res = await self._client.execute_statement(
            **self._base(), sql="SHOW server_version", database=self.config.database
        )
        rows = parse_execute(res.get(_RAW, b"")).records or [[{"isNull": True}]]
        return str(next(iter(rows[0][0].values())))
