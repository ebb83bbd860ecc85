"""The asyncpg lanes: a pool per role, RLS transactions in three round trips, clean release.

Shape of one tenant transaction (RLS.md §1.7, PostgREST's per-request transaction)::

    round trip 1  BEGIN ISOLATION LEVEL … READ WRITE|READ ONLY NOT DEFERRABLE;<session reset>;
                  SELECT set_config('statement_timeout','30000',true),
                         set_config('app.current_tenant_id','<validated uuid>',true),
                         set_config('app.current_user_id','<validated uuid or empty>',true)
                  (simple protocol: one message, several statements, no parameters)
    (only when the context has extra variables: SELECT set_config('app.x',$1,true), … bound)
    round trip 2… the queries (extended protocol, asyncpg's statement cache)
    last          UNLISTEN *;COMMIT, or ROLLBACK on an exception or a cancellation (shielded)

``<session reset>`` is ``sql._CLEAR_SESSION`` (docs/security.md).

The pool of the tenant lane runs **no reset query** on release: every setting the lane makes is
transaction-local and gone at COMMIT/ROLLBACK, so asyncpg's default ``RESET ALL`` (one more round
trip per transaction) buys nothing. Session-level state the *application's* SQL may leave
(``set_config(…, false)``, ``SET x``, temporary tables, cursors, ``PREPARE``, locks) is cleared
instead by the session reset inside the next tenant BEGIN, in the same message
(docs/security.md).
asyncpg still rolls back a connection released inside a transaction, and a connection whose
rollback fails is terminated, never reused. The admin lane keeps asyncpg's default reset,
because admin work may legitimately touch session state (advisory locks, ``SET ROLE`` for
migrations).

Statement timeouts are transaction-local (``set_config('statement_timeout', …, true)`` in the
BEGIN round trip) rather than a pool ``server_settings``: they then work behind pgbouncer in
transaction mode and RDS Proxy, where startup parameters are not per client.

Behind pgbouncer in transaction mode without ``max_prepared_statements``, set
``PoolOptions(statement_cache_size=0)``: asyncpg then uses unnamed statements, which a
transaction pooler can multiplex.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, cast

import anyio
import anyio.lowlevel
import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tenantdb.drivers._detached import finish
from tenantdb.drivers._tx_common import (
    SAVEPOINT_QUERY,
    block_ended,
    check_request,
    end_block,
    mark_redo_safe,
    record_transaction,
    savepoint_name,
)
from tenantdb.drivers.asyncpg import sql
from tenantdb.drivers.asyncpg.errors import map_asyncpg_error, pool_timeout
from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.drivers.fair import FairGate
from tenantdb.drivers.lane import Isolation, PoolOptions, Transaction, TxRequest
from tenantdb.errors import (
    CommitOutcomeUnknownError,
    ConfigurationError,
    ConnectionLostError,
    TenantDBError,
    error_for_sqlstate,
)
from tenantdb.query import Query

if TYPE_CHECKING:
    from tenantdb.context import TenantContext
    from tenantdb.observe import Metrics

__all__ = ("AsyncpgLane", "PoolOptions")

R = TypeVar("R")
_Conn: TypeAlias = "PoolConnectionProxy[Any]"
_NOT_HELD = object()
_CLEANUP_TIMEOUT_S = 5.0
"""Upper bound for the shielded ROLLBACK/COMMIT; past it the connection is terminated."""


async def _keep_session(_conn: object) -> None:
    """The tenant pool's reset hook: nothing to reset (see the module docstring)."""


class AsyncpgLane:
    """One role over one asyncpg pool; satisfies ``tenantdb.drivers.lane.Lane``."""

    def __init__(
        self,
        dsn: str,
        *,
        name: Literal["tenant", "admin"],
        options: PoolOptions,
        metrics: Metrics,
        connect: dict[str, Any] | None = None,
    ) -> None:
        self._dsn = dsn
        self._connect = connect or {}
        """Extra ``create_pool`` arguments from a ``tenantdb.Postgres`` (ssl, password, init, …)."""
        self._name = name
        self.options = options
        self._metrics = metrics
        self._pool: asyncpg.Pool[Any] | None = None
        self._prepared: set[int] = set()
        """Backend pids whose transaction ran SQL that may have PREPAREd (``_take_prepared``)."""
        self.waiting = 0
        """Tasks waiting for a pooled connection right now (pool usage telemetry)."""
        self.gate = FairGate(options.max_size, options.max_per_tenant, lane=name)
        """First-come-first-served admission to the pool, per-tenant cap (``fair.py``)."""
        self._holders: dict[int, str | None] = {}
        self.commit_lsn_sink: Callable[[TenantContext | None, int], None] | None = None
        """Set by ``Database`` when it has read replicas: writable tenant blocks then report
        their commit position (``sql.TENANT_COMMIT_LSN``) for read-your-writes."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def transport(self) -> str:
        return "asyncpg"

    async def open(self) -> None:
        if self._pool is not None:
            return
        o = self.options
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=o.min_size,
                max_size=o.max_size,
                statement_cache_size=o.statement_cache_size,
                max_inactive_connection_lifetime=o.max_inactive_connection_lifetime,
                timeout=o.connect_timeout,
                reset=_keep_session if self._name == "tenant" else None,
                **self._connect,
            )
        except Exception as exc:
            raise map_asyncpg_error(exc, query=None) from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True) as scope:
            await pool.close()
        if scope.cancelled_caught:
            pool.terminate()

    def transaction(self, request: TxRequest) -> AbstractAsyncContextManager[Transaction]:
        check_request(self._name, request)
        return _TxScope(self, request)

    async def server_version(self) -> str:
        """``SHOW server_version`` on a pooled connection (reads no table, sets nothing)."""
        conn = await self._acquire()
        ok = False
        try:
            value = await conn.fetchval("SHOW server_version")
            ok = True
        except Exception as exc:
            raise map_asyncpg_error(exc, query="SHOW server_version") from exc
        finally:
            # through _release: it also gives the fair gate its slot back
            await self._release(conn, clean=ok, reason="SHOW server_version failed")
        return str(value)

    # -- connections -----------------------------------------------------------------------------
    @property
    def pool(self) -> asyncpg.Pool[Any]:
        """The underlying pool (for diagnostics and tests; queries go through transactions)."""
        if self._pool is None:
            raise ConfigurationError(f"the {self._name} lane is not open: use `async with db:`")
        return self._pool

    async def _acquire(self, tenant_id: str | None = None) -> _Conn:
        pool = self.pool
        timeout = self.options.acquire_timeout
        t0 = time.monotonic()
        self.waiting += 1
        try:
            # Waiting happens in the gate, in arrival order; the pool then has a connection
            # (or a free holder that connects, bounded by connect_timeout).
            await self.gate.enter(tenant_id, timeout)
            try:
                # With an idle connection the acquire cannot wait: skip asyncpg's wait_for
                # task, ~10 µs a call.
                left = max(0.001, timeout - (time.monotonic() - t0))
                wait = None if pool.get_idle_size() > 0 else left
                conn: _Conn = await pool.acquire(timeout=wait)
            except BaseException:
                self.gate.leave(tenant_id)
                raise
        except TimeoutError:
            raise pool_timeout(self._name, timeout) from None
        except Exception as exc:
            if isinstance(exc, TenantDBError):
                raise
            raise map_asyncpg_error(exc, query=None) from exc
        finally:
            self.waiting -= 1
        self._holders[id(conn)] = tenant_id
        return conn

    def _take_prepared(self, conn: _Conn) -> bool:
        """Whether the next BEGIN on ``conn`` must DEALLOCATE SQL-prepared statements (and
        forget the mark: the sweep in that BEGIN clears them)."""
        if not self._prepared:
            return False
        pid = conn.get_server_pid()
        if pid in self._prepared:
            self._prepared.discard(pid)
            return True
        return False

    async def _commit(
        self,
        conn: _Conn,
        on_done: Callable[[str], None],
        report_lsn: Callable[[int], None] | None = None,
    ) -> str:
        """COMMIT and release; the status (``COMMIT``, or ``ROLLBACK`` for an aborted block).

        A backend lost before COMMIT is sent committed nothing: ``ConnectionLostError``
        (retryable). Once sent, COMMIT runs to its answer even if the caller is cancelled
        (bounded by the cleanup timeout; ``on_done`` gets the status, then the cancellation
        is delivered). No answer: ``CommitOutcomeUnknownError`` and the connection is
        terminated rather than reused.
        """
        if _is_gone(conn):
            await self._release(conn, clean=False, reason="connection lost")
            raise ConnectionLostError(
                "the transaction's connection was lost before COMMIT; nothing was committed",
                query="COMMIT",
                retryable=True,
            )
        statuses: list[str] = []

        def done(status: str) -> None:
            statuses.append(status)
            on_done(status)

        send = _tenant_commit if self._name == "tenant" else _plain_commit
        if report_lsn is not None and self._name == "tenant":
            send = functools.partial(_tenant_commit_lsn, report=report_lsn)
        try:
            return await finish(lambda: send(conn), bound=_CLEANUP_TIMEOUT_S, on_done=done)
        except TimeoutError:
            raise CommitOutcomeUnknownError(
                f"COMMIT got no answer within {_CLEANUP_TIMEOUT_S:g} s; the transaction may "
                "or may not have committed",
                query="COMMIT",
            ) from None
        except Exception as exc:
            raise _map_on(conn, exc, "COMMIT") from exc
        finally:
            await self._release(conn, clean=bool(statuses), reason="COMMIT failed")

    async def _rollback(self, conn: _Conn) -> None:
        """ROLLBACK and release, shielded from cancellation and bounded in time.

        On failure (or a hang past the cleanup timeout) the connection is terminated, so it is
        never handed out again with an open or unknown transaction.
        """
        status: str | None = None
        try:
            with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
                status = await conn.execute("ROLLBACK")
        except Exception:  # noqa: S110 - any failure means: destroy the connection, below
            pass
        finally:
            await self._release(conn, clean=status is not None, reason="ROLLBACK failed")

    async def _release(self, conn: _Conn, *, clean: bool, reason: str) -> None:
        """Back to the pool, or terminated first when its state is not known to be clean
        (counted in ``MetricsSnapshot.discarded_connections`` and logged with ``reason``)."""
        try:
            if not clean or conn.is_in_transaction():
                conn.terminate()
                self._metrics.record_discard(lane=self._name, reason=reason)
        except asyncpg.InterfaceError:
            pass  # asyncpg already released it when the connection was lost
        try:
            await self.pool.release(conn)
        except asyncpg.InternalClientError:
            # "release() called on a free connection holder": asyncpg already returned the
            # holder of a lost connection to the pool; nothing is left to release.
            if not _is_gone(conn):
                raise
        finally:
            held = self._holders.pop(id(conn), _NOT_HELD)
            if held is not _NOT_HELD:
                self.gate.leave(held)  # type: ignore[arg-type]  # str | None once held

    def _record_query(
        self, ctx: TenantContext | None, query: str, rows: int, t0: float, sqlstate: str | None
    ) -> None:
        self._metrics.record_query(
            lane=self._name,
            tenant_id=None if ctx is None else ctx.tenant_id,
            query=query,
            rows=rows,
            duration_s=time.perf_counter() - t0,
            sqlstate=sqlstate,
        )


class _TxScope:
    """``async with lane.transaction(...)``: acquire, BEGIN+context, yield, COMMIT/ROLLBACK."""

    __slots__ = ("_lane", "_outcome", "_request", "_t0", "_tx")

    def __init__(self, lane: AsyncpgLane, request: TxRequest) -> None:
        self._lane = lane
        self._outcome = False
        self._request = request
        self._t0 = 0.0
        self._tx: _AsyncpgTx | None = None

    async def __aenter__(self) -> _AsyncpgTx:
        self._t0 = time.perf_counter()
        r = self._request
        conn = await self._lane._acquire(r.tenant_id)
        # A connection whose last transaction ran SQL that may have PREPAREd gets the sweep.
        sweep = r.ctx is not None and self._lane._take_prepared(conn)
        script, bound = _begin_plan(
            r.ctx,
            r.readonly,
            r.isolation,
            r.statement_timeout,
            deallocate=sweep,
            set_local=self._lane.options.context_statements == "set_local",
        )
        try:
            await self._begin(conn, script, bound)
        except BaseException as exc:
            mark_redo_safe(exc)
            await self._lane._rollback(conn)
            self._record(ok=False, context_sets=0)
            raise
        self._tx = _AsyncpgTx(self._lane, conn, r.ctx)
        return self._tx

    async def _begin(self, conn: _Conn, script: str, bound: tuple[tuple[str, str], ...]) -> None:
        try:
            await conn.execute(script)
            if bound:
                await conn.execute(
                    sql.bound_settings_sql([n for n, _ in bound]), *(v for _, v in bound)
                )
        except Exception as exc:
            raise _map_on(conn, exc, "BEGIN") from exc
        if not conn.is_in_transaction():  # I-14: never run tenant SQL outside a transaction
            raise error_for_sqlstate("25000", "BEGIN did not open a transaction", query="BEGIN")

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
                exc_type,
                exc=exc,
                broken=tx._broken,
                commit=lambda: self._commit(tx.connection),
                rollback=lambda: self._lane._rollback(tx.connection),
            )
        finally:
            ok = ok or self._outcome  # committed, then a cancellation was delivered
            self._record(ok=ok, context_sets=0 if self._request.ctx is None else 1)

    async def _commit(self, conn: _Conn) -> None:
        report = None
        request = self._request
        sink = self._lane.commit_lsn_sink
        if sink is not None and not request.readonly:
            report = functools.partial(sink, request.ctx)
        if await self._lane._commit(conn, self._committed, report) != "COMMIT":
            raise error_for_sqlstate(
                "25P02",
                "the transaction was rolled back at COMMIT because a statement in it "
                "failed (the error was caught inside the block); nothing was written",
                query="COMMIT",
            )

    def _committed(self, status: str) -> None:
        """COMMIT answered: the outcome is known even if a cancellation is delivered next."""
        self._outcome = status == "COMMIT"

    def _record(self, *, ok: bool, context_sets: int) -> None:
        lane = self._lane
        record_transaction(
            lane._metrics, lane.name, self._request, self._t0, ok=ok, context_sets=context_sets
        )


class _AsyncpgTx:
    """The executor of one open asyncpg transaction (``tenantdb.drivers.lane.Transaction``).

    Every method refuses to run once the block has ended or when the connection reports no open
    transaction (I-14), maps driver errors in one place and records one metric per query.
    """

    __slots__ = ("_broken", "_closed", "_ctx", "_depth", "_inner", "_lane", "connection")

    def __init__(self, lane: AsyncpgLane, conn: _Conn, ctx: TenantContext | None) -> None:
        self._lane = lane
        self.connection = conn
        self._ctx = ctx
        # A pool proxy forwards every Connection method; AsyncpgExecutor only calls those.
        self._inner = AsyncpgExecutor(cast("asyncpg.Connection[Any]", conn))
        self._closed = False
        self._broken = False
        self._depth = 0

    # -- guards and bookkeeping ------------------------------------------------------------------
    def _guard(self, query: Query[Any]) -> _Conn:
        if self._closed:
            raise block_ended(query)
        conn = self.connection
        try:
            in_transaction = conn.is_in_transaction()
        except asyncpg.InterfaceError:  # asyncpg released it: the connection was lost
            self._broken = True
            raise ConnectionLostError(
                "the transaction's connection was lost earlier in this block", query=query.name
            ) from None
        if not in_transaction:
            raise ConfigurationError(
                f"query {query.name} refused: the connection is not inside a transaction, "
                "so transaction-local tenant settings would not apply"
            )
        if sql.may_prepare(query.sql):
            self._lane._prepared.add(conn.get_server_pid())
        return conn

    def _fail(self, exc: BaseException, query: Query[Any], t0: float) -> TenantDBError:
        error = _map_on(self.connection, exc, query.name)
        sqlstate = getattr(error, "sqlstate", None)
        self._lane._record_query(self._ctx, query.name, 0, t0, sqlstate)
        self._broken = True  # PostgreSQL aborted the transaction: COMMIT must not pretend
        return error

    def _done(self, query: Query[Any], rows: int, t0: float) -> None:
        self._lane._record_query(self._ctx, query.name, rows, t0, None)

    # -- Executor: rows are built by AsyncpgExecutor; guards, errors and metrics are ours ---------
    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            row = await self._inner.one(query, _checked(query, args))
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, 0 if row is None else 1, t0)
        return row

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            rows = await self._inner.many(query, _checked(query, args))
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, len(rows), t0)
        return rows

    async def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        """Rows through a server-side portal, ``page_size`` rows per round trip."""
        self._guard(query)
        t0 = time.perf_counter()
        count = 0
        rows = self._inner.stream(query, _checked(query, args), page_size=page_size)
        try:
            async for row in rows:
                count += 1
                yield row
                self._guard(query)  # the block may have ended while the caller held a row
        except TenantDBError:
            raise
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        finally:
            await rows.aclose()  # type: ignore[attr-defined]
        self._done(query, count, t0)

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        await self.execrows(query, args)

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            count = await self._inner.execrows(query, _checked(query, args))
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, count, t0)
        return count

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        """``:copyfrom``: binary COPY on the admin lane, ``INSERT … unnest`` on the tenant lane."""
        conn = self._guard(query)
        if query.copy_table is None or not query.copy_columns:
            raise ConfigurationError(f"query {query.name} has no copy_table/copy_columns")
        t0 = time.perf_counter()
        checked = [_checked(query, row) for row in rows]
        try:
            if self._lane.name == "admin":
                count = await self._inner.copy(query, checked)
            else:
                count = _status_count(await _insert_unnest(conn, query, checked))
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, count, t0)
        return count

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            await self._inner.batch_exec(query, [_checked(query, a) for a in arg_rows])
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, len(arg_rows), t0)

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            rows = await self._inner.batch_one(query, [_checked(query, a) for a in arg_rows])
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, sum(r is not None for r in rows), t0)
        return rows

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        self._guard(query)
        t0 = time.perf_counter()
        try:
            rows = await self._inner.batch_many(query, [_checked(query, a) for a in arg_rows])
        except Exception as exc:
            raise self._fail(exc, query, t0) from exc
        self._done(query, sum(len(r) for r in rows), t0)
        return rows

    # -- savepoints ------------------------------------------------------------------------------
    def savepoint(self) -> AbstractAsyncContextManager[Transaction]:
        return _Savepoint(self)


class _Savepoint:
    """``SAVEPOINT``/``RELEASE``/``ROLLBACK TO``: an inner block that can fail alone.

    The tenant variables were set before the savepoint, so rolling back to it keeps them; the
    executor has no API that could set them again, so a nested block cannot change the tenant.
    """

    __slots__ = ("_name", "_tx")

    def __init__(self, tx: _AsyncpgTx) -> None:
        self._tx = tx
        self._name = ""

    async def __aenter__(self) -> _AsyncpgTx:
        tx = self._tx
        conn = tx._guard(SAVEPOINT_QUERY)
        tx._depth += 1
        self._name = savepoint_name(tx._depth)
        try:
            await conn.execute(f"SAVEPOINT {self._name}")
        except BaseException as exc:
            tx._depth -= 1
            tx._broken = True
            if isinstance(exc, Exception):
                raise map_asyncpg_error(exc, query="SAVEPOINT") from exc
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
        if exc_type is None:
            statement = f"RELEASE SAVEPOINT {self._name}"
        else:
            statement = f"ROLLBACK TO SAVEPOINT {self._name};RELEASE SAVEPOINT {self._name}"
        done = False
        try:
            with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
                await tx.connection.execute(statement)
                done = True
        except Exception as error:
            tx._broken = True
            if exc_type is None:
                raise map_asyncpg_error(error, query="SAVEPOINT") from error
        if not done:
            tx._broken = True  # timed out: the outer block must roll back, not commit
        elif exc_type is not None:
            tx._broken = False  # a savepoint opens only in a healthy transaction: undone


async def _plain_commit(conn: _Conn) -> str:
    return await conn.execute("COMMIT")


def _map_on(conn: _Conn, exc: BaseException, query: str) -> TenantDBError:
    """``map_asyncpg_error``, knowing the connection: asyncpg's client-side protocol errors
    (``InternalClientError`` "another operation is in progress", ``InterfaceError``) on a
    connection whose backend is gone are that loss, not a bug in the caller."""
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError) and _is_gone(conn):
        lost = CommitOutcomeUnknownError if query == "COMMIT" else ConnectionLostError
        return lost(f"connection to PostgreSQL lost: {exc}", query=query)
    return map_asyncpg_error(exc, query=query)


def _is_gone(conn: _Conn) -> bool:
    """The backend is known to be gone (closed, or asyncpg already released the proxy)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


async def _tenant_commit(conn: _Conn, script: str = sql.TENANT_COMMIT) -> str:
    """``UNLISTEN *;COMMIT``: a ``LISTEN`` in the block never outlives it (LISTEN takes effect
    at COMMIT, so the next user of the backend would otherwise inherit the registration).

    In a transaction already aborted on the server, UNLISTEN fails with 25P02 before COMMIT
    runs: the block is rolled back, as a plain COMMIT would have done (status ``ROLLBACK``).
    ``script`` may append statements after the COMMIT (``sql.TENANT_COMMIT_LSN``).
    """
    try:
        return await conn.execute(script)
    except asyncpg.InFailedSQLTransactionError:
        return await conn.execute("ROLLBACK")


async def _tenant_commit_lsn(conn: _Conn, *, report: Callable[[int], None]) -> str:
    """``sql.TENANT_COMMIT_LSN``: commit, and hand the commit position to ``report``.

    asyncpg dispatches the NOTICE to the listener with ``call_soon`` while it reads the
    message, before it completes the ``execute`` future, so the position has arrived when
    ``execute`` returns. No notice (a server that hid it): no token, reads go to the primary
    only if an older token says so; nothing is wrong with the commit itself.
    """
    positions: list[str] = []

    def listen(_conn: object, message: Any) -> None:
        text = str(getattr(message, "message", ""))
        if text.startswith(sql.COMMIT_LSN_NOTICE):
            positions.append(text[len(sql.COMMIT_LSN_NOTICE) :])

    conn.add_log_listener(listen)
    try:
        if await _tenant_commit(conn, sql.TENANT_COMMIT_LSN) == "ROLLBACK":
            return "ROLLBACK"
        if not positions:
            await anyio.lowlevel.checkpoint()  # the listener's call_soon, if it is still queued
    finally:
        conn.remove_log_listener(listen)
    if positions:
        hi, _, lo = positions[-1].partition("/")
        report((int(hi, 16) << 32) | int(lo, 16))
    return "COMMIT"  # UNLISTEN and COMMIT succeeded, or execute() raised


@functools.lru_cache(maxsize=4096)
def _begin_plan(
    ctx: TenantContext | None,
    readonly: bool,
    isolation: Isolation | None,
    statement_timeout: float | None,
    *,
    deallocate: bool = False,
    set_local: bool = False,
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(BEGIN script, settings that must travel bound); cached per context and mode."""
    literal, bound = sql.split_settings(() if ctx is None else ctx.settings())
    script = sql.begin_script(
        readonly=readonly,
        isolation=isolation,
        statement_timeout=statement_timeout,
        literal=literal,
        clear_session=ctx is not None,
        deallocate=deallocate,
        set_local=set_local,
    )
    return script, tuple(bound)


def _checked(query: Query[Any], args: Sequence[object]) -> Sequence[object]:
    """The arguments as bound (generated functions already applied ``Param.encode``)."""
    if query.params and len(args) != len(query.params):
        raise ConfigurationError(
            f"query {query.name} takes {len(query.params)} arguments, got {len(args)}"
        )
    return args


async def _insert_unnest(conn: _Conn, query: Query[Any], rows: Sequence[Sequence[object]]) -> str:
    """The tenant lane's ``:copyfrom``: one INSERT … SELECT FROM unnest(column arrays)."""
    params = query.params
    table = query.copy_table or ""
    if any(p.array_dims for p in params):
        # unnest() flattens nested arrays: fall back to one pipelined INSERT per row.
        await conn.executemany(sql.values_insert_sql(table, query.copy_columns, params), rows)
        return f"INSERT 0 {len(rows)}"
    statement = sql.unnest_insert_sql(table, query.copy_columns, [p.pg_type for p in params])
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in params]
    status: str = await conn.execute(statement, *columns)
    return status


def _status_count(status: str) -> int:
    """Rows affected from a command tag (``INSERT 0 5``, ``UPDATE 3``, ``COPY 10``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
