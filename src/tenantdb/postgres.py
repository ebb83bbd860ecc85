"""``tenantdb.Postgres``: how to connect an asyncpg lane, beyond a DSN.

Accepted wherever a DSN is (``Database(admin=..., tenant=...)``, ``tenantdb.migrate``), the
way ``tenantdb.DataApi`` is for the Data API::

    db = tenantdb.Database(
        admin=tenantdb.Postgres(
            "postgresql://app_admin@db.example:5432/app",
            ssl="verify-full",                       # or an ssl.SSLContext
            password=rds_iam_password(host="db.example", port=5432, user="app_admin",
                                      region="eu-west-1"),   # called per new connection
            connect_kwargs={"server_settings": {"application_name": "billing"}},
            init=register_codecs,                    # async (conn) -> None, per new connection
        ),
        tenant=...,
    )

``password`` may be a string or a callable (sync or async) returning one: asyncpg calls it for
every new connection, which is what rotating credentials need (RDS IAM auth tokens live
15 minutes; a Secrets Manager rotation changes the password under a running pool).
``init`` runs on each new connection: register type codecs there. Session settings made in
``init`` do not survive on the tenant lane (each tenant transaction starts with ``RESET ALL``,
docs/security.md); put them in ``connect_kwargs={"server_settings": {...}}``, which are the
connection's defaults.
"""

from __future__ import annotations

import os
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tenantdb.errors import ConfigurationError

__all__ = ("SSL_MODES", "Postgres", "postgres_from_env", "rds_iam_password")

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""libpq's sslmode values, which asyncpg accepts as ``ssl=``."""

_RESERVED = frozenset(
    {
        "dsn",
        "min_size",
        "max_size",
        "statement_cache_size",
        "max_inactive_connection_lifetime",
        "timeout",
        "reset",
        "init",
        "setup",
        "password",
        "ssl",
        "loop",
        "connection_class",
        "record_class",
        "max_queries",
    }
)

PasswordSource = str | Callable[[], str] | Callable[[], Awaitable[str]]
InitHook = Callable[[Any], Awaitable[None]]


class Postgres:
    """An asyncpg lane's connection settings: DSN, TLS, password source, extra arguments, hook.

    Every argument is checked when the object is built; errors name the parameter.
    """

    __slots__ = ("connect_kwargs", "dsn", "init", "password", "ssl")

    def __init__(
        self,
        dsn: str,
        *,
        ssl: bool | str | _ssl.SSLContext | None = None,
        password: PasswordSource | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
        init: InitHook | None = None,
    ) -> None:
        if not str(dsn).startswith(("postgresql://", "postgres://")):
            raise ConfigurationError("Postgres(dsn=...) must be a postgresql:// DSN")
        if isinstance(ssl, str) and ssl not in SSL_MODES:
            raise ConfigurationError(f"Postgres(ssl=...) must be one of {', '.join(SSL_MODES)}")
        if ssl is not None and not isinstance(ssl, bool | str | _ssl.SSLContext):
            raise ConfigurationError(
                f"Postgres(ssl=...) must be a bool, an sslmode or an ssl.SSLContext, "
                f"got {type(ssl).__name__}"
            )
        if password is not None and not (isinstance(password, str) or callable(password)):
            raise ConfigurationError(
                "Postgres(password=...) must be a str or a callable returning one, "
                f"got {type(password).__name__}"
            )
        if init is not None and not callable(init):
            raise ConfigurationError("Postgres(init=...) must be an async callable (conn)")
        extra = dict(connect_kwargs or {})
        clash = sorted(set(extra) & _RESERVED)
        if clash:
            raise ConfigurationError(
                f"Postgres(connect_kwargs=...) may not set {', '.join(clash)}: use the "
                "Postgres arguments or PoolOptions for those"
            )
        self.dsn = dsn
        self.ssl = ssl
        self.password = password
        self.connect_kwargs = extra
        self.init = init

    def pool_kwargs(self) -> dict[str, Any]:
        """The keyword arguments the asyncpg lane adds to ``asyncpg.create_pool``."""
        kwargs: dict[str, Any] = dict(self.connect_kwargs)
        if self.ssl is not None:
            kwargs["ssl"] = self.ssl
        if self.password is not None:
            kwargs["password"] = self.password
        if self.init is not None:
            kwargs["init"] = self.init
        return kwargs

    async def connect(self, **kwargs: Any) -> Any:
        """One ``asyncpg.Connection`` with these settings (migrations, scripts)."""
        import asyncpg

        options = {k: v for k, v in self.pool_kwargs().items() if k != "init"}
        conn = await asyncpg.connect(self.dsn, **{**options, **kwargs})
        if self.init is not None:
            await self.init(conn)
        return conn

    @property
    def user(self) -> str | None:
        return urlsplit(self.dsn).username

    def __repr__(self) -> str:
        parts = urlsplit(self.dsn)
        where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        return f"Postgres(user={parts.username!r}, at={where!r}, ssl={self.ssl!r})"


def rds_iam_password(
    *, host: str, port: int = 5432, user: str, region: str, session: Any = None
) -> Callable[[], str]:
    """A ``password=`` callable that signs an RDS/Aurora IAM auth token per new connection.

    Tokens are signed locally with the AWS credentials of ``session`` (a ``botocore`` session;
    default: the default credential chain) and are valid for 15 minutes, so a pool that opens
    a connection later gets a fresh one. Needs botocore (``pip install 'tenantdb[dataapi]'``).
    IAM auth also needs TLS: pair it with ``ssl="verify-full"`` and the RDS CA bundle.
    """
    try:
        import botocore.session
    except ImportError:
        raise ConfigurationError(
            "rds_iam_password needs botocore: pip install 'tenantdb[dataapi]'"
        ) from None
    source = session if session is not None else botocore.session.get_session()
    client: Any = source.create_client("rds", region_name=region)

    def token() -> str:
        signed: str = client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=region
        )
        return signed

    return token


def postgres_from_env(
    dsn: str, environ: Mapping[str, str] | None = None, *, role: str = "admin"
) -> str | Postgres:
    """``dsn``, or a ``Postgres`` when TLS or IAM variables are set (``Database.from_env``).

    ``DATABASE_SSLMODE`` (an sslmode), ``DATABASE_SSLROOTCERT`` (a CA bundle: implies
    ``verify-full`` unless the mode says ``verify-ca``), ``DATABASE_IAM_AUTH=true`` (an RDS IAM
    token per connection for the DSN's user, host and port, region ``AWS_REGION``).
    """
    env = os.environ if environ is None else environ
    mode = env.get("DATABASE_SSLMODE", "").strip() or None
    rootcert = env.get("DATABASE_SSLROOTCERT", "").strip() or None
    iam = env.get("DATABASE_IAM_AUTH", "").strip().lower() in ("1", "true", "yes", "on")
    if mode is None and rootcert is None and not iam:
        return dsn
    if mode is not None and mode not in SSL_MODES:
        raise ConfigurationError(f"DATABASE_SSLMODE must be one of {', '.join(SSL_MODES)}")
    ssl: bool | str | _ssl.SSLContext | None = mode
    if rootcert is not None:
        context = _ssl.create_default_context(cafile=rootcert)
        context.check_hostname = mode != "verify-ca"
        ssl = context
    password: PasswordSource | None = None
    if iam:
        parts = urlsplit(dsn)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not (parts.hostname and parts.username and region):
            raise ConfigurationError(
                f"DATABASE_IAM_AUTH needs the {role} DSN's user and host, and AWS_REGION"
            )
        password = rds_iam_password(
            host=parts.hostname, port=parts.port or 5432, user=parts.username, region=region
        )
        if ssl is None:
            ssl = "verify-full"
    return Postgres(dsn, ssl=ssl, password=password)
