"""A throwaway pgbouncer in front of a :class:`~tenantdb.local.LocalPostgres`, for tests.

pgbouncer is not a Python package: this uses the system binary (Debian's ``pgbouncer``
package; ``find_pgbouncer()`` says whether there is one). It listens on a random loopback
port, authenticates nobody (``auth_type = trust``, like the embedded server) and pools every
database of the server in ``pool_mode`` (default ``transaction``) with ``pool_size`` server
connections per database and role. As root it runs as the embedded server's system user
(pgbouncer refuses to run as root).

Example::

    async with LocalPostgres() as pg, LocalPgBouncer(pg, pool_size=5) as bouncer:
        db = Database(tenant=bouncer.dsn(Roles.TENANT),
                      pool=PoolOptions(statement_cache_size=0))
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import anyio

from tenantdb.errors import ConfigurationError
from tenantdb.local.postgres import LocalPostgres, Roles

__all__ = ("LocalPgBouncer", "find_pgbouncer", "pgbouncer_version")

_SYSTEM_USER = "embedded_postgres"
_CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer")
_START_TIMEOUT_S = 15.0


def find_pgbouncer() -> str | None:
    """The pgbouncer binary (``PATH``, then Debian's ``/usr/sbin``), or None."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in _CANDIDATES if os.access(c, os.X_OK)), None)


def pgbouncer_version(binary: str) -> tuple[int, int]:
    """``(1, 18)`` for "PgBouncer 1.18.0"."""
    out = subprocess.run(  # noqa: S603 - a binary path we found, no shell
        [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    match = re.search(r"PgBouncer (\d+)\.(\d+)", out)
    if match is None:
        raise ConfigurationError(f"cannot read pgbouncer's version from {out!r}")
    return int(match.group(1)), int(match.group(2))


class LocalPgBouncer:
    """pgbouncer on 127.0.0.1 (random port) over ``server``; stopped and deleted on exit.

    ``max_prepared_statements`` (pgbouncer 1.21+) turns on its tracking of protocol-level
    prepared statements in transaction mode; older versions refuse to start with it.
    """

    def __init__(
        self,
        server: LocalPostgres,
        *,
        pool_mode: str = "transaction",
        pool_size: int = 5,
        max_client_conn: int = 1000,
        max_prepared_statements: int | None = None,
        binary: str | None = None,
    ) -> None:
        self.server = server
        self.binary = binary or find_pgbouncer()
        if self.binary is None:
            raise ConfigurationError("pgbouncer is not installed (apt-get install pgbouncer)")
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.max_prepared_statements = max_prepared_statements
        self.host = "127.0.0.1"
        self.port = 0
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start_sync)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop_sync)

    def dsn(self, role: str = Roles.TENANT, database: str | None = None) -> str:
        """A DSN for ``role`` on ``database`` (default: the server's) through pgbouncer."""
        db = quote(database or self.server.name)
        return f"postgresql://{quote(role)}@{self.host}:{self.port}/{db}"

    @property
    def log_file(self) -> Path:
        if self._dir is None:
            raise ConfigurationError("LocalPgBouncer is not started")
        return self._dir / "pgbouncer.log"

    def start_sync(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="tenantdb-pgbouncer-"))
        self.port = _free_port()
        ini = self._dir / "pgbouncer.ini"
        ini.write_text(self._config())
        (self._dir / "userlist.txt").write_text(
            "".join(f'"{r}" ""\n' for r in ("postgres", Roles.ADMIN, Roles.TENANT))
        )
        user = None
        if os.name == "posix" and os.geteuid() == 0:
            user = _SYSTEM_USER
            account = pwd.getpwnam(_SYSTEM_USER)  # created by LocalPostgres as root
            for path in (self._dir, *self._dir.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
        assert self.binary is not None  # noqa: S101 - checked in __init__
        self._proc = subprocess.Popen(  # noqa: S603 - our config, no shell
            [self.binary, str(ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user,
            cwd=self._dir,
        )
        self._wait_listening()

    def _config(self) -> str:
        assert self._dir is not None  # noqa: S101 - set by start_sync
        lines = [
            "[databases]",
            f"* = host={self.server.host} port={self.server.port}",
            "[pgbouncer]",
            f"listen_addr = {self.host}",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {self._dir / 'userlist.txt'}",
            f"pool_mode = {self.pool_mode}",
            f"default_pool_size = {self.pool_size}",
            "min_pool_size = 0",
            "reserve_pool_size = 0",
            f"max_client_conn = {self.max_client_conn}",
            "max_db_connections = 0",
            "server_lifetime = 3600",
            "ignore_startup_parameters = extra_float_digits,options",
            "admin_users = postgres",
            f"logfile = {self._dir / 'pgbouncer.log'}",
            f"pidfile = {self._dir / 'pgbouncer.pid'}",
        ]
        if self.max_prepared_statements is not None:
            lines.append(f"max_prepared_statements = {self.max_prepared_statements}")
        return "\n".join(lines) + "\n"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ConfigurationError(f"pgbouncer exited at start:\n{self._log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop_sync()
        raise ConfigurationError("pgbouncer did not start listening in time")

    def _log_tail(self) -> str:
        log = self._dir / "pgbouncer.log" if self._dir is not None else None
        return log.read_text()[-2000:] if log is not None and log.exists() else ""

    def stop_sync(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
