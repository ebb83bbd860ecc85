"""The five rds-data operations (and ExecuteSql's refusal) over PostgreSQL.

Each operation takes the parsed JSON request and returns the JSON response bytes, or raises
:class:`ApiError`. Authorisation is AWS's: ``resourceArn`` names the server, ``secretArn`` the
role the statements run as (tenant secret -> NOBYPASSRLS tenant role).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from tenantdb.local.dataapi._bind import Bound, parse_sql
from tenantdb.local.dataapi._describe import ColumnOrigin
from tenantdb.local.dataapi._encode import Options, column_metadata
from tenantdb.local.dataapi._errors import (
    ApiError,
    connection_closed,
    connection_failed,
    database_error,
)
from tenantdb.local.dataapi._pool import ConnectionPool
from tenantdb.local.dataapi._run import Result, execute, with_timeout
from tenantdb.local.dataapi._tx import TERMINATED, Transaction, Transactions

__all__ = ("Service", "Settings")

_MAX_SQL = 65536
_MAX_NAME = 64
_ARN = re.compile(r"arn:[A-Za-z0-9:/_+=.@-]{1,200}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SIZE_LIMIT_MESSAGE = "Database returned more than the allowed response size limit"
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, kw_only=True)
class Settings:
    resource_arn: str
    secrets: Mapping[str, str]  # secret ARN -> role
    default_database: str
    statement_timeout: float
    max_response_bytes: int
    max_formatted_bytes: int = 10 * 1024 * 1024


class _TooLargeError(ApiError):
    """Over the response limit: 1 MiB of database data (records) or 10 MB of formattedRecords."""

    def __init__(self) -> None:
        super().__init__("UnsupportedResultException", _SIZE_LIMIT_MESSAGE)


class Service:
    """Operation logic; the HTTP layer (``_http``) only routes and renders."""

    def __init__(self, settings: Settings, pool: ConnectionPool, txs: Transactions) -> None:
        self.settings = settings
        self.pool = pool
        self.txs = txs

    # -- operations ------------------------------------------------------------------------
    async def execute_statement(self, req: Mapping[str, Any]) -> bytes:
        _, role, database = self._caller(req)
        template = parse_sql(_sql(req))
        bound = template.bind(_list(req, "parameters"))
        options = _options(req)
        continue_after = req.get("continueAfterTimeout") is True
        describe_dsn = None
        if req.get("includeResultMetadata") is True and req.get("formatRecordsAs") != "JSON":
            describe_dsn = self.pool.dsn(role, database)
        tx_id = req.get("transactionId")
        if tx_id is not None:
            tx = await self._transaction(req, tx_id)
            if describe_dsn is not None:
                describe_dsn = self.pool.dsn(*tx.key)
            result = await self._in_transaction(tx, bound, options, continue_after, describe_dsn)
            try:
                return self._response(req, result)
            except _TooLargeError:
                # AWS terminates and deletes a transaction whose result was too large
                await self.txs.drop(tx, TERMINATED)
                raise
        conn = await self.pool.acquire(role, database)
        detached = False

        async def release() -> None:
            await self.pool.release(conn)

        try:
            result = await with_timeout(
                conn,
                execute(
                    conn,
                    bound,
                    options,
                    describe_dsn=describe_dsn,
                    probe_dsn=self.pool.dsn(role, database),
                ),
                timeout=self.settings.statement_timeout,
                continue_after=continue_after,
                on_detached=release,
            )
        except ApiError as exc:
            detached = continue_after and exc.code == "StatementTimeoutException"
            raise
        finally:
            if not detached:
                await self.pool.release(conn)
        return self._response(req, result)

    async def batch_execute_statement(self, req: Mapping[str, Any]) -> bytes:
        _, role, database = self._caller(req)
        template = parse_sql(_sql(req))
        sets = _list(req, "parameterSets") or []
        bounds = [template.bind(_list({"p": s}, "p")) for s in sets]
        tx_id = req.get("transactionId")
        if not bounds:
            if tx_id is not None:
                await self._transaction(req, tx_id)
            return _encoder.encode({"updateResults": []})
        if tx_id is not None:
            tx = await self._transaction(req, tx_id)
            await self._locked(tx, lambda: self._batch(tx.conn, bounds), continue_after=False)
        else:
            conn = await self.pool.acquire(role, database)
            try:
                await with_timeout(
                    conn,
                    self._atomic_batch(conn, bounds),
                    timeout=self.settings.statement_timeout,
                    continue_after=False,
                    on_detached=_nothing,
                )
            finally:
                await self.pool.release(conn)
        return _encoder.encode({"updateResults": [{"generatedFields": []} for _ in bounds]})

    async def begin_transaction(self, req: Mapping[str, Any]) -> bytes:
        secret, role, database = self._caller(req)
        tx = await self.txs.begin(self.settings.resource_arn, secret, role, database)
        return _encoder.encode({"transactionId": tx.id})

    async def commit_transaction(self, req: Mapping[str, Any]) -> bytes:
        return await self._finish(req, commit=True)

    async def rollback_transaction(self, req: Mapping[str, Any]) -> bytes:
        return await self._finish(req, commit=False)

    async def execute_sql(self, req: Mapping[str, Any]) -> bytes:
        raise ApiError(
            "BadRequestException",
            "ExecuteSql is not supported for Aurora Serverless v2 and provisioned DB clusters. "
            "Use ExecuteStatement.",
        )

    # -- helpers ---------------------------------------------------------------------------
    def _caller(self, req: Mapping[str, Any]) -> tuple[str, str, str]:
        """(secret, role, database) after AWS's checks, in AWS's order."""
        resource = _required_str(req, "resourceArn")
        secret = _required_str(req, "secretArn")
        if "schema" in req and req["schema"] is not None:
            raise ApiError("ValidationException", "The schema parameter isn't supported")
        if resource != self.settings.resource_arn:
            raise ApiError(
                "HttpEndpointNotEnabledException",
                f"HttpEndpoint is not enabled for {_arn(resource)}",
            )
        role = self.settings.secrets.get(secret)
        if role is None:
            raise ApiError(
                "SecretsErrorException",
                f"Secrets Manager can't find the specified secret {_arn(secret)}",
            )
        return secret, role, _database(req, self.settings.default_database)

    async def _transaction(self, req: Mapping[str, Any], tx_id: Any) -> Transaction:
        if not isinstance(tx_id, str) or not tx_id or len(tx_id) > 192:
            raise ApiError("ValidationException", "transactionId must be 1-192 characters")
        secret, _, _ = self._caller(req)
        return await self.txs.get(tx_id, self.settings.resource_arn, secret)

    async def _finish(self, req: Mapping[str, Any], *, commit: bool) -> bytes:
        tx = await self._transaction(req, _required_str(req, "transactionId"))
        await self._wait_detached(tx)
        status = await self.txs.finish(tx, commit=commit)
        return _encoder.encode({"transactionStatus": status})

    async def _in_transaction(
        self,
        tx: Transaction,
        bound: Bound,
        options: Options,
        continue_after: bool,
        describe_dsn: str | None,
    ) -> Result:
        result: Result = await self._locked(
            tx,
            lambda: execute(
                tx.conn,
                bound,
                options,
                describe_dsn=describe_dsn,
                probe_dsn=self.pool.dsn(*tx.key),
            ),
            continue_after=continue_after,
        )
        return result

    async def _locked(
        self, tx: Transaction, work: Callable[[], Any], *, continue_after: bool
    ) -> Any:
        """``work`` on the transaction's connection, one call at a time. A connection found
        dead (its backend was terminated, the server restarted) ends the transaction as AWS's
        pgjdbc does: 08003 when it was gone before the call, 57P0x/08006 when it died during
        it; later calls on the id get "not found"."""
        await self._wait_detached(tx)
        if tx.conn.is_closed():
            await self.txs.drop(tx, TERMINATED)
            raise connection_closed()
        try:
            return await self._run_locked(tx, work, continue_after=continue_after)
        except Exception as exc:
            if not tx.conn.is_closed():
                raise
            await self.txs.drop(tx, TERMINATED)
            raise connection_failed(exc) from exc

    async def _run_locked(
        self, tx: Transaction, work: Callable[[], Any], *, continue_after: bool
    ) -> Any:
        await tx.lock.acquire()
        detached = False
        finished = asyncio.Event()

        async def unlock() -> None:
            tx.lock.release()
            self.txs.touch(tx)
            tx.detached = None
            finished.set()
            if self.txs_get_open(tx) is None:
                await self.pool.discard(tx.conn)

        try:
            return await with_timeout(
                tx.conn,
                work(),
                timeout=self.settings.statement_timeout,
                continue_after=continue_after,
                on_detached=unlock,
            )
        except ApiError as exc:
            detached = continue_after and exc.code == "StatementTimeoutException"
            if detached:
                tx.detached = finished
            raise
        finally:
            if not detached:
                tx.lock.release()
                self.txs.touch(tx)

    async def _wait_detached(self, tx: Transaction) -> None:
        """A call while another call on the transaction runs: "Transaction is still running a
        query" at once (v2). A call after a statement that timed out but continues
        (continueAfterTimeout) waits for it, at most one statement timeout, then runs and sees
        its effect, as the next statement on a JDBC connection does."""
        if not tx.lock.locked():
            return
        if tx.detached is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tx.detached.wait(), self.settings.statement_timeout)
        if tx.lock.locked():
            raise ApiError("DatabaseErrorException", "Transaction is still running a query")

    def txs_get_open(self, tx: Transaction) -> Transaction | None:
        return tx if self.txs.is_open(tx) else None

    async def _batch(self, conn: Any, bounds: list[Bound]) -> None:
        statements: dict[str, Any] = {}
        try:
            for bound in bounds:
                stmt = statements.get(bound.sql)
                if stmt is None:
                    stmt = statements[bound.sql] = await conn.prepare(bound.sql)
                await stmt.fetch(*bound.args)
        except Exception as exc:
            raise _as_api_error(exc) from exc

    async def _atomic_batch(self, conn: Any, bounds: list[Bound]) -> None:
        # JDBC batch semantics: all parameter sets or none.
        try:
            async with conn.transaction():
                await self._batch(conn, bounds)
        except ApiError:
            raise
        except Exception as exc:
            raise _as_api_error(exc) from exc

    def _response(self, req: Mapping[str, Any], result: Result) -> bytes:
        out: dict[str, Any] = {}
        if result.attrs:
            if req.get("formatRecordsAs") == "JSON":
                formatted = _formatted(result)
                if len(formatted.encode()) > self.settings.max_formatted_bytes:
                    raise _TooLargeError()
                out["formattedRecords"] = formatted
            else:
                if result.data_bytes() > self.settings.max_response_bytes:
                    raise _TooLargeError()
                out["records"] = [
                    [c.field(v) for c, v in zip(result.codecs, row, strict=True)]
                    for row in result.rows
                ]
                if req.get("includeResultMetadata") is True:
                    origins: list[ColumnOrigin | None] = (
                        list(result.origins) if result.origins else [None] * len(result.attrs)
                    )
                    out["columnMetadata"] = [
                        column_metadata(c, a, o)
                        for c, a, o in zip(result.codecs, result.attrs, origins, strict=True)
                    ]
            out["numberOfRecordsUpdated"] = 0
        else:
            out["numberOfRecordsUpdated"] = result.updated
            out["generatedFields"] = []
        return _encoder.encode(out)


def _formatted(result: Result) -> str:
    labels = [c.name for c in result.codecs]
    if len(set(labels)) != len(labels):
        dupes = sorted({n for n in labels if labels.count(n) > 1})
        raise ApiError(
            "ValidationException",
            f"The result contains duplicate column labels {', '.join(dupes)}: "
            "formatRecordsAs JSON needs unique labels",
        )
    rows = [
        {
            c.name: (None if v is None else c.plain(v))
            for c, v in zip(result.codecs, row, strict=True)
        }
        for row in result.rows
    ]
    return _encoder.encode(rows).decode()


def _as_api_error(exc: Exception) -> ApiError:
    import asyncpg

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        return database_error(exc)
    return ApiError("BadRequestException", f"Invalid parameter value ({type(exc).__name__})")


async def _nothing() -> None:
    return None


def _arn(value: str) -> str:
    """An ARN as AWS echoes it, or a placeholder: the caller's arbitrary text is never echoed."""
    return value if _ARN.fullmatch(value) else "(invalid ARN)"


def _database(req: Mapping[str, Any], default: str) -> str:
    """The ``database`` member as AWS models it (a name of at most 64 characters) and nothing
    else: it becomes a startup-packet field, where a NUL would start a new parameter (``user``,
    ``options``), so control characters are refused, never passed on."""
    database = req.get("database")
    if database is None or database == "":
        return default
    if (
        not isinstance(database, str)
        or len(database) > _MAX_NAME
        or _CONTROL.search(database) is not None
    ):
        raise ApiError(
            "ValidationException",
            "1 validation error detected: Value at 'database' failed to satisfy constraint: "
            f"Member must be a database name of at most {_MAX_NAME} characters",
        )
    return database


def _options(req: Mapping[str, Any]) -> Options:
    _enum(req, "formatRecordsAs", ("NONE", "JSON"))
    rso = req.get("resultSetOptions")
    if rso is None:
        rso = {}
    if not isinstance(rso, Mapping):
        raise ApiError(
            "ValidationException",
            "1 validation error detected: Value at 'resultSetOptions' failed to satisfy "
            "constraint: Member must be a structure",
        )
    _enum(rso, "longReturnType", ("LONG", "STRING"))
    _enum(rso, "decimalReturnType", ("STRING", "DOUBLE_OR_LONG"))
    return Options(
        long_as_string=rso.get("longReturnType") == "STRING",
        decimal_as_number=rso.get("decimalReturnType") == "DOUBLE_OR_LONG",
    )


def _enum(req: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    """AWS validates enum members server-side (botocore does not): ValidationException."""
    value = req.get(name)
    if value is not None and (not isinstance(value, str) or value not in allowed):
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value at '{name}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]",
        )


def _sql(req: Mapping[str, Any]) -> str:
    sql = _required_str(req, "sql")
    if len(sql) > _MAX_SQL:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value at 'sql' failed to satisfy constraint: "
            f"Member must have length less than or equal to {_MAX_SQL}",
        )
    return sql


def _required_str(req: Mapping[str, Any], name: str) -> str:
    value = req.get(name)
    if not isinstance(value, str):
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value null at '{name}' failed to satisfy "
            "constraint: Member must not be null",
        )
    return value


def _list(req: Mapping[str, Any], name: str) -> list[Any] | None:
    value = req.get(name)
    if value is not None and not isinstance(value, list):
        raise ApiError("ValidationException", f"{name} must be a list")
    return value
