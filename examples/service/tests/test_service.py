"""The example API end to end: JWT, RLS per request, Structs as JSON, 409 on a conflict."""

from __future__ import annotations

import httpx

import tenantdb
from tenantdb.testing import JwtMinter

GUEST = {"full_name": "Ada Lovelace", "email": "ada@example.com", "notes": "sea view"}


async def test_public_paths_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"ok": True}
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/bookings")).status_code == 401


async def test_a_guest_is_created_and_only_its_tenant_sees_it(
    client: httpx.AsyncClient,
    minter: JwtMinter,
    acme: tenantdb.TenantContext,
    globex: tenantdb.TenantContext,
    tenantdb_database: tenantdb.Database,
) -> None:
    created = await client.post("/guests", json=GUEST, headers=minter.headers(acme))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["full_name"] == "Ada Lovelace" and body["metadata"] == {}
    # committed before the response: another transaction sees it at once
    async with tenantdb_database.admin(reason="test") as adm:
        from hospitality import guests

        seen = await guests.get_guest(adm, id=__import__("uuid").UUID(body["id"]))
    assert seen is not None
    # the same email again for acme: 409, nothing written; for globex it is another tenant
    again = await client.post("/guests", json=GUEST, headers=minter.headers(acme))
    assert again.status_code == 409 and again.json()["sqlstate"] == "23505"
    other = await client.post("/guests", json=GUEST, headers=minter.headers(globex))
    assert other.status_code == 201


async def test_bookings_list_is_json_from_generated_structs(
    client: httpx.AsyncClient, minter: JwtMinter, acme: tenantdb.TenantContext
) -> None:
    response = await client.get("/bookings?limit=5", headers=minter.headers(acme))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []
    missing = await client.get(
        "/bookings/3f2504e0-4f89-11d3-9a0c-0305e82c3301", headers=minter.headers(acme)
    )
    assert missing.status_code == 404


async def test_claims_and_mapped_variables_reach_the_handler(
    client: httpx.AsyncClient, minter: JwtMinter, acme: tenantdb.TenantContext
) -> None:
    headers = minter.headers(
        acme.tenant_id, user_id="auth0|5f7c8ec7c33c6c004bbafe82", role="manager", scope="read"
    )
    me = (await client.get("/whoami", headers=headers)).json()
    assert me == {
        "tenant_id": acme.tenant_id,
        "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
        "variables": {"app.role": "manager"},
        "scope": "read",
    }


async def test_401_bodies_name_the_problem_not_the_decoder(
    client: httpx.AsyncClient, minter: JwtMinter, acme: tenantdb.TenantContext
) -> None:
    for token, reason in (
        ("not-a-jwt", "malformed token"),
        (minter.mint(acme, expires_in=-600), "token expired"),
        (minter.mint(acme)[:-4] + "AAAA", "bad signature"),
    ):
        response = await client.get("/bookings", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        detail = response.json()["detail"]
        assert detail == f"JWT rejected: {reason}", detail
