"""``Database``: the admin and tenant lanes, RLS transactions, batches, health and metrics.

Example::

    db = tenantdb.Database(admin=os.environ["DATABASE_URL"],
                           tenant=os.environ["TENANT_DATABASE_URL"])
    async with db:
        ctx = tenantdb.TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        async with db.tenant(ctx, readonly=True) as tx:
            booking = await q.get_booking(tx, id=booking_id)
        a, b = await db.tenant_batch(ctx, [q.count_bookings, q.count_guests])
        async with db.admin(reason="nightly backfill") as adm:   # BYPASSRLS, logged
            ...

Tenant code gets an executor only from ``db.tenant(ctx)``: one transaction whose ``app.*``
variables are set transaction-locally before the first query (see ``drivers/asyncpg/lane.py``
for the round trips). A block nested in an open tenant block of the same task, with the same
context, is a savepoint; with another context it raises ``ContextError`` (RLS.md I-15).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, overload
from urllib.parse import urlsplit

import anyio
import msgspec

from tenantdb._deadline import Deadline, Watchdog
from tenantdb._log import tenantdb_logger
from tenantdb.context import IdValidator, TenantContext, uuid_id
from tenantdb.drivers.asyncpg.lane import AsyncpgLane, PoolOptions
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.lane import Isolation, Lane, Transaction, TxRequest
from tenantdb.errors import (
    ConfigurationError,
    ContextError,
    TenantDBError,
    TransactionTimeoutError,
)
from tenantdb.observe import Metrics, MetricsSnapshot
from tenantdb.postgres import Postgres, postgres_from_env

__all__ = ("Database", "Health")

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")
_Op = Callable[[Transaction], Awaitable[T]]
_log = tenantdb_logger()

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """What ``db.health()`` found; ``ok`` is the one flag a readiness probe needs.

    ``migrations_current`` and ``audit_passed`` are None when they could not be checked (no
    migrations directory configured, no admin lane, or the audit module is not installed).
    """

    reachable: bool
    server_version: str | None
    lanes: tuple[str, ...]
    """``"admin:asyncpg"``, ``"tenant:asyncpg"`` / ``"tenant:data_api"``."""
    migrations_current: bool | None = None
    audit_passed: bool | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.reachable
            and self.migrations_current is not False
            and (self.audit_passed is not False)
        )


class _Active:
    """The tenant transaction open in one task (for nesting = savepoint)."""

    __slots__ = ("ctx", "db", "readonly", "task", "tx")

    def __init__(
        self, db: int, task: object, ctx: TenantContext, tx: Transaction, *, readonly: bool
    ) -> None:
        self.db = db
        self.task = task
        self.ctx = ctx
        self.tx = tx
        self.readonly = readonly


_ACTIVE: contextvars.ContextVar[_Active | None] = contextvars.ContextVar(
    "tenantdb_active_transaction", default=None
)


class Database:
    """The SDK's entry point: lanes, lifecycle, transactions (see the module docstring).

    ``admin`` is the admin role's DSN, or a ``DataApi`` config with the admin secret in a
    Data-API-only deployment (BYPASSRLS: migrations, seeding, ``db.admin()``); ``tenant`` the
    tenant role's DSN or a ``DataApi`` config (``db.tenant(ctx)``); ``pool`` configures the
    tenant lane and ``admin_pool`` the admin lane (default: ``pool``). ``migrations`` is the
    migrations directory ``health()`` compares with the database. ``validator`` is the id
    format this database's tenant_id columns use (canonical UUIDs by default;
    ``tenantdb.context.slug_id`` for text slugs): a context validated by another validator is
    refused before any SQL.
    """

    def __init__(
        self,
        *,
        admin: str | Postgres | DataApi | None = None,
        tenant: str | Postgres | DataApi | None = None,
        pool: PoolOptions | None = None,
        admin_pool: PoolOptions | None = None,
        migrations: str | os.PathLike[str] | None = None,
        metrics: Metrics | None = None,
        validator: IdValidator = uuid_id,
    ) -> None:
        if admin is None and tenant is None:
            raise ConfigurationError("Database needs admin= and/or tenant= (a DSN each)")
        self._metrics = metrics if metrics is not None else Metrics()
        self._pool_options = pool if pool is not None else PoolOptions()
        self._admin_options = admin_pool if admin_pool is not None else self._pool_options
        self._migrations = Path(migrations) if migrations is not None else None
        self._validator = validator
        self._watchdog = Watchdog()
        self._admin = None if admin is None else self._lane("admin", admin, self._admin_options)
        self._tenant = None if tenant is None else self._lane("tenant", tenant, self._pool_options)
        self._admin_target = admin
        self._tenant_target = tenant

    # -- construction ----------------------------------------------------------------------------
    def _lane(
        self,
        name: Literal["admin", "tenant"],
        target: str | Postgres | DataApi,
        options: PoolOptions,
    ) -> Lane:
        """The seam where a lane's transport is chosen: a DSN is asyncpg, a ``DataApi``
        config is the Data API lane (``tenantdb.drivers.dataapi.lane.DataApiLane``)."""
        if isinstance(target, str):
            _check_dsn(name, target)
            return AsyncpgLane(target, name=name, options=options, metrics=self._metrics)
        if isinstance(target, Postgres):
            return AsyncpgLane(
                target.dsn,
                name=name,
                options=options,
                metrics=self._metrics,
                connect=target.pool_kwargs(),
            )
        if isinstance(target, DataApi):
            lane: Lane = _data_api_lane_class()(
                target, name=name, options=options, metrics=self._metrics
            )
            return lane
        raise ConfigurationError(
            f"{name}= must be a postgresql:// DSN, a tenantdb.Postgres or a tenantdb.DataApi, "
            f"got {type(target).__name__}"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Database:
        """Build from the brief's variables (``os.environ`` by default).

        ``DATABASE_URL`` is the admin lane, ``TENANT_DATABASE_URL`` the tenant lane.
        ``USE_DATA_API=true`` selects the Data API tenant lane from ``DB_CLUSTER_ARN``,
        ``DB_SECRET_ARN``, ``DATABASE_NAME`` and ``AWS_REGION``; without ``DATABASE_URL``,
        ``DB_ADMIN_SECRET_ARN`` (never the tenant secret) makes the admin lane a Data API lane
        too, so ``health()`` can check migrations and the RLS audit. ``options`` are passed to the
        constructor (``pool=``, ``migrations=``, …).
        """
        env = os.environ if environ is None else environ
        admin: str | Postgres | DataApi | None = env.get("DATABASE_URL") or None
        tenant: str | Postgres | DataApi | None
        if _flag(env, "USE_DATA_API"):
            _data_api_lane_class()
            from tenantdb.admin.session import ADMIN_SECRET_VAR, data_api_from_env

            tenant = data_api_from_env(env, "DB_SECRET_ARN")
            if admin is None and env.get(ADMIN_SECRET_VAR):
                admin = data_api_from_env(env, ADMIN_SECRET_VAR)
        else:
            tenant = env.get("TENANT_DATABASE_URL") or None
        if admin is None and tenant is None:
            raise ConfigurationError(
                "set DATABASE_URL (admin lane) and/or TENANT_DATABASE_URL (tenant lane), "
                "or USE_DATA_API=true with DB_CLUSTER_ARN, DB_SECRET_ARN, DATABASE_NAME"
            )
        # DATABASE_SSLMODE / DATABASE_SSLROOTCERT / DATABASE_IAM_AUTH (tenantdb.postgres)
        if isinstance(admin, str):
            admin = postgres_from_env(admin, env, role="admin")
        if isinstance(tenant, str):
            tenant = postgres_from_env(tenant, env, role="tenant")
        return cls(admin=admin, tenant=tenant, **options)

    # -- lifecycle -------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open every lane (``async with db:`` does this); on failure nothing stays open."""
        try:
            for lane in self._lanes():
                await lane.open()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close every lane; idempotent, shielded, bounded."""
        self._watchdog.stop()
        with anyio.CancelScope(shield=True):
            for lane in self._lanes():
                await lane.close()

    def _lanes(self) -> list[Lane]:
        return [lane for lane in (self._admin, self._tenant) if lane is not None]

    # -- transactions ----------------------------------------------------------------------------
    def tenant(
        self,
        ctx: TenantContext,
        *,
        readonly: bool = False,
        isolation: Isolation | str | None = None,
        timeout: float | None = None,
    ) -> AbstractAsyncContextManager[Transaction]:
        """One RLS transaction for ``ctx``; the executor it yields runs generated queries.

        ``readonly`` makes it ``READ ONLY``; ``isolation`` picks the level (default: the
        server's, READ COMMITTED); ``timeout`` bounds the whole block in seconds (default
        ``PoolOptions.transaction_timeout``) and raises ``TransactionTimeoutError`` after
        rolling back. Nested in an open block of the same task with the same context, it is a
        savepoint; with a different context it raises ``ContextError``.
        """
        if not isinstance(ctx, TenantContext):
            raise ContextError(
                f"db.tenant() needs a TenantContext, got {type(ctx).__name__}",
                variable="tenant_id",
            )
        ctx.ensure_validator(self._validator)
        if self._tenant is None:
            raise ConfigurationError("this Database has no tenant lane (tenant= not given)")
        return self._block(
            self._tenant,
            self._pool_options,
            ctx=ctx,
            readonly=readonly,
            isolation=isolation,
            timeout=timeout,
        )

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1], _Op[T2]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1, T2]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1], _Op[T2], _Op[T3]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1, T2, T3]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1], _Op[T2], _Op[T3], _Op[T4]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1, T2, T3, T4]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1], _Op[T2], _Op[T3], _Op[T4], _Op[T5]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1, T2, T3, T4, T5]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: tuple[_Op[T1], _Op[T2], _Op[T3], _Op[T4], _Op[T5], _Op[T6]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> tuple[T1, T2, T3, T4, T5, T6]: ...

    @overload
    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: list[_Op[T]],
        *,
        readonly: bool = ...,
        isolation: Isolation | str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
    ) -> list[T]: ...

    async def tenant_batch(
        self,
        ctx: TenantContext,
        operations: Sequence[Callable[[Transaction], Awaitable[Any]]],
        *,
        readonly: bool = False,
        isolation: Isolation | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - same meaning as db.tenant(timeout=)
    ) -> Any:
        """Run each ``operation(tx)`` in order in ONE transaction; results in the same order.

        Typed like ``asyncio.gather``: a *tuple* of up to six operations gives a tuple type of
        their results (``a, b = await db.tenant_batch(ctx, (q.count, q.sums))``); a list gives
        ``list[T]``. At runtime the result is a list either way.

        If any operation raises, the whole transaction rolls back and the error propagates:
        no operation's writes survive.
        """
        results: list[Any] = []
        async with self.tenant(ctx, readonly=readonly, isolation=isolation, timeout=timeout) as tx:
            for operation in operations:
                results.append(await operation(tx))
        return results

    def admin(
        self,
        *,
        reason: str | None = None,
        readonly: bool = False,
        isolation: Isolation | str | None = None,
        timeout: float | None = None,
    ) -> AbstractAsyncContextManager[Transaction]:
        """A transaction on the admin lane: BYPASSRLS, sees every tenant. Explicit and logged.

        Every call logs ``tenantdb.admin_transaction`` with ``reason`` and the caller's file and
        line, so cross-tenant access is auditable.
        """
        if self._admin is None:
            raise ConfigurationError("this Database has no admin lane (admin= not given)")
        caller = sys._getframe(1)
        _log.info(
            "tenantdb.admin_transaction",
            reason=reason,
            caller=f"{caller.f_code.co_filename}:{caller.f_lineno}",
            readonly=readonly,
        )
        return self._block(
            self._admin,
            self._admin_options,
            ctx=None,
            readonly=readonly,
            isolation=isolation,
            timeout=timeout,
        )

    def _block(
        self,
        lane: Lane,
        options: PoolOptions,
        *,
        ctx: TenantContext | None,
        readonly: bool,
        isolation: Isolation | str | None,
        timeout: float | None,
    ) -> _Block:
        """The block for ``lane``; its request carries the lane's statement timeout."""
        request = TxRequest(
            ctx=ctx,
            readonly=readonly,
            isolation=_isolation(isolation),
            statement_timeout=options.statement_timeout,
        )
        return _Block(self, lane, options, request, timeout=timeout)

    # -- observability ---------------------------------------------------------------------------
    def metrics(self) -> MetricsSnapshot:
        """Totals, per-tenant and per-query counts and latencies since start."""
        return self._metrics.snapshot()

    async def health(self) -> Health:
        """Reachability, server version, migrations and schema audit, for readiness probes."""
        lanes = tuple(f"{lane.name}:{lane.transport}" for lane in self._lanes())
        problems: list[str] = []
        version: str | None = None
        for lane in self._lanes():
            try:
                version = await lane.server_version()
            except TenantDBError as exc:
                problems.append(f"{lane.name} lane unreachable: {exc}")
        migrations = await self._migrations_current(problems)
        audit = await self._audit_passed(problems)
        return Health(
            reachable=not any("unreachable" in p for p in problems),
            server_version=version,
            lanes=lanes,
            migrations_current=migrations,
            audit_passed=audit,
            problems=tuple(problems),
        )

    async def _migrations_current(self, problems: list[str]) -> bool | None:
        if self._migrations is None or self._admin_target is None:
            return None
        from tenantdb.admin import migrate

        try:
            rows = await migrate.status(self._admin_target, self._migrations)
        except TenantDBError as exc:
            problems.append(f"migrations: {exc}")
            return False
        stale = [f"{r.version}_{r.name}: {r.state}" for r in rows if r.state != "applied"]
        problems.extend(f"migration {s}" for s in stale)
        return not stale

    async def _audit_passed(self, problems: list[str]) -> bool | None:
        """``tenantdb.admin.audit`` (I-1…I-7) as the admin role, for the tenant lane's role."""
        if self._admin is None:
            return None  # no admin lane: the catalog checks need one
        from tenantdb.admin import audit

        tenant = self._tenant_target
        if isinstance(tenant, Postgres):
            tenant = tenant.dsn
        role = (urlsplit(tenant).username if isinstance(tenant, str) else None) or "app_tenant"
        try:
            async with self._audit_connections() as (admin_conn, tenant_conn):
                # catalog reads, plus read-only probes as a tenant that owns no row
                findings = await audit.audit(admin_conn, tenant_role=role, tenant_conn=tenant_conn)
        except Exception as exc:  # a health probe reports problems, it does not raise
            problems.append(f"audit could not run: {type(exc).__name__}: {exc}")
            return False
        problems.extend(f"audit: {f}" for f in findings)
        return not findings

    @asynccontextmanager
    async def _audit_connections(self) -> AsyncIterator[tuple[Any, Any]]:
        """(admin, tenant-or-None) for the audit: pooled asyncpg connections, or the
        ``DataApi`` configs themselves (``audit.audit`` opens those per call)."""
        admin_pool = getattr(self._admin, "pool", None)
        tenant_pool = getattr(self._tenant, "pool", None)
        tenant_api = self._tenant_target if isinstance(self._tenant_target, DataApi) else None
        async with contextlib.AsyncExitStack() as stack:
            admin_conn: Any = self._admin_target
            if admin_pool is not None:
                admin_conn = await stack.enter_async_context(admin_pool.acquire())
            tenant_conn: Any = tenant_api
            if tenant_pool is not None:
                tenant_conn = await stack.enter_async_context(tenant_pool.acquire())
            yield admin_conn, tenant_conn


class _Block:
    """``async with db.tenant(ctx)`` / ``db.admin()``: deadline, nesting, then the lane."""

    __slots__ = (
        "_db",
        "_deadline",
        "_inner",
        "_lane",
        "_options",
        "_request",
        "_timeout",
        "_token",
    )

    def __init__(
        self,
        db: Database,
        lane: Lane,
        options: PoolOptions,
        request: TxRequest,
        *,
        timeout: float | None,
    ) -> None:
        self._db = db
        self._lane = lane
        self._options = options
        self._request = request
        self._timeout = timeout
        self._inner: AbstractAsyncContextManager[Transaction] | None = None
        self._deadline: Deadline | None = None
        self._token: contextvars.Token[_Active | None] | None = None

    async def __aenter__(self) -> Transaction:
        outer = self._outer()
        if outer is None:
            limit = self._timeout or self._options.transaction_timeout
            inner = self._lane.transaction(self._request)
        else:
            limit = self._timeout or math.inf
            inner = outer.tx.savepoint()
        _check_timeout(limit)
        watchdog = self._db._watchdog
        self._deadline = deadline = Deadline(time.monotonic() + limit)
        if limit != math.inf:
            watchdog.watch(deadline)
        try:
            tx = await inner.__aenter__()
        except BaseException as exc:
            watchdog.unwatch(deadline)
            if deadline.timed_out(type(exc)):
                raise self._timed_out() from None
            raise
        self._inner = inner
        ctx = self._request.ctx
        if outer is None and ctx is not None:
            active = _Active(id(self._db), deadline.task, ctx, tx, readonly=self._request.readonly)
            self._token = _ACTIVE.set(active)
        return tx

    def _outer(self) -> _Active | None:
        """The open tenant transaction of this task and database, checked against ``ctx``."""
        active = _ACTIVE.get()
        if active is None or active.db != id(self._db) or active.task is not _current_task():
            return None
        request = self._request
        if request.ctx is None:
            return None  # an admin block inside a tenant block: its own transaction
        if request.ctx != active.ctx:
            raise ContextError(
                "a tenant transaction is already open in this task; a nested block cannot "
                "change the tenant context (finish the outer block first)",
                variable="tenant_id",
            )
        if request.isolation is not None:
            raise ConfigurationError("isolation= applies to the outermost block only")
        if request.readonly and not active.readonly:
            # A savepoint cannot be read-only: refuse rather than hand out a writable block.
            raise ConfigurationError(
                "readonly=True cannot apply to a block nested in a writable transaction "
                "(it would be a writable savepoint); make the outermost block read-only"
            )
        return active

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._inner is not None  # noqa: S101 - set by a successful __aenter__
        assert self._deadline is not None  # noqa: S101 - set by a successful __aenter__
        # The deadline covers acquire, BEGIN and the block; COMMIT/ROLLBACK have their own
        # bounds (statement timeout, shielded cleanup timeout), so a commit is never reported
        # as timed out after it happened.
        self._db._watchdog.unwatch(self._deadline)
        timed_out = self._deadline.timed_out(exc_type)
        if self._token is not None:
            _ACTIVE.reset(self._token)
        await self._inner.__aexit__(exc_type, exc, tb)
        if timed_out:
            raise self._timed_out() from None

    def _timed_out(self) -> TransactionTimeoutError:
        limit = self._timeout or self._options.transaction_timeout
        return TransactionTimeoutError(
            f"the {self._lane.name} transaction exceeded its {limit:g} s deadline and was "
            "rolled back (pass timeout= to db.tenant()/db.admin() to change it)"
        )


def _current_task() -> object:
    """The running task (asyncpg runs on asyncio only; cheaper than anyio's TaskInfo)."""
    return asyncio.current_task()


def _check_timeout(limit: float) -> None:
    if not limit > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {limit!r}")


def _isolation(value: Isolation | str | None) -> Isolation | None:
    if value is None:
        return None
    try:
        return Isolation(str(value).lower().replace("_", " "))
    except ValueError:
        levels = ", ".join(i.value for i in Isolation)
        raise ConfigurationError(f"isolation must be one of {levels}; got {value!r}") from None


def _check_dsn(lane: str, dsn: str) -> None:
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(f"the {lane} lane needs a postgresql:// DSN")


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _data_api_lane_class() -> Any:
    """The Data API lane class, imported on first use (aioboto3 is heavy to import); a clear
    error if this installation cannot load it."""
    try:
        from tenantdb.drivers.dataapi import lane as dataapi_lane
    except ImportError:
        raise ConfigurationError(
            "the Data API transport (USE_DATA_API, DataApi(...)) needs the dataapi extra: "
            "pip install 'tenantdb[dataapi]'"
        ) from None
    return dataapi_lane.DataApiLane
