"""Whole-transaction deadlines with one timer per ``Database`` instead of one per transaction.

A timer per transaction (``anyio.fail_after`` / ``asyncio.timeout``) costs a heap entry, its
cancellation and a cancel-scope object on every request: on the single-query path that is a
measurable share of the SDK's own overhead. Deadlines are coarse (60 s by default) and rarely
hit, so a :class:`Watchdog` instead ticks every ``tick`` seconds while any transaction is open
and cancels the task of each block whose deadline has passed, exactly as ``asyncio.timeout``
does (``task.cancel()``, then ``uncancel()`` when the block exits). A deadline therefore fires
at most ``tick`` late. Registering a block costs a set insertion.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ("Deadline", "Watchdog")

_TICK_S = 0.05


class Deadline:
    """The deadline of one block (``when`` on the ``time.monotonic()`` clock), owned by the
    task that entered it."""

    __slots__ = ("_cancelling", "ending", "expired", "reason", "task", "when")

    def __init__(self, when: float) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always called from a coroutine
            raise RuntimeError("a transaction deadline needs a running task")
        self.when = when
        self.task = task
        self.expired = False
        self.ending = False
        """Set when the block starts its COMMIT/ROLLBACK: from then on nothing cancels it (a
        cancelled COMMIT would leave the outcome unknown)."""
        self.reason = "deadline"
        """Why it was expired: ``"deadline"`` (the watchdog) or ``"shutdown"`` (``db.close()``
        gave up waiting for the block)."""
        self._cancelling = task.cancelling()

    def expire(self, reason: str = "deadline") -> None:
        """Cancel the block's task (once, and not once it is ending); ``timed_out`` absorbs
        that cancellation."""
        if self.expired or self.ending:
            return
        self.expired = True
        self.reason = reason
        self.task.cancel(f"tenantdb: transaction {reason}")

    def timed_out(self, exc_type: type[BaseException] | None) -> bool:
        """Call once when the block exits: True if this deadline's cancellation ended it.

        Absorbs that cancellation (``uncancel``), so an outer cancel scope or timeout of the
        caller still sees its own cancellations and nothing else.
        """
        if not self.expired:
            return False
        return self.task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError


class Watchdog:
    """Cancels the tasks of blocks past their deadline; one per ``Database``."""

    __slots__ = ("_handle", "_loop", "_open", "_tick")

    def __init__(self, tick: float = _TICK_S) -> None:
        self._tick = tick
        self._open: set[Deadline] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, deadline: Deadline) -> None:
        self._open.add(deadline)
        loop = asyncio.get_running_loop()
        # A Database reused on a new event loop (tests) must not wait for the old loop's tick.
        if self._handle is None or self._loop is not loop:
            self._loop = loop
            self._handle = loop.call_later(self._tick, self._check)

    def unwatch(self, deadline: Deadline) -> None:
        self._open.discard(deadline)

    def stop(self) -> None:
        """Forget every deadline and the timer (the Database is closing)."""
        self._open.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            return  # a tick left on a previous event loop
        now = time.monotonic()
        for deadline in [d for d in self._open if d.when <= now]:
            self._open.discard(deadline)
            deadline.expire()
        self._handle = loop.call_later(self._tick, self._check) if self._open else None
