"""Resolve sqlc's request into what the emitter writes: types, names, conversions, refusals.

Everything a generated function or driver needs is decided here, once, at codegen time.
Errors are collected (all of them, each naming the query and file) and raised together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tenantdb._sqllex import SqlLexError, split_statements, tokenize
from tenantdb.codegen import _request as rq
from tenantdb.codegen._names import (
    class_name,
    const_name,
    enum_members,
    ident,
    module_name,
    safe,
    singular,
    snake,
)
from tenantdb.codegen._options import Override, PluginOptions
from tenantdb.codegen._types import BUILTINS, PgType, TypeSpec, canonical

__all__ = ("Build", "CodegenError", "EnumDef", "FieldDef", "QueryDef", "TableDef", "build")

_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_temp"})
_COMMANDS = frozenset(
    {"one", "many", "exec", "execrows", "execresult", "copyfrom", "batchexec", "batchone",
     "batchmany"}
)  # fmt: skip
_ROW_COMMANDS = frozenset({"one", "many", "batchone", "batchmany"})


class CodegenError(Exception):
    """One or more queries or options cannot be compiled; the message lists every problem."""


@dataclass(frozen=True)
class EnumDef:
    pg: PgType
    cls: str
    labels: list[str]
    members: list[str]


@dataclass
class FieldDef:
    """A column (of a table, a query result, or a parameter) resolved to Python."""

    name: str
    label: str
    pg: PgType
    array_dims: int
    nullable: bool
    annotation: str
    convert: str | None = None
    """Expression template for asyncpg value ``{v}`` -> declared type, or None (as is)."""
    decoder: str | None = None
    """Expression for the Data API decoder callable (value -> what asyncpg would give)."""
    unsupported: str | None = None
    hint: str | None = None
    cast: bool = True
    encode: str | None = None
    """Callable expression turning the Python argument into what drivers bind (json)."""
    embed: TableDef | None = None
    table_col: tuple[str, str] | None = None
    enum_map: tuple[str, str] | None = None
    """(constant, enum class) of the label -> member dict the conversion uses."""
    data_api_encode: str | None = None
    source_table: tuple[str, str] | None = None
    """(schema, table) the column is read from, per sqlc (model reuse needs it)."""
    unknown: str | None = None
    """Why the type has no Python mapping; an error for any query that uses the field."""
    void: bool = False
    sql_name: str = ""
    """The parameter's name in sqlc's terms (column or ``sqlc.arg`` name, else ``dollar_n``)."""


@dataclass
class TableDef:
    pg: PgType
    cls: str
    fields: list[FieldDef]


def row_guaranteed(sql: str) -> bool:
    """Whether ``sql`` always returns at least one row: an ``INSERT`` whose rows come from
    ``VALUES`` (or ``DEFAULT VALUES``) with ``RETURNING`` and no ``ON CONFLICT`` (which may
    skip the row). ``INSERT … SELECT`` may insert nothing; a CTE is not analysed."""
    depth = 0
    words: list[str] = []
    for token in tokenize(sql):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.kind == "other" and token.text[:1].isalpha():
            words.append(token.text.upper())
    return (
        bool(words)
        and words[0] == "INSERT"
        and "VALUES" in words
        and "RETURNING" in words
        and "CONFLICT" not in words
        and "SELECT" not in words
    )


@dataclass
class QueryDef:
    name: str
    func: str
    const: str
    command: str
    sql: str
    data_api_sql: str
    params: list[FieldDef]
    fields: list[FieldDef]
    row_cls: str | None
    row_is_model: bool
    doc: list[str]
    source: str
    unique_labels: bool
    unsupported: str | None
    copy_table: str | None = None
    copy_columns: list[str] = field(default_factory=list)
    scalar: bool = False
    """One non-embedded result column: functions return its value, not a Row."""
    location: str = ""
    """``queries/x.sql:12:1``: where the query's ``-- name:`` line is."""
    module: str = ""
    guaranteed: bool = False
    """A ``:one`` whose row always exists (``INSERT … VALUES … RETURNING``, no ``ON CONFLICT``):
    the function returns ``T``, not ``T | None``, and raises ``NoRowError`` if a trigger
    suppressed the row."""


@dataclass
class Build:
    package: str
    enums: list[EnumDef]
    tables: list[TableDef]
    files: dict[str, list[QueryDef]]
    imports: set[str] = field(default_factory=set)
    """Modules that override types need (``import x``)."""
    async_querier: bool = False
    query_parameter_limit: int = 4


class _Resolver:
    def __init__(self, req: rq.GenerateRequest, opts: PluginOptions) -> None:
        self.req, self.opts = req, opts
        self.errors: list[str] = []
        self.default_schema = req.catalog.default_schema or "public"
        schemas = sorted(
            (s for s in req.catalog.schemas if s.name not in _SYSTEM_SCHEMAS),
            key=lambda s: (s.name != self.default_schema, s.name),
        )
        self.schemas = schemas
        self.user_types = {
            s.name: {e.name for e in s.enums} | {c.name for c in s.composite_types} for s in schemas
        }
        self.enums: dict[PgType, EnumDef] = {}
        for s in schemas:
            for e in s.enums:
                pg = PgType(s.name, e.name)
                cls = class_name(*self._qual(s.name), e.name)
                self.enums[pg] = EnumDef(pg, cls, list(e.vals), enum_members(list(e.vals)))
        self.imports: set[str] = set()
        self.derived = _derived_tables(req.settings.schema, self.default_schema)
        self.tables: dict[PgType, TableDef] = {}
        for s in schemas:
            for t in s.tables:
                self._table(s.name, t)

    def _qual(self, schema: str) -> list[str]:
        return [] if schema == self.default_schema else [schema]

    def _table(self, schema: str, t: rq.Table) -> None:
        pg = PgType(schema, t.rel.name)
        cls = class_name(*self._qual(schema), singular(t.rel.name))
        where = f"table {pg.dotted()}"
        fields = [self.field(c, where, table=(schema, t.rel.name)) for c in t.columns]
        _dedupe(fields)
        self.tables[pg] = TableDef(pg, cls, fields)

    # -- types ---------------------------------------------------------------------------
    def pg_type(self, col: rq.Column) -> PgType:
        t = col.type or rq.Identifier()
        return canonical(t.schema, t.name, user_types=self.user_types)

    def _override(
        self, pg: PgType, table_col: tuple[str, str] | None, col_name: str
    ) -> Override | None:
        """A column override wins over a db_type override; the last match of each wins."""
        by_type = by_column = None
        for ov in self.opts.overrides:
            if ov.db_type is not None:
                if canonical("", ov.db_type, user_types=self.user_types) == pg:
                    by_type = ov
            elif table_col is not None and ov.column is not None:
                *qual, col = ov.column.split(".")
                schema, table = table_col
                if col == col_name and qual in ([table], [schema, table]):
                    by_column = ov
        return by_column or by_type

    def field(
        self,
        col: rq.Column,
        where: str,
        *,
        table: tuple[str, str] | None = None,
        computed: bool = False,
        param: bool = False,
    ) -> FieldDef:
        """``computed``: a result column no table backs (an expression). sqlc reports those
        NOT NULL whatever they are (``sum``, ``max``, ``nullif``, ``->>``, ``opt + 1``,
        scalar subqueries all can be NULL), so they are nullable unless the alias says ``!``.
        Columns of tables made by CREATE TABLE AS / materialized views are nullable (sqlc
        copies NOT NULL from the source; PostgreSQL does not)."""
        label = col.name
        name = label
        table_col = None
        if table is not None:
            table_col = table
        elif col.table is not None and col.table.name and (col.original_name or col.name):
            table_col = (col.table.schema or self.default_schema, col.table.name)
        nullable = computed or not col.not_null
        if not param and table_col is not None and table_col in self.derived:
            nullable = True
        if name.endswith(("?", "!")):
            nullable, name = name.endswith("?"), name[:-1]
        col_name = col.original_name or name
        pg = self.pg_type(col)
        ov = self._override(pg, table_col, col_name)
        if ov is not None and ov.nullable is not None:
            nullable = ov.nullable
        py_name = ident(self.opts.rename.get(name, name))
        f = FieldDef(py_name, label, pg, col.array_dims, nullable, "object")
        f.table_col = (table_col[1], col_name) if table_col else None
        f.source_table = table_col
        self._resolve_type(f, ov, where)
        return f

    def _resolve_type(self, f: FieldDef, ov: Override | None, where: str) -> None:
        spec = BUILTINS.get(f.pg.name) if f.pg.schema == "pg_catalog" else None
        enum = self.enums.get(f.pg)
        if spec is not None:
            f.hint = spec.hint
            f.cast = spec.hint is None or spec.cast_after_hint
            if not spec.data_api:
                f.unsupported = f"type {f.pg.name}"
            f.data_api_encode = spec.data_api_encode
        is_json = spec is not None and spec.record == "json"
        if is_json:
            f.encode = "_codecs.encode_json"
        elif spec is not None and spec.encode:
            f.encode = spec.encode
        base = self._base_type(f, ov, spec, enum, where)
        if f.array_dims:
            base = self._array(f, base)
        if spec is not None and f.pg.name == "void" and not f.array_dims:
            f.void = True
            f.annotation = "None"
            return
        f.annotation = f"{base} | None" if f.nullable else base

    def _base_type(
        self,
        f: FieldDef,
        ov: Override | None,
        spec: TypeSpec | None,
        enum: EnumDef | None,
        where: str,
    ) -> str:
        """Annotation of one element; sets the record conversion and the Data API decoder."""
        is_json = spec is not None and spec.record == "json"
        if spec is not None and spec.text and not is_json:
            f.decoder = f"_codecs.decode_{spec.text}"
        elif spec is not None and spec.decoder:
            f.decoder = spec.decoder
        if ov is not None and ov.python_type is not None:
            t = self._import_for(ov)
            if is_json:
                f.convert = f"_msgspec.json.decode({{v}}, type={t})"
            else:
                f.convert = f"_msgspec.convert({{v}}, {t}, strict=False)"
            f.encode = "_codecs.encode_json" if is_json else None
            f.data_api_encode = None if f.decoder is None else f.data_api_encode
            return t
        if enum is not None:
            const = f"_{const_name(enum.cls)}_BY_LABEL"
            f.enum_map = (const, enum.cls)
            f.convert = f"{const}[{{v}}]"
            return f"_models.{enum.cls}"
        if spec is not None:
            f.convert = "_codecs.decode_json({v})" if is_json else spec.convert
            return spec.py
        if f.pg.name in self.user_types.get(f.pg.schema, ()):
            # A composite type: asyncpg returns an asyncpg.Record (sqlc-gen-go: interface{}).
            # An override names a Struct to convert it into (msgspec.convert).
            f.unsupported = f"composite type {f.pg.dotted()}"
            return "Any"
        f.unknown = (
            f"column or parameter {f.label!r} has PostgreSQL type "
            f"{f.pg.dotted()!r}, which tenantdb does not map; add an override "
            f"{{db_type: {f.pg.dotted()}, python_type: ...}} to the plugin options"
        )
        return "object"

    @staticmethod
    def _array(f: FieldDef, base: str) -> str:
        for _ in range(f.array_dims):
            base = f"list[{base}]"
        if f.convert is not None:
            f.convert = f"_codecs.map_array(lambda x: {f.convert.format(v='x')}, {{v}})"
        if f.decoder is not None:
            f.decoder = f"_codecs.array_decoder({f.decoder})"
        f.hint = None
        f.cast = True
        if f.encode == "_codecs.encode_json":
            f.encode = "_codecs.encode_json_array"
        elif f.encode is not None or f.data_api_encode is not None:
            f.unknown = f.unknown or (
                f"column or parameter {f.label!r}: arrays of {f.pg.dotted()} are not "
                f"supported; add an override {{db_type: {f.pg.dotted()}, python_type: ...}}"
            )
        if f.array_dims > 1:
            f.unsupported = f"{f.array_dims}-dimensional array"
        return base

    def _import_for(self, ov: Override) -> str:
        """Import the override's module under an alias; the annotation, spelled with it."""
        t = ov.python_type or "object"
        modules = [ov.import_] if ov.import_ else []
        if not modules and "." in t:
            modules = [t.rsplit(".", 1)[0]]
        for mod in modules:
            alias = "_" + mod.replace(".", "_")
            self.imports.add(mod)
            t = re.sub(rf"(?<![\w.]){re.escape(mod)}\.", f"{alias}.", t)
        return t

    # -- queries -------------------------------------------------------------------------
    def query(self, q: rq.Query, source: str, loc: str) -> QueryDef | None:
        where = f"{loc}: query {q.name}"
        n_errors = len(self.errors)
        cmd = q.cmd.lstrip(":")
        if cmd == "execlastid":
            self.errors.append(
                f"{where}: :execlastid has no meaning on PostgreSQL; write :one with "
                f"`RETURNING id` instead"
            )
            return None
        if cmd not in _COMMANDS:
            self.errors.append(f"{where}: unknown command :{cmd}")
            return None
        if any(p.column and p.column.is_sqlc_slice for p in q.params):
            self.errors.append(
                f"{where}: sqlc.slice expands to `IN ($1)`, which fails on PostgreSQL; write "
                f"`col = ANY(@ids::type[])` instead"
            )
            return None
        if cmd in _ROW_COMMANDS and not q.columns:
            self.errors.append(
                f"{where}: :{cmd} returns no columns (an empty select list, or `*` over "
                f"something with no columns, such as `SELECT * FROM CURRENT_DATE`); name the "
                f"columns to return, or use :exec"
            )
            return None
        directives, doc = _split_comments(q.comments)
        params = self._params(q, where)
        fields = self._fields(q, where, directives)
        for f in [*params, *_flat(fields)]:
            if f.unknown is not None:
                self.errors.append(f"{where}: {f.unknown}")
        if len(self.errors) > n_errors:
            return None
        if fields and all(f.void for f in fields):
            # `SELECT pg_advisory_lock($1)`: nothing to return; run it like :exec.
            fields = []
            cmd = {"one": "exec", "many": "exec", "batchone": "batchexec",
                   "batchmany": "batchexec"}.get(cmd, cmd)  # fmt: skip
        qd = self._query_def(q, cmd=cmd, source=source, params=params, fields=fields, doc=doc)
        qd.location = loc
        if cmd == "copyfrom":
            self._copy_columns(q, qd, where)
        return qd

    def _params(self, q: rq.Query, where: str) -> list[FieldDef]:
        out: list[FieldDef] = []
        seen: set[str] = set()
        for p in sorted(q.params, key=lambda p: p.number):
            col = p.column or rq.Column()
            f = self.field(col, where, param=True)
            f.table_col = None
            base = f.name if col.name else f"dollar_{p.number}"
            name, n = base, 2
            while name in seen or name in ("db", "items", "page_size", "self", "arg"):
                name, n = f"{base}_{n}", n + 1
            seen.add(name)
            f.name = name
            f.sql_name = col.name or f"dollar_{p.number}"
            f.label = str(p.number)
            f.unsupported = None
            out.append(f)
        return out

    def _fields(self, q: rq.Query, where: str, directives: dict[str, list[str]]) -> list[FieldDef]:
        nullable_embeds = set(directives.get("nullable-embed", []))
        out = []
        for col in q.columns:
            if col.embed_table is not None:
                out.append(self._embed(col, where, nullable_embeds))
            else:
                computed = col.table is None or not col.table.name
                out.append(self.field(col, where, computed=computed))
        _dedupe(out)
        return out

    def _embed(self, col: rq.Column, where: str, nullable: set[str]) -> FieldDef:
        et = col.embed_table or rq.Identifier()
        pg = PgType(et.schema or self.default_schema, et.name)
        table = self.tables.get(pg)
        if table is None:
            self.errors.append(f"{where}: sqlc.embed({et.name}): table not in the catalog")
            table = TableDef(pg, "object", [])
        # Named after the model, as sqlc-gen-go names the field (`baz.users` -> baz_user).
        name = ident(snake(table.cls.rstrip("_")))
        is_null = bool({col.name, et.name, name, singular(col.name)} & nullable)
        f = FieldDef(name, col.name, pg, 0, is_null, f"_models.{table.cls}", embed=table)
        if is_null:
            f.annotation += " | None"
        return f

    def _query_def(
        self,
        q: rq.Query,
        *,
        cmd: str,
        source: str,
        params: list[FieldDef],
        fields: list[FieldDef],
        doc: list[str],
    ) -> QueryDef:
        by_number = {int(p.label): p for p in params}
        data_api_sql = _data_api_sql(q.text, by_number)
        labels, unsupported = _labels_and_unsupported(q.name, fields)
        scalar = len(fields) == 1 and fields[0].embed is None
        row_cls, is_model = (None, False) if scalar else self._row_class(q, fields)
        func = ident(snake(q.name))
        return QueryDef(
            name=q.name,
            func=func,
            const=const_name(q.name),
            command=cmd,
            sql=q.text,
            data_api_sql=data_api_sql,
            params=params,
            fields=fields,
            row_cls=row_cls,
            row_is_model=is_model,
            doc=doc,
            source=source,
            unique_labels=len(set(labels)) == len(labels),
            unsupported=unsupported,
            scalar=scalar,
            module=module_name(q.filename),
            guaranteed=cmd == "one" and row_guaranteed(q.text),
        )

    def _copy_columns(self, q: rq.Query, qd: QueryDef, where: str) -> None:
        """COPY targets: the INSERT's column list, matched to parameters through VALUES
        (``sqlc.arg(id_param)`` names a parameter, not a column)."""
        t = q.insert_into_table or rq.Identifier()
        qd.copy_table = f"{t.schema or self.default_schema}.{t.name}"
        m = _INSERT.search(q.text)
        by_number: dict[int, str] = {}
        if m is not None:
            cols = [c.strip().strip('"') for c in m.group(1).split(",")]
            for col, value in zip(cols, m.group(2).split(","), strict=False):
                num = re.fullmatch(r"\s*\$(\d+)\s*(?:::.*)?", value, re.DOTALL)
                if num is not None:
                    by_number[int(num.group(1))] = col
        qd.copy_columns = [by_number.get(int(p.label), p.sql_name) for p in qd.params]
        if m is None or len(by_number) != len(qd.params):
            self.errors.append(
                f"{where}: :copyfrom needs `INSERT INTO table (columns) VALUES ($1, $2, …)` "
                f"with one plain parameter per column"
            )

    def _row_class(self, q: rq.Query, fields: list[FieldDef]) -> tuple[str | None, bool]:
        """A table's model only when the query returns exactly that table's columns, in its
        order, read from that table (as sqlc does); otherwise ``<Name>Row``."""
        if not fields:
            return None, False
        for t in self.tables.values():
            if len(t.fields) != len(fields):
                continue
            table = (t.pg.schema, t.pg.name)
            if all(
                f.embed is None
                and f.source_table == table
                and (f.name, f.annotation, f.convert) == (c.name, c.annotation, c.convert)
                for f, c in zip(fields, t.fields, strict=True)
            ):
                return t.cls, True
        return safe(f"{class_name(q.name).rstrip('_')}Row"), False


_INSERT = re.compile(
    r"INSERT\s+INTO\s+[^(]+\(([^)]*)\)\s*VALUES\s*\((.*)\)\s*;?\s*$", re.IGNORECASE | re.DOTALL
)


def _dedupe(fields: list[FieldDef]) -> None:
    """Duplicate field names get ``_2``, ``_3``… (as sqlc-gen-go and sqlc-gen-python do)."""
    seen: dict[str, int] = {}
    taken = {f.name for f in fields}
    for f in fields:
        count = seen.get(f.name, 0)
        seen[f.name] = count + 1
        if count:
            n = count + 1
            while f"{f.name}_{n}" in taken:
                n += 1
            f.name = f"{f.name}_{n}"
            taken.add(f.name)


def _flat(fields: list[FieldDef]) -> list[FieldDef]:
    out: list[FieldDef] = []
    for f in fields:
        out.extend(f.embed.fields if f.embed is not None else [f])
    return out


_DERIVED = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP\s+|TEMPORARY\s+|UNLOGGED\s+)?"
    r"(?:TABLE|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r'(?:("?)([\w$]+)\1\s*\.\s*)?("?)([\w$]+)\3\s*(?:\([^()]*\)\s*)?'
    r"(?:WITH\s*\([^()]*\)\s*)?(?:TABLESPACE\s+\w+\s*)?AS\b",
    re.IGNORECASE,
)


def _derived_tables(paths: list[str], default_schema: str) -> set[tuple[str, str]]:
    """(schema, table) of every CREATE TABLE … AS / materialized view in the schema files
    (sqlc reads ``*.up.sql`` migrations and plain ``*.sql`` files, never ``*.down.sql``)."""
    out: set[tuple[str, str]] = set()
    for entry in paths:
        root = Path(entry)
        files = sorted(root.glob("*.sql")) if root.is_dir() else [root]
        for path in files:
            if path.name.endswith(".down.sql"):
                continue
            try:
                statements = split_statements(path.read_text())
            except (OSError, UnicodeDecodeError, SqlLexError):
                continue
            for stmt in statements:
                text = "".join(t.text for t in tokenize(stmt) if t.kind != "comment")
                m = _DERIVED.match(text)
                if m is not None:
                    schema = m.group(2) if m.group(1) else (m.group(2) or "").lower()
                    name = m.group(4) if m.group(3) else m.group(4).lower()
                    out.add((schema or default_schema, name))
    return out


def _labels_and_unsupported(name: str, fields: list[FieldDef]) -> tuple[list[str], str | None]:
    """Result labels as PostgreSQL names them (embeds expanded), and the first column the
    Data API cannot return, as a message naming it."""
    labels: list[str] = []
    bad: list[tuple[str, str]] = []
    for f in fields:
        if f.embed is None:
            labels.append(f.label)
            bad.extend([(f.name, f.unsupported)] if f.unsupported else [])
            continue
        labels.extend(c.label for c in f.embed.fields)
        bad.extend((f"{f.name}.{c.name}", c.unsupported) for c in f.embed.fields if c.unsupported)
    if not bad:
        return labels, None
    col, why = bad[0]
    return labels, (
        f"column {col!r} of {name} has {why}, which the Data API cannot return "
        f"(UnsupportedResultException); cast it to text or use the asyncpg lane"
    )


def _sorted(q: rq.Query) -> list[rq.Parameter]:
    return sorted(q.params, key=lambda p: p.number)


def _data_api_sql(sql: str, by_number: dict[int, FieldDef]) -> str:
    """``$n`` -> ``:name``, plus a cast where no typeHint carries the type, unless the SQL
    already casts the placeholder (``@ids::uuid[]``)."""
    tokens = list(tokenize(sql))
    out = []
    for i, tok in enumerate(tokens):
        p = by_number.get(int(tok.text[1:])) if tok.kind == "positional" else None
        if p is None:
            out.append(tok.text)
            continue
        casted = i + 1 < len(tokens) and tokens[i + 1].kind == "cast"
        out.append(f":{p.name}::{_cast_sql(p)}" if p.cast and not casted else f":{p.name}")
    return "".join(out)


def _cast_sql(p: FieldDef) -> str:
    return p.pg.sql() + "[]" * p.array_dims


def _split_comments(comments: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    directives: dict[str, list[str]] = {}
    doc: list[str] = []
    for line in comments:
        text = line.strip()
        if text.startswith("@"):
            key, _, rest = text[1:].partition(" ")
            directives.setdefault(key, []).extend(rest.split())
        else:
            doc.append(line[1:] if line.startswith(" ") else line)
    while doc and not doc[-1].strip():
        doc.pop()
    return directives, doc


def build(req: rq.GenerateRequest, opts: PluginOptions) -> Build:
    """Resolve the whole request; raise :class:`CodegenError` listing every problem."""
    r = _Resolver(req, opts)
    locate = _Locator(req)
    files: dict[str, list[QueryDef]] = {}
    for q in req.queries:
        source = locate.path(q.filename)
        qd = r.query(q, source, locate.where(q))
        if qd is not None:
            files.setdefault(q.filename, []).append(qd)
    if r.errors:
        raise CodegenError("\n".join(r.errors))
    return Build(
        package=opts.package,
        enums=sorted(r.enums.values(), key=lambda e: e.cls),
        tables=list(r.tables.values()),
        files=files,
        imports=r.imports,
        async_querier=opts.emit_async_querier,
        query_parameter_limit=opts.query_parameter_limit,
    )


_NAME_LINE = r"^[ \t]*(?:--|/\*)[ \t]*name:[ \t]*{}[ \t]+:"


class _Locator:
    """``file:line:column`` of a query's ``-- name:`` line. sqlc reports only the file's base
    name; the files are found through the ``queries`` setting, relative to sqlc.yaml (sqlc
    runs the plugin there). Falls back to the file name when a file cannot be read."""

    def __init__(self, req: rq.GenerateRequest) -> None:
        self.paths: dict[str, str] = {}
        for entry in req.settings.queries:
            root = Path(entry)
            found = sorted(root.glob("*.sql")) if root.is_dir() else [root]
            for f in found:
                self.paths.setdefault(f.name, f.as_posix())
        dirs = req.settings.queries
        self.prefix = (
            dirs[0].rstrip("/") + "/" if len(dirs) == 1 and not dirs[0].endswith(".sql") else ""
        )
        self.texts: dict[str, str | None] = {}

    def path(self, filename: str) -> str:
        return self.paths.get(filename) or f"{self.prefix}{filename}"

    def where(self, q: rq.Query) -> str:
        path = self.path(q.filename)
        if path not in self.texts:
            try:
                self.texts[path] = Path(path).read_text()
            except (OSError, UnicodeDecodeError):
                self.texts[path] = None
        text = self.texts[path]
        m = (
            None
            if text is None
            else re.search(_NAME_LINE.format(re.escape(q.name)), text, re.MULTILINE)
        )
        if text is None or m is None:
            return path
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        return f"{path}:{line}:{col}"
