"""Security review: JWT attacks against ``JwtVerifier`` and the header resolver.

Algorithm confusion (HS256 signed with the RSA public key), ``kid`` injection and spraying,
``alg: none``, tenant/user claims of the wrong type, huge tokens, a token without its user
claim, and proxy headers without explicit trust.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_context_jwt import AUD, ISS, KID, TENANT, JwksServer, _claims, _jwks_verifier, _rs256

from tenantdb.context import TenantContext, slug_id
from tenantdb.errors import ConfigurationError, ContextError
from tenantdb.web.asgi import header_resolver
from tenantdb.web.jwt import JwtVerifier

pytest_plugins = ("test_context_jwt",)  # its rsa_key / jwks fixtures
pytestmark = pytest.mark.anyio


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with(secret: bytes, claims: dict[str, Any], kid: str = KID) -> str:
    """An HS256 token forged by hand (PyJWT refuses PEM keys as HMAC secrets)."""
    import hashlib
    import hmac

    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_hs256_signed_with_the_public_key_is_rejected(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    """The classic confusion: the public key as an HMAC secret, on JWKS and on a static key."""
    token = _hs256_with(_public_pem(rsa_key), _claims())
    with pytest.raises(ContextError) as info:
        await _jwks_verifier(jwks).verify(token)
    assert info.value.variable == "authorization"
    static = JwtVerifier(algorithms=("RS256",), audience=AUD, issuer=ISS, key=rsa_key.public_key())
    with pytest.raises(ContextError):
        await static.verify(token)
    pem = JwtVerifier(algorithms=("RS256",), audience=AUD, issuer=ISS, key=_public_pem(rsa_key))
    with pytest.raises(ContextError):
        await pem.verify(token)


async def test_misconfigured_hmac_verifier_with_a_public_key_fails_closed(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    verifier = JwtVerifier(
        algorithms=("HS256",), audience=AUD, issuer=ISS, key=_public_pem(rsa_key)
    )
    with pytest.raises(ContextError):
        await verifier.verify(_hs256_with(_public_pem(rsa_key), _claims()))


@pytest.mark.parametrize(
    "kid",
    ["../../etc/passwd", "' OR 1=1 --", "x" * 5000, "\u0000", "key-1\u0000"],
    ids=["traversal", "sql", "long", "nul", "nul-suffix"],
)
async def test_kid_injection_is_rejected(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey, kid: str
) -> None:
    with pytest.raises(ContextError) as info:
        await _jwks_verifier(jwks).verify(_rs256(rsa_key, _claims(), kid=kid))
    assert info.value.variable == "authorization"


async def test_kid_spraying_does_not_refetch_the_jwks_per_token(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Unknown kids must not turn each request into a fetch from the identity provider."""
    verifier = _jwks_verifier(jwks)
    await verifier.verify(_rs256(rsa_key, _claims()))
    for _ in range(20):
        with pytest.raises(ContextError):
            await verifier.verify(_rs256(rsa_key, _claims(), kid=str(uuid.uuid4())))
    assert jwks.hits <= 2


async def test_kid_spraying_does_not_evict_the_real_key(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = _jwks_verifier(jwks)
    for _ in range(100):
        with pytest.raises(ContextError):
            await verifier.verify(_rs256(rsa_key, _claims(), kid=str(uuid.uuid4())))
    assert await verifier.verify(_rs256(rsa_key, _claims())) == TenantContext(
        tenant_id=TENANT, user_id=_claims()["sub"]
    )


async def test_alg_none_is_rejected(jwks: JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    head = _b64(json.dumps({"alg": "none", "kid": KID}).encode())
    for token in (f"{head}.{_b64(json.dumps(_claims()).encode())}.", f"{head}.e30."):
        with pytest.raises(ContextError):
            await _jwks_verifier(jwks).verify(token)


@pytest.mark.parametrize(
    ("claims", "variable"),
    [
        ({"tenant_id": [TENANT]}, "tenant_id"),
        ({"tenant_id": {"id": TENANT}}, "tenant_id"),
        ({"tenant_id": True}, "tenant_id"),
        ({"tenant_id": 1.5}, "tenant_id"),
        ({"sub": 42}, "authorization"),  # PyJWT: "Subject must be a string"
        ({"sub": [TENANT]}, "authorization"),
    ],
)
async def test_claims_of_the_wrong_type_are_rejected(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey, claims: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ContextError) as info:
        await _jwks_verifier(jwks).verify(_rs256(rsa_key, _claims(**claims)))
    assert info.value.variable == variable


async def test_wrong_type_claims_with_a_slug_validator(rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = JwtVerifier(
        algorithms=("RS256",),
        audience=AUD,
        issuer=ISS,
        key=rsa_key.public_key(),
        user_claim=None,
        validator=slug_id,
    )
    for bad in (["acme"], {"acme": 1}, 7):
        with pytest.raises(ContextError):
            await verifier.verify(_rs256(rsa_key, _claims(tenant_id=bad)))


async def test_missing_user_claim_can_be_required(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    """By default a token without ``sub`` is a user-less context (documented); a service that
    needs a user on every request says so with ``required_claims``."""
    token = _rs256(rsa_key, _claims(sub=None))
    assert (await _jwks_verifier(jwks).verify(token)).user_id is None
    strict = _jwks_verifier(jwks, required_claims=("exp", "sub"))
    with pytest.raises(ContextError) as info:
        await strict.verify(token)
    assert info.value.variable == "authorization"


async def test_huge_tokens_are_rejected_before_parsing(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    big = _rs256(rsa_key, _claims(padding="x" * 1_000_000))
    with pytest.raises(ContextError, match="too long"):
        await _jwks_verifier(jwks).verify(big)
    assert jwks.hits == 0


def test_header_resolver_needs_explicit_trust() -> None:
    with pytest.raises(ConfigurationError):
        header_resolver(trust_proxy_headers=False)


async def test_rejections_do_not_reveal_the_jwks_url(rsa_key: rsa.RSAPrivateKey) -> None:
    """The 401 body carries ``str(ContextError)``: no internal URL, port or socket error."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/internal/jwks.json"
    verifier = JwtVerifier(
        algorithms=("RS256",), audience=AUD, issuer=ISS, jwks_url=url, jwks_timeout=2.0
    )
    with pytest.raises(ContextError) as info:
        await verifier.verify(_rs256(rsa_key, _claims()))
    assert str(port) not in str(info.value)
    assert "internal" not in str(info.value)
    assert "could not be fetched" in str(info.value)


async def test_unknown_kid_is_not_echoed(jwks: JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    kid = "<script>alert(1)</script>"
    with pytest.raises(ContextError) as info:
        await _jwks_verifier(jwks).verify(_rs256(rsa_key, _claims(), kid=kid))
    assert kid not in str(info.value)
    assert "unknown kid" in str(info.value)
