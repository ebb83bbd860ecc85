"""Small pure parts of the plugin: names, the type alias table, options, the plugin's I/O."""

from __future__ import annotations

import base64
import json
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tenantdb.codegen._names import class_name, enum_members, ident, module_name, singular, snake
from tenantdb.codegen._options import OptionsError, parse_options
from tenantdb.codegen._types import BUILTINS, PgType, canonical

PLUGIN = str(Path(sysconfig.get_path("scripts")) / "tenantdb-sqlc-gen")


def test_enum_labels_become_unique_python_members() -> None:
    # sqlc-gen-python's spelling: - : / become _, other punctuation is dropped.
    labels = [
        "op!en",
        "clo@sed",
        "24h",
        "under-repair",
        "Under Repair",
        "class",
        "",
        "!!",
        "a+",
        "a",
        "a-b",
        "a/b",
        "ab",
    ]
    assert enum_members(labels) == [
        "OPEN", "CLOSED", "V_24H", "UNDER_REPAIR", "UNDERREPAIR", "CLASS", "VALUE_6", "VALUE_7",
        "A", "A_2", "A_B", "A_B_2", "AB",
    ]  # fmt: skip
    assert all(m.isidentifier() for m in enum_members(labels))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("class", "class_"), ("from", "from_"), ("match", "match_"), ("2fa", "n2fa"),
     ("total!", "total"), ("guest name", "guest_name"), ("id", "id")],
)  # fmt: skip
def test_identifiers(name: str, expected: str) -> None:
    assert ident(name) == expected


@pytest.mark.parametrize(
    ("query", "function"),
    [("DeleteBarByIDAndName", "delete_bar_by_id_and_name"),
     ("ListHTTPRequests", "list_http_requests"), ("GetV2Thing", "get_v2_thing"),
     ("getThing", "get_thing"), ("In", "in_"), ("Import", "import_"), ("List", "list_"),
     ("Models", "models")],
)  # fmt: skip
def test_query_names_snake_case_as_sqlc_gen_python_and_stay_valid(
    query: str, function: str
) -> None:
    assert ident(snake(query)) == function


@pytest.mark.parametrize(
    ("filename", "module"),
    [("postgresql.query.sql", "postgresql_query"), ("query-building.sql", "query_building"),
     ("models.sql", "models_"), ("class.sql", "class_"), ("2fa.sql", "n2fa")],
)  # fmt: skip
def test_query_files_give_importable_module_names(filename: str, module: str) -> None:
    assert module_name(filename) == module


def test_range_hstore_and_vector_text_forms() -> None:
    import datetime

    import asyncpg

    from tenantdb import codecs

    days = codecs.range_decoder(codecs.decode_date)("[2026-01-01,2026-02-01)")
    assert days == asyncpg.Range(datetime.date(2026, 1, 1), datetime.date(2026, 2, 1))
    assert codecs.range_literal(days) == '["2026-01-01","2026-02-01")'
    assert codecs.range_decoder(int)("(,5]") == asyncpg.Range(None, 5, upper_inc=True)
    assert codecs.range_decoder(int)("empty") == asyncpg.Range(empty=True)
    stamps = codecs.range_decoder(codecs.decode_timestamp)('["2026-01-01 00:00:00",)')
    assert stamps.lower == datetime.datetime(2026, 1, 1) and stamps.upper is None
    value = {"a": "1", "b": None, 'q"x': "\\"}
    assert codecs.decode_hstore(codecs.encode_hstore(value)) == value
    assert codecs.decode_vector(codecs.encode_vector([1, 2.5])) == [1.0, 2.5]


def test_class_and_function_names() -> None:
    assert class_name("inventory", "grade") == "InventoryGrade"
    assert class_name("booking_status") == "BookingStatus"
    assert snake("ListBookingsWithRoom") == "list_bookings_with_room"
    assert [singular(w) for w in ("bookings", "properties", "addresses", "status", "activity_log",
                                   "boxes", "guests")] == [
        "booking", "property", "address", "status", "activity_log", "box", "guest",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "name", "expected"),
    [
        ("", "bigserial", "int8"), ("pg_catalog", "int8", "int8"), ("", "pg_catalog.int8", "int8"),
        ("", "bigint", "int8"), ("", "integer", "int4"), ("", "serial", "int4"),
        ("", "smallint", "int2"), ("", "double precision", "float8"), ("", "real", "float4"),
        ("", "pg_catalog.timestamptz", "timestamptz"),
        ("", "timestamp with time zone", "timestamptz"), ("", "character varying", "varchar"),
        ("", "pg_catalog.json", "json"), ("pg_catalog", "bool", "bool"), ("", "boolean", "bool"),
        ("", "decimal", "numeric"), ("", "citext", "citext"), ("", "time with time zone", "timetz"),
    ],
)  # fmt: skip
def test_every_spelling_normalises_to_one_builtin(schema: str, name: str, expected: str) -> None:
    assert canonical(schema, name, user_types={}) == PgType("pg_catalog", expected)
    assert expected in BUILTINS


def test_user_types_land_in_their_schema() -> None:
    user = {"public": {"mood"}, "inventory": {"grade"}}
    assert canonical("", "mood", user_types=user) == PgType("public", "mood")
    assert canonical("", "grade", user_types=user) == PgType("inventory", "grade")
    assert canonical("", "inventory.grade", user_types=user) == PgType("inventory", "grade")
    assert canonical("other", "x", user_types=user) == PgType("other", "x")
    assert PgType("Other", "My Type").sql() == '"Other"."My Type"'
    assert PgType("public", "mood").sql() == "public.mood"


def test_options_reject_unknown_keys_and_bad_overrides() -> None:
    assert parse_options(b"").package == ""
    opts = parse_options(b'{"package": "x", "rename": {"a": "b"}, "overrides": '
                         b'[{"column": "t.c", "nullable": false}]}')  # fmt: skip
    assert opts.overrides[0].nullable is False
    with pytest.raises(OptionsError, match="unknown field `pakage`"):
        parse_options(b'{"pakage": "x"}')
    with pytest.raises(OptionsError, match=r"overrides\[0\] sets neither python_type nor nullable"):
        parse_options(b'{"overrides": [{"db_type": "text"}]}')
    with pytest.raises(OptionsError, match="nullable applies to a column override"):
        parse_options(b'{"overrides": [{"db_type": "text", "nullable": true}]}')


def _plugin(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - the installed console script
        [PLUGIN, "/plugin.CodegenService/Generate"],
        input=stdin, capture_output=True, check=False, timeout=120, env={},
    )  # fmt: skip


def test_plugin_rejects_a_request_it_cannot_decode() -> None:
    proc = _plugin(b"{not json")
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"tenantdb-sqlc-gen: cannot decode sqlc's GenerateRequest")
    assert proc.stdout == b""


def test_plugin_answers_with_exactly_the_files_key() -> None:
    request = {
        "settings": {"codegen": {"out": "gen"}, "queries": ["queries"]},
        "catalog": {"default_schema": "public", "schemas": [
            {"name": "public", "enums": [{"name": "mood", "vals": ["ok"]}], "tables": []}]},
        "queries": [{"text": 'SELECT 1 AS "one!", 2 AS two', "name": "One", "cmd": ":one",
                     "columns": [{"name": "one!", "not_null": True, "type": {"name": "int4"}},
                                 {"name": "two", "not_null": True, "type": {"name": "int4"}}],
                     "filename": "q.sql"}],
        "plugin_options": base64.b64encode(b'{"package": "gen"}').decode(),
    }  # fmt: skip
    proc = _plugin(json.dumps(request).encode())
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert list(response) == ["files"]
    files = {f["name"]: base64.b64decode(f["contents"]).decode() for f in response["files"]}
    assert sorted(files) == ["__init__.py", "models.py", "q.py"]
    assert files["q.py"].startswith("# generated by tenantdb from queries/q.sql; do not edit\n")
    assert "class OneRow(_msgspec.Struct, frozen=True):\n" in files["q.py"]
    assert "    one: int\n" in files["q.py"]
    # sqlc says NOT NULL for every expression; without `!` a computed column is nullable.
    assert "    two: int | None\n" in files["q.py"]


@pytest.mark.parametrize(
    ("sql", "guaranteed"),
    [
        ("INSERT INTO t (a) VALUES ($1) RETURNING *", True),
        ("insert into t (a) values ((select app.current_tenant_id())) returning id", True),
        ("INSERT INTO t DEFAULT VALUES RETURNING id", True),
        ("INSERT INTO t (a) VALUES ($1), ($2) RETURNING a", True),
        ("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING a", False),
        ("INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = 1 RETURNING a", False),
        ("INSERT INTO t (a) SELECT a FROM u RETURNING a", False),
        ("INSERT INTO t (a) VALUES ($1)", False),
        ("UPDATE t SET a = 1 RETURNING a", False),
        ("WITH x AS (SELECT 1) INSERT INTO t (a) VALUES (1) RETURNING a", False),
        ("SELECT 'INSERT INTO t VALUES (1) RETURNING 1'", False),
    ],
)
def test_rows_guaranteed_only_for_insert_values_returning(sql: str, guaranteed: bool) -> None:
    from tenantdb.codegen._build import row_guaranteed

    assert row_guaranteed(sql) is guaranteed


def test_a_missing_guaranteed_row_is_a_typed_error() -> None:
    from tenantdb import codecs, errors

    assert codecs.required(1, "CreateThing") == 1
    with pytest.raises(errors.NoRowError, match=r"\[CreateThing\]"):
        codecs.required(None, "CreateThing")
