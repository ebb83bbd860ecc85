"""The internal contract every lane (transport + role) satisfies; ``Database`` only sees this.

A *lane* is one way to reach the database with one role: the admin lane (admin role, BYPASSRLS,
always asyncpg) and the tenant lane (tenant role; asyncpg for a DSN, the RDS Data API for a
``DataApi`` config). ``Database`` picks the lanes, validates contexts, handles nesting and the
whole-transaction deadline; a lane owns everything transport-specific. A new transport (the Data
API driver) implements :class:`Lane` and nothing else.

Contract a lane must keep (RLS.md §1.7, §2.12-2.14, invariants I-12…I-15):

``open()`` / ``close()``
    Create and dispose of the transport (pool, HTTP client). ``close()`` is idempotent and must
    not wait forever: it closes gracefully within its own finite timeout, then terminates.

``transaction(request)``
    An async context manager yielding a :class:`Transaction` (an ``Executor`` plus
    ``savepoint()``) for a :class:`TxRequest` (context, read-only flag, isolation, statement
    timeout; built once by ``Database`` and passed down unchanged):

    * ``request.ctx`` is a validated ``TenantContext`` (tenant lane) or ``None`` (admin lane: no
      ``app.*`` variables are set at all, so RLS-protected code run there as the tenant role
      would see nothing).
    * Every ``app.*`` variable of ``ctx.settings()`` is set **transaction-locally**
      (``set_config(name, value, true)``) before the block's first query, in as few round trips
      as the transport allows, never at session level and never outside a transaction. The
      tenant and user ids (the first two settings; already validated) may travel as quoted
      literals in the BEGIN round trip when they only contain a conservative character set;
      every other value travels as a bound parameter.
    * ``statement_timeout`` (seconds, or None) is applied transaction-locally too.
    * Leaving the block normally commits; an exception or a cancellation rolls back, shielded
      from the cancellation, and the connection goes back to its pool clean or is destroyed.
      A commit that the server turns into a rollback (the transaction had failed) raises.
    * Queries run only while the transaction is open: a query on a finished transaction, or
      when the transport reports no open transaction, raises before sending SQL (I-14).
    * Native errors leave the lane only as ``tenantdb.errors`` classes (one mapping function
      per transport); each query and each transaction is recorded once in ``Metrics``.

``server_version()``
    A cheap reachability probe used by ``Database.health()``.

Construction: ``Lane(target, *, name="tenant"|"admin", options=PoolOptions, metrics=Metrics)``
where ``target`` is a DSN (asyncpg) or a ``DataApi`` config; ``Database`` chooses the class in
``Database._tenant_lane`` (the one seam where transports are picked). A lane exposes the
``PoolOptions`` it was given as ``options``.

The whole-transaction deadline is enforced by ``Database`` around the lane's context manager
(one watchdog per Database cancels the task, see ``tenantdb/_deadline.py``), so a lane only
needs to roll back correctly when it is cancelled; nesting (savepoints, I-15) is also decided
by ``Database``, which calls ``Transaction.savepoint()`` on the open transaction.
"""

from __future__ import annotations

import enum
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from tenantdb.drivers.base import Executor
from tenantdb.errors import ConfigurationError

if TYPE_CHECKING:
    from tenantdb.context import TenantContext

__all__ = ("Isolation", "Lane", "PoolOptions", "Transaction", "TxRequest")


class Isolation(enum.StrEnum):
    """Transaction isolation levels; the value is the SQL spelling."""

    READ_COMMITTED = "read committed"
    REPEATABLE_READ = "repeatable read"
    SERIALIZABLE = "serializable"


class PoolOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Pool and timeout settings of one lane (asyncpg: the pool; Data API: the HTTP
    connections and transaction slots); every wait is finite by default.

    ``statement_cache_size=0`` is the setting for pgbouncer in transaction mode (without
    ``max_prepared_statements``): asyncpg then prepares unnamed statements only.
    """

    min_size: int = 1
    max_size: int = 10
    acquire_timeout: float = 10.0
    """Seconds to wait for a free connection before ``PoolTimeoutError``."""
    connect_timeout: float = 10.0
    statement_timeout: float | None = 30.0
    """Server-side, transaction-local ``statement_timeout`` (None: the role's default)."""
    transaction_timeout: float = 60.0
    """Default deadline of a whole transaction block (``TransactionTimeoutError``)."""
    statement_cache_size: int = 100
    max_inactive_connection_lifetime: float = 300.0
    context_statements: Literal["set_config", "set_local"] = "set_config"
    """How the tenant BEGIN sets the context: ``set_config(…, true)`` calls (default), or
    ``SET LOCAL`` statements in the same message, which a distributed PostgreSQL (Citus)
    forwards to its workers (docs/scale.md §5). Extra context variables travel bound through
    ``set_config`` in both forms."""
    max_per_tenant: int | None = None
    """At most this many connections per tenant at once (None: no cap); a tenant's further
    blocks wait in the lane's first-come-first-served queue (``drivers/fair.py``) while other
    tenants' blocks go past them, and raise ``PoolTimeoutError`` naming the tenant after
    ``acquire_timeout``."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size or self.max_size < 1:
            raise ConfigurationError(
                f"pool sizes must satisfy 0 <= min_size <= max_size, max_size >= 1 "
                f"(got min_size={self.min_size}, max_size={self.max_size})"
            )
        for name in ("acquire_timeout", "connect_timeout", "transaction_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if self.statement_timeout is not None and not self.statement_timeout > 0:
            raise ConfigurationError("statement_timeout must be positive or None")
        if self.context_statements not in ("set_config", "set_local"):
            raise ConfigurationError("context_statements must be 'set_config' or 'set_local'")
        if self.max_per_tenant is not None and not self.max_per_tenant >= 1:
            raise ConfigurationError("max_per_tenant must be >= 1 or None")


class TxRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One transaction as ``Database`` asks a lane for it (immutable, built once per block)."""

    ctx: TenantContext | None
    """The validated context; None on the admin lane (no ``app.*`` variable is set)."""
    readonly: bool = False
    isolation: Isolation | None = None
    """None: the server's default level."""
    statement_timeout: float | None = None
    """Seconds, applied transaction-locally; None: the role's default."""

    @property
    def tenant_id(self) -> str | None:
        """The tenant the metrics are recorded for (None on the admin lane)."""
        return None if self.ctx is None else self.ctx.tenant_id


class Transaction(Executor, Protocol):
    """The executor a transaction block yields: every ``Executor`` method plus savepoints."""

    def savepoint(self) -> AbstractAsyncContextManager[Transaction]:
        """A nested block: rolled back alone on error, released on success; same tenant."""
        ...


class Lane(Protocol):
    """One transport with one role (see the module docstring for the full contract)."""

    @property
    def name(self) -> str:
        """``"tenant"`` or ``"admin"``: the label in metrics and logs."""
        ...

    @property
    def transport(self) -> str:
        """``"asyncpg"`` or ``"data_api"``."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, request: TxRequest) -> AbstractAsyncContextManager[Transaction]: ...

    async def server_version(self) -> str: ...
