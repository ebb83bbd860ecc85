"""Read replicas: read-only blocks on streaming standbys, with read-your-writes.

What happens on the network:

* A writable tenant block on the primary commits with ``sql.TENANT_COMMIT_LSN`` instead of
  ``UNLISTEN *;COMMIT`` when replicas are configured: the same message (no round trip) ends
  with a ``DO`` that raises a NOTICE carrying ``pg_current_wal_insert_lsn()``, read after the
  COMMIT, so the position is at or past the end of the commit record. The lane hands it to
  :meth:`ReplicaSet.committed`, which keeps the highest position per context (the *token*).
* A monitor task polls every ``poll_interval`` seconds, on its own connections: the primary's
  ``pg_current_wal_flush_lsn()`` and each standby's ``pg_last_wal_replay_lsn()``. A standby's
  lag is the time since it last had replayed everything the primary had flushed at that time
  (so an idle primary reads as no lag, and paused replay as growing lag).
* A read-only block (``db.tenant(ctx, readonly=True)``, ``db.admin(readonly=True)``) goes to a
  standby that is up, lags less than ``max_lag`` and has replayed the context's token; else to
  the primary (optionally after waiting up to ``wait`` seconds for a standby to catch up). The
  block itself is the same RLS transaction as on the primary (the standby's lane is an
  ``AsyncpgLane``). A standby that fails before the block's BEGIN completed is marked down and
  the block runs on the primary; the monitor brings it back when it answers again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import msgspec
import structlog

from tenantdb.drivers.asyncpg.lane import AsyncpgLane, PoolOptions
from tenantdb.errors import ConfigurationError, TransportError

if TYPE_CHECKING:
    from tenantdb.context import TenantContext
    from tenantdb.drivers.lane import Transaction, TxRequest
    from tenantdb.observe import Metrics

__all__ = (
    "ReplicaOptions",
    "ReplicaSet",
    "ReplicaStatus",
    "RoutedLane",
    "format_lsn",
    "parse_lsn",
    "replica_dsn",
)

_log = structlog.get_logger("tenantdb")
_TOKENS_KEPT = 100_000
"""Contexts whose last commit position is remembered in process (least recently used drop)."""
_HISTORY_S = 300.0
"""How far back the primary's positions are kept to measure a standby's lag."""
_WAIT_STEP_S = 0.01


class ReplicaOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How ``Database(replicas=[...])`` routes reads (``Database(replica_options=...)``)."""

    max_lag: float = 5.0
    """Seconds: a standby further behind the primary is skipped (reads go to the primary)."""
    wait: float = 0.0
    """Seconds a read that must see a commit may wait for a standby to replay it before it
    goes to the primary (0: go to the primary at once)."""
    poll_interval: float = 0.5
    """Seconds between two polls of the standbys' replay positions."""
    connect_timeout: float = 2.0
    """Connecting to a standby (pools and monitor); a standby that does not answer is down."""

    def __post_init__(self) -> None:
        if not self.max_lag > 0 or not self.poll_interval > 0 or not self.connect_timeout > 0:
            raise ConfigurationError("max_lag, poll_interval, connect_timeout must be > 0")
        if not self.wait >= 0:
            raise ConfigurationError("wait must be >= 0 seconds")


class ReplicaStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One standby as the router sees it (``db.replica_status()``, ``Health.replicas``)."""

    name: str
    """``host:port`` (never credentials)."""
    state: Literal["ok", "lagging", "down", "unknown"]
    lag_s: float | None
    """Seconds behind the primary at the last poll (None: not measured yet or down)."""
    replay_lsn: str | None
    reads: int
    """Read-only blocks this standby ran."""
    error: str | None = None


def parse_lsn(text: str) -> int:
    """``"16/B374D848"`` -> a comparable integer (``ConfigurationError`` for anything else)."""
    hi, sep, lo = text.strip().partition("/")
    try:
        value = (int(hi, 16) << 32) | int(lo, 16)
    except ValueError:
        value = -1
    if not sep or not 0 <= value < 1 << 64:
        raise ConfigurationError(f"not a WAL position (commit token): {text!r}")
    return value


def format_lsn(value: int) -> str:
    """The inverse of :func:`parse_lsn` (PostgreSQL's ``pg_lsn`` spelling)."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def replica_dsn(replica: str, lane_dsn: str) -> str:
    """The lane's DSN pointed at the standby: host, port and query of ``replica``; user,
    password and database of ``lane_dsn`` unless ``replica`` names its own."""
    r, lane = urlsplit(replica), urlsplit(lane_dsn)
    if r.scheme not in ("postgresql", "postgres") or not r.hostname:
        raise ConfigurationError("each replica must be a postgresql://host[:port] DSN")
    userinfo = r.netloc.rpartition("@")[0] if "@" in r.netloc else ""
    if not userinfo and "@" in lane.netloc:
        userinfo = lane.netloc.rpartition("@")[0]
    host = r.netloc.rpartition("@")[2]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = r.path if r.path not in ("", "/") else lane.path
    return urlunsplit((r.scheme, netloc, path, r.query or lane.query, ""))


class _Replica:
    """One standby: a lane per role, its last replay position and lag."""

    def __init__(self, name: str, lanes: dict[str, AsyncpgLane], monitor_dsn: str) -> None:
        self.name = name
        self.lanes = lanes
        self.monitor_dsn = monitor_dsn
        self.conn: asyncpg.Connection[Any] | None = None
        self.replay: int | None = None
        self.lag: float | None = None
        self.down = False
        self.error: str | None = None
        self.reads = 0

    def usable(self, max_lag: float) -> bool:
        return not self.down and self.lag is not None and self.lag <= max_lag

    def state(self, max_lag: float) -> Literal["ok", "lagging", "down", "unknown"]:
        if self.down:
            return "down"
        if self.lag is None:
            return "unknown"
        return "ok" if self.lag <= max_lag else "lagging"


class ReplicaSet:
    """The standbys of one ``Database``: lanes, the monitor, routing, commit tokens."""

    def __init__(
        self,
        replicas: Sequence[str],
        *,
        lanes: dict[str, tuple[str, PoolOptions]],
        primary_dsn: str,
        options: ReplicaOptions,
        metrics: Metrics,
    ) -> None:
        if not replicas:
            raise ConfigurationError("replicas= needs at least one postgresql:// DSN")
        self.options = options
        self._primary_dsn = primary_dsn
        self._primary: asyncpg.Connection[Any] | None = None
        self._history: collections.deque[tuple[float, int]] = collections.deque()
        self._tokens: collections.OrderedDict[TenantContext, int] = collections.OrderedDict()
        self._replicas: list[_Replica] = []
        for dsn in replicas:
            built = {
                name: AsyncpgLane(
                    replica_dsn(dsn, lane_dsn),
                    name=name,  # type: ignore[arg-type]  # "tenant" | "admin", from Database
                    options=msgspec.structs.replace(
                        opts, min_size=0, connect_timeout=options.connect_timeout
                    ),
                    metrics=metrics,
                )
                for name, (lane_dsn, opts) in lanes.items()
            }
            first = next(iter(lanes.values()))[0]
            name = urlsplit(dsn).netloc.rpartition("@")[2]
            self._replicas.append(_Replica(name, built, replica_dsn(dsn, first)))
        self._next = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.fallbacks = 0
        """Read-only blocks that went to the primary (no standby usable or caught up)."""

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the standbys' pools lazily (min_size 0) and start the monitor."""
        for replica in self._replicas:
            for lane in replica.lanes.values():
                await lane.open()
        await self.poll()
        # A plain task, not a task group: open() and close() may run in different tasks.
        self._task = asyncio.ensure_future(self._monitor())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conns = [self._primary, *(r.conn for r in self._replicas)]
        self._primary = None
        for replica in self._replicas:
            replica.conn = None
            for lane in replica.lanes.values():
                await lane.close()
        for conn in conns:
            if conn is not None:
                conn.terminate()

    # -- tokens ----------------------------------------------------------------------------------
    def committed(self, ctx: TenantContext | None, lsn: int) -> None:
        """A writable block of ``ctx`` committed at ``lsn`` (called by the primary's lane)."""
        if ctx is not None:
            self.remember(ctx, lsn)

    def remember(self, ctx: TenantContext, lsn: int) -> None:
        tokens = self._tokens
        if tokens.get(ctx, -1) < lsn:
            tokens[ctx] = lsn
        tokens.move_to_end(ctx)
        while len(tokens) > _TOKENS_KEPT:
            tokens.popitem(last=False)

    def token(self, ctx: TenantContext) -> int | None:
        return self._tokens.get(ctx)

    # -- routing ---------------------------------------------------------------------------------
    def lane(self, primary: AsyncpgLane) -> RoutedLane:
        return RoutedLane(self, primary)

    async def pick(self, lane: str, ctx: TenantContext | None) -> _Replica | None:
        """A standby for a read-only block of ``ctx`` on ``lane``, or None for the primary."""
        after = None if ctx is None else self._tokens.get(ctx)
        usable = [r for r in self._replicas if r.usable(self.options.max_lag) and lane in r.lanes]
        ready = [r for r in usable if after is None or (r.replay or 0) >= after]
        if not ready and usable and after is not None and self.options.wait > 0:
            ready = await self._wait_for(usable, after)
        if not ready:
            self.fallbacks += 1
            return None
        return ready[next(self._next) % len(ready)]

    async def _wait_for(self, usable: list[_Replica], after: int) -> list[_Replica]:
        """Poll ``usable`` standbys until one replayed ``after`` (bounded by ``wait``)."""
        with anyio.move_on_after(self.options.wait):
            while True:
                for replica in usable:
                    await self._poll_replica(replica, time.monotonic())
                ready = [r for r in usable if not r.down and (r.replay or 0) >= after]
                if ready:
                    return ready
                await anyio.sleep(_WAIT_STEP_S)
        return []

    def failed(self, replica: _Replica, exc: BaseException) -> None:
        """A block could not start on ``replica``: down until the monitor reaches it again."""
        self._mark_down(replica, f"{type(exc).__name__}: {exc}")

    # -- monitor ---------------------------------------------------------------------------------
    async def _monitor(self) -> None:
        while True:
            await anyio.sleep(self.options.poll_interval)
            await self.poll()

    async def poll(self) -> None:
        """One round: the primary's flushed position, then every standby's replay position."""
        now = time.monotonic()
        try:
            if self._primary is None or self._primary.is_closed():
                self._primary = await self._connect(self._primary_dsn)
            flushed = await self._primary.fetchval("SELECT pg_current_wal_flush_lsn()::text")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            self._primary = None  # judge the standbys again once the primary answers
        else:
            self._history.append((now, parse_lsn(str(flushed))))
            while self._history and self._history[0][0] < now - _HISTORY_S:
                self._history.popleft()
        for replica in self._replicas:
            await self._poll_replica(replica, now)

    async def _poll_replica(self, replica: _Replica, now: float) -> None:
        try:
            if replica.conn is None or replica.conn.is_closed():
                replica.conn = await self._connect(replica.monitor_dsn)
            text = await replica.conn.fetchval("SELECT pg_last_wal_replay_lsn()::text")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            if replica.conn is not None:
                replica.conn.terminate()
                replica.conn = None
            self._mark_down(replica, f"{type(exc).__name__}: {exc}")
            return
        if text is None:
            self._mark_down(replica, "not a standby (pg_last_wal_replay_lsn() is NULL)")
            return
        replay = parse_lsn(str(text))
        replica.replay = max(replica.replay or 0, replay)
        replica.lag = self._lag(replay, now)
        if replica.down:
            _log.info("tenantdb.replica_state", replica=replica.name, state="up")
        replica.down = False
        replica.error = None

    def _lag(self, replay: int, now: float) -> float | None:
        """Seconds since the primary had flushed no more than ``replay`` (None: not known)."""
        history = self._history
        if not history:
            return None
        if replay >= history[-1][1]:
            return 0.0
        caught_up = [t for t, flushed in history if flushed <= replay]
        return now - (caught_up[-1] if caught_up else history[0][0])

    def _mark_down(self, replica: _Replica, error: str) -> None:
        if not replica.down:
            _log.warning("tenantdb.replica_state", replica=replica.name, state="down", error=error)
        replica.down = True
        replica.lag = None
        replica.error = error

    async def _connect(self, dsn: str) -> asyncpg.Connection[Any]:
        timeout = self.options.connect_timeout
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            dsn, timeout=timeout, command_timeout=timeout, statement_cache_size=0
        )
        return conn

    # -- reporting -------------------------------------------------------------------------------
    def status(self) -> tuple[ReplicaStatus, ...]:
        max_lag = self.options.max_lag
        return tuple(
            ReplicaStatus(
                name=r.name,
                state=r.state(max_lag),
                lag_s=r.lag,
                replay_lsn=None if r.replay is None else format_lsn(r.replay),
                reads=r.reads,
                error=r.error,
            )
            for r in self._replicas
        )


class RoutedLane:
    """A lane whose transactions run on a standby when one is usable, else on ``primary``.

    Only ``Database`` hands it read-only requests; it keeps the ``Lane`` contract by
    delegating every block to an ``AsyncpgLane`` (a standby's, or the primary's).
    """

    def __init__(self, replicas: ReplicaSet, primary: AsyncpgLane) -> None:
        self._replicas = replicas
        self._primary = primary

    @property
    def name(self) -> str:
        return self._primary.name

    @property
    def transport(self) -> str:
        return self._primary.transport

    @property
    def options(self) -> PoolOptions:
        return self._primary.options

    async def open(self) -> None:
        """Opened by ``Database`` through the primary lane and the ``ReplicaSet``."""

    async def close(self) -> None:
        """Closed by ``Database`` through the primary lane and the ``ReplicaSet``."""

    async def server_version(self) -> str:
        return await self._primary.server_version()

    def transaction(self, request: TxRequest) -> AbstractAsyncContextManager[Transaction]:
        return self._routed(request)

    @asynccontextmanager
    async def _routed(self, request: TxRequest) -> AsyncIterator[Transaction]:
        replica = await self._replicas.pick(self.name, request.ctx)
        if replica is not None:
            scope = replica.lanes[self.name].transaction(request)
            try:
                tx = await scope.__aenter__()
            except TransportError as exc:  # nothing of the block ran: the primary takes it
                self._replicas.failed(replica, exc)
                self._replicas.fallbacks += 1
            else:
                replica.reads += 1
                async with _entered(scope, tx) as entered:
                    yield entered
                return
        async with self._primary.transaction(request) as tx:
            yield tx


@asynccontextmanager
async def _entered(
    scope: AbstractAsyncContextManager[Transaction], tx: Transaction
) -> AsyncIterator[Transaction]:
    """Finish an already entered ``scope`` the way ``async with`` would."""
    try:
        yield tx
    except BaseException as exc:
        if not await scope.__aexit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        await scope.__aexit__(None, None, None)
