"""A streaming standby of a :class:`~tenantdb.local.LocalPostgres`, from the same binaries.

``pg_basebackup -R`` copies the primary's cluster and writes ``standby.signal`` plus
``primary_conninfo``; a second postgres on another loopback port then streams and replays
the primary's WAL as a hot standby (read-only queries with the same roles and RLS policies).

Example::

    async with LocalPostgres() as primary, LocalStandby(primary) as standby:
        db = Database(admin=primary.admin_dsn, tenant=primary.tenant_dsn,
                      replicas=[f"postgresql://{standby.host}:{standby.port}"])
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio
import asyncpg

from tenantdb.local.postgres import LocalPostgres

__all__ = ("LocalStandby",)


class LocalStandby(LocalPostgres):
    """A hot standby of ``primary`` on 127.0.0.1 (random port), deleted on exit.

    ``pause()``/``resume()`` stop and restart WAL replay (``pg_wal_replay_pause()``), which is
    how tests make it lag on purpose; ``stop()``/``start()`` take it down and back.
    """

    def __init__(self, primary: LocalPostgres) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="tenantdb-standby-"))
        super().__init__(self._root / "data", database=primary.name)
        self.primary = primary

    async def __aenter__(self) -> Self:
        try:
            await anyio.to_thread.run_sync(self._clone_and_start)
        except BaseException:
            await anyio.to_thread.run_sync(self._remove)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._remove)

    @property
    def replica_dsn(self) -> str:
        """``postgresql://127.0.0.1:<port>/<db>``: what ``Database(replicas=[...])`` takes."""
        return f"postgresql://{self.host}:{self.port}/{self.name}"

    def _clone_and_start(self) -> None:
        self._prepare_permissions()
        self._run(
            "pg_basebackup",
            "-D",
            str(self.data_dir),
            "-h",
            self.primary.host,
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        self.start_sync()

    def _remove(self) -> None:
        self.stop_sync()
        shutil.rmtree(self._root, ignore_errors=True)

    async def _superuser(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn("postgres", "postgres"))

    async def pause(self) -> None:
        """Stop replaying WAL (the standby still receives it): reads see an older state."""
        conn = await self._superuser()
        try:
            await conn.execute("SELECT pg_wal_replay_pause()")
        finally:
            await conn.close()

    async def resume(self) -> None:
        conn = await self._superuser()
        try:
            await conn.execute("SELECT pg_wal_replay_resume()")
        finally:
            await conn.close()

    async def stop(self) -> None:
        """Fast shutdown; ``start()`` brings it back on the same port."""
        await anyio.to_thread.run_sync(
            lambda: self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        )

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self.start_sync)
