"""JwtVerifier: signed tokens become contexts; every forged or invalid token is refused."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import RSAAlgorithm

from tenantdb.context import TenantContext, slug_id
from tenantdb.errors import ConfigurationError, ContextError
from tenantdb.web.jwt import JwtVerifier

TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
USER = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4"
ISS = "https://idp.example"
AUD = "tenantdb-tests"
KID = "key-1"

# Explicit: conftest adds the anyio marker after collection, and anyio then rebuilds
# parametrized async tests that use no async fixture, dropping their parameters.
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": USER,
        "tenant_id": TENANT,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


class JwksServer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.hits = 0


@pytest.fixture
async def jwks(rsa_key: rsa.RSAPrivateKey) -> AsyncIterator[JwksServer]:
    """A JWKS endpoint on 127.0.0.1 (random port) publishing the RSA public key as KID."""
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    app = web.Application()
    server_box: list[JwksServer] = []

    async def keys(_: web.Request) -> web.Response:
        server_box[0].hits += 1
        return web.json_response({"keys": [jwk]})

    app.router.add_get("/.well-known/jwks.json", keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server_box.append(JwksServer(f"http://127.0.0.1:{port}/.well-known/jwks.json"))
    try:
        yield server_box[0]
    finally:
        await runner.cleanup()


def _jwks_verifier(server: JwksServer, **kw: Any) -> JwtVerifier:
    return JwtVerifier(algorithms=("RS256",), audience=AUD, issuer=ISS, jwks_url=server.url, **kw)


def _rs256(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_token_from_jwks_becomes_context(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = _jwks_verifier(jwks)
    ctx = await verifier.verify(_rs256(rsa_key, _claims()))
    assert ctx == TenantContext(tenant_id=TENANT, user_id=USER)
    await verifier.verify(_rs256(rsa_key, _claims()))
    assert jwks.hits == 1  # the signing key is cached by kid


async def test_unknown_kid_is_rejected(jwks: JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ContextError) as info:
        await _jwks_verifier(jwks).verify(_rs256(rsa_key, _claims(), kid="other"))
    assert info.value.variable == "authorization"


async def test_token_signed_by_another_key_is_rejected(jwks: JwksServer) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ContextError, match="bad signature"):
        await _jwks_verifier(jwks).verify(_rs256(forger, _claims()))


_BAD_CLAIMS: dict[str, tuple[dict[str, Any], str]] = {
    "wrong-audience": ({"aud": "someone-else"}, "authorization"),
    "wrong-issuer": ({"iss": "https://evil.example"}, "authorization"),
    "expired": ({"exp": int(time.time()) - 3600}, "authorization"),
    "no-exp": ({"exp": None}, "authorization"),
    "no-tenant": ({"tenant_id": None}, "authorization"),
    "uppercase-tenant": ({"tenant_id": TENANT.upper()}, "tenant_id"),
    "injection": ({"tenant_id": f"{TENANT}'; SET app.current_tenant_id = 'x"}, "tenant_id"),
    "int-tenant": ({"tenant_id": 12}, "tenant_id"),
    "bad-user": ({"sub": "not-a-uuid"}, "user_id"),
}


@pytest.mark.parametrize("case", sorted(_BAD_CLAIMS))
async def test_invalid_claims_are_rejected(ed_key: ed25519.Ed25519PrivateKey, case: str) -> None:
    overrides, variable = _BAD_CLAIMS[case]
    verifier = JwtVerifier(algorithms=("EdDSA",), audience=AUD, issuer=ISS, key=ed_key.public_key())
    with pytest.raises(ContextError) as info:
        await verifier.verify(jwt.encode(_claims(**overrides), ed_key, algorithm="EdDSA"))
    assert info.value.variable == variable


async def test_algorithm_outside_the_allow_list_is_rejected(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    verifier = JwtVerifier(algorithms=("EdDSA",), audience=AUD, issuer=ISS, key=ed_key.public_key())
    unsigned = jwt.encode(_claims(), None, algorithm="none")  # type: ignore[arg-type]
    hmac = jwt.encode(_claims(), "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256")
    for token in (unsigned, hmac, "garbage", ""):
        with pytest.raises(ContextError):
            await verifier.verify(token)


async def test_static_key_with_slug_validator(ed_key: ed25519.Ed25519PrivateKey) -> None:
    verifier = JwtVerifier(
        algorithms=("EdDSA",),
        audience=AUD,
        issuer=ISS,
        key=ed_key.public_key(),
        tenant_claim="org",
        user_claim=None,
        validator=slug_id,
    )
    ctx = await verifier.verify(jwt.encode(_claims(org="acme"), ed_key, algorithm="EdDSA"))
    assert ctx == TenantContext(tenant_id="acme", validator=slug_id)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithms": ("none",), "key": "k"},
        {"algorithms": ("RS256", "HS256"), "key": "k"},
        {"algorithms": "RS256", "key": "k"},
        {"algorithms": ("RS256",)},
        {"algorithms": ("RS256",), "key": "k", "jwks_url": "http://127.0.0.1:9/jwks"},
    ],
)
def test_unsafe_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JwtVerifier(audience=AUD, issuer=ISS, **kwargs)


async def test_unreachable_jwks_fails_closed(rsa_key: rsa.RSAPrivateKey) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = JwtVerifier(
        algorithms=("RS256",),
        audience=AUD,
        issuer=ISS,
        jwks_url=f"http://127.0.0.1:{port}/jwks.json",
        jwks_timeout=2.0,
    )
    with pytest.raises(ContextError) as info:
        await verifier.verify(_rs256(rsa_key, _claims()))
    assert info.value.variable == "authorization"
