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

``db.run(ctx, fn)`` / ``db.run_admin(fn)`` are the callable form: ``fn(tx)`` runs in a fresh
transaction and is run again, after a jittered backoff, when it fails with an error whose
``retryable`` flag is set (40001, 40P01, a lost connection, ...) before the COMMIT outcome was
known. ``db.close()`` drains: new transactions are refused with ``DatabaseClosedError``,
open ones get ``drain_timeout`` seconds to finish, the rest are rolled back.
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
from tenantdb.drivers.asyncpg.replicas import (
    ReplicaOptions,
    ReplicaSet,
    ReplicaStatus,
    format_lsn,
    parse_lsn,
)
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.dataapi.retry import RetryPolicy
from tenantdb.drivers.fair import TenantWaits
from tenantdb.drivers.lane import Isolation, Lane, Transaction, TxRequest
from tenantdb.errors import (
    ConfigurationError,
    ContextError,
    DatabaseClosedError,
    QueryError,
    TenantDBError,
    TransactionTimeoutError,
)
from tenantdb.observe import (
    BlockEvent,
    LaneInfo,
    Metrics,
    MetricsSnapshot,
    enter_scope,
    exit_scope,
)
from tenantdb.postgres import Postgres, postgres_from_env

__all__ = ("RUN_RETRY", "Database", "Health", "PoolUsage")

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")
_Op = Callable[[Transaction], Awaitable[T]]
_log = tenantdb_logger()

RUN_RETRY = RetryPolicy(deadline=30.0, max_attempts=10, base_delay=0.02, max_delay=1.0)
"""``Database.run``'s default: up to 10 attempts within 30 s, 20 ms to 1 s jittered backoff."""
_ROLLED_BACK_BY_SERVER = "40"
"""SQLSTATE class "transaction rollback": an ERROR answer to COMMIT in this class (40001 at
COMMIT under SERIALIZABLE) means the server rolled the transaction back, so the outcome is
known and the unit may run again."""
_SHUTDOWN_ROLLBACK_S = 15.0
"""How long ``close()`` waits for the blocks it cancelled to roll back (each rollback is
bounded by its lane's cleanup timeout: 5 s asyncpg, 10 s Data API)."""
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
    replicas: tuple[ReplicaStatus, ...] = ()
    """The read replicas (``Database(replicas=)``); one down or lagging is reported in
    ``problems`` but does not make ``ok`` false: its reads go to the primary."""

    @property
    def ok(self) -> bool:
        return (
            self.reachable
            and self.migrations_current is not False
            and (self.audit_passed is not False)
        )


class PoolUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What one lane's pool holds right now (``db.pool_usage()``; OTel pool metrics).

    asyncpg: connections; the Data API lane: transaction slots (its HTTP pool is as large).
    """

    lane: str
    transport: str
    max_size: int
    in_use: int
    idle: int
    waiting: int
    """Tasks waiting for a connection or slot."""


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
    refused before any SQL. ``run_retry`` is the default ``RetryPolicy`` of ``run()`` and
    ``run_admin()``; ``drain_timeout`` how long ``close()`` lets open transactions finish.
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
        run_retry: RetryPolicy = RUN_RETRY,
        drain_timeout: float = 10.0,
        replicas: Sequence[str] = (),
        replica_options: ReplicaOptions | None = None,
    ) -> None:
        if admin is None and tenant is None:
            raise ConfigurationError("Database needs admin= and/or tenant= (a DSN each)")
        if not drain_timeout >= 0:
            raise ConfigurationError("drain_timeout must be >= 0 seconds")
        self._run_retry = run_retry
        self._drain_timeout = drain_timeout
        self._closing = False
        self._inflight: set[Deadline] = set()
        self._drained: asyncio.Event | None = None
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
        for lane, target in ((self._admin, admin), (self._tenant, tenant)):
            if lane is not None and target is not None:
                self._metrics.describe_lane(_lane_info(lane, target))
        self._replicas = self._replica_set(replicas, replica_options)

    def _replica_set(
        self, replicas: Sequence[str], options: ReplicaOptions | None
    ) -> ReplicaSet | None:
        """The standbys read-only blocks go to (``drivers/asyncpg/replicas.py``), or None."""
        if isinstance(replicas, str):
            raise ConfigurationError("replicas= takes a list of DSNs, not one string")
        if not replicas:
            return None
        lanes: dict[str, tuple[str, PoolOptions]] = {}
        for name, target, opts in (
            ("tenant", self._tenant_target, self._pool_options),
            ("admin", self._admin_target, self._admin_options),
        ):
            if isinstance(target, DataApi):
                raise ConfigurationError(
                    f"replicas= needs asyncpg lanes: the {name} lane is a Data API lane (the "
                    "Data API reaches the writer only; see docs/scale.md)"
                )
            if isinstance(target, str):
                lanes[name] = (target, opts)
        primary = self._admin_target if isinstance(self._admin_target, str) else None
        primary = primary or str(self._tenant_target)
        replica_set = ReplicaSet(
            replicas,
            lanes=lanes,
            primary_dsn=primary,
            options=options or ReplicaOptions(),
            metrics=self._metrics,
        )
        if isinstance(self._tenant, AsyncpgLane):
            self._tenant.commit_lsn_sink = replica_set.committed
        return replica_set

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
        replicas = [u.strip() for u in env.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()]
        if replicas and "replicas" not in options:
            options["replicas"] = replicas
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
        self._closing = False
        try:
            for lane in self._lanes():
                await lane.open()
            if self._replicas is not None:
                await self._replicas.open()
        except BaseException:
            await self.close(drain_timeout=0)
            raise

    @property
    def closing(self) -> bool:
        """True from the start of ``close()`` until the next ``open()``."""
        return self._closing

    async def close(self, *, drain_timeout: float | None = None) -> None:
        """Drain, then close every lane; idempotent, shielded, bounded.

        From the first call on, a new transaction (``tenant()``, ``admin()``, ``run()``) raises
        ``DatabaseClosedError`` before any SQL; blocks nested in open transactions still work.
        Open transactions get ``drain_timeout`` seconds (default: the constructor's, 10 s) to
        finish; those still open then are cancelled, rolled back, and raise
        ``DatabaseClosedError`` in their tasks. The lanes close afterwards. A transaction
        block of the task calling ``close()`` itself is neither waited for nor cancelled.
        """
        self._closing = True
        limit = self._drain_timeout if drain_timeout is None else drain_timeout
        with anyio.CancelScope(shield=True):
            await self._drain(limit)
            self._watchdog.stop()
            for lane in self._lanes():
                await lane.close()
            if self._replicas is not None:
                await self._replicas.close()

    async def _drain(self, limit: float) -> None:
        """Wait up to ``limit`` s for open blocks of other tasks, then cancel the rest and wait
        (bounded) for their rollbacks."""
        me = asyncio.current_task()
        with anyio.move_on_after(limit):
            await self._until_drained(me)
        others = [d for d in self._inflight if d.task is not me]
        if not others:
            return
        # A block already in its COMMIT/ROLLBACK is left to finish (``Deadline.ending``).
        late = [d for d in others if not d.ending]
        if late:
            _log.warning("shutdown_rollback", transactions=len(late), drain_timeout_s=limit)
        for deadline in late:
            self._watchdog.unwatch(deadline)
            deadline.expire("shutdown")
        with anyio.move_on_after(_SHUTDOWN_ROLLBACK_S):
            await self._until_drained(me)

    async def _until_drained(self, me: object) -> None:
        while any(d.task is not me for d in self._inflight):
            self._drained = event = asyncio.Event()
            await event.wait()

    def _enter_inflight(self, deadline: Deadline) -> None:
        self._inflight.add(deadline)

    def _exit_inflight(self, deadline: Deadline) -> None:
        self._inflight.discard(deadline)
        if self._drained is not None:
            self._drained.set()

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
            self._read_lane(self._tenant) if readonly else self._tenant,
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

    async def run(
        self,
        ctx: TenantContext,
        fn: Callable[[Transaction], Awaitable[T]],
        *,
        retry: RetryPolicy | None = None,
        readonly: bool = False,
        isolation: Isolation | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - same meaning as db.tenant(timeout=)
    ) -> T:
        """``await fn(tx)`` in one RLS transaction, re-run in a fresh one while it is retryable.

        A failure is retried when its error is ``retryable`` (nothing of the unit committed and
        the cause may pass: 40001, 40P01, a lost connection before COMMIT was sent,
        cannot-connect-now, Data API throttling or resuming; docs/errors.md) and it happened
        before the COMMIT outcome was known: at COMMIT itself only an error answer of class 40
        (the server rolled back) is retried, never a lost or ambiguous COMMIT. Waits follow
        ``retry`` (default ``Database(run_retry=)``: jittered exponential backoff, a deadline
        and a number of attempts); each retry is logged (``retry`` event, ``kind="unit"``) and
        counted (``MetricsSnapshot.unit_retries``). When retries run out, the last error is
        raised. ``timeout`` bounds each attempt, like ``db.tenant(timeout=)``.

        ``fn`` may run several times: keep side effects outside the database out of it. Nested
        in an open ``db.tenant(ctx)`` block of the same task, ``fn`` runs once in a savepoint
        (a retry would need the outer transaction to start over).
        """
        return await self._run_unit(
            lambda: self.tenant(ctx, readonly=readonly, isolation=isolation, timeout=timeout),
            fn,
            retry=retry,
            lane="tenant",
            tenant_id=getattr(ctx, "tenant_id", None),  # a bad ctx raises in tenant(), below
        )

    async def run_admin(
        self,
        fn: Callable[[Transaction], Awaitable[T]],
        *,
        reason: str | None = None,
        retry: RetryPolicy | None = None,
        readonly: bool = False,
        isolation: Isolation | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - same meaning as db.admin(timeout=)
    ) -> T:
        """``db.run`` on the admin lane (BYPASSRLS; logged with ``reason`` like ``admin()``)."""
        caller = sys._getframe(1)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        return await self._run_unit(
            lambda: self._admin_block(
                reason, where, readonly=readonly, isolation=isolation, timeout=timeout
            ),
            fn,
            retry=retry,
            lane="admin",
            tenant_id=None,
        )

    async def _run_unit(
        self,
        block: Callable[[], AbstractAsyncContextManager[Transaction]],
        fn: Callable[[Transaction], Awaitable[T]],
        *,
        retry: RetryPolicy | None,
        lane: str,
        tenant_id: str | None,
    ) -> T:
        policy = self._run_retry if retry is None else retry
        nested = lane == "tenant" and self._open_tenant_block() is not None
        start = time.monotonic()
        attempt = 0
        while True:
            committing = False
            try:
                async with block() as tx:
                    result = await fn(tx)
                    committing = True
            except TenantDBError as exc:
                wait = None if nested else _unit_retry_wait(policy, exc, attempt, committing)
                if wait is None or time.monotonic() - start + wait > policy.deadline:
                    raise
                self._metrics.record_retry(
                    kind="unit",
                    lane=lane,
                    tenant_id=tenant_id,
                    operation="transaction",
                    query=getattr(exc, "query", None),
                    attempt=attempt + 1,
                    error=getattr(exc, "sqlstate", None) or type(exc).__name__,
                    delay_s=wait,
                )
            else:
                return result
            await anyio.sleep(wait)
            attempt += 1

    def _open_tenant_block(self) -> _Active | None:
        active = _ACTIVE.get()
        if active is None or active.db != id(self) or active.task is not _current_task():
            return None
        return active

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
        caller = sys._getframe(1)
        return self._admin_block(
            reason,
            f"{caller.f_code.co_filename}:{caller.f_lineno}",
            readonly=readonly,
            isolation=isolation,
            timeout=timeout,
        )

    def _admin_block(
        self,
        reason: str | None,
        caller: str,
        *,
        readonly: bool,
        isolation: Isolation | str | None,
        timeout: float | None,
    ) -> _Block:
        if self._admin is None:
            raise ConfigurationError("this Database has no admin lane (admin= not given)")
        _log.info("tenantdb.admin_transaction", reason=reason, caller=caller, readonly=readonly)
        return self._block(
            self._read_lane(self._admin) if readonly else self._admin,
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

    # -- read replicas ---------------------------------------------------------------------------
    def _read_lane(self, lane: Lane) -> Lane:
        """Where a read-only block goes: routed to a standby when replicas are configured."""
        if self._replicas is None or not isinstance(lane, AsyncpgLane):
            return lane
        return self._replicas.lane(lane)

    def commit_token(self, ctx: TenantContext) -> str | None:
        """The last commit position of ``ctx``'s writable blocks in this process (``"0/16B3748"``),
        for a cookie or header; None without replicas or before the first write.

        Another process serving the same user passes it to :meth:`read_after`, so its
        read-only blocks of that context see the write (read-your-writes across processes).
        """
        if self._replicas is None:
            return None
        lsn = self._replicas.token(ctx)
        return None if lsn is None else format_lsn(lsn)

    def read_after(self, ctx: TenantContext, token: str | None) -> None:
        """Make ``ctx``'s later read-only blocks read at least at ``token`` (from
        :meth:`commit_token`): a standby that has not replayed it is skipped. A None or empty
        token does nothing; a malformed one raises ``ConfigurationError``."""
        if self._replicas is None or not token:
            return
        self._replicas.remember(ctx, parse_lsn(token))

    def replica_status(self) -> tuple[ReplicaStatus, ...]:
        """Each standby's state (ok, lagging, down), lag, replay position and reads served."""
        return () if self._replicas is None else self._replicas.status()

    @property
    def replica_fallbacks(self) -> int:
        """Read-only blocks that went to the primary because no standby was usable."""
        return 0 if self._replicas is None else self._replicas.fallbacks

    def tenant_waits(self) -> tuple[TenantWaits, ...]:
        """Per tenant: connections held, blocks waiting, wait-time percentiles, timeouts
        (the tenant lane's fair queue, ``PoolOptions(max_per_tenant=)``; asyncpg lanes)."""
        lane = self._tenant
        return lane.gate.stats() if isinstance(lane, AsyncpgLane) else ()

    # -- observability ---------------------------------------------------------------------------
    def pool_usage(self) -> tuple[PoolUsage, ...]:
        """In use, idle and waiting per open lane (a closed lane reports zeros)."""
        return tuple(_pool_usage(lane) for lane in self._lanes())

    @property
    def metrics_recorder(self) -> Metrics:
        """The ``Metrics`` every lane records into (attach observers to it)."""
        return self._metrics

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
        replicas = self.replica_status()
        problems.extend(
            f"replica {r.name} {r.state}: reads go to the primary"
            + (f" ({r.error})" if r.error else "")
            for r in replicas
            if r.state in ("down", "lagging")
        )
        return Health(
            replicas=replicas,
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
        "_block_event",
        "_db",
        "_deadline",
        "_inflight",
        "_inner",
        "_lane",
        "_options",
        "_recording",
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
        self._recording: contextvars.Token[Any] | None = None
        self._inflight = False
        self._block_event: BlockEvent | None = None

    async def __aenter__(self) -> Transaction:
        db = self._db
        outer = self._outer()
        if outer is None:
            if db._closing:
                raise DatabaseClosedError(
                    f"the Database is closing or closed: no new {self._lane.name} "
                    "transaction starts (db.close() was called)"
                )
            limit = self._timeout or self._options.transaction_timeout
            inner = self._lane.transaction(self._request)
        else:
            limit = self._timeout or math.inf
            inner = outer.tx.savepoint()
        _check_timeout(limit)
        watchdog = db._watchdog
        self._deadline = deadline = Deadline(time.monotonic() + limit)
        if limit != math.inf:
            watchdog.watch(deadline)
        if outer is None:
            db._enter_inflight(deadline)
            self._inflight = True
            request = self._request
            self._block_event = db._metrics.block_started(
                lane=self._lane.name,
                tenant_id=request.tenant_id,
                readonly=request.readonly,
                isolation=None if request.isolation is None else request.isolation.value,
            )
        # Retries the transport makes inside the block count in this Database's Metrics.
        self._recording = enter_scope(
            db._metrics, lane=self._lane.name, tenant_id=self._request.tenant_id
        )
        try:
            tx = await inner.__aenter__()
        except BaseException as exc:
            watchdog.unwatch(deadline)
            error: BaseException = exc
            if deadline.timed_out(type(exc)):
                error = self._timed_out()
            self._leave(error)
            if error is not exc:
                raise error from None
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
        self._deadline.ending = True  # db.close() must not cancel a COMMIT in flight
        timed_out = self._deadline.timed_out(exc_type)
        if self._token is not None:
            _ACTIVE.reset(self._token)
        error: BaseException | None = exc
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        except BaseException as raised:
            error = raised
            raise
        else:
            if timed_out:
                error = self._timed_out()
                raise error from None
        finally:
            self._leave(error)

    def _leave(self, error: BaseException | None) -> None:
        """Undo what ``__aenter__`` registered (metrics scope, in-flight set, the observers'
        block); once."""
        event, self._block_event = self._block_event, None
        if event is not None:
            self._db._metrics.block_ended(event, error)
        scope, self._recording = self._recording, None
        if scope is not None:
            exit_scope(scope)
        if self._inflight:
            self._inflight = False
            assert self._deadline is not None  # noqa: S101 - set before _inflight
            self._db._exit_inflight(self._deadline)

    def _timed_out(self) -> TenantDBError:
        assert self._deadline is not None  # noqa: S101 - only called after __aenter__ began
        if self._deadline.reason == "shutdown":
            return DatabaseClosedError(
                f"the {self._lane.name} transaction was rolled back: the Database closed "
                "before it finished (db.close()'s drain timeout ran out)"
            )
        limit = self._timeout or self._options.transaction_timeout
        return TransactionTimeoutError(
            f"the {self._lane.name} transaction exceeded its {limit:g} s deadline and was "
            "rolled back (pass timeout= to db.tenant()/db.admin() to change it)"
        )


def _unit_retry_wait(
    policy: RetryPolicy, error: TenantDBError, attempt: int, committing: bool
) -> float | None:
    """The wait before ``db.run``'s next attempt, or None to raise ``error`` now.

    Before COMMIT, ``error.retryable`` decides (docs/errors.md: nothing of the unit committed
    and the cause may pass). At COMMIT, only an error answer in SQLSTATE class 40 is known to
    have rolled back; a lost connection, a timeout or a shutdown message there leaves the
    outcome unknown, whatever the flag says.
    """
    if not error.retryable:
        return None
    if committing and not (
        isinstance(error, QueryError) and (error.sqlstate or "").startswith(_ROLLED_BACK_BY_SERVER)
    ):
        return None
    return policy.backoff(error, attempt)


def _pool_usage(lane: Lane) -> PoolUsage:
    """One lane's pool state: asyncpg's pool counters, or the Data API lane's slots."""
    size = _max_size(lane)
    if isinstance(lane, AsyncpgLane):
        pool = lane._pool
        opened = 0 if pool is None else pool.get_size()
        idle = 0 if pool is None else pool.get_idle_size()
        return PoolUsage(
            lane=lane.name,
            transport=lane.transport,
            max_size=size,
            in_use=opened - idle,
            idle=idle,
            waiting=lane.waiting,
        )
    # The Data API lane bounds open transactions with an anyio.Semaphore of max_size slots.
    slots: anyio.Semaphore | None = getattr(lane, "_slots", None)
    free = size if slots is None else slots.value
    return PoolUsage(
        lane=lane.name,
        transport=lane.transport,
        max_size=size,
        in_use=size - free,
        idle=free,
        waiting=0 if slots is None else slots.statistics().tasks_waiting,
    )


def _max_size(lane: Lane) -> int:
    options: PoolOptions | None = getattr(lane, "options", None)
    return 0 if options is None else options.max_size


def _lane_info(lane: Lane, target: str | Postgres | DataApi) -> LaneInfo:
    """What telemetry reports about ``lane``: database name and server (never credentials)."""
    if isinstance(target, DataApi):
        endpoint = urlsplit(
            target.endpoint_url or f"https://rds-data.{target.region}.amazonaws.com"
        )
        return LaneInfo(
            name=lane.name,
            transport=lane.transport,
            namespace=target.database,
            server_address=endpoint.hostname,
            server_port=endpoint.port or (443 if endpoint.scheme == "https" else 80),
        )
    dsn = urlsplit(target.dsn if isinstance(target, Postgres) else target)
    try:
        port = dsn.port
    except ValueError:
        port = None
    return LaneInfo(
        name=lane.name,
        transport=lane.transport,
        namespace=dsn.path.lstrip("/") or dsn.username or None,
        server_address=dsn.hostname,
        server_port=port or 5432 if dsn.hostname else port,
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
