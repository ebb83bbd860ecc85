"""FastAPI helpers (``pip install 'tenantdb[web]'``): a tenant transaction per request and
responses from msgspec Structs.

::

    app = FastAPI()
    app.add_middleware(TenantContextMiddleware, resolver=bearer_resolver(verifier),
                       exclude_paths=("/docs", "/openapi.json", "/healthz"))
    Tx = Annotated[tenantdb.Transaction, tenant_transaction(db)]

    @app.get("/projects", response_class=MsgspecResponse)
    async def list_projects(tx: Tx) -> MsgspecResponse:
        return MsgspecResponse(await projects.list_projects(tx, after_name=None, page_limit=50))

The dependency opens ``db.tenant(current_context())`` for the request: it commits when the
endpoint returns and rolls back when it raises, *before* the response is sent (FastAPI's
``Depends(scope="function")``), so a client never sees a 200 for a write that did not commit.
Map errors you handle (a ``UniqueViolation`` -> 409) with an exception handler: the exception
passes through the dependency, which rolls back, and the handler builds the response. Do not
catch a failed statement inside the endpoint and return normally: PostgreSQL has aborted the
transaction, so the commit raises ``InFailedSqlTransaction`` (use ``tx.savepoint()`` for a
statement that may fail).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from tenantdb.context import current_context
from tenantdb.database import Database
from tenantdb.drivers.lane import Isolation, Transaction

__all__ = ("MsgspecResponse", "tenant_transaction")

try:
    from fastapi import Depends
    from fastapi.responses import Response
except ImportError as exc:  # pragma: no cover - the web extra is installed in the test env
    raise ImportError(
        "tenantdb.web.fastapi needs FastAPI: pip install 'tenantdb[web]'", name=exc.name
    ) from exc


class MsgspecResponse(Response):
    """JSON from msgspec Structs (and lists, dicts, dates, UUIDs, Decimals): the generated
    rows are encoded by msgspec directly, no pydantic model needed.

    Return an instance from the endpoint (FastAPI passes Response objects through untouched)
    and set ``response_class=MsgspecResponse`` so OpenAPI documents ``application/json``.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def tenant_transaction(
    db: Database | Callable[[], Database],
    *,
    readonly: bool = False,
    isolation: Isolation | str | None = None,
) -> Any:
    """A FastAPI dependency (``Depends``) yielding one tenant transaction per request.

    ``db`` is the ``Database`` or a function returning it (e.g. from ``app.state``). The
    context is the request's (``TenantContextMiddleware``); without one the request fails
    with ``ContextError`` before any SQL.
    """

    async def dependency() -> AsyncIterator[Transaction]:
        database = db if isinstance(db, Database) else db()
        async with database.tenant(current_context(), readonly=readonly, isolation=isolation) as tx:
            yield tx

    try:
        return Depends(dependency, scope="function")
    except TypeError:  # pragma: no cover - FastAPI before Depends(scope=): exit after sending
        return Depends(dependency)
