"""Admin SQL over either transport: an asyncpg connection or the RDS Data API (admin secret).

Migrations, seeding and the audit talk to the database through a tiny protocol
(:class:`AdminSql`: ``execute`` / ``fetch`` / ``fetchval`` / ``transaction``) which an
``asyncpg.Connection`` already satisfies, so the asyncpg paths run unchanged.
:class:`DataApiSession` is the Data API implementation for Data-API-only deployments (no VPC,
no direct connection): every call is one ExecuteStatement through the lane's
``DataApiClient`` (same client settings, error mapping and retry policy as the tenant lane).

Differences callers must know:

* There is no session. Outside ``transaction()`` every statement is its own autocommitted call
  on a fresh server session (``SET``/``SET ROLE``/session advisory locks do not survive it);
  inside, all statements share one Data API transaction (BeginTransaction … Commit).
* ``$1``-style placeholders are rewritten to ``:p1`` names, and arguments get a typeHint from
  their Python type (``UUID``, ``Decimal`` → DECIMAL, ``datetime`` → TIMESTAMP in UTC, ``date``
  → DATE, ``time`` → TIME, ``dict``/``list`` → JSON); a bare ``str`` binds as ``varchar``
  (cast in SQL where another type is meant, as on the real service).
* Rows come back via ``formatRecordsAs=JSON`` as dicts keyed by column label, values as the
  Data API renders them (numbers, booleans, lists; timestamps, dates, numerics as strings):
  catalog SQL casts exotic types (``oid``, ``regclass``, ``"char"``) to text.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import msgspec

from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.dataapi.results import parse_execute
from tenantdb.drivers.dataapi.retry import RetryPolicy, call_with_retry
from tenantdb.errors import ConfigurationError, TenantDBError, TransactionExpiredError

__all__ = (
    "ADMIN_SECRET_VAR",
    "AdminSql",
    "DataApiSession",
    "admin_data_api_from_env",
    "admin_target",
    "data_api_from_env",
    "data_api_requested",
    "encode_value",
    "tenant_data_api_from_env",
)

ADMIN_SECRET_VAR = "DB_ADMIN_SECRET_ARN"  # noqa: S105 - a variable name, not a secret
_PLACEHOLDER = re.compile(r"\$(\d+)")
_COMMITTED = "Transaction Committed"
_CONNECT_TIMEOUT_S = 10.0
T = TypeVar("T")


class AdminSql(Protocol):
    """What admin code needs from a connection (``asyncpg.Connection`` has all of it)."""

    async def execute(self, sql: str, /, *args: Any) -> Any: ...

    async def fetch(self, sql: str, /, *args: Any) -> Any: ...

    async def fetchval(self, sql: str, /, *args: Any) -> Any: ...


# -- configuration from the environment --------------------------------------------------------
def data_api_requested(env: Mapping[str, str], flag: bool = False) -> bool:
    """``--data-api`` or ``USE_DATA_API=true`` (1/yes/on too), as ``Database.from_env``."""
    return flag or env.get("USE_DATA_API", "").strip().lower() in ("1", "true", "yes", "on")


def admin_target(
    dsn: str | None, *, data_api: bool = False, env: Mapping[str, str] | None = None
) -> str | DataApi | None:
    """Where ``tenantdb migrate|seed|doctor`` work: ``--data-api`` > ``--dsn`` >
    ``USE_DATA_API=true`` (admin secret) > ``DATABASE_URL``; None when nothing is set."""
    env = os.environ if env is None else env
    if data_api or (not dsn and data_api_requested(env)):
        return admin_data_api_from_env(env)
    return dsn or env.get("DATABASE_URL") or None


def admin_data_api_from_env(env: Mapping[str, str] | None = None) -> DataApi:
    """The admin-secret ``DataApi`` for migrate/seed/doctor.

    Needs ``DB_CLUSTER_ARN``, ``DB_ADMIN_SECRET_ARN`` and ``DATABASE_NAME`` (``AWS_REGION``
    optional; ``AWS_ENDPOINT_URL_RDS_DATA`` and credentials are read by botocore itself).
    There is deliberately no fallback to ``DB_SECRET_ARN``: that is the tenant secret (RLS,
    DML only), and schema changes made with it would fail half-way or, worse, be owned by
    the tenant role. Pass the admin secret explicitly.
    """
    env = os.environ if env is None else env
    return data_api_from_env(env, ADMIN_SECRET_VAR)


def tenant_data_api_from_env(env: Mapping[str, str] | None = None) -> DataApi | None:
    """The tenant-secret ``DataApi`` (``DB_SECRET_ARN``), or None when it is not set."""
    env = os.environ if env is None else env
    return data_api_from_env(env, "DB_SECRET_ARN") if env.get("DB_SECRET_ARN") else None


def data_api_from_env(env: Mapping[str, str], secret_var: str) -> DataApi:
    """A ``DataApi`` from the brief's variables with the secret named by ``secret_var``."""
    needed = ("DB_CLUSTER_ARN", secret_var, "DATABASE_NAME")
    missing = [n for n in needed if not env.get(n)]
    if missing:
        hint = (
            " (the tenant secret DB_SECRET_ARN is never used for admin work)"
            if secret_var == ADMIN_SECRET_VAR
            else ""
        )
        raise ConfigurationError(f"USE_DATA_API=true needs {', '.join(missing)}{hint}")
    return DataApi(
        resource_arn=env["DB_CLUSTER_ARN"],
        secret_arn=env[secret_var],
        database=env["DATABASE_NAME"],
        region=env.get("AWS_REGION") or "us-east-1",
    )


# -- parameters --------------------------------------------------------------------------------
def encode_value(name: str, value: object, *, hint: str | None = None) -> dict[str, Any]:
    """One ``SqlParameter``; the typeHint comes from ``hint`` or else the Python type.

    Declared intent only (DATA_API.md §4.2): a ``str`` that looks like a UUID stays varchar.
    """
    field, auto = _field(value)
    out: dict[str, Any] = {"name": name, "value": field}
    chosen = hint or auto
    if chosen is not None and value is not None:
        out["typeHint"] = chosen
    return out


def _field(value: object) -> tuple[dict[str, Any], str | None]:
    if value is None:
        return {"isNull": True}, None
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blobValue": bytes(value)}, None
    return _scalar(value)


def _scalar(value: object) -> tuple[dict[str, Any], str | None]:
    if isinstance(value, bool):
        return {"booleanValue": value}, None
    if isinstance(value, int):
        return {"longValue": value}, None
    if isinstance(value, float):
        return {"doubleValue": value}, None
    if isinstance(value, str):
        return {"stringValue": value}, None
    return _hinted(value)


def _hinted(value: object) -> tuple[dict[str, Any], str | None]:
    if isinstance(value, uuid.UUID):
        return {"stringValue": str(value)}, "UUID"
    if isinstance(value, decimal.Decimal):
        return {"stringValue": str(value)}, "DECIMAL"
    if isinstance(value, datetime.datetime):
        # The TIMESTAMP hint takes no offset: aware values travel as UTC wall-clock time
        # (the Data API session's TimeZone is UTC), as the tenant lane's codec does.
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return {"stringValue": value.strftime("%Y-%m-%d %H:%M:%S.%f")}, "TIMESTAMP"
    if isinstance(value, datetime.date):
        return {"stringValue": value.isoformat()}, "DATE"
    if isinstance(value, datetime.time):
        return {"stringValue": value.replace(tzinfo=None).isoformat()}, "TIME"
    if isinstance(value, dict | list):
        return {"stringValue": msgspec.json.encode(value).decode()}, "JSON"
    raise ConfigurationError(f"the Data API cannot carry a {type(value).__name__} parameter")


def _named(sql: str, args: Sequence[object]) -> tuple[str, list[dict[str, Any]]]:
    """``$n`` -> ``:pn`` (only when there are arguments: migration text is sent verbatim)."""
    if not args:
        return sql, []
    return (
        _PLACEHOLDER.sub(lambda m: f":p{m.group(1)}", sql),
        [encode_value(f"p{i}", v) for i, v in enumerate(args, 1)],
    )


# -- the Data API session ----------------------------------------------------------------------
class DataApiSession:
    """Admin SQL over the Data API: autocommit calls, or one Data API transaction at a time.

    Example::

        async with DataApiSession(config) as s:
            async with s.transaction():
                await s.execute("SELECT pg_advisory_xact_lock($1)", 42)
                rows = await s.fetch("SELECT relname FROM pg_class WHERE relkind = $1", "r")
    """

    def __init__(self, config: DataApi, *, retry: RetryPolicy | None = None) -> None:
        # Imported here: aioboto3 costs ~0.3 s to import and the asyncpg paths never need it.
        from tenantdb.drivers.dataapi.client import DataApiClient

        self.config = config
        self._client = DataApiClient(config, pool_size=4, connect_timeout=_CONNECT_TIMEOUT_S)
        self._retry = retry or config.retry or RetryPolicy()  # as the tenant lane
        self._tx: str | None = None

    async def __aenter__(self) -> DataApiSession:
        await self._client.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with anyio.CancelScope(shield=True):
            await self._client.close()

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement (in the open transaction, if any); the rows it changed."""
        named, params = _named(sql, args)
        body = await self._call(
            lambda: self._client.execute_raw(named, params, transaction_id=self._tx), sql
        )
        return parse_execute(body).numberOfRecordsUpdated

    async def execute_autocommit(self, sql: str) -> int:
        """One statement outside the open transaction (CREATE INDEX CONCURRENTLY, VACUUM)."""
        body = await self._call(lambda: self._client.execute_raw(sql, []), sql)
        return parse_execute(body).numberOfRecordsUpdated

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """The rows of one statement, as dicts keyed by column label.

        Outside a transaction a ``SELECT`` counts as a read: repeated after a timeout or 5xx
        (admin reads are catalog and tracking-table queries; don't SELECT volatile functions
        this way outside ``transaction()``)."""
        named, params = _named(sql, args)
        body = await self._call(
            lambda: self._client.execute_raw(
                named, params, transaction_id=self._tx, formatRecordsAs="JSON"
            ),
            sql,
            idempotent=self._tx is None and sql.lstrip()[:6].upper() == "SELECT",
        )
        text = parse_execute(body).formattedRecords
        rows: list[dict[str, Any]] = msgspec.json.decode(text) if text else []
        return rows

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return next(iter(rows[0].values()), None) if rows else None

    async def batch(self, sql: str, parameter_sets: list[list[dict[str, Any]]]) -> None:
        """BatchExecuteStatement in the open transaction (required: all or nothing)."""
        tx = self._tx
        if tx is None:
            raise ConfigurationError("DataApiSession.batch needs an open transaction")
        await self._call(lambda: self._client.batch_execute(sql, parameter_sets, tx), sql)

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[None]:
        """BeginTransaction … CommitTransaction; RollbackTransaction (shielded) on any error.

        ``readonly`` sets ``transaction_read_only`` first (as the tenant lane does)."""
        if self._tx is not None:
            raise ConfigurationError("DataApiSession: a transaction is already open")
        self._tx = await self._call(self._client.begin, "BeginTransaction", idempotent=True)
        try:
            if readonly:
                await self.execute("SELECT set_config('transaction_read_only', 'on', true)")
            yield
        except BaseException:
            await self._rollback()
            raise
        tx, self._tx = self._tx, None
        status = await self._call(lambda: self._client.commit(tx), "CommitTransaction")
        if status != _COMMITTED:
            raise TransactionExpiredError(
                f"CommitTransaction answered {status!r}, not {_COMMITTED!r}: nothing committed",
                query="CommitTransaction",
            )

    async def _rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is None:
            return
        # Expired ids answer with an error (the service already rolled back, DATA_API.md §3.1
        # item 5); any other failure here must not hide the error being raised.
        with anyio.CancelScope(shield=True), contextlib.suppress(TenantDBError):
            await self._call(
                lambda: self._client.rollback(tx), "RollbackTransaction", idempotent=True
            )

    async def _call(
        self, call: Callable[[], Awaitable[T]], query: str, *, idempotent: bool = False
    ) -> T:
        return await call_with_retry(self._retry, call, query=query, idempotent=idempotent)
