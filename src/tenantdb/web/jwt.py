"""``JwtVerifier``: a :class:`~tenantdb.context.TenantContext` from a verified bearer token.

PyJWT (the ``jwt`` extra) is imported when a verifier is built, so the SDK works without it.
Keys come from a static ``key`` or a JWKS URL; JWKS documents are fetched in a worker thread
(PyJWKClient uses blocking urllib) and signing keys are cached by ``kid``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import anyio.to_thread

from tenantdb.context import IdValidator, TenantContext, uuid_id
from tenantdb.errors import ConfigurationError, ContextError

__all__ = ("JwtVerifier",)

_SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})
_MAX_CACHED_KEYS = 64
MAX_TOKEN_CHARS = 16_384
"""Default bound on a token's length: refused before any base64/JSON/signature work."""


def _load_pyjwt() -> Any:
    try:
        return importlib.import_module("jwt")
    except ImportError as exc:  # pragma: no cover - the test environment has the extra
        raise ConfigurationError("JwtVerifier needs PyJWT: pip install 'tenantdb[jwt]'") from exc


class JwtVerifier:
    """Verifies a JWT and turns its claims into a TenantContext.

    ``algorithms`` is an allow-list (``none`` is refused, and symmetric and asymmetric
    algorithms cannot be mixed, which closes the HS256-with-a-public-key confusion).
    ``audience`` and ``issuer`` are always checked; ``exp`` is required by default. A token
    without the user claim gives a context without a user: add it to ``required_claims`` (e.g.
    ``("exp", "sub")``) when every token must name one. Tokens longer than ``max_token_chars``
    are refused before they are parsed.

    >>> verifier = JwtVerifier(algorithms=("RS256",), audience="api", issuer="https://idp",
    ...                        jwks_url="https://idp/.well-known/jwks.json")
    >>> ctx = await verifier.verify(token)
    """

    def __init__(
        self,
        *,
        algorithms: Sequence[str],
        audience: str | Sequence[str],
        issuer: str,
        key: Any = None,
        jwks_url: str | None = None,
        tenant_claim: str = "tenant_id",
        user_claim: str | None = "sub",
        required_claims: Sequence[str] = ("exp",),
        leeway: float = 30.0,
        jwks_timeout: float = 5.0,
        jwks_cache_seconds: int = 300,
        validator: IdValidator | None = None,
        max_token_chars: int = MAX_TOKEN_CHARS,
    ) -> None:
        self._jwt = _load_pyjwt()
        self._algorithms = _check_algorithms(algorithms)
        if (key is None) == (jwks_url is None):
            raise ConfigurationError("JwtVerifier needs exactly one of key= or jwks_url=")
        if not audience or not issuer:
            raise ConfigurationError("JwtVerifier needs a non-empty audience and issuer")
        self._audience = audience if isinstance(audience, str) else list(audience)
        self._issuer = issuer
        self._key = key
        self._tenant_claim = tenant_claim
        self._user_claim = user_claim
        self._required = sorted({*required_claims, "aud", "iss", tenant_claim})
        self._max_token_chars = max_token_chars
        self._leeway = leeway
        self._validator = validator
        self._keys: dict[str, Any] = {}
        self._jwks = None
        if jwks_url is not None:
            self._jwks = self._jwt.PyJWKClient(
                jwks_url, cache_keys=False, lifespan=jwks_cache_seconds, timeout=jwks_timeout
            )

    async def verify(self, token: str) -> TenantContext:
        """The context for ``token``; ContextError (variable ``authorization``) if rejected."""
        if not token:
            raise ContextError("missing bearer token", variable="authorization")
        if len(token) > self._max_token_chars:
            raise ContextError(
                f"JWT rejected: token too long ({len(token)} > {self._max_token_chars} chars)",
                variable="authorization",
            )
        key = self._key if self._jwks is None else await self._signing_key(token)
        try:
            claims = self._jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": self._required},
            )
        except self._jwt.PyJWTError as exc:
            raise ContextError(f"JWT rejected: {exc}", variable="authorization") from None
        return self._context(claims)

    def _context(self, claims: dict[str, Any]) -> TenantContext:
        user = claims.get(self._user_claim) if self._user_claim else None
        validator = uuid_id if self._validator is None else self._validator
        return TenantContext(
            tenant_id=claims[self._tenant_claim], user_id=user, validator=validator
        )

    async def _signing_key(self, token: str) -> Any:
        try:
            kid = self._jwt.get_unverified_header(token).get("kid")
        except self._jwt.PyJWTError as exc:
            raise ContextError(f"JWT rejected: {exc}", variable="authorization") from None
        if not isinstance(kid, str) or not kid:
            raise ContextError("JWT rejected: header has no kid", variable="authorization")
        cached = self._keys.get(kid)
        if cached is not None:
            return cached
        key = await anyio.to_thread.run_sync(self._fetch_key, kid)
        if len(self._keys) >= _MAX_CACHED_KEYS:  # bound memory against kid-spraying tokens
            self._keys.clear()
        self._keys[kid] = key
        return key

    def _fetch_key(self, kid: str) -> Any:
        # Runs in a worker thread: PyJWKClient does blocking HTTP and refreshes on unknown kid.
        assert self._jwks is not None  # noqa: S101  (only called when a JWKS URL is set)
        try:
            return self._jwks.get_signing_key(kid).key
        except self._jwt.PyJWKClientError as exc:
            # PyJWT's text names the JWKS URL and the network error; the message reaches the
            # client (the ASGI 401 body), so say only which of the two cases it was.
            reason = "the JWKS could not be fetched" if "fetch" in str(exc) else "unknown kid"
            raise ContextError(f"JWT rejected: {reason}", variable="authorization") from None


def _check_algorithms(algorithms: Sequence[str]) -> list[str]:
    if isinstance(algorithms, str) or not algorithms:
        raise ConfigurationError("algorithms must be a non-empty list such as ('RS256',)")
    names = list(algorithms)
    if any(name.lower() == "none" for name in names):
        raise ConfigurationError("the 'none' algorithm is never accepted")
    symmetric = [name for name in names if name in _SYMMETRIC]
    if symmetric and len(symmetric) != len(names):
        raise ConfigurationError("do not mix HMAC and public-key algorithms in one verifier")
    return names
