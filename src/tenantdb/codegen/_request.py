"""sqlc's ``GenerateRequest`` (protobuf-JSON, sqlc 1.31.1) as msgspec Structs.

Only the fields the emitter reads are declared; msgspec skips the rest (the ~1.7 MB
pg_catalog dump included) without building objects for it. Proto field names are kept
(``not_null``, ``insert_into_table``); unset messages arrive as ``null``.
"""

from __future__ import annotations

import msgspec

__all__ = (
    "Catalog",
    "CodegenSettings",
    "Column",
    "CompositeType",
    "Enum",
    "GenerateRequest",
    "Identifier",
    "Parameter",
    "Query",
    "Schema",
    "Settings",
    "Table",
)


class Identifier(msgspec.Struct, frozen=True):
    catalog: str = ""
    schema: str = ""
    name: str = ""


class Column(msgspec.Struct, frozen=True):
    name: str = ""
    not_null: bool = False
    is_array: bool = False
    comment: str = ""
    is_named_param: bool = False
    is_func_call: bool = False
    table: Identifier | None = None
    table_alias: str = ""
    type: Identifier | None = None
    is_sqlc_slice: bool = False
    embed_table: Identifier | None = None
    original_name: str = ""
    array_dims: int = 0


class Parameter(msgspec.Struct, frozen=True):
    number: int
    column: Column | None = None


class Query(msgspec.Struct, frozen=True):
    text: str
    name: str
    cmd: str
    columns: list[Column] = []
    params: list[Parameter] = []
    comments: list[str] = []
    filename: str = ""
    insert_into_table: Identifier | None = None


class Table(msgspec.Struct, frozen=True):
    rel: Identifier
    columns: list[Column] = []
    comment: str = ""


class Enum(msgspec.Struct, frozen=True):
    name: str
    vals: list[str] = []
    comment: str = ""


class CompositeType(msgspec.Struct, frozen=True):
    name: str
    comment: str = ""


class Schema(msgspec.Struct, frozen=True):
    name: str
    tables: list[Table] = []
    enums: list[Enum] = []
    composite_types: list[CompositeType] = []
    comment: str = ""


class Catalog(msgspec.Struct, frozen=True):
    default_schema: str = "public"
    schemas: list[Schema] = []


class CodegenSettings(msgspec.Struct, frozen=True):
    out: str = ""
    plugin: str = ""


class Settings(msgspec.Struct, frozen=True):
    engine: str = ""
    schema: list[str] = []
    queries: list[str] = []
    codegen: CodegenSettings | None = None


class GenerateRequest(msgspec.Struct, frozen=True):
    settings: Settings
    catalog: Catalog
    queries: list[Query] = []
    sqlc_version: str = ""
    plugin_options: bytes = b""
    """Base64 in the JSON; msgspec decodes it to the raw option JSON bytes."""
