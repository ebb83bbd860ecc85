"""tenantdb and the libraries a user would pick instead, doing the same tenant transaction.

Every variant reads the same booking (``GetBooking``: 17 columns) of the same tenant, one
transaction per request, on pools of the same size:

* ``sdk``           ``async with db.tenant(ctx) as tx`` + generated ``get_booking`` (typed Struct)
* ``raw_fetchrow``  asyncpg ``pool.fetchrow``, no transaction, admin role, explicit tenant filter
* ``raw_tx``        asyncpg ``acquire`` + ``transaction()`` + ``fetchrow``: a plain transaction with
                    no isolation at all (admin role, explicit tenant filter, default pool reset)
* ``handwritten``   the brief's RLS pattern: acquire, BEGIN, ``set_config`` with a bound value,
                    the query, COMMIT (tenant role, asyncpg's default pool reset)
* ``sqla_core``     SQLAlchemy 2 async (asyncpg driver): ``engine.begin()``, ``text()`` set_config
                    statement, ``text()`` query, commit
* ``sqla_orm``      SQLAlchemy 2 async ORM: ``async with session.begin()``, an ``after_begin``
                    event that runs ``set_config`` (the tenant id from ``session.info``), an ORM
                    ``select(Booking)``, commit
* ``psycopg``       psycopg 3 async + psycopg_pool: ``conn.transaction()``, bound ``set_config``,
                    the query, commit
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import psycopg_pool
from sqlalchemy import event, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions

from . import calls

GET_SQL = calls.GET_BOOKING.sql  # "... WHERE id = $1 AND deleted_at IS NULL"
RAW_SQL = GET_SQL + " AND tenant_id = $2"  # no RLS: the admin role filters by hand
SET_TENANT_SQL = "SELECT set_config('app.current_tenant_id', $1, true)"
SQLA_GET = text(GET_SQL.replace("$1", ":id"))
SQLA_SET = text("SELECT set_config('app.current_tenant_id', :t, true)")
PSYCOPG_GET = GET_SQL.replace("$1", "%s")
PSYCOPG_SET = "SELECT set_config('app.current_tenant_id', %s, true)"

NAMES = ("sdk", "raw_fetchrow", "raw_tx", "handwritten", "sqla_core", "sqla_orm", "psycopg")


class Base(DeclarativeBase):
    pass


class BookingOrm(Base):
    """The ORM mapping a SQLAlchemy user would write for ``bookings``."""

    __tablename__ = "bookings"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str]
    property_id: Mapped[uuid.UUID]
    room_id: Mapped[uuid.UUID]
    guest_id: Mapped[uuid.UUID]
    created_by: Mapped[uuid.UUID | None]
    status: Mapped[str]
    check_in: Mapped[datetime.date]
    check_out: Mapped[datetime.date]
    guests_count: Mapped[int]
    total_amount: Mapped[decimal.Decimal]
    currency: Mapped[str]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    deleted_at: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime]
    updated_at: Mapped[datetime.datetime]


class TenantSession(Session):
    """The sync Session behind AsyncSession; its ``after_begin`` event sets the tenant."""


@event.listens_for(TenantSession, "after_begin")
def _set_tenant(session: Session, _transaction: Any, connection: Any) -> None:
    connection.execute(SQLA_SET, {"t": session.info["tenant_id"]})


class Peers:
    """Open pools of every variant; one method per variant, each one request."""

    def __init__(
        self,
        *,
        tenant: str,
        booking: uuid.UUID,
        db: Database,
        admin_pool: Any,
        tenant_pool: Any,
        engine: Any,
        sessions: async_sessionmaker[AsyncSession],
        psy_pool: psycopg_pool.AsyncConnectionPool[Any],
    ) -> None:
        self.tenant = tenant
        self.tenant_uuid = uuid.UUID(tenant)
        self.booking = booking
        self.db = db
        self.ctx = TenantContext(tenant_id=tenant)
        self.admin_pool = admin_pool
        self.tenant_pool = tenant_pool
        self.engine = engine
        self.sessions = sessions
        self.psy_pool = psy_pool
        self.orm_get = select(BookingOrm).where(
            BookingOrm.id == booking, BookingOrm.deleted_at.is_(None)
        )

    def variants(self, names: tuple[str, ...] = NAMES) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}

    async def sdk(self) -> None:
        async with self.db.tenant(self.ctx) as tx:
            row = await calls.get_booking(tx, self.booking)
        assert row is not None

    async def raw_fetchrow(self) -> None:
        row = await self.admin_pool.fetchrow(RAW_SQL, self.booking, self.tenant_uuid)
        assert row is not None

    async def raw_tx(self) -> None:
        async with self.admin_pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(RAW_SQL, self.booking, self.tenant_uuid)
        assert row is not None

    async def handwritten(self) -> None:
        async with self.tenant_pool.acquire() as conn, conn.transaction():
            await conn.execute(SET_TENANT_SQL, self.tenant)
            row = await conn.fetchrow(GET_SQL, self.booking)
        assert row is not None

    async def sqla_core(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(SQLA_SET, {"t": self.tenant})
            row = (await conn.execute(SQLA_GET, {"id": self.booking})).first()
        assert row is not None

    async def sqla_orm(self) -> None:
        async with self.sessions(info={"tenant_id": self.tenant}) as session, session.begin():
            row = (await session.execute(self.orm_get)).scalar_one_or_none()
        assert row is not None

    async def psycopg(self) -> None:
        async with self.psy_pool.connection() as conn, conn.transaction():
            await conn.execute(PSYCOPG_SET, (self.tenant,))
            cur = await conn.execute(PSYCOPG_GET, (self.booking,))
            row = await cur.fetchone()
        assert row is not None


@contextlib.asynccontextmanager
async def opened(
    admin_dsn: str, tenant_dsn: str, *, tenant: str, booking: uuid.UUID, pool_size: int
) -> AsyncIterator[Peers]:
    """Fresh pools of ``pool_size`` connections for every variant; all closed on exit."""
    async with contextlib.AsyncExitStack() as stack:
        options = PoolOptions(min_size=pool_size, max_size=pool_size)
        db = await stack.enter_async_context(
            Database(admin=admin_dsn, tenant=tenant_dsn, pool=options)
        )
        admin_pool = await asyncpg.create_pool(admin_dsn, min_size=pool_size, max_size=pool_size)
        stack.push_async_callback(admin_pool.close)
        tenant_pool = await asyncpg.create_pool(tenant_dsn, min_size=pool_size, max_size=pool_size)
        stack.push_async_callback(tenant_pool.close)
        engine = create_async_engine(
            tenant_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            pool_size=pool_size,
            max_overflow=0,
        )
        stack.push_async_callback(engine.dispose)
        sessions = async_sessionmaker(
            engine, sync_session_class=TenantSession, expire_on_commit=False
        )
        psy_pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            tenant_dsn,
            min_size=pool_size,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True},
        )
        await psy_pool.open(wait=True)
        stack.push_async_callback(psy_pool.close)
        yield Peers(
            tenant=tenant,
            booking=booking,
            db=db,
            admin_pool=admin_pool,
            tenant_pool=tenant_pool,
            engine=engine,
            sessions=sessions,
            psy_pool=psy_pool,
        )
