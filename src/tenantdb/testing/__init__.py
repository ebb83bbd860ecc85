"""Test helpers for projects built on tenantdb; the pytest plugin is ``tenantdb.testing.plugin``.

The plugin is registered as a ``pytest11`` entry point, so installing tenantdb makes its
fixtures available (``tenantdb_database``, ``tenantdb_tenant``, ``tenantdb_jwt``, ...); it
does nothing until a test requests one of them. See docs/testing.md.

The classes here are what those fixtures return; they are usable without pytest too::

    minter = JwtMinter()
    token = minter.mint(ctx, role="manager")
    verifier = minter.verifier()          # a tenantdb.JwtVerifier that accepts the token
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from tenantdb.context import IdValidator, TenantContext, uuid_id
from tenantdb.errors import ConfigurationError

__all__ = ("JwtMinter", "PgDatabase", "TenantFactory")

# tenantdb.local.postgres.Roles, not imported: the plugin must stay light until used.
_ADMIN, _TENANT = "app_admin", "app_tenant"


class PgDatabase:
    """One database of the test session: its name and a DSN per role.

    ``admin_dsn`` (BYPASSRLS: fixtures, setup), ``tenant_dsn`` (RLS applies), ``superuser_dsn``.
    """

    def __init__(self, server: object, name: str) -> None:
        self._server = server
        self.name = name

    def dsn(self, role: str) -> str:
        dsn: str = self._server.dsn(role, self.name)  # type: ignore[attr-defined]
        return dsn

    @property
    def admin_dsn(self) -> str:
        return self.dsn(_ADMIN)

    @property
    def tenant_dsn(self) -> str:
        return self.dsn(_TENANT)

    @property
    def superuser_dsn(self) -> str:
        return self.dsn(str(getattr(self._server, "superuser", "postgres")))

    def __repr__(self) -> str:
        return f"PgDatabase({self.name!r})"


class TenantFactory:
    """Creates tenants in the test's database: a registry row and the context to use.

    ``await factory()`` inserts ``(id)`` into the registry table (``tenants`` by default,
    ini ``tenantdb_tenant_table``; empty: no row) as the admin role and returns a
    ``TenantContext``. Keyword arguments become columns of that row::

        acme = await tenantdb_tenant(name="Acme")
        bob = await tenantdb_tenant(user_id=str(uuid.uuid4()), name="Bob's")
    """

    def __init__(
        self,
        admin_dsn: str,
        *,
        table: str = "tenants",
        key: str = "id",
        validator: IdValidator = uuid_id,
    ) -> None:
        self._dsn = admin_dsn
        self._table = table
        self._key = key
        self._validator = validator
        self.created: list[TenantContext] = []

    async def __call__(
        self,
        *,
        tenant_id: str | uuid.UUID | None = None,
        user_id: str | uuid.UUID | None = None,
        variables: Mapping[str, str] | None = None,
        **columns: Any,
    ) -> TenantContext:
        tid = str(tenant_id) if tenant_id is not None else str(uuid.uuid4())
        ctx = TenantContext.create(tid, user_id, variables, validator=self._validator)
        if self._table:
            await self._insert(tid, columns)
        elif columns:
            raise ConfigurationError(
                "tenantdb_tenant got columns but tenantdb_tenant_table is empty: no row to fill"
            )
        self.created.append(ctx)
        return ctx

    async def _insert(self, tid: str, columns: Mapping[str, Any]) -> None:
        names = [self._key, *columns]
        cols = ", ".join(_ident(n) for n in names)
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        sql = f"INSERT INTO {_qualified(self._table)} ({cols}) VALUES ({marks})"
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute(sql, tid, *columns.values())
        finally:
            await conn.close()


def _ident(name: str) -> str:
    if not name or "\0" in name:
        raise ConfigurationError(f"invalid column name {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _qualified(name: str) -> str:
    return ".".join(_ident(part) for part in name.split("."))


class JwtMinter:
    """Mints HS256 tokens for middleware and endpoint tests, and the verifier that accepts them.

    ``mint(ctx)`` puts the tenant id in ``tenant_claim`` and the user id in ``sub``; extra
    keyword arguments become claims (``role="manager"``). ``expires_in`` may be negative to get
    an expired token. Needs PyJWT (``pip install 'tenantdb[jwt]'``).
    """

    def __init__(
        self,
        *,
        secret: str = "tenantdb-test-secret-not-for-production-0123456789",  # noqa: S107 - tests
        issuer: str = "https://issuer.tenantdb.test",
        audience: str = "tenantdb-test",
        tenant_claim: str = "tenant_id",
    ) -> None:
        try:
            import jwt
        except ImportError:
            raise ConfigurationError(
                "tenantdb_jwt needs PyJWT: pip install 'tenantdb[jwt]'"
            ) from None
        self._jwt = jwt
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.tenant_claim = tenant_claim

    def mint(
        self,
        ctx: TenantContext | str,
        *,
        user_id: str | None = None,
        expires_in: float = 300.0,
        **claims: Any,
    ) -> str:
        tenant = ctx.tenant_id if isinstance(ctx, TenantContext) else ctx
        user = ctx.user_id if isinstance(ctx, TenantContext) and user_id is None else user_id
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + int(expires_in),
            self.tenant_claim: tenant,
        }
        if user is not None:
            payload["sub"] = user
        payload.update(claims)
        token: str = self._jwt.encode(payload, self.secret, algorithm="HS256")
        return token

    def headers(self, ctx: TenantContext | str, **claims: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for an HTTP client."""
        return {"Authorization": f"Bearer {self.mint(ctx, **claims)}"}

    def verifier(self, **options: Any) -> Any:
        """A ``tenantdb.JwtVerifier`` accepting this minter's tokens; ``options`` override."""
        from tenantdb.web.jwt import JwtVerifier

        settings: dict[str, Any] = {
            "algorithms": ("HS256",),
            "audience": self.audience,
            "issuer": self.issuer,
            "key": self.secret,
            "tenant_claim": self.tenant_claim,
            "leeway": 0.0,
            **options,
        }
        return JwtVerifier(**settings)
