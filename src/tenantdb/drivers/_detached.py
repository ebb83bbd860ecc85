"""Calls that must run to the end even when the task awaiting them is cancelled.

An anyio ``CancelScope(shield=True)`` does not stop a raw ``asyncio.Task.cancel()`` (what
``asyncio.timeout``, ``wait_for`` and ``db.tenant(timeout=…)`` under asyncio do): the
``CancelledError`` arrives at the next await inside the scope. Interrupting BeginTransaction
that way leaves a server transaction whose id nobody learns (it holds a database connection
until the service's idle expiry); interrupting RollbackTransaction leaves one open the same way.
So those calls run in a task the lane owns; the caller awaits it through ``asyncio.shield``
inside an anyio shield.
When the caller is cancelled, the call goes on, and ``abandoned`` runs once it has finished
(for BeginTransaction: roll back what it opened). ``drain`` waits for all of it at close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio

__all__ = ("Detached", "finish")

T = TypeVar("T")


class Detached:
    """The lane's set of calls that outlive a cancelled caller (bounded by their own timeouts)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(
        self,
        call: Callable[[], Coroutine[Any, Any, T]],
        *,
        abandoned: Callable[[asyncio.Task[T]], Awaitable[None]] | None = None,
    ) -> T:
        """``await call()``, but a cancellation of the caller does not interrupt the call.

        The caller still sees its ``CancelledError`` at once; ``abandoned(task)`` then runs
        in the background after the call has finished (with its result or its error).
        """
        task = self._spawn(call())
        try:
            # An anyio scope's cancellation waits for the call (it finishes inline, as the
            # caller expects); a raw Task.cancel() gets through the anyio shield but not
            # through asyncio.shield, so the call goes on in its own task.
            with anyio.CancelScope(shield=True):
                result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if abandoned is not None:
                self._spawn(_after(task, abandoned))
            raise
        return result

    async def drain(self) -> None:
        """Wait for every detached call and its follow-up (the caller bounds the wait)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    @property
    def pending(self) -> int:
        """Detached calls still running (diagnostics and tests)."""
        return len(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _after(task: asyncio.Task[T], then: Callable[[asyncio.Task[T]], Awaitable[None]]) -> None:
    await asyncio.wait({task})
    await then(task)


async def finish(
    call: Callable[[], Coroutine[Any, Any, T]],
    *,
    bound: float,
    on_done: Callable[[T], None] | None = None,
) -> T:
    """``await call()`` to its end even if the caller is cancelled meanwhile (COMMIT).

    The call runs in its own task, awaited inside an anyio shield (an anyio scope's
    cancellation then waits) and through ``asyncio.wait`` (a raw ``Task.cancel()`` is caught
    and the wait goes on). Once the call has finished, a cancellation that arrived meanwhile is
    re-raised; ``on_done(result)`` runs first, so the caller can record the known outcome. A
    call still running after ``bound`` seconds is cancelled and ``TimeoutError`` raised.
    """
    task = asyncio.ensure_future(call())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            task.cancel()
            await asyncio.wait({task})
            raise TimeoutError(f"no answer within {bound:g} s")
        try:
            with anyio.CancelScope(shield=True):
                await asyncio.wait({task}, timeout=remaining)
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        if not task.cancelled() and task.exception() is None and on_done is not None:
            on_done(task.result())
        raise cancelled
    result = task.result()
    if on_done is not None:
        on_done(result)
    return result
