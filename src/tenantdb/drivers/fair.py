"""First-come-first-served admission to a lane's connections, with an optional per-tenant cap.

asyncpg's pool does not serve waiters in arrival order (a trial saw every one of 1,560
acquire timeouts overtaken by a later arrival), and nothing stops one tenant's burst from
holding every connection. :class:`FairGate` sits in front of the pool: at most ``size``
holders (the pool's ``max_size``, so the pool itself never makes anyone wait) and waiters
served strictly in arrival order. With ``per_tenant`` set, no tenant holds more than that
many at once, and a freed connection goes to the waiting tenant that holds the fewest
(arrival order among equals). A waiter whose tenant is at its cap keeps its place while
other tenants' blocks go past it, and a quiet tenant is next in line for the first free
connection even when busy tenants fill the pool: it never waits behind their backlog.

Wait times are kept per tenant (``FairGate.stats()``; ``db.tenant_waits()``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time

import msgspec

from tenantdb.errors import PoolTimeoutError

__all__ = ("FairGate", "TenantWaits")

_SAMPLES = 1024
"""Recent wait times kept per tenant for the percentiles."""
_NO_TENANT = ""
"""The key of holders without a tenant (the admin lane, health probes)."""


class TenantWaits(msgspec.Struct, frozen=True, kw_only=True):
    """How long one tenant's blocks waited for a connection (``db.tenant_waits()``)."""

    tenant_id: str | None
    holding: int
    waiting: int
    acquired: int
    timeouts: int
    wait_p50_ms: float
    wait_p99_ms: float
    wait_max_ms: float


class _Waiter:
    __slots__ = ("future", "tenant")

    def __init__(self, tenant: str, future: asyncio.Future[None]) -> None:
        self.tenant = tenant
        self.future = future


class _Stats:
    __slots__ = ("acquired", "samples", "timeouts")

    def __init__(self) -> None:
        self.acquired = 0
        self.timeouts = 0
        self.samples: collections.deque[float] = collections.deque(maxlen=_SAMPLES)


class FairGate:
    """``size`` slots, FIFO, at most ``per_tenant`` per tenant (None: no cap)."""

    def __init__(self, size: int, per_tenant: int | None, *, lane: str) -> None:
        self._size = size
        self._per_tenant = per_tenant
        self._lane = lane
        self._used = 0
        self._holding: collections.Counter[str] = collections.Counter()
        self._queue: collections.deque[_Waiter] = collections.deque()
        self._stats: dict[str, _Stats] = {}

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def position(self, tenant_id: str | None) -> list[int]:
        """Queue positions (0 = next) of ``tenant_id``'s waiters: for tests and diagnostics."""
        key = tenant_id or _NO_TENANT
        return [i for i, w in enumerate(self._queue) if w.tenant == key]

    async def enter(self, tenant_id: str | None, timeout: float) -> None:  # noqa: ASYNC109 - the lane's acquire_timeout, raised as PoolTimeoutError
        """Take a slot for ``tenant_id``, waiting in line up to ``timeout`` seconds."""
        key = tenant_id or _NO_TENANT
        t0 = time.perf_counter()
        # A free slot means every queued waiter is at its tenant's cap (``_grant`` ran).
        if self._free_for(key):
            self._take(key, t0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(key, future)
        self._queue.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            self._give_up(waiter)
            if future.done() and not future.cancelled():
                self._take_granted(key, t0)
                return
            self._stat(key).timeouts += 1
            raise self._timeout_error(tenant_id, timeout) from None
        except BaseException:
            self._give_up(waiter)
            if future.done() and not future.cancelled():
                self.leave(tenant_id)  # granted while being cancelled: pass it on
            raise
        self._take_granted(key, t0)

    def leave(self, tenant_id: str | None) -> None:
        """Give back a slot taken by ``enter``; the queue's first eligible waiters get it."""
        key = tenant_id or _NO_TENANT
        self._used -= 1
        self._holding[key] -= 1
        if self._holding[key] <= 0:
            del self._holding[key]
        self._grant()

    # -- internals -------------------------------------------------------------------------------
    def _free_for(self, key: str) -> bool:
        if self._used >= self._size:
            return False
        cap = self._per_tenant
        return cap is None or key == _NO_TENANT or self._holding[key] < cap

    def _take(self, key: str, t0: float) -> None:
        self._used += 1
        self._holding[key] += 1
        self._record(key, t0)

    def _take_granted(self, key: str, t0: float) -> None:
        """The slot was counted when granted (``_grant``); only the wait is recorded."""
        self._record(key, t0)

    def _record(self, key: str, t0: float) -> None:
        stats = self._stat(key)
        stats.acquired += 1
        stats.samples.append((time.perf_counter() - t0) * 1000.0)

    def _grant(self) -> None:
        """Hand free slots to waiters: in arrival order without a cap; with one, to the
        eligible waiter whose tenant holds the fewest connections (arrival order among
        equals), so a quiet tenant is next in line even when busy tenants fill the pool."""
        queue = self._queue
        while queue and self._used < self._size:
            waiter = self._next_waiter()
            if waiter is None:
                return
            queue.remove(waiter)
            self._used += 1
            self._holding[waiter.tenant] += 1
            waiter.future.set_result(None)

    def _next_waiter(self) -> _Waiter | None:
        best: _Waiter | None = None
        for waiter in self._queue:
            if waiter.future.done() or not self._free_for(waiter.tenant):
                continue
            if self._per_tenant is None or waiter.tenant == _NO_TENANT:
                return waiter
            if best is None or self._holding[waiter.tenant] < self._holding[best.tenant]:
                best = waiter
                if not self._holding[waiter.tenant]:
                    break
        return best

    def _give_up(self, waiter: _Waiter) -> None:
        with contextlib.suppress(ValueError):  # already granted (popped by _grant)
            self._queue.remove(waiter)

    def _stat(self, key: str) -> _Stats:
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = _Stats()
        return stats

    def _timeout_error(self, tenant_id: str | None, timeout: float) -> PoolTimeoutError:
        key = tenant_id or _NO_TENANT
        cap = self._per_tenant
        if tenant_id is not None and cap is not None and self._holding[key] >= cap:
            return PoolTimeoutError(
                f"tenant {tenant_id} waited {timeout:g} s for a {self._lane}-lane connection: "
                f"it already holds {cap} (PoolOptions.max_per_tenant={cap}); its other "
                "blocks wait their turn so that other tenants are not starved"
            )
        who = f" (tenant {tenant_id})" if tenant_id is not None else ""
        return PoolTimeoutError(
            f"no {self._lane}-lane connection became free within {timeout:g} s{who} "
            "(raise max_size or acquire_timeout, or look for transactions held open too long)"
        )

    def stats(self) -> tuple[TenantWaits, ...]:
        waiting = collections.Counter(w.tenant for w in self._queue)
        keys = sorted(set(self._stats) | set(waiting) | set(self._holding))
        return tuple(self._tenant_waits(k, waiting[k]) for k in keys)

    def _tenant_waits(self, key: str, waiting: int) -> TenantWaits:
        stats = self._stats.get(key) or _Stats()
        ordered = sorted(stats.samples)

        def q(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

        return TenantWaits(
            tenant_id=key or None,
            holding=self._holding[key],
            waiting=waiting,
            acquired=stats.acquired,
            timeouts=stats.timeouts,
            wait_p50_ms=round(q(0.5), 3),
            wait_p99_ms=round(q(0.99), 3),
            wait_max_ms=round(ordered[-1], 3) if ordered else 0.0,
        )
