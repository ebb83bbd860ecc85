"""The RDS Data API lane: RLS transactions over HTTPS in N+3 calls (see docs/dataapi.md).

Shape of one tenant transaction with N queries::

    call 1      BeginTransaction
    call 2      ExecuteStatement  SELECT set_config('statement_timeout', '30000', true),
                set_config('app.current_tenant_id', '<id>', true), …, set_config('app.x', :v1, true)
                (statement_timeout, transaction_read_only = on when readonly, the validated
                tenant and user ids as literals, extra app.* variables bound: all
                transaction-local, one call)
    calls 3…    the N queries, each carrying the transactionId
    last        CommitTransaction, or RollbackTransaction (shielded) on an error or cancellation

A non-default isolation level costs one more call, ``SET TRANSACTION ISOLATION LEVEL …``, sent
right after BeginTransaction (PostgreSQL only accepts it before the transaction's first
snapshot, so it cannot ride in the set_config statement). If the service already ran a query in
the transaction, PostgreSQL refuses it (SQLSTATE 25001) and the lane raises
``ConfigurationError`` saying so.

Calls of one transaction are serialised by a lock: Aurora v2 answers a concurrent call with
"Transaction is still running a query". Retries follow ``retry`` (never a blind resend
of a write); errors follow ``errors``; values follow ``params`` and ``results``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

from tenantdb.drivers._detached import Detached
from tenantdb.drivers._settings import quote_literal, split_settings
from tenantdb.drivers._tx_common import (
    check_request,
    end_block,
    mark_redo_safe,
    record_transaction,
)
from tenantdb.drivers.dataapi.client import DataApiClient
from tenantdb.drivers.dataapi.errors import map_dataapi_error
from tenantdb.drivers.dataapi.retry import RetryPolicy, call_with_retry
from tenantdb.drivers.dataapi.transaction import (
    BATCH_MAX_BYTES,
    BATCH_MAX_SETS,
    CLEANUP_TIMEOUT_S,
    DataApiTx,
)
from tenantdb.drivers.lane import Isolation, Lane, PoolOptions, Transaction, TxRequest
from tenantdb.errors import (
    ConfigurationError,
    PoolTimeoutError,
    QueryError,
    TenantDBError,
)

if TYPE_CHECKING:
    from tenantdb.context import TenantContext
    from tenantdb.drivers.dataapi.config import DataApi
    from tenantdb.observe import Metrics

__all__ = ("BATCH_MAX_BYTES", "BATCH_MAX_SETS", "DataApiLane", "RetryPolicy")

R = TypeVar("R")
T = TypeVar("T")
_ABANDONED = TxRequest(ctx=None, readonly=False, isolation=None, statement_timeout=None)
"""The request of a transaction only ever rolled back (its Begin's caller was cancelled)."""
_ISOLATION_SQL = {
    Isolation.READ_COMMITTED: "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    Isolation.REPEATABLE_READ: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    Isolation.SERIALIZABLE: "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
}


class DataApiLane:
    """One role over the RDS Data API; satisfies ``tenantdb.drivers.lane.Lane``.

    ``config`` is a ``tenantdb.DataApi``; ``options`` the lane's ``PoolOptions`` (``max_size``
    is the HTTP connection pool, ``statement_timeout`` is applied transaction-locally).
    ``retry`` (default: ``config.retry`` if the config has one, else ``RetryPolicy()``) bounds
    the retries of calls that did not run.
    """

    def __init__(
        self,
        config: DataApi,
        *,
        name: Literal["tenant", "admin"],
        options: PoolOptions,
        metrics: Metrics,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self._name = name
        self.options = options
        self._metrics = metrics
        configured = getattr(config, "retry", None)
        if retry is None:
            retry = configured if isinstance(configured, RetryPolicy) else RetryPolicy()
        self.retry: RetryPolicy = retry
        self._client = DataApiClient(
            config, pool_size=options.max_size, connect_timeout=options.connect_timeout
        )
        self._opened = False
        self._slots: anyio.Semaphore | None = None
        self._detached = Detached()

    @property
    def name(self) -> str:
        return self._name

    @property
    def transport(self) -> str:
        return "data_api"

    @property
    def client(self) -> DataApiClient:
        """The lane's client (diagnostics and tests: ``client.client.meta.events``)."""
        if not self._opened:
            raise ConfigurationError(f"the {self._name} lane is not open: use `async with db:`")
        return self._client

    async def open(self) -> None:
        if self._opened:
            return
        try:
            await self._client.open()
        except Exception as exc:
            raise map_dataapi_error(exc, query=None) from exc
        # fast_acquire: no extra event-loop pass when a slot is free (the common case).
        self._slots = anyio.Semaphore(self.options.max_size, fast_acquire=True)
        self._opened = True

    async def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        with anyio.move_on_after(CLEANUP_TIMEOUT_S, shield=True):
            await self._detached.drain()
            await self._client.close()

    def transaction(self, request: TxRequest) -> AbstractAsyncContextManager[Transaction]:
        check_request(self._name, request)
        return _TxScope(self, request)

    async def server_version(self) -> str:
        client = self.client
        return await call_with_retry(
            self.retry, client.server_version, query="SHOW server_version", idempotent=True
        )

    async def _take_slot(self) -> anyio.Semaphore:
        """One of ``max_size`` transaction slots (the HTTP pool has as many connections).

        Each open transaction makes at most one call at a time, so with no more transactions
        than HTTP connections a transaction that holds a database connection server-side can
        always get an HTTP connection to finish: without this bound, BeginTransaction calls
        queued at a saturated cluster would occupy every HTTP connection and deadlock the
        transactions they wait for.
        """
        slots = self._slots
        if slots is None:
            raise ConfigurationError(f"the {self._name} lane is not open: use `async with db:`")
        try:
            slots.acquire_nowait()
        except anyio.WouldBlock:
            pass
        else:
            return slots
        timeout = self.options.acquire_timeout
        with anyio.move_on_after(timeout):
            await slots.acquire()
            return slots
        raise PoolTimeoutError(
            f"no {self._name}-lane transaction slot became free within {timeout:g} s (raise "
            "PoolOptions.max_size or acquire_timeout, or look for transactions held open)"
        )

    def _transaction(self, tx_id: str, request: TxRequest) -> DataApiTx:
        return DataApiTx(
            self._client,
            tx_id,
            request.ctx,
            readonly=request.readonly,
            retry=self.retry,
            record_query=self._record_query,
            detached=self._detached,
        )

    async def _roll_back_abandoned(self, begin: asyncio.Task[str], slot: anyio.Semaphore) -> None:
        """After a Begin whose caller was cancelled: roll back what it opened, free the slot."""
        try:
            if not begin.cancelled() and begin.exception() is None:
                await self._transaction(begin.result(), _ABANDONED)._rollback()
        finally:
            slot.release()

    async def _call(self, call: Callable[[], Awaitable[T]], *, query: str, idempotent: bool) -> T:
        return await call_with_retry(self.retry, call, query=query, idempotent=idempotent)

    def _record_query(
        self,
        ctx: TenantContext | None,
        query: str,
        rows: int,
        t0: float,
        error: TenantDBError | None,
    ) -> None:
        self._metrics.record_query(
            lane=self._name,
            tenant_id=None if ctx is None else ctx.tenant_id,
            query=query,
            rows=rows,
            duration_s=time.perf_counter() - t0,
            sqlstate=getattr(error, "sqlstate", None),
            error=None if error is None else type(error).__name__,
        )


def _context_statement(
    ctx: TenantContext | None, *, readonly: bool, statement_timeout: float | None
) -> tuple[str, list[dict[str, Any]]]:
    """``SELECT set_config('app.current_tenant_id', '<id>', true), …`` and its parameters.

    The statement timeout and the read-only flag travel as literals; the tenant and user ids and
    every other variable are bound parameters (names validated by
    ``drivers._settings.split_settings``). Returns ("", []) when there is nothing to set.
    """
    calls: list[str] = []
    if statement_timeout is not None:
        millis = max(1, round(statement_timeout * 1000))
        calls.append(f"set_config('statement_timeout', '{millis}', true)")
    if readonly:
        calls.append("set_config('transaction_read_only', 'on', true)")
    literal, bound = split_settings(() if ctx is None else ctx.settings())
    params: list[dict[str, Any]] = []
    # Every value is bound, the ids too: a parameter costs nothing here (unlike the asyncpg
    # BEGIN message), and the statement text other sessions might see then holds no id.
    for i, (name, value) in enumerate((*literal, *bound), 1):
        calls.append(f"set_config({quote_literal(name)}, :v{i}, true)")
        params.append({"name": f"v{i}", "value": {"stringValue": value}})
    if not calls:
        return "", []
    return "SELECT " + ", ".join(calls), params


class _TxScope:
    """``async with lane.transaction(...)``: Begin, context, yield, Commit/Rollback."""

    __slots__ = ("_lane", "_request", "_slot", "_t0", "_tx")

    def __init__(self, lane: DataApiLane, request: TxRequest) -> None:
        self._lane = lane
        self._request = request
        self._t0 = 0.0
        self._tx: DataApiTx | None = None
        self._slot: anyio.Semaphore | None = None

    async def __aenter__(self) -> DataApiTx:
        self._t0 = time.perf_counter()
        lane = self._lane
        client = lane.client
        self._slot = slot = await lane._take_slot()
        try:
            # Detached: a BeginTransaction cancelled in flight (by an anyio scope or a raw
            # Task.cancel) would leave a transaction open server-side whose id we never learn.
            # It runs to the end; if we were cancelled meanwhile, the lane rolls back what it
            # opened and only then frees the slot. Not idempotent: never resent blind.
            tx_id = await lane._detached.run(
                lambda: lane._call(client.begin, query="BEGIN", idempotent=False),
                abandoned=lambda begin: lane._roll_back_abandoned(begin, slot),
            )
        except asyncio.CancelledError:
            self._slot = None  # the slot now belongs to the abandoned Begin's cleanup
            raise
        except BaseException as exc:
            mark_redo_safe(exc)
            self._free()
            raise
        tx = lane._transaction(tx_id, self._request)
        try:
            await self._prepare(tx)
        except BaseException as exc:
            mark_redo_safe(exc)
            try:
                await tx._rollback()
            finally:
                self._free()
                self._record(ok=False, error="BEGIN")
            raise
        self._tx = tx
        return tx

    def _free(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    async def _prepare(self, tx: DataApiTx) -> None:
        r = self._request
        if r.isolation is not None:
            try:
                await tx._statement(_ISOLATION_SQL[r.isolation], [], "SET TRANSACTION")
            except QueryError as exc:
                if exc.sqlstate == "25001":
                    raise ConfigurationError(
                        "this Data API endpoint ran a statement before ours, so PostgreSQL "
                        f"refuses isolation={r.isolation.value!r}; use the default "
                        "isolation (READ COMMITTED) on the Data API lane"
                    ) from exc
                raise
        sql, params = _context_statement(
            r.ctx, readonly=r.readonly, statement_timeout=r.statement_timeout
        )
        if sql:
            await tx._statement(sql, params, "BEGIN", idempotent=True)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx = self._tx
        assert tx is not None  # noqa: S101 - __aexit__ only runs after a successful __aenter__
        tx._closed = True
        ok = False
        try:
            ok = await end_block(
                exc_type, exc=exc, broken=tx._broken, commit=tx._commit, rollback=tx._rollback
            )
        finally:
            ok = ok or tx.committed  # committed, then a cancellation was delivered
            self._free()
            self._record(ok=ok, error=None if ok else "rollback")

    def _record(self, *, ok: bool, error: str | None) -> None:
        lane = self._lane
        record_transaction(
            lane._metrics,
            lane.name,
            self._request,
            self._t0,
            ok=ok,
            context_sets=0 if self._request.ctx is None else 1,
            error=error,
        )


if TYPE_CHECKING:  # mypy proves the lane and its executor satisfy the internal contracts

    def _is_lane(lane: DataApiLane) -> Lane:
        return lane

    def _is_transaction(tx: DataApiTx) -> Transaction:
        return tx
