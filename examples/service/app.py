"""A small FastAPI service over the hospitality queries (generated/hospitality), with JWT.

Run it (embedded PostgreSQL, migrations, demo data, an HS256 development token printed)::

    nox -s service                                  # or: python examples/service/app.py
    nox -s service -- --data-api                    # tenant lane over the local Data API

Then ``curl -H "Authorization: Bearer $TOKEN" localhost:8000/bookings``. Its tests
(``examples/service/tests``) run through the tenantdb pytest plugin on both transports.

What it shows: ``TenantContextMiddleware`` with ``bearer_resolver`` and path exclusions, a
claim mapped to a context variable (``role`` -> ``app.role``), the verified claims in a
handler, one tenant transaction per request (``tenant_transaction``: commit before the
response, rollback on an exception), generated msgspec Structs returned as JSON
(``MsgspecResponse``), and a handled ``UniqueViolation`` turned into a 409.
"""

# No `from __future__ import annotations`: FastAPI resolves the endpoint annotations, and the
# Annotated aliases below are local to create_app.
import argparse
import datetime
import uuid
from typing import Annotated, Any

from fastapi import FastAPI, Request
from hospitality import bookings, guests, models

import tenantdb
from tenantdb.errors import UniqueViolation
from tenantdb.web.asgi import TenantContextMiddleware, bearer_resolver, current_claims
from tenantdb.web.fastapi import MsgspecResponse, tenant_transaction

__all__ = ("PUBLIC_PATHS", "create_app", "main")

PUBLIC_PATHS = ("/healthz", "/docs", "/openapi.json")


def create_app(db: tenantdb.Database, verifier: tenantdb.JwtVerifier) -> FastAPI:
    """The API over ``db`` (opened by the caller), authenticating with ``verifier``."""
    app = FastAPI(title="hospitality example")
    app.add_middleware(
        TenantContextMiddleware,  # type: ignore[arg-type]
        resolver=bearer_resolver(verifier),
        exclude_paths=PUBLIC_PATHS,
    )
    Tx = Annotated[tenantdb.Transaction, tenant_transaction(db)]  # noqa: N806 - a type alias
    ReadTx = Annotated[tenantdb.Transaction, tenant_transaction(db, readonly=True)]  # noqa: N806

    @app.exception_handler(UniqueViolation)
    async def conflict(request: Request, exc: UniqueViolation) -> MsgspecResponse:
        # The transaction was rolled back by the dependency before this runs.
        return MsgspecResponse(
            {"error": "conflict", "sqlstate": exc.sqlstate, "query": exc.query}, 409
        )

    @app.get("/healthz", response_class=MsgspecResponse)
    async def healthz() -> MsgspecResponse:
        return MsgspecResponse({"ok": True})

    @app.get("/whoami", response_class=MsgspecResponse)
    async def whoami() -> MsgspecResponse:
        ctx = tenantdb.current_context()
        claims = current_claims()
        return MsgspecResponse(
            {
                "tenant_id": ctx.tenant_id,
                "user_id": ctx.user_id,
                "variables": dict(ctx.variables),
                "scope": claims.get("scope"),
            }
        )

    @app.get("/bookings", response_class=MsgspecResponse)
    async def list_bookings(
        tx: ReadTx,
        status: models.BookingStatus | None = None,
        after_check_in: datetime.date | None = None,
        after_id: uuid.UUID | None = None,
        limit: int = 20,
    ) -> MsgspecResponse:
        page = await bookings.list_bookings(
            tx,
            status=status,
            after_check_in=after_check_in,
            after_id=after_id,
            page_limit=min(limit, 100),
        )
        return MsgspecResponse(page)

    @app.get("/bookings/{booking_id}", response_class=MsgspecResponse)
    async def get_booking(tx: ReadTx, booking_id: uuid.UUID) -> MsgspecResponse:
        booking = await bookings.get_booking(tx, id=booking_id)
        if booking is None:
            return MsgspecResponse({"error": "not_found"}, 404)
        return MsgspecResponse(booking)

    @app.post("/guests", response_class=MsgspecResponse, status_code=201)
    async def create_guest(tx: Tx, body: dict[str, Any]) -> MsgspecResponse:
        guest = await guests.create_guest(
            tx,
            full_name=str(body["full_name"]),
            email=body.get("email"),
            phone=body.get("phone"),
            notes=str(body.get("notes", "")),
            metadata=body.get("metadata", {}),
        )
        return MsgspecResponse(guest, 201)

    return app


def verifier_for(secret: str) -> tenantdb.JwtVerifier:
    """HS256 for the example (use RS256 and jwks_url= with a real identity provider)."""
    return tenantdb.JwtVerifier(
        algorithms=("HS256",),
        audience="hospitality-api",
        issuer="https://issuer.example",
        key=secret,
        user_validator=tenantdb.opaque_id,  # users are IdP ids such as "auth0|42"
        variables={"role": "app.role"},
    )


async def _serve(args: argparse.Namespace) -> None:
    import jwt
    import uvicorn

    import tenantdb.migrate
    import tenantdb.seed
    from tenantdb.local import LocalDataApi, LocalPostgres

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    secret = "example-secret-change-me-0123456789abcdef"  # noqa: S105 - a local demo
    async with LocalPostgres() as pg:
        await tenantdb.migrate.up(pg.admin_dsn, root / "schema")
        summary = await tenantdb.seed.seed(pg.admin_dsn, tenants=2, bookings_per_tenant=20)
        tenant: Any = pg.tenant_dsn
        gateway = LocalDataApi(pg) if args.data_api else None
        if gateway is not None:
            await gateway.__aenter__()
            tenant = gateway.config
        try:
            async with tenantdb.Database(admin=pg.admin_dsn, tenant=tenant) as db:
                token = jwt.encode(
                    {
                        "iss": "https://issuer.example",
                        "aud": "hospitality-api",
                        "tenant_id": summary.tenant_ids[0],
                        "sub": "auth0|demo",
                        "role": "manager",
                        "exp": datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8),
                    },
                    secret,
                    algorithm="HS256",
                )
                print(f"export TOKEN={token}")
                print(
                    f'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{args.port}/bookings'
                )
                config = uvicorn.Config(
                    create_app(db, verifier_for(secret)), host="127.0.0.1", port=args.port
                )
                await uvicorn.Server(config).serve()
        finally:
            if gateway is not None:
                await gateway.__aexit__(None, None, None)


def main() -> None:
    import anyio

    parser = argparse.ArgumentParser(description="the hospitality example API")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1")
    parser.add_argument("--data-api", action="store_true", help="tenant lane over the Data API")
    anyio.run(_serve, parser.parse_args())


if __name__ == "__main__":
    main()
