"""Pure-ASGI middleware that resolves each request's :class:`TenantContext`.

No framework dependency: wrap any ASGI app (Starlette, FastAPI, Litestar, Quart, ...)::

    verifier = JwtVerifier(algorithms=("RS256",), audience="api", issuer=ISS, jwks_url=URL)
    app = TenantContextMiddleware(app, resolver=bearer_resolver(verifier))

    # in a handler:
    async with db.tenant(current_context()) as tx: ...

The context lives in a contextvar for the duration of the request and is reset afterwards.
A request whose context cannot be resolved gets a plain JSON 401 and never reaches the app.
Lifespan and websocket scopes pass through untouched (resolve websocket contexts in the
handler, where the subprotocol or first message carries the credentials).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Any

import structlog

from tenantdb.context import (
    IdValidator,
    TenantContext,
    bind_context,
    context_from_headers,
    uuid_id,
)
from tenantdb.errors import ConfigurationError, ContextError
from tenantdb.web.jwt import JwtVerifier, VerifiedToken

__all__ = (
    "TenantContextMiddleware",
    "bearer_resolver",
    "current_claims",
    "header_resolver",
)

_claims: ContextVar[Mapping[str, Any] | None] = ContextVar("tenantdb_claims", default=None)


def current_claims() -> Mapping[str, Any]:
    """The verified JWT claims of the current request (``bearer_resolver``); ContextError when
    the request was not authenticated by a token. Also in ``scope["state"]["tenantdb_claims"]``
    (Starlette/FastAPI: ``request.state.tenantdb_claims``)."""
    claims = _claims.get()
    if claims is None:
        raise ContextError("no verified token claims for this request", variable="authorization")
    return claims


_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]
_Resolver = Callable[[_Scope], Awaitable[TenantContext | VerifiedToken]]
"""Turns an HTTP scope into a context (or a verified token: context and claims), raising
ContextError when it cannot."""


class TenantContextMiddleware:
    """Binds the resolved context for each HTTP request; 401 when resolution fails.

    With ``bind_log_context`` (default) the request's ``tenant_id`` is also bound in
    structlog's contextvars, so every log line of the request carries it (with structlog's
    default ``merge_contextvars`` processor).

    ``exclude_paths`` pass through without a context (docs, health checks): a path is
    excluded when it equals an entry or lies below it (``/docs`` also covers
    ``/docs/oauth2-redirect``). Nothing is excluded by default.
    """

    def __init__(
        self,
        app: _ASGIApp,
        *,
        resolver: _Resolver,
        bind_log_context: bool = True,
        exclude_paths: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.bind_log_context = bind_log_context
        paths: list[object] = list(exclude_paths)
        if isinstance(exclude_paths, str) or not all(
            isinstance(p, str) and p.startswith("/") for p in paths
        ):
            raise ConfigurationError(
                "exclude_paths must be a sequence of paths starting with '/', "
                "such as ('/docs', '/openapi.json', '/healthz')"
            )
        self._exact = frozenset(p.rstrip("/") or "/" for p in exclude_paths)
        self._prefixes = tuple(p.rstrip("/") + "/" for p in exclude_paths if p != "/")

    def _excluded(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._prefixes)

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http" or self._excluded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        try:
            resolved = await self.resolver(scope)
        except ContextError as exc:
            await _unauthorized(send, exc)
            return
        claims: Mapping[str, Any] | None = None
        if isinstance(resolved, VerifiedToken):
            ctx, claims = resolved.context, resolved.claims
            scope.setdefault("state", {})["tenantdb_claims"] = claims
        else:
            ctx = resolved
        logs = (
            structlog.contextvars.bound_contextvars(tenant_id=ctx.tenant_id)
            if self.bind_log_context
            else nullcontext()
        )
        token = _claims.set(claims)
        try:
            with bind_context(ctx), logs:
                await self.app(scope, receive, send)
        finally:
            _claims.reset(token)


async def _unauthorized(send: _Send, exc: ContextError) -> None:
    # The message names the variable and quotes at most a short prefix of the bad value.
    body = json.dumps(
        {"error": "invalid_tenant_context", "variable": exc.variable, "detail": str(exc)}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _authorization(scope: _Scope) -> str:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if len(values) != 1:
        problem = "missing" if not values else "repeated"
        raise ContextError(f"{problem} Authorization header", variable="authorization")
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ContextError("expected 'Authorization: Bearer <token>'", variable="authorization")
    return token


def bearer_resolver(verifier: JwtVerifier) -> _Resolver:
    """Resolve from ``Authorization: Bearer <jwt>`` with ``verifier`` (claims kept for
    :func:`current_claims`)."""

    async def resolve(scope: _Scope) -> VerifiedToken:
        return await verifier.verify_claims(_authorization(scope))

    return resolve


def header_resolver(*, trust_proxy_headers: bool, validator: IdValidator = uuid_id) -> _Resolver:
    """Resolve from ``x-tenant-id`` / ``x-user-id`` set by a trusted, authenticating proxy."""
    if not trust_proxy_headers:  # refuse at start-up rather than on the first request
        raise ConfigurationError(
            "header_resolver trusts client-controllable headers; pass trust_proxy_headers=True "
            "only behind a proxy that authenticates the caller and sets x-tenant-id"
        )

    async def resolve(scope: _Scope) -> TenantContext:
        return context_from_headers(
            scope.get("headers", ()), trust_proxy_headers=True, validator=validator
        )

    return resolve
