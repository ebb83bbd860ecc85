"""``JwtVerifier``: a :class:`~tenantdb.context.TenantContext` from a verified bearer token.

PyJWT (the ``jwt`` extra) is imported when a verifier is built, so the SDK works without it.
Keys come from a static ``key`` or a JWKS URL; JWKS documents are fetched in a worker thread
(PyJWKClient uses blocking urllib) and signing keys are cached by ``kid``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.to_thread
import msgspec

from tenantdb.context import IdValidator, TenantContext, uuid_id
from tenantdb.errors import ConfigurationError, ContextError

__all__ = ("JwtVerifier", "VerifiedToken")


class VerifiedToken(msgspec.Struct, frozen=True):
    """A verified token: the context it maps to and its claims (for handlers: scopes, roles)."""

    context: TenantContext
    claims: Mapping[str, Any]


ClaimsToVariables = Mapping[str, str] | Callable[[Mapping[str, Any]], Mapping[str, str]]
"""``{"role": "app.role"}`` (claim -> variable; string claims only), or a function of the
verified claims returning ``{"app.role": "manager", ...}``."""

# PyJWT exception class name -> what a client may be told. PyJWT's own messages describe the
# decoder's internals (padding, segments, JSON positions) and are never passed on.
_REASONS = {
    "ExpiredSignatureError": "token expired",
    "ImmatureSignatureError": "token not yet valid",
    "InvalidAudienceError": "wrong audience",
    "InvalidIssuerError": "wrong issuer",
    "InvalidSignatureError": "bad signature",
    "InvalidAlgorithmError": "algorithm not allowed",
    "MissingRequiredClaimError": "a required claim is missing",
    "InvalidIssuedAtError": "invalid iat claim",
    "DecodeError": "malformed token",
}


def _reason(exc: Exception) -> str:
    for cls in type(exc).__mro__:
        reason = _REASONS.get(cls.__name__)
        if reason is not None:
            return f"JWT rejected: {reason}"
    return "JWT rejected: invalid token"


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
        user_validator: IdValidator | None = None,
        variables: ClaimsToVariables | None = None,
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
        self._user_validator = user_validator
        if variables is not None and not (isinstance(variables, Mapping) or callable(variables)):
            raise ConfigurationError(
                "JwtVerifier(variables=...) must map claim names to app.* variables or be a "
                "function of the claims"
            )
        self._variables = variables
        self._keys: dict[str, Any] = {}
        self._jwks = None
        if jwks_url is not None:
            self._jwks = self._jwt.PyJWKClient(
                jwks_url, cache_keys=False, lifespan=jwks_cache_seconds, timeout=jwks_timeout
            )

    async def verify(self, token: str) -> TenantContext:
        """The context for ``token``; ContextError (variable ``authorization``) if rejected."""
        return (await self.verify_claims(token)).context

    async def verify_claims(self, token: str) -> VerifiedToken:
        """The context and the verified claims of ``token`` (the middleware stores both)."""
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
            raise ContextError(_reason(exc), variable="authorization") from None
        return VerifiedToken(self._context(claims), claims)

    def _context(self, claims: dict[str, Any]) -> TenantContext:
        user = claims.get(self._user_claim) if self._user_claim else None
        validator = uuid_id if self._validator is None else self._validator
        return TenantContext(
            tenant_id=claims[self._tenant_claim],
            user_id=user,
            variables=tuple(sorted(self._claim_variables(claims).items())),
            validator=validator,
            user_validator=self._user_validator,
        )

    def _claim_variables(self, claims: Mapping[str, Any]) -> dict[str, str]:
        if self._variables is None:
            return {}
        if callable(self._variables):
            return dict(self._variables(claims))
        found: dict[str, str] = {}
        for claim, variable in self._variables.items():
            value = claims.get(claim)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ContextError(
                    f"claim {claim!r} must be a string to become {variable}; map it with a "
                    "function instead",
                    variable=variable,
                )
            found[variable] = value
        return found

    async def _signing_key(self, token: str) -> Any:
        try:
            kid = self._jwt.get_unverified_header(token).get("kid")
        except self._jwt.PyJWTError as exc:
            raise ContextError(_reason(exc), variable="authorization") from None
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
