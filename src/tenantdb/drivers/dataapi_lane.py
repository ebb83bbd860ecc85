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
"Transaction is still running a query". Retries follow ``_dataapi_retry`` (never a blind resend
of a write); errors follow ``_dataapi_errors``; values follow ``_dataapi_codec``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import msgspec

from tenantdb.drivers._asyncpg_sql import quote_literal, split_settings
from tenantdb.drivers._dataapi_client import DataApiClient
from tenantdb.drivers._dataapi_codec import (
    QueryCache,
    decode_result,
    encode_params,
    parse_execute,
)
from tenantdb.drivers._dataapi_errors import map_dataapi_error
from tenantdb.drivers._dataapi_retry import RetryPolicy, call_with_retry
from tenantdb.drivers.lane import Isolation, Lane, Transaction
from tenantdb.errors import (
    ConfigurationError,
    ContextError,
    PoolTimeoutError,
    QueryError,
    ResultTooLargeError,
    TenantDBError,
    TransactionExpiredError,
    UnsupportedQueryError,
    error_for_sqlstate,
)
from tenantdb.query import Command, Param, Query

if TYPE_CHECKING:
    from tenantdb.context import TenantContext
    from tenantdb.dataapi_config import DataApi
    from tenantdb.drivers.asyncpg_lane import PoolOptions
    from tenantdb.observe import Metrics

__all__ = ("BATCH_MAX_BYTES", "BATCH_MAX_SETS", "DataApiLane", "RetryPolicy")

R = TypeVar("R")
T = TypeVar("T")
_CLEANUP_TIMEOUT_S = 10.0
"""Upper bound for the shielded RollbackTransaction (retries of "still running" included)."""
BATCH_MAX_BYTES = 900 * 1024
"""Encoded parameter sets per BatchExecuteStatement. AWS's request limit is 4 MiB; staying under
1 MiB also keeps aiohttp from writing one huge bytes body in a single event-loop step (it warns
about bodies over 1 MiB)."""
BATCH_MAX_SETS = 1000
"""Parameter sets per BatchExecuteStatement, so one call stays well inside the 45 s limit."""
_ISOLATION_SQL = {
    Isolation.READ_COMMITTED: "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    Isolation.REPEATABLE_READ: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    Isolation.SERIALIZABLE: "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
}
_encode_json = msgspec.json.encode


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
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
            await self._client.close()

    def transaction(
        self,
        ctx: TenantContext | None,
        *,
        readonly: bool,
        isolation: Isolation | None,
        statement_timeout: float | None,
    ) -> AbstractAsyncContextManager[Transaction]:
        if self._name == "tenant" and ctx is None:
            raise ContextError("the tenant lane needs a TenantContext", variable="tenant_id")
        return _TxScope(self, ctx, readonly, isolation, statement_timeout)

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

    As on the asyncpg lane (``_asyncpg_sql.split_settings``), the statement timeout, the
    read-only flag and the tenant and user ids (already validated, and only when they match a
    conservative character set) travel as literals; every other value is a bound parameter.
    Returns ("", []) when there is nothing to set.
    """
    calls: list[str] = []
    if statement_timeout is not None:
        millis = max(1, round(statement_timeout * 1000))
        calls.append(f"set_config('statement_timeout', '{millis}', true)")
    if readonly:
        calls.append("set_config('transaction_read_only', 'on', true)")
    literal, bound = split_settings(() if ctx is None else ctx.settings())
    calls.extend(f"set_config({quote_literal(n)}, {quote_literal(v)}, true)" for n, v in literal)
    params: list[dict[str, Any]] = []
    for i, (name, value) in enumerate(bound, 1):
        calls.append(f"set_config({quote_literal(name)}, :v{i}, true)")
        params.append({"name": f"v{i}", "value": {"stringValue": value}})
    if not calls:
        return "", []
    return "SELECT " + ", ".join(calls), params


class _TxScope:
    """``async with lane.transaction(...)``: Begin, context, yield, Commit/Rollback."""

    __slots__ = (
        "_ctx",
        "_isolation",
        "_lane",
        "_readonly",
        "_slot",
        "_statement_timeout",
        "_t0",
        "_tx",
    )

    def __init__(
        self,
        lane: DataApiLane,
        ctx: TenantContext | None,
        readonly: bool,
        isolation: Isolation | None,
        statement_timeout: float | None,
    ) -> None:
        self._lane = lane
        self._ctx = ctx
        self._readonly = readonly
        self._isolation = isolation
        self._statement_timeout = statement_timeout
        self._t0 = 0.0
        self._tx: _DataApiTx | None = None
        self._slot: anyio.Semaphore | None = None

    async def __aenter__(self) -> _DataApiTx:
        self._t0 = time.perf_counter()
        lane = self._lane
        client = lane.client
        self._slot = await lane._take_slot()
        try:
            # Shielded: a BeginTransaction cancelled in flight would leave a transaction open
            # server-side whose id we never learn (it would hold a database connection until
            # the idle expiry). Once we have the id, a pending cancellation surfaces at the
            # next await and the except branch below rolls it back.
            with anyio.CancelScope(shield=True):
                tx_id = await lane._call(client.begin, query="BEGIN", idempotent=True)
        except BaseException:
            self._free()
            raise
        tx = _DataApiTx(lane, client, tx_id, self._ctx, readonly=self._readonly)
        try:
            await self._prepare(tx)
        except BaseException:
            await tx._rollback()
            self._free()
            self._record(ok=False, error="BEGIN")
            raise
        self._tx = tx
        return tx

    def _free(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    async def _prepare(self, tx: _DataApiTx) -> None:
        if self._isolation is not None:
            try:
                await tx._statement(_ISOLATION_SQL[self._isolation], [], "SET TRANSACTION")
            except QueryError as exc:
                if exc.sqlstate == "25001":
                    raise ConfigurationError(
                        "this Data API endpoint ran a statement before ours, so PostgreSQL "
                        f"refuses isolation={self._isolation.value!r}; use the default "
                        "isolation (READ COMMITTED) on the Data API lane"
                    ) from exc
                raise
        sql, params = _context_statement(
            self._ctx, readonly=self._readonly, statement_timeout=self._statement_timeout
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
            if exc_type is None and not tx._broken:
                await tx._commit()
                ok = True
            else:
                await tx._rollback()
                if exc_type is None:
                    raise error_for_sqlstate(
                        "25P02",
                        "the transaction was rolled back because a statement in it failed "
                        "(the error was caught inside the block); nothing was written",
                        query="COMMIT",
                    )
        finally:
            self._free()
            self._record(ok=ok, error=None if ok else "rollback")

    def _record(self, *, ok: bool, error: str | None) -> None:
        ctx = self._ctx
        self._lane._metrics.record_transaction(
            lane=self._lane.name,
            tenant_id=None if ctx is None else ctx.tenant_id,
            duration_s=time.perf_counter() - self._t0,
            ok=ok,
            context_sets=0 if ctx is None else 1,
            error=None if ok else error,
        )


class _DataApiTx:
    """The executor of one open Data API transaction (``tenantdb.drivers.lane.Transaction``).

    Every call holds ``_lock`` (one call at a time per transaction id) and carries the id.
    Methods refuse to run once the block ended or the transaction is known dead (I-14).
    """

    __slots__ = (
        "_broken",
        "_client",
        "_closed",
        "_ctx",
        "_dead",
        "_depth",
        "_lane",
        "_lock",
        "_readonly",
        "transaction_id",
    )

    def __init__(
        self,
        lane: DataApiLane,
        client: DataApiClient,
        transaction_id: str,
        ctx: TenantContext | None,
        *,
        readonly: bool,
    ) -> None:
        self._lane = lane
        self._client = client
        self.transaction_id = transaction_id
        self._ctx = ctx
        self._readonly = readonly
        self._lock = anyio.Lock(fast_acquire=True)  # usually free: skip the event-loop pass
        self._closed = False
        self._broken = False
        self._dead = False
        self._depth = 0

    # -- calls -----------------------------------------------------------------------------------
    async def _statement(
        self,
        sql: str,
        params: list[dict[str, Any]],
        query: str,
        *,
        idempotent: bool | None = None,
    ) -> bytes:
        """One ExecuteStatement in this transaction (the raw response body); marks the
        transaction broken on error."""
        safe = self._readonly if idempotent is None else idempotent
        tx_id = self.transaction_id
        try:
            async with self._lock:
                return await self._lane._call(
                    lambda: self._client.execute(sql, params, tx_id), query=query, idempotent=safe
                )
        except TenantDBError as exc:
            self._broken = True
            # AWS deletes the transaction on expiry and on the 1 MiB limit: nothing to roll back.
            self._dead = self._dead or isinstance(
                exc, TransactionExpiredError | ResultTooLargeError
            )
            raise

    async def _commit(self) -> None:
        tx_id = self.transaction_id
        async with self._lock:
            await self._lane._call(
                lambda: self._client.commit(tx_id), query="COMMIT", idempotent=False
            )

    async def _rollback(self) -> None:
        """RollbackTransaction, shielded and bounded; a gone transaction is already rolled back."""
        if self._dead:
            return
        tx_id = self.transaction_id
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
            try:
                async with self._lock:
                    await self._lane._call(
                        lambda: self._client.rollback(tx_id), query="ROLLBACK", idempotent=True
                    )
            except TransactionExpiredError:
                pass  # expired or terminated server-side: rolled back already
            except TenantDBError:
                pass  # the service expires the transaction itself (idle timeout)
        self._dead = True

    # -- guards and bookkeeping ------------------------------------------------------------------
    def _guard(self, query: Query[Any]) -> None:
        if query.data_api_unsupported is not None:
            raise UnsupportedQueryError(
                f"query {query.name} cannot run on the Data API: {query.data_api_unsupported}",
                query=query.name,
                column=_column_of(query),
            )
        if self._closed:
            raise ConfigurationError(
                f"query {query.name} used a transaction after its block ended; "
                "open a new `async with db.tenant(ctx)` block"
            )
        if self._dead:
            raise TransactionExpiredError(
                f"query {query.name} refused: the Data API transaction is gone, so "
                "transaction-local tenant settings would not apply",
                query=query.name,
            )

    async def _run(
        self, query: Query[R], args: Sequence[object], *, rows: bool
    ) -> tuple[list[R], int]:
        """One query: (decoded rows if ``rows``, numberOfRecordsUpdated); one metric."""
        self._guard(query)
        params = encode_params(query, args)
        t0 = time.perf_counter()
        try:
            body = await self._statement(query.data_api_sql, params, query.name)
            out, count = _decode(query, body, rows=rows)
        except TenantDBError as exc:
            self._lane._record_query(self._ctx, query.name, 0, t0, exc)
            raise
        self._lane._record_query(self._ctx, query.name, len(out) if rows else count, t0, None)
        return out, count

    # -- Executor --------------------------------------------------------------------------------
    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        out, _ = await self._run(query, args, rows=True)
        return out[0] if out else None

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        out, _ = await self._run(query, args, rows=True)
        return out

    async def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        """Rows in LIMIT/OFFSET pages of ``page_size`` inside this transaction.

        The Data API has no cursor API and a 1 MiB response limit; the query is wrapped as
        ``SELECT * FROM (<query>) LIMIT :n OFFSET :k``, one call per page, in the same
        transaction (same tenant, same snapshot under REPEATABLE READ). A page over 1 MiB
        raises ``ResultTooLargeError`` naming the query: use a smaller ``page_size``.
        """
        if page_size < 1:
            raise ConfigurationError("page_size must be >= 1")
        if query.command is not Command.MANY:
            for row in await self.many(query, args):
                yield row
            return
        page_query = _paged(query)
        offset = 0
        while True:
            rows = await self.many(page_query, (*args, page_size, offset))
            for row in rows:
                yield row
            if len(rows) < page_size:
                return
            offset += page_size

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        await self._run(query, args, rows=False)

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        _, count = await self._run(query, args, rows=False)
        return count

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        """``:copyfrom`` as BatchExecuteStatement of its INSERT, chunked under the size limit."""
        await self.batch_exec(query, rows)
        return len(rows)

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        """BatchExecuteStatement in chunks of at most BATCH_MAX_SETS sets / BATCH_MAX_BYTES."""
        self._guard(query)
        sets = [encode_params(query, args) for args in arg_rows]
        t0 = time.perf_counter()
        tx_id = self.transaction_id
        try:
            for chunk in _chunks(sets):
                async with self._lock:
                    await self._lane._call(
                        lambda c=chunk: self._client.batch_execute(  # type: ignore[misc]
                            query.data_api_sql, c, tx_id
                        ),
                        query=query.name,
                        idempotent=False,
                    )
        except TenantDBError as exc:
            self._broken = True
            self._dead = self._dead or isinstance(exc, TransactionExpiredError)
            self._lane._record_query(self._ctx, query.name, 0, t0, exc)
            raise
        self._lane._record_query(self._ctx, query.name, len(sets), t0, None)

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        results: list[R | None] = []
        for args in arg_rows:
            row = await self.one(query, args)
            results.append(row)
        return results

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        return [await self.many(query, args) for args in arg_rows]

    # -- savepoints ------------------------------------------------------------------------------
    def savepoint(self) -> AbstractAsyncContextManager[Transaction]:
        return _Savepoint(self)


class _Savepoint:
    """SAVEPOINT / RELEASE / ROLLBACK TO as separate calls (the Data API takes one statement)."""

    __slots__ = ("_name", "_tx")

    def __init__(self, tx: _DataApiTx) -> None:
        self._tx = tx
        self._name = ""

    async def __aenter__(self) -> _DataApiTx:
        tx = self._tx
        tx._guard(_SAVEPOINT_QUERY)
        tx._depth += 1
        self._name = f"tenantdb_sp_{tx._depth}"
        try:
            await tx._statement(f"SAVEPOINT {self._name}", [], "SAVEPOINT")
        except BaseException:
            tx._depth -= 1
            raise
        return tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx = self._tx
        tx._depth -= 1
        if tx._dead:
            return
        try:
            with anyio.CancelScope(shield=True):
                if exc_type is not None:
                    await tx._statement(f"ROLLBACK TO SAVEPOINT {self._name}", [], "SAVEPOINT")
                await tx._statement(f"RELEASE SAVEPOINT {self._name}", [], "SAVEPOINT")
        except TenantDBError:
            if exc_type is None:
                raise
        else:
            if exc_type is not None:
                tx._broken = False  # a savepoint opens only in a healthy transaction: undone


def _decode(query: Query[R], body: bytes, *, rows: bool) -> tuple[list[R], int]:
    """The body as rows (typed fast path) or as a row count; decoding errors become QueryError."""
    try:
        if rows:
            return decode_result(query, body)
        return [], parse_execute(body).numberOfRecordsUpdated
    except TenantDBError:
        raise
    except Exception as exc:
        raise QueryError(
            f"could not decode the Data API result: {type(exc).__name__}: {exc}", query=query.name
        ) from exc


_SAVEPOINT_QUERY: Query[Any] = Query(
    name="SAVEPOINT", command=Command.EXEC, sql="SAVEPOINT", data_api_sql="SAVEPOINT"
)


def _column_of(query: Query[Any]) -> str | None:
    reason = query.data_api_unsupported or ""
    for column in query.columns:
        if column.name in reason:
            return column.name
    return None


_PAGED: QueryCache[Query[Any]] = QueryCache()


def _paged(query: Query[R]) -> Query[R]:
    """``query`` wrapped in LIMIT/OFFSET with two extra int8 parameters (cached per query)."""
    paged: Query[R] = _PAGED.get(query, _make_paged)
    return paged


def _make_paged(query: Query[Any]) -> Query[Any]:
    sql = query.data_api_sql.rstrip().rstrip(";")
    n = len(query.params)
    return msgspec.structs.replace(
        query,
        data_api_sql=(
            f"SELECT * FROM (\n{sql}\n) AS tenantdb_page "
            "LIMIT :tenantdb_limit::int8 OFFSET :tenantdb_offset::int8"
        ),
        params=(
            *query.params,
            Param(name="tenantdb_limit", number=n + 1, pg_type="int8"),
            Param(name="tenantdb_offset", number=n + 2, pg_type="int8"),
        ),
    )


def _chunks(sets: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    """Parameter sets grouped so each BatchExecuteStatement stays under both limits."""
    chunks: list[list[list[dict[str, Any]]]] = []
    current: list[list[dict[str, Any]]] = []
    size = 0
    for params in sets:
        n = len(_encode_json(params)) + 2
        if current and (size + n > BATCH_MAX_BYTES or len(current) >= BATCH_MAX_SETS):
            chunks.append(current)
            current, size = [], 0
        current.append(params)
        size += n
    if current:
        chunks.append(current)
    return chunks


if TYPE_CHECKING:  # mypy proves the lane and its executor satisfy the internal contracts

    def _is_lane(lane: DataApiLane) -> Lane:
        return lane

    def _is_transaction(tx: _DataApiTx) -> Transaction:
        return tx
