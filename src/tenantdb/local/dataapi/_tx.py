"""Data API transactions: an opaque id -> one dedicated connection, with AWS's lifetimes.

A transaction expires after ``idle_timeout`` without a call and ``max_age`` after it began;
both are enforced lazily (on the next use of the id) and by a reaper task, which rolls the
work back and frees the connection. One call at a time: a second concurrent call gets
"Transaction is still running a query" immediately, as on Aurora v2.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import asyncpg

from tenantdb.local.dataapi._errors import (
    ApiError,
    connection_closed,
    connection_failed,
    database_error,
    transaction_not_found,
)
from tenantdb.local.dataapi._pool import ConnectionPool

__all__ = ("EXPIRED", "TERMINATED", "Transaction", "Transactions")

EXPIRED = "Transaction may be expired."
TERMINATED = "One previous call resulted in a termination of your transaction."
_REMEMBERED = 10_000


@dataclass(eq=False)
class Transaction:
    id: str
    conn: asyncpg.Connection
    resource_arn: str
    secret_arn: str
    created: float
    last_used: float
    key: tuple[str, str]  # (role, database)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    detached: asyncio.Event | None = None
    """Set while a statement that timed out with continueAfterTimeout still runs; the event
    fires when it ends (the next call waits for it instead of answering "still running")."""


class Transactions:
    """The open transactions of one gateway."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        idle_timeout: float,
        max_age: float,
        aborted_commit: Literal["committed", "error"] = "committed",
    ) -> None:
        self.aborted_commit = aborted_commit
        self._pool = pool
        self._idle_timeout = idle_timeout
        self._max_age = max_age
        self._open: dict[str, Transaction] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    async def begin(
        self, resource_arn: str, secret_arn: str, role: str, database: str
    ) -> Transaction:
        conn = await self._pool.acquire(role, database)
        try:
            await conn.execute("BEGIN")
        except asyncpg.PostgresError as exc:
            await self._pool.discard(conn)
            raise database_error(exc) from exc
        except BaseException:
            await self._pool.discard(conn)
            raise
        now = time.monotonic()
        tx_id = base64.b64encode(secrets.token_bytes(138)).decode()  # 184 chars, like AWS ids
        tx = Transaction(tx_id, conn, resource_arn, secret_arn, now, now, (role, database))
        self._open[tx_id] = tx
        return tx

    async def get(self, tx_id: str, resource_arn: str, secret_arn: str) -> Transaction:
        """The live transaction, or TransactionNotFoundException (also for another caller's id)."""
        tx = self._open.get(tx_id)
        if tx is None or tx.resource_arn != resource_arn or tx.secret_arn != secret_arn:
            raise transaction_not_found(tx_id, self._ended.get(tx_id, EXPIRED))
        if self._expired(tx, time.monotonic()):
            await self.drop(tx, EXPIRED)
            raise transaction_not_found(tx_id, EXPIRED)
        return tx

    def is_open(self, tx: Transaction) -> bool:
        return self._open.get(tx.id) is tx

    def touch(self, tx: Transaction) -> None:
        tx.last_used = time.monotonic()

    async def finish(self, tx: Transaction, *, commit: bool) -> str:
        """COMMIT or ROLLBACK, then forget the id and return the connection to the pool."""
        self._forget(tx, TERMINATED)
        if tx.conn.is_closed():  # the backend is gone: nothing was committed
            await self._pool.discard(tx.conn)
            raise connection_closed()
        try:
            status = await tx.conn.execute("COMMIT" if commit else "ROLLBACK")
        except asyncpg.PostgresError as exc:
            await self._pool.discard(tx.conn)
            if tx.conn.is_closed():
                raise connection_failed(database_error(exc)) from exc
            raise database_error(exc) from exc
        except (asyncpg.InterfaceError, OSError) as exc:
            await self._pool.discard(tx.conn)
            raise connection_failed(exc) from exc
        except BaseException:
            await self._pool.discard(tx.conn)
            raise
        await self._pool.release(tx.conn)
        if commit and status == "ROLLBACK" and self.aborted_commit == "error":
            # An aborted transaction cannot commit; pgjdbc >= 42.2.x reports this as an error.
            # AWS answers "Transaction Committed" (nothing was written): see docs/gateway.md.
            raise ApiError(
                "DatabaseErrorException",
                "ERROR: The database returned ROLLBACK, so the transaction cannot be committed."
                "; SQLState: 25P02",
            )
        return "Transaction Committed" if commit else "Rollback Complete"

    async def drop(self, tx: Transaction, cause: str) -> None:
        """Roll back and delete (expiry, size limit, injected fault)."""
        if self._open.get(tx.id) is not tx:
            return
        self._forget(tx, cause)
        if tx.lock.locked():
            # A statement is still running (continueAfterTimeout): it cannot be rolled back
            # politely, so the connection goes.
            await self._pool.discard(tx.conn)
            return
        try:
            await asyncio.wait_for(tx.conn.execute("ROLLBACK"), 5)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            await self._pool.discard(tx.conn)
            return
        await self._pool.release(tx.conn)

    async def reap(self) -> None:
        now = time.monotonic()
        for tx in [t for t in self._open.values() if self._expired(t, now) and not t.lock.locked()]:
            await self.drop(tx, EXPIRED)

    async def reaper(self) -> None:
        """Background task: expire idle and old transactions even if nobody calls again."""
        interval = min(max(min(self._idle_timeout, self._max_age) / 4, 0.02), 5.0)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await self.reap()

    async def close_all(self) -> None:
        for tx in list(self._open.values()):
            await self.drop(tx, TERMINATED)

    def _expired(self, tx: Transaction, now: float) -> bool:
        return now - tx.last_used > self._idle_timeout or now - tx.created > self._max_age

    def _forget(self, tx: Transaction, cause: str) -> None:
        self._open.pop(tx.id, None)
        self._ended[tx.id] = cause
        while len(self._ended) > _REMEMBERED:
            self._ended.popitem(last=False)
