"""The request edge for adopters: opaque user ids, claims -> variables, claims for handlers,
sanitized 401s, path exclusions (pure ASGI, no framework)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

import tenantdb
from tenantdb.context import opaque_id
from tenantdb.errors import ConfigurationError, ContextError
from tenantdb.testing import JwtMinter
from tenantdb.web.asgi import TenantContextMiddleware, bearer_resolver, current_claims

TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
MINTER = JwtMinter()


@pytest.mark.parametrize("user", ["auth0|5f7c8ec7c33c6c004bbafe82", "google-oauth2|1", "a@b.c"])
def test_opaque_user_ids_with_uuid_tenants(user: str) -> None:
    ctx = tenantdb.TenantContext(tenant_id=TENANT, user_id=user, user_validator=opaque_id)
    assert ctx.user_id == user
    with pytest.raises(ContextError) as info:
        tenantdb.TenantContext(tenant_id=TENANT, user_id=user)  # UUID users by default
    assert info.value.variable == "user_id"


@pytest.mark.parametrize("bad", ["", "two words", "tab\there", "é", "x" * 256, 42])
def test_opaque_ids_refuse_spaces_controls_non_ascii_and_length(bad: object) -> None:
    with pytest.raises(ContextError, match="user_id"):
        tenantdb.TenantContext(tenant_id=TENANT, user_id=bad, user_validator=opaque_id)  # type: ignore[arg-type]


async def test_claims_map_to_variables_and_stay_available() -> None:
    verifier = MINTER.verifier(user_validator=opaque_id, variables={"role": "app.role"})
    token = MINTER.mint(TENANT, user_id="auth0|1", role="manager", scope="read")
    verified = await verifier.verify_claims(token)
    assert verified.context.settings()[2:] == (("app.role", "manager"),)
    assert verified.claims["scope"] == "read"
    by_function = MINTER.verifier(variables=lambda c: {"app.scopes": " ".join(c["roles"])})
    ctx = await by_function.verify(MINTER.mint(TENANT, roles=["a", "b"]))
    assert ctx.variables == (("app.scopes", "a b"),)
    with pytest.raises(ContextError) as info:
        await verifier.verify(MINTER.mint(TENANT, role=["not", "a", "string"]))
    assert info.value.variable == "app.role"


def _token(kind: str) -> str:
    """Minted when the test runs (never at import: an expiry must not depend on suite length)."""
    now = int(time.time())
    base = {"iss": MINTER.issuer, "aud": MINTER.audience, "tenant_id": TENANT, "exp": now + 3600}
    tokens = {
        "two-segments": lambda: "a.b",
        "bad-base64": lambda: "eyJhbGciOiJIUzI1NiJ9.!!!.sig",
        "expired": lambda: MINTER.mint(TENANT, expires_in=-600),
        "audience": lambda: jwt.encode({**base, "aud": "other"}, MINTER.secret),
        "no-exp": lambda: jwt.encode({k: v for k, v in base.items() if k != "exp"}, MINTER.secret),
    }
    return tokens[kind]()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("two-segments", "malformed token"),
        ("bad-base64", "malformed token"),
        ("expired", "token expired"),
        ("audience", "wrong audience"),
        ("no-exp", "a required claim is missing"),
    ],
)
async def test_rejections_never_echo_decoder_internals(kind: str, reason: str) -> None:
    with pytest.raises(ContextError) as info:
        await MINTER.verifier().verify(_token(kind))
    assert str(info.value) == f"JWT rejected: {reason}"


async def _call(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": headers}
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    ctx = tenantdb.current_context_or_none()
    try:
        claims: Any = dict(current_claims())
    except ContextError:
        claims = None
    body = json.dumps({"tenant": ctx.tenant_id if ctx else None, "claims": claims}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_excluded_paths_pass_without_a_context_and_claims_reach_the_app() -> None:
    app = TenantContextMiddleware(
        _echo,
        resolver=bearer_resolver(MINTER.verifier()),
        exclude_paths=("/docs", "/healthz", "/openapi.json"),
    )
    for path in ("/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json"):
        assert await _call(app, path, []) == (200, {"tenant": None, "claims": None})
    for path in ("/docsx", "/healthz2", "/api"):
        status, _ = await _call(app, path, [])
        assert status == 401
    auth = [(b"authorization", f"Bearer {MINTER.mint(TENANT, scope='read')}".encode())]
    status, body = await _call(app, "/api", auth)
    assert status == 200 and body["tenant"] == TENANT and body["claims"]["scope"] == "read"
    with pytest.raises(ContextError):
        current_claims()  # reset after the request


def test_exclude_paths_must_be_paths() -> None:
    with pytest.raises(ConfigurationError, match="exclude_paths"):
        TenantContextMiddleware(
            _echo, resolver=bearer_resolver(MINTER.verifier()), exclude_paths="/docs"
        )
    with pytest.raises(ConfigurationError, match="exclude_paths"):
        TenantContextMiddleware(
            _echo, resolver=bearer_resolver(MINTER.verifier()), exclude_paths=("docs",)
        )
