"""The executor of one open Data API transaction: queries, batches, paging, savepoints.

``lane._TxScope`` opens and ends the transaction; everything that runs inside it is
here. Every call holds the transaction's lock (Aurora v2 rejects concurrent calls on one
transaction id with "Transaction is still running a query") and carries the transactionId.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import msgspec

from tenantdb.drivers._detached import Detached, finish
from tenantdb.drivers._tx_common import SAVEPOINT_QUERY, block_ended, savepoint_name
from tenantdb.drivers.dataapi.params import encode_params
from tenantdb.drivers.dataapi.results import QueryCache, parse_execute
from tenantdb.drivers.dataapi.retry import RetryPolicy, call_with_retry
from tenantdb.drivers.dataapi.rows import decode_result
from tenantdb.drivers.lane import Transaction
from tenantdb.errors import (
    CommitOutcomeUnknownError,
    ConfigurationError,
    QueryError,
    ResultTooLargeError,
    TenantDBError,
    TransactionExpiredError,
    UnsupportedQueryError,
)
from tenantdb.query import Command, Query

if TYPE_CHECKING:
    from tenantdb.context import TenantContext
    from tenantdb.drivers.dataapi.client import DataApiClient

__all__ = ("BATCH_MAX_BYTES", "BATCH_MAX_SETS", "CLEANUP_TIMEOUT_S", "DataApiTx")

R = TypeVar("R")
QueryRecorder = Callable[["TenantContext | None", str, int, float, "TenantDBError | None"], None]
"""The lane's metrics hook: (context, query name, rows, start time, error)."""
CLEANUP_TIMEOUT_S = 10.0
"""Upper bound for the shielded RollbackTransaction (retries of "still running" included)."""
BATCH_MAX_BYTES = 900 * 1024
"""Encoded parameter sets per BatchExecuteStatement. AWS's request limit is 4 MiB; staying under
1 MiB also keeps aiohttp from writing one huge bytes body in a single event-loop step (it warns
about bodies over 1 MiB)."""
BATCH_MAX_SETS = 1000
"""Parameter sets per BatchExecuteStatement, so one call stays well inside the 45 s limit."""
_encode_json = msgspec.json.encode


class DataApiTx:
    """The executor of one open Data API transaction (``tenantdb.drivers.lane.Transaction``).

    Every call holds ``_lock`` (one call at a time per transaction id) and carries the id.
    Methods refuse to run once the block ended or the transaction is known dead (I-14).
    """

    __slots__ = (
        "_broken",
        "_client",
        "_closed",
        "_ctx",
        "_cursors",
        "_dead",
        "_depth",
        "_detached",
        "_lock",
        "_readonly",
        "_record_query",
        "_retry",
        "committed",
        "transaction_id",
    )

    def __init__(
        self,
        client: DataApiClient,
        transaction_id: str,
        ctx: TenantContext | None,
        *,
        readonly: bool,
        retry: RetryPolicy,
        record_query: QueryRecorder,
        detached: Detached,
    ) -> None:
        self._detached = detached
        self._retry = retry
        self._record_query = record_query
        self._client = client
        self.transaction_id = transaction_id
        self._ctx = ctx
        self._readonly = readonly
        self._lock = anyio.Lock(fast_acquire=True)  # usually free: skip the event-loop pass
        self._closed = False
        self._broken = False
        self._dead = False
        self._depth = 0
        self._cursors = 0
        self.committed = False

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
                return await call_with_retry(
                    self._retry,
                    lambda: self._client.execute(sql, params, tx_id),
                    query=query,
                    idempotent=safe,
                )
        except TenantDBError as exc:
            self._broken = True
            # AWS deletes the transaction on expiry and on the 1 MiB limit: nothing to roll back.
            self._dead = self._dead or isinstance(
                exc, TransactionExpiredError | ResultTooLargeError
            )
            raise

    async def _commit(self) -> None:
        """CommitTransaction, run to its answer even if the caller is cancelled meanwhile
        (bounded; the cancellation is delivered after it, with ``committed`` set). If it
        fails, RollbackTransaction so the transaction is never left open until the service's
        idle expiry; no answer at all is :class:`CommitOutcomeUnknownError`."""
        tx_id = self.transaction_id

        def send() -> Coroutine[Any, Any, str]:
            return call_with_retry(
                self._retry, lambda: self._client.commit(tx_id), query="COMMIT", idempotent=False
            )

        try:
            async with self._lock:
                await finish(send, bound=CLEANUP_TIMEOUT_S, on_done=self._on_committed)
        except TimeoutError:
            await self._rollback()
            raise CommitOutcomeUnknownError(
                f"CommitTransaction got no answer within {CLEANUP_TIMEOUT_S:g} s; the "
                "transaction may or may not have committed",
                query="COMMIT",
            ) from None
        except BaseException:
            if not self.committed:
                await self._rollback()
            raise

    def _on_committed(self, _status: str) -> None:
        self.committed = True
        self._dead = True  # nothing left to roll back

    async def _rollback(self) -> None:
        """RollbackTransaction, bounded, and finished even if the caller is cancelled (see
        ``detached``); a gone transaction is already rolled back."""
        if self._dead:
            return
        self._dead = True
        await self._detached.run(self._rollback_call)

    async def _rollback_call(self) -> None:
        tx_id = self.transaction_id
        with anyio.move_on_after(CLEANUP_TIMEOUT_S):
            try:
                async with self._lock:
                    await call_with_retry(
                        self._retry,
                        lambda: self._client.rollback(tx_id),
                        query="ROLLBACK",
                        idempotent=True,
                    )
            except TransactionExpiredError:
                pass  # expired or terminated server-side: rolled back already
            except TenantDBError:
                pass  # the service expires the transaction itself (idle timeout)

    # -- guards and bookkeeping ------------------------------------------------------------------
    def _guard(self, query: Query[Any]) -> None:
        if query.data_api_unsupported is not None:
            raise UnsupportedQueryError(
                f"query {query.name} cannot run on the Data API: {query.data_api_unsupported}",
                query=query.name,
                column=_column_of(query),
            )
        if self._closed:
            raise block_ended(query)
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
            self._record_query(self._ctx, query.name, 0, t0, exc)
            raise
        self._record_query(self._ctx, query.name, len(out) if rows else count, t0, None)
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
        """Rows through a server-side cursor in this transaction, ``page_size`` per call.

        The Data API has no cursor operation and a 1 MiB response limit, but a cursor lives as
        long as the transaction: ``DECLARE … NO SCROLL CURSOR FOR <query>`` once, then one
        ``FETCH FORWARD n`` call per page, each carrying the transactionId. The query runs
        once and every page comes from the snapshot taken at DECLARE, so pages neither repeat
        nor skip rows whatever commits meanwhile (LIMIT/OFFSET pages would). A page over 1 MiB
        raises ``ResultTooLargeError`` naming the query: use a smaller ``page_size``. COMMIT
        or ROLLBACK closes the cursor.
        """
        if page_size < 1:
            raise ConfigurationError("page_size must be >= 1")
        if query.command is not Command.MANY:
            for row in await self.many(query, args):
                yield row
            return
        self._cursors += 1
        declare, fetch = _cursor_queries(query, self._cursors, page_size)
        await self.exec(declare, args)
        while True:
            rows = await self.many(fetch, ())
            for row in rows:
                yield row
            if len(rows) < page_size:
                return

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
                    await call_with_retry(
                        self._retry,
                        lambda c=chunk: self._client.batch_execute(  # type: ignore[misc]
                            query.data_api_sql, c, tx_id
                        ),
                        query=query.name,
                        idempotent=False,
                    )
        except TenantDBError as exc:
            self._broken = True
            self._dead = self._dead or isinstance(exc, TransactionExpiredError)
            self._record_query(self._ctx, query.name, 0, t0, exc)
            raise
        self._record_query(self._ctx, query.name, len(sets), t0, None)

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

    def __init__(self, tx: DataApiTx) -> None:
        self._tx = tx
        self._name = ""

    async def __aenter__(self) -> DataApiTx:
        tx = self._tx
        tx._guard(SAVEPOINT_QUERY)
        tx._depth += 1
        self._name = savepoint_name(tx._depth)
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


def _column_of(query: Query[Any]) -> str | None:
    reason = query.data_api_unsupported or ""
    for column in query.columns:
        if column.name in reason:
            return column.name
    return None


_CURSORS: QueryCache[dict[tuple[int, int], tuple[Query[Any], Query[Any]]]] = QueryCache()
_CURSOR_VARIANTS = 64
"""Per query: the DECLARE/FETCH pair for each (cursor number, page size), built once, so the
decode plans cached per Query object stay warm."""


def _cursor_queries(query: Query[R], number: int, page_size: int) -> tuple[Query[R], Query[R]]:
    """``DECLARE tenantdb_cursor_<n> … FOR <query>`` (the query's parameters) and its FETCH."""
    variants = _CURSORS.get(query, lambda _: {})
    pair = variants.get((number, page_size))
    if pair is None:
        cursor = f"tenantdb_cursor_{number}"
        sql = query.data_api_sql.rstrip().rstrip(";")
        declare = msgspec.structs.replace(
            query,
            command=Command.EXEC,
            data_api_sql=f"DECLARE {cursor} NO SCROLL CURSOR FOR\n{sql}",
        )
        fetch = msgspec.structs.replace(
            query, data_api_sql=f"FETCH FORWARD {int(page_size)} FROM {cursor}", params=()
        )
        pair = (declare, fetch)
        if len(variants) < _CURSOR_VARIANTS:  # bounded: page sizes may come from requests
            variants[(number, page_size)] = pair
    return pair


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
