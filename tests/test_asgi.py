"""TenantContextMiddleware driven by direct ASGI calls (no framework)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import anyio
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import ed25519

from tenantdb.context import (
    TenantContext,
    current_context,
    current_context_or_none,
)
from tenantdb.errors import ConfigurationError
from tenantdb.web.asgi import TenantContextMiddleware, bearer_resolver, header_resolver
from tenantdb.web.jwt import JwtVerifier

pytestmark = pytest.mark.anyio  # see tests/test_context_jwt.py

A = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
B = "9b2e6f1c-1d2a-4c3b-8e4f-5a6b7c8d9e0f"
Message = MutableMapping[str, Any]


class RecordingApp:
    """An ASGI app that records the context it saw and answers 200."""

    def __init__(self) -> None:
        self.seen: list[TenantContext | None] = []
        self.scopes: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope["type"])
        self.seen.append(current_context_or_none())
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Any, scope: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _http(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": list(headers)}


async def test_context_is_bound_for_the_request_and_reset_after() -> None:
    app = RecordingApp()
    mw = TenantContextMiddleware(app, resolver=header_resolver(trust_proxy_headers=True))
    sent = await _call(mw, _http((b"x-tenant-id", A.encode())))
    assert sent[0]["status"] == 200
    assert app.seen == [TenantContext(tenant_id=A)]
    assert current_context_or_none() is None


async def test_unresolvable_request_gets_json_401_and_never_reaches_the_app() -> None:
    app = RecordingApp()
    mw = TenantContextMiddleware(app, resolver=header_resolver(trust_proxy_headers=True))
    sent = await _call(mw, _http((b"x-tenant-id", A.upper().encode())))
    start, body = sent
    assert start["status"] == 401
    assert (b"content-type", b"application/json") in start["headers"]
    payload = json.loads(body["body"])
    assert payload["error"] == "invalid_tenant_context"
    assert payload["variable"] == "tenant_id"
    assert app.seen == []


async def test_lifespan_and_websocket_scopes_pass_through() -> None:
    app = RecordingApp()

    async def never(scope: Any) -> TenantContext:
        raise AssertionError("resolver must not run")

    mw = TenantContextMiddleware(app, resolver=never)
    await _call(mw, {"type": "lifespan"})
    await _call(mw, {"type": "websocket", "headers": []})
    assert app.scopes == ["lifespan", "websocket"]
    assert app.seen == [None, None]


async def test_context_is_reset_when_the_app_raises() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        assert current_context().tenant_id == A
        raise RuntimeError("handler failed")

    mw = TenantContextMiddleware(boom, resolver=header_resolver(trust_proxy_headers=True))
    with pytest.raises(RuntimeError):
        await _call(mw, _http((b"x-tenant-id", A.encode())))
    assert current_context_or_none() is None


async def test_concurrent_requests_each_see_their_own_tenant() -> None:
    seen: dict[str, str] = {}
    both_inside = anyio.Event()
    inside = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside
        inside += 1
        if inside == 2:
            both_inside.set()
        await both_inside.wait()  # interleave: both requests are in flight at once
        seen[scope["path"]] = current_context().tenant_id

    mw = TenantContextMiddleware(app, resolver=header_resolver(trust_proxy_headers=True))
    async with anyio.create_task_group() as tg:
        for path, tenant in (("/a", A), ("/b", B)):
            scope = _http((b"x-tenant-id", tenant.encode()))
            scope["path"] = path
            tg.start_soon(_call, mw, scope)
    assert seen == {"/a": A, "/b": B}


async def test_bearer_resolver_verifies_the_token() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    verifier = JwtVerifier(
        algorithms=("EdDSA",), audience="api", issuer="idp", key=key.public_key()
    )
    token = jwt.encode(
        {"iss": "idp", "aud": "api", "exp": 2**31 - 1, "tenant_id": A}, key, algorithm="EdDSA"
    )
    app = RecordingApp()
    mw = TenantContextMiddleware(app, resolver=bearer_resolver(verifier))
    ok = await _call(mw, _http((b"authorization", b"Bearer " + token.encode())))
    assert ok[0]["status"] == 200
    assert app.seen == [TenantContext(tenant_id=A)]
    for headers in [
        (),
        ((b"authorization", b"Basic abc"),),
        ((b"authorization", b"Bearer x.y.z"),),
    ]:
        denied = await _call(mw, _http(*headers))
        assert denied[0]["status"] == 401
        assert json.loads(denied[1]["body"])["variable"] == "authorization"
    assert len(app.seen) == 1


async def test_tenant_id_is_bound_for_structlog_during_the_request() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(structlog.contextvars.get_contextvars())

    mw = TenantContextMiddleware(app, resolver=header_resolver(trust_proxy_headers=True))
    await _call(mw, _http((b"x-tenant-id", A.encode())))
    assert seen == [{"tenant_id": A}]
    assert "tenant_id" not in structlog.contextvars.get_contextvars()


def test_header_resolver_requires_explicit_trust() -> None:
    with pytest.raises(ConfigurationError):
        header_resolver(trust_proxy_headers=False)


async def test_401_body_does_not_echo_a_long_hostile_header() -> None:
    mw = TenantContextMiddleware(RecordingApp(), resolver=header_resolver(trust_proxy_headers=True))
    hostile = b"'; DROP TABLE bookings; --" + b"A" * 10_000 + b"TAIL"
    start, body = await _call(mw, _http((b"x-tenant-id", hostile)))
    assert start["status"] == 401
    assert len(body["body"]) < 300
    assert b"TAIL" not in body["body"]
