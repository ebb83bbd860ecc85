"""Property test of the whole HTTP surface (issue 11, item 13).

Hypothesis generates request bodies for every operation: valid shapes with hostile values,
wrong types, huge and nested values, unknown keys, and bodies that are not JSON at all. Every
answer must be JSON, either a success or an error of a type AWS documents for that operation
with the status AWS gives it (never a 500), and the tenant secret must keep running as the
tenant role. CI runs the derandomized ``ci`` profile; ``HYPOTHESIS_PROFILE=deep`` runs 10,000.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from fix_gateway import GATEWAY_DB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantdb.local import LocalDataApi, LocalPostgres

_COMMON = {
    "AccessDeniedException": 403,
    "BadRequestException": 400,
    "DatabaseErrorException": 400,
    "DatabaseNotFoundException": 404,
    "DatabaseUnavailableException": 504,
    "ForbiddenException": 403,
    "HttpEndpointNotEnabledException": 400,
    "InternalServerErrorException": 500,
    "InvalidResourceStateException": 400,
    "InvalidSecretException": 400,
    "SecretsErrorException": 400,
    "ServiceUnavailableError": 503,
    "StatementTimeoutException": 400,
    "TransactionNotFoundException": 404,
    "ValidationException": 400,  # v2, documented in the Data API user guide
}
_ALLOWED = {
    "/Execute": {**_COMMON, "DatabaseResumingException": 400, "UnsupportedResultException": 400},
    "/BatchExecute": {**_COMMON, "DatabaseResumingException": 400},
    "/BeginTransaction": {**_COMMON, "DatabaseResumingException": 400},
    "/CommitTransaction": {**_COMMON, "NotFoundException": 404},
    "/RollbackTransaction": {**_COMMON, "NotFoundException": 404},
    "/ExecuteSql": {"BadRequestException": 400, "ValidationException": 400},
}
_NEVER = {"InternalServerErrorException", "ServiceUnavailableError", "DatabaseUnavailableException"}

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_hostile_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "\0", "x\0user\0postgres", "a" * 70, "é" * 65, "'; drop table t; --"]),
    st.builds(lambda n: "y" * n, st.integers(0, 70_000)),
)
_anything = st.one_of(_hostile_text, _json)


def _value() -> st.SearchStrategy[Any]:
    member = st.sampled_from(
        [
            "isNull",
            "booleanValue",
            "longValue",
            "doubleValue",
            "stringValue",
            "blobValue",
            "arrayValue",
        ]
    )
    good = st.one_of(
        st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.just("AAE="), _json
    )
    return st.one_of(st.dictionaries(member, good, max_size=3), _anything)


_parameter = st.one_of(
    st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["p", "q", "1"]), _anything), "value": _value()},
        optional={
            "typeHint": st.one_of(
                st.sampled_from(["DATE", "TIME", "TIMESTAMP", "DECIMAL", "UUID", "JSON"]), _anything
            )
        },
    ),
    _anything,
)
_SQL = [
    "select 1",
    "select :p",
    "select :p::text, :q",
    "select current_user",
    "select :1::int",
    "select 1; select 2",
    "select '[1,2)'::int4range, 'q'::\"char\"",
    "select * from t where tag = :p",
]


def _body(arns: dict[str, str]) -> st.SearchStrategy[Any]:
    fields = {
        "resourceArn": st.one_of(st.just(arns["resource"]), _anything),
        "secretArn": st.one_of(st.just(arns["secret"]), _anything),
        "sql": st.one_of(st.sampled_from(_SQL), _anything),
        "database": st.one_of(st.just(GATEWAY_DB), _anything),
        "parameters": st.one_of(st.lists(_parameter, max_size=4), _anything),
        "parameterSets": st.one_of(
            st.lists(st.lists(_parameter, max_size=3), max_size=3), _anything
        ),
        "transactionId": _anything,
        "includeResultMetadata": st.one_of(st.booleans(), _anything),
        "continueAfterTimeout": st.one_of(st.booleans(), _anything),
        "formatRecordsAs": st.one_of(st.sampled_from(["NONE", "JSON"]), _anything),
        "resultSetOptions": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "longReturnType": st.one_of(st.sampled_from(["LONG", "STRING"]), _anything),
                    "decimalReturnType": st.one_of(
                        st.sampled_from(["STRING", "DOUBLE_OR_LONG"]), _anything
                    ),
                },
            ),
            _anything,
        ),
        "schema": _anything,
        "unknownKey": _anything,
    }
    required = {
        "resourceArn": fields.pop("resourceArn"),
        "secretArn": fields.pop("secretArn"),
    }
    return st.one_of(
        st.fixed_dictionaries(required, optional=fields),
        st.fixed_dictionaries({}, optional={**required, **fields}),
        _json,
    )


@pytest.mark.timeout(3600)  # HYPOTHESIS_PROFILE=deep: 10,000 examples
async def test_every_answer_is_a_documented_json_error_and_the_role_never_changes(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with LocalDataApi(
        local_pg, transaction_idle_timeout=2.0, statement_timeout=10.0, connection_timeout=2.0
    ) as gw:
        url = urlsplit(gw.endpoint_url)
        arns = {"resource": gw.resource_arn, "secret": gw.tenant_secret_arn}
        tally = {"ok": 0, "error": 0}

        def post(path: str, payload: bytes) -> tuple[int, str, bytes]:
            conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=20)
            try:
                conn.request("POST", path, payload, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                return resp.status, resp.getheader("Content-Type") or "", resp.read()
            finally:
                conn.close()

        def current_user() -> str:
            body = {**_base(arns), "sql": "select current_user, session_user"}
            status, _, raw = post("/Execute", json.dumps(body).encode())
            assert status == 200, raw
            users = {f["stringValue"] for f in json.loads(raw)["records"][0]}
            assert len(users) == 1
            return users.pop()

        @settings(suppress_health_check=list(HealthCheck))
        @given(
            path=st.sampled_from(sorted(_ALLOWED)),
            body=_body(arns),
            raw=st.one_of(st.none(), st.binary(max_size=40)),
        )
        def prop(path: str, body: Any, raw: bytes | None) -> None:
            if isinstance(body, dict) and isinstance(body.get("sql"), str) and path == "/Execute":
                body.setdefault("database", GATEWAY_DB)
            payload = raw if raw is not None else json.dumps(body).encode()
            status, content_type, answer = post(path, payload)
            assert content_type.startswith("application/json"), (status, answer[:200])
            parsed = json.loads(answer)
            if status == 200:
                tally["ok"] += 1
                if path == "/BeginTransaction":  # do not leave it holding a connection
                    end = {**_base(arns), "transactionId": parsed["transactionId"]}
                    assert post("/RollbackTransaction", json.dumps(end).encode())[0] == 200
                return
            tally["error"] += 1
            kind = parsed["__type"]
            assert kind in _ALLOWED[path], (path, kind, parsed.get("message"))
            assert kind not in _NEVER, (path, kind, parsed.get("message"))
            assert status == _ALLOWED[path][kind]
            assert isinstance(parsed.get("message"), str)
            assert "\0" not in parsed["message"]
            assert current_user() == "app_tenant"

        # the gateway runs on this event loop: HTTP calls are made from a worker thread
        assert await anyio.to_thread.run_sync(current_user) == "app_tenant"
        await anyio.to_thread.run_sync(prop)
        assert await anyio.to_thread.run_sync(current_user) == "app_tenant"
        assert tally["error"] > 0


def _base(arns: dict[str, str]) -> dict[str, Any]:
    return {"resourceArn": arns["resource"], "secretArn": arns["secret"], "database": GATEWAY_DB}
