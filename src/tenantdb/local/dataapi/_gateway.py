"""``LocalDataApi``: the aiohttp server speaking rds-data's rest-json on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import msgspec
from aiohttp import web

from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.local.dataapi._errors import ApiError, transaction_not_found
from tenantdb.local.dataapi._faults import Fault, FaultQueue, fault_error
from tenantdb.local.dataapi._pool import ConnectionPool
from tenantdb.local.dataapi._service import Service, Settings
from tenantdb.local.dataapi._tx import TERMINATED, Transactions
from tenantdb.local.postgres import Roles

__all__ = ("LocalDataApi",)

_ACCOUNT = "123456789012"
_ROUTES = {
    "/Execute": "ExecuteStatement",
    "/BatchExecute": "BatchExecuteStatement",
    "/BeginTransaction": "BeginTransaction",
    "/CommitTransaction": "CommitTransaction",
    "/RollbackTransaction": "RollbackTransaction",
    "/ExecuteSql": "ExecuteSql",
}
_ADMIN_PATH = "/_tenantdb/faults"
FAULT_TOKEN_HEADER = "x-tenantdb-fault-token"  # noqa: S105 - a header name
_log = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder()


class PostgresServer(Protocol):
    """What the gateway needs from a server: a DSN per (role, database) and a default database."""

    @property
    def name(self) -> str: ...

    def dsn(self, role: str, database: str | None = None) -> str: ...


class LocalDataApi:
    """A local, AWS-strict RDS Data API over a real PostgreSQL (see docs/gateway.md).

    ``postgres`` is a started :class:`~tenantdb.local.LocalPostgres` (or anything with
    ``dsn(role, database)`` and ``name``). The tenant secret runs statements as the tenant role
    (RLS applies), the admin secret as the admin role. Every interval is configurable so tests
    never wait minutes::

        async with LocalDataApi(pg, transaction_idle_timeout=0.5) as gw:
            db = tenantdb.Database(admin=pg.admin_dsn, tenant=gw.config)
    """

    def __init__(
        self,
        postgres: PostgresServer,
        *,
        statement_timeout: float = 45.0,
        transaction_idle_timeout: float = 180.0,
        transaction_max_age: float = 86400.0,
        max_connections: int = 100,
        connection_timeout: float = 10.0,
        max_response_bytes: int = 1024 * 1024,
        max_formatted_bytes: int = 10 * 1024 * 1024,
        max_request_bytes: int = 4 * 1024 * 1024,
        region: str = "us-east-1",
        cluster: str = "tenantdb-local",
        host: str = "127.0.0.1",
        port: int = 0,
        fault_token: str | None = None,
        aborted_commit: Literal["committed", "error"] = "committed",
    ) -> None:
        self._postgres = postgres
        if fault_token is not None and not fault_token:
            raise ValueError("fault_token must be a non-empty string (or None: no HTTP control)")
        self._fault_token = fault_token
        self._host, self._port = host, port
        self.region = region
        self.resource_arn = f"arn:aws:rds:{region}:{_ACCOUNT}:cluster:{cluster}"
        secret = f"arn:aws:secretsmanager:{region}:{_ACCOUNT}:secret:{cluster}"
        self.tenant_secret_arn = f"{secret}-tenant"
        self.admin_secret_arn = f"{secret}-admin"
        self._max_request_bytes = max_request_bytes
        self._pool = ConnectionPool(
            postgres.dsn, cap=max_connections, acquire_timeout=connection_timeout
        )
        self._txs = Transactions(
            self._pool,
            idle_timeout=transaction_idle_timeout,
            max_age=transaction_max_age,
            aborted_commit=aborted_commit,
        )
        self._service = Service(
            Settings(
                resource_arn=self.resource_arn,
                secrets={self.tenant_secret_arn: Roles.TENANT, self.admin_secret_arn: Roles.ADMIN},
                default_database=postgres.name,
                statement_timeout=statement_timeout,
                max_response_bytes=max_response_bytes,
                max_formatted_bytes=max_formatted_bytes,
            ),
            self._pool,
            self._txs,
        )
        self._faults = FaultQueue()
        self.call_counts: Counter[str] = Counter()
        """Calls received per operation name (``ExecuteStatement``...), faults included."""
        self._runner: web.AppRunner | None = None
        self._reaper: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self._max_request_bytes * 4)
        if self._fault_token is not None:
            app.router.add_route("*", _ADMIN_PATH, self._admin)
        app.router.add_route("*", "/{tail:.*}", self._handle)  # every other path: JSON errors
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = _bound_port(site)
        self._reaper = asyncio.create_task(self._txs.reaper())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self._runner is not None:
            await self._runner.cleanup()
        await self._txs.close_all()
        await self._pool.close()

    # -- what clients need -----------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def config(self) -> DataApi:
        """A ready ``tenantdb.DataApi`` for the tenant secret (dummy credentials)."""
        return self._config(self.tenant_secret_arn)

    @property
    def admin_config(self) -> DataApi:
        """The same for the admin secret (BYPASSRLS role): migrations, seeding, admin work."""
        return self._config(self.admin_secret_arn)

    def data_api(self, database: str | None = None, *, admin: bool = False) -> DataApi:
        """A ``tenantdb.DataApi`` for another database on the server (tenant secret by default)."""
        secret = self.admin_secret_arn if admin else self.tenant_secret_arn
        return self._config(secret, database)

    @property
    def open_transactions(self) -> int:
        return len(self._txs)

    @property
    def open_connections(self) -> int:
        """PostgreSQL connections the gateway holds (idle pooled ones included)."""
        return self._pool.open_connections

    # -- fault injection -------------------------------------------------------------------
    def inject(
        self,
        fault: Fault | str,
        *,
        times: int = 1,
        operations: Iterable[str] | None = None,
        duration: float | None = None,
        when: Literal["before", "after"] = "before",
    ) -> None:
        """Make the next ``times`` calls (of ``operations``, default all) fail with ``fault``.

        ``duration`` (seconds) makes every matching call fail for that long instead.
        ``when="after"`` runs the call and then fails it (the statement did run).
        """
        self._faults.inject(fault, times=times, operations=operations, duration=duration, when=when)

    @property
    def aborted_commit(self) -> Literal["committed", "error"]:
        """What CommitTransaction answers for a transaction in which a statement failed:
        ``"committed"`` (AWS: "Transaction Committed", nothing written) or ``"error"``
        (pgjdbc's DatabaseErrorException ... SQLState: 25P02). Settable at run time."""
        return self._txs.aborted_commit

    @aborted_commit.setter
    def aborted_commit(self, value: Literal["committed", "error"]) -> None:
        if value not in ("committed", "error"):
            raise ValueError("aborted_commit must be 'committed' or 'error'")
        self._txs.aborted_commit = value

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- HTTP ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        operation = _ROUTES.get(request.path)
        if operation is None or request.method != "POST":
            # The path is the caller's text: never echoed.
            exc = ApiError("UnknownOperationException", "Unknown operation")
            return _error(exc, request_id)
        try:
            self.call_counts[operation] += 1
            body = await self._read(request)
            payload = await self._call(operation, body)
        except ApiError as exc:
            return _error(exc, request_id)
        except Exception:  # a bug must still answer AWS's shape, never a text/plain 500
            _log.exception("gateway: unhandled error in %s", operation)
            return _error(ApiError("InternalServerErrorException", "Internal error"), request_id)
        return web.Response(
            body=payload,
            content_type="application/json",
            headers={"x-amzn-RequestId": request_id},
        )

    async def _call(self, operation: str, body: dict[str, Any]) -> bytes:
        tx_id = body.get("transactionId")
        pending = self._faults.take(operation, has_transaction=isinstance(tx_id, str))
        if pending is not None and pending.when == "before":
            if pending.fault is Fault.DROP_TRANSACTION:
                await self._drop(body)
            raise fault_error(pending.fault)
        payload = await self._operation(operation)(body)
        if pending is not None:
            raise fault_error(pending.fault)
        return payload

    async def _drop(self, body: dict[str, Any]) -> None:
        tx_id = str(body["transactionId"])
        with contextlib.suppress(ApiError):
            secret = str(body.get("secretArn"))
            tx = await self._txs.get(tx_id, str(body.get("resourceArn")), secret)
            await self._txs.drop(tx, TERMINATED)
        raise transaction_not_found(tx_id, TERMINATED)

    def _operation(self, name: str) -> Callable[[dict[str, Any]], Awaitable[bytes]]:
        svc = self._service
        return {
            "ExecuteStatement": svc.execute_statement,
            "BatchExecuteStatement": svc.batch_execute_statement,
            "BeginTransaction": svc.begin_transaction,
            "CommitTransaction": svc.commit_transaction,
            "RollbackTransaction": svc.rollback_transaction,
            "ExecuteSql": svc.execute_sql,
        }[name]

    async def _read(self, request: web.Request) -> dict[str, Any]:
        try:
            raw = await request.read()
        except web.HTTPException as exc:  # over aiohttp's own body cap
            raise ApiError("BadRequestException", "Request body is too large") from exc
        if len(raw) > self._max_request_bytes:
            raise ApiError(
                "BadRequestException",
                f"Request size {len(raw)} exceeds the {self._max_request_bytes} byte limit",
            )
        try:
            body = _decoder.decode(raw) if raw else {}
        except msgspec.DecodeError as exc:
            raise ApiError("BadRequestException", "Request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ApiError("BadRequestException", "Request body must be a JSON object")
        return body

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        """The CLI's fault control: POST {"fault", "times", "operations", "duration", "when"},
        DELETE clears, GET lists pending faults and counters. Only mounted when the gateway
        was given a ``fault_token``; every request must carry it."""
        token = request.headers.get(FAULT_TOKEN_HEADER, "")
        assert self._fault_token is not None  # noqa: S101 - only routed when a token is set
        if not hmac.compare_digest(token.encode(), self._fault_token.encode()):
            exc = ApiError("AccessDeniedException", "Missing or wrong fault-control token")
            return _error(exc, str(uuid.uuid4()))
        if request.method == "DELETE":
            self.clear_faults()
        elif request.method == "POST":
            try:
                spec = await request.json()
                spec = spec if isinstance(spec, dict) else {}
                self.inject(
                    spec["fault"],
                    times=int(spec.get("times", 1)),
                    operations=spec.get("operations"),
                    duration=spec.get("duration"),
                    when=spec.get("when", "before"),
                )
            except (KeyError, ValueError, TypeError) as exc:
                return web.json_response(
                    {"message": f"invalid fault: {type(exc).__name__}"}, status=400
                )
        elif request.method != "GET":
            return web.json_response({"message": "use GET, POST or DELETE"}, status=405)
        return web.json_response(
            {
                "faults": self._faults.describe(),
                "calls": dict(self.call_counts),
                "openTransactions": self.open_transactions,
                "openConnections": self.open_connections,
            }
        )

    def _config(self, secret_arn: str, database: str | None = None) -> DataApi:
        return DataApi(
            resource_arn=self.resource_arn,
            secret_arn=secret_arn,
            database=database or self._postgres.name,
            region=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the gateway ignores signatures
        )


def _error(exc: ApiError, request_id: str) -> web.Response:
    return web.Response(
        status=exc.status,
        body=msgspec.json.encode(exc.body()),
        content_type="application/json",
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": exc.code},
    )


def _bound_port(site: web.TCPSite) -> int:
    """The port the OS picked for ``port=0`` (aiohttp keeps the server private)."""
    server: Any = site._server
    port: int = server.sockets[0].getsockname()[1]
    return port
