"""The catalog queries behind ``tenantdb.audit`` (RLS.md §5, I-1…I-7), one method per invariant."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import asyncpg
import msgspec

from tenantdb.admin.session import AdminSql
from tenantdb.errors import QueryError

__all__ = ("Finding", "Queries", "version_findings")

_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
)
_NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
_POLICY = "tenant_id = (SELECT app.current_tenant_id())"
# Minimum patch level per major version: the CVE-2024-10976 fix (RLS.md I-7).
_MIN_VERSION = {13: 130017, 14: 140014, 15: 150009, 16: 160005, 17: 170001}


class Finding(msgspec.Struct, frozen=True):
    """One violated invariant: ``code`` ('I-1'…'I-7'), the object, what is wrong, the fix."""

    code: str
    object: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.code} {self.object}: {self.message} (fix: {self.fix})"


class Queries:
    """The checks for one admin connection, tenant role name and tenant column."""

    def __init__(self, conn: AdminSql, role: str, column: str) -> None:
        self.conn, self.tenant, self.column = conn, role, column

    async def _fetch(self, sql: str, *args: object) -> list[Any]:
        """Rows as ``asyncpg.Record`` or, over the Data API, dicts: both index by name."""
        return list(await self.conn.fetch(sql, *args))

    def _tenant_tables(self) -> str:
        return (
            "SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relrowsecurity,"
            " c.relforcerowsecurity, a.attnum AS tenant_attnum"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $2 AND NOT a.attisdropped"
            f" WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}"
        )

    # I-1 ------------------------------------------------------------------------------------
    async def role(self) -> list[Finding]:
        out = []
        r = (
            await self._fetch(
                "SELECT rolsuper, rolbypassrls,"
                " (SELECT count(*) FROM pg_class WHERE relowner = r.oid) AS owned,"
                " ARRAY(SELECT m.rolname FROM pg_roles m WHERE m.oid <> r.oid"
                "   AND pg_has_role(r.oid, m.oid, 'MEMBER')"
                "   AND (m.rolsuper OR m.rolbypassrls"
                "        OR EXISTS (SELECT 1 FROM pg_class WHERE relowner = m.oid))"
                "   ORDER BY 1) AS escalations,"
                " (has_function_privilege(r.oid, 'pg_catalog.pg_stat_get_activity(integer)',"
                "   'EXECUTE')"
                "  OR has_function_privilege(r.oid,"
                "   'pg_catalog.pg_stat_get_backend_activity(integer)', 'EXECUTE')) AS activity"
                " FROM pg_roles r WHERE rolname = $1",
                self.tenant,
            )
        )[0]
        who = f"role {self.tenant}"
        if r["rolsuper"] or r["rolbypassrls"]:
            out.append(
                Finding(
                    "I-1",
                    who,
                    "the tenant role is SUPERUSER or BYPASSRLS: RLS never applies to it",
                    f"ALTER ROLE {self.tenant} NOSUPERUSER NOBYPASSRLS;",
                )
            )
        if r["owned"]:
            out.append(
                Finding(
                    "I-1",
                    who,
                    f"the tenant role owns {r['owned']} relation(s); owners "
                    "bypass RLS unless it is FORCEd",
                    f"REASSIGN OWNED BY {self.tenant} TO app_owner;",
                )
            )
        if r["activity"]:
            out.append(
                Finding(
                    "I-1",
                    who,
                    "the tenant role can read other sessions' query text (pg_stat_activity): "
                    "every tenant sees the tenant and user ids of every other active tenant",
                    "as a superuser, in this database: REVOKE EXECUTE ON FUNCTION "
                    "pg_catalog.pg_stat_get_activity(integer), "
                    "pg_catalog.pg_stat_get_backend_activity(integer) FROM PUBLIC; then GRANT "
                    f"them to your admin/monitoring roles, not to {self.tenant}",
                )
            )
        for other in r["escalations"]:
            out.append(
                Finding(
                    "I-1",
                    who,
                    f"the tenant role can act as {other}, which bypasses "
                    "RLS or owns tables (SET ROLE)",
                    f"REVOKE {other} FROM {self.tenant};",
                )
            )
        return out

    # I-2 ------------------------------------------------------------------------------------
    async def tables(self) -> list[Finding]:
        rows = await self._fetch(
            f"SELECT t.name, t.relrowsecurity, t.relforcerowsecurity, EXISTS ("
            " SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid AND p.polcmd = '*'"
            "  AND p.polpermissive AND EXISTS (SELECT 1 FROM unnest(p.polroles) pr"
            "   WHERE pr = 0 OR pg_has_role($1, pr, 'MEMBER'))) AS has_policy"
            f" FROM ({self._tenant_tables()}) t ORDER BY t.name",
            self.tenant,
            self.column,
        )
        out = []
        for r in rows:
            missing, fixes = [], []
            if not r["relrowsecurity"]:
                missing.append("RLS is not enabled")
                fixes.append(f"ALTER TABLE {r['name']} ENABLE ROW LEVEL SECURITY;")
            if not r["relforcerowsecurity"]:
                missing.append("RLS is not forced (the owner bypasses it)")
                fixes.append(f"ALTER TABLE {r['name']} FORCE ROW LEVEL SECURITY;")
            if not r["has_policy"]:
                missing.append(f"no permissive FOR ALL policy applies to {self.tenant}")
                fixes.append(
                    f"CREATE POLICY tenant_isolation ON {r['name']} FOR ALL TO {self.tenant}"
                    f" USING ({_POLICY}) WITH CHECK ({_POLICY});"
                )
            if missing:
                out.append(Finding("I-2", r["name"], "; ".join(missing), " ".join(fixes)))
        return out

    async def partitions(self) -> list[Finding]:
        """I-2 for partitions: a query on the parent uses the parent's policies, but a
        partition named directly uses its own, so the tenant role must hold no privilege on
        any partition (RLS forced on each is checked by ``tables``)."""
        rows = await self._fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name,"
            " format('%I.%I', pn.nspname, p.relname) AS parent,"
            " ARRAY(SELECT priv FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) priv"
            "   WHERE has_table_privilege($1, c.oid, priv)) AS privileges"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_class p ON p.oid = i.inhparent AND p.relkind = 'p'"
            " JOIN pg_namespace pn ON pn.oid = p.relnamespace"
            f" WHERE {_USER_SCHEMAS} ORDER BY 1",
            self.tenant,
        )
        return [
            Finding(
                "I-2",
                r["name"],
                f"the tenant role can name this partition of {r['parent']} directly "
                f"({', '.join(r['privileges'])}): it would skip the parent's policies and "
                "grants; tenants must go through the parent",
                f"REVOKE ALL ON {r['name']} FROM {self.tenant}, PUBLIC;",
            )
            for r in rows
            if r["privileges"]
        ]

    async def row_security(self, tenant_conn: Any) -> list[Finding]:
        rows = await self._fetch(
            f"SELECT t.name, has_table_privilege($1, t.oid, 'SELECT') AS readable"
            f" FROM ({self._tenant_tables()}) t ORDER BY t.name",
            self.tenant,
            self.column,
        )
        out = []
        for r in rows:
            name = r["name"]
            if not await tenant_conn.fetchval("SELECT row_security_active($1::regclass)", name):
                out.append(
                    Finding(
                        "I-2",
                        name,
                        "row_security_active() is false for the tenant connection",
                        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY; "
                        "connect as a role without BYPASSRLS that does not own it",
                    )
                )
            elif r["readable"] and (who := await _visible_to_strangers(tenant_conn, name)):
                out.append(
                    Finding(
                        "I-3",
                        name,
                        f"rows are visible to {who}: a policy is true beyond the tenant "
                        "predicate (a tautology, an OR, or a second permissive policy)",
                        f"review the policies on {name}; the tenant predicate must be "
                        f"{_POLICY} in a FOR ALL policy (RESTRICTIVE if there are others)",
                    )
                )
        return out

    # I-3 ------------------------------------------------------------------------------------
    async def policies(self) -> list[Finding]:
        rows = await self._fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS tbl, policyname, permissive, cmd,"
            " coalesce(qual, '') AS qual, coalesce(with_check, '') AS with_check"
            " FROM pg_policies ORDER BY 1, 2"
        )
        out = [f for r in rows for f in _policy_findings(r)]
        permissive: dict[str, int] = {}
        restrictive: set[str] = set()
        for r in rows:
            if r["permissive"] == "PERMISSIVE":
                permissive[r["tbl"]] = permissive.get(r["tbl"], 0) + 1
            elif r["cmd"] == "ALL" and _is_tenant_predicate(r["qual"], self.column):
                # A twin must repeat the predicate for every command, with no OR: merely
                # mentioning the column (``tenant_id IS NOT NULL``) restricts nothing.
                restrictive.add(r["tbl"])
        for tbl, n in sorted(permissive.items()):
            if n > 1 and tbl not in restrictive:
                out.append(
                    Finding(
                        "I-3",
                        tbl,
                        f"{n} permissive policies are ORed and no RESTRICTIVE "
                        "policy repeats the tenant predicate",
                        f"CREATE POLICY tenant_guard ON {tbl} AS RESTRICTIVE FOR ALL TO "
                        f"{self.tenant} USING ({_POLICY}) WITH CHECK ({_POLICY});",
                    )
                )
        return out

    # I-4 ------------------------------------------------------------------------------------
    async def keys(self) -> list[Finding]:
        uniques = await self._fetch(
            "SELECT i.indexrelid::regclass::text AS idx, t.name FROM pg_index i"
            f" JOIN ({self._tenant_tables()}) t ON t.oid = i.indrelid"
            " WHERE i.indisunique AND $1::text IS NOT NULL"
            " AND NOT (t.tenant_attnum = ANY(i.indkey::int2[])) ORDER BY 1",
            self.tenant,
            self.column,
        )
        out = [
            Finding(
                "I-4",
                r["idx"],
                f"unique index on {r['name']} without {self.column}: an "
                "existence oracle across tenants",
                f"recreate it as UNIQUE ({self.column}, …) and drop {r['idx']}",
            )
            for r in uniques
        ]
        fks = await self._fetch(
            "SELECT format('%s on %s', k.conname, t.name) AS fk, t.name FROM pg_constraint k"
            f" JOIN ({self._tenant_tables()}) t ON t.oid = k.conrelid"
            f" JOIN ({self._tenant_tables()}) p ON p.oid = k.confrelid"
            " WHERE k.contype = 'f' AND $1::text IS NOT NULL"
            " AND NOT (t.tenant_attnum = ANY(k.conkey) AND p.tenant_attnum = ANY(k.confkey))"
            " ORDER BY 1",
            self.tenant,
            self.column,
        )
        out += [
            Finding(
                "I-4",
                r["fk"],
                f"foreign key between tenant tables without {self.column} "
                "on both sides: it can point across tenants and cascade across them",
                f"ALTER TABLE {r['name']} DROP CONSTRAINT …, ADD FOREIGN KEY "
                f"({self.column}, …) REFERENCES <parent> ({self.column}, id);",
            )
            for r in fks
        ]
        return out

    # I-5 ------------------------------------------------------------------------------------
    async def grants(self, registry: str) -> list[Finding]:
        return [
            *await self._table_grants(),
            *await self._creatable_schemas(),
            *await self._temporary(),
            *await self._open_registry(registry),
        ]

    async def _temporary(self) -> list[Finding]:
        db = await self.conn.fetchval(
            "SELECT format('%I', current_database())"
            " WHERE has_database_privilege($1, current_database(), 'TEMPORARY')",
            self.tenant,
        )
        if db is None:
            return []
        return [
            Finding(
                "I-5",
                f"database {db}",
                "the tenant role may create temporary tables: they have no RLS and, since "
                "pg_temp is searched first, shadow tenant tables for later transactions on "
                "the same pooled connection",
                f"REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC, {self.tenant};",
            )
        ]

    async def _table_grants(self) -> list[Finding]:
        rows = await self._fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name, priv FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace,"
            " unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv"
            f" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMAS}"
            # REFERENCES may be granted per column; a table-level REVOKE removes those too.
            " AND (has_table_privilege($1, c.oid, priv) OR (priv = 'REFERENCES'"
            "  AND has_any_column_privilege($1, c.oid, priv))) ORDER BY 1, 2",
            self.tenant,
        )
        return [
            Finding(
                "I-5",
                r["name"],
                f"the tenant role holds {r['priv']} (not subject to RLS)",
                f"REVOKE {r['priv']} ON {r['name']} FROM {self.tenant}, PUBLIC;",
            )
            for r in rows
        ]

    async def _creatable_schemas(self) -> list[Finding]:
        schemas = await self._fetch(
            f"SELECT format('%I', n.nspname) AS name FROM pg_namespace n WHERE {_USER_SCHEMAS}"
            " AND has_schema_privilege($1, n.oid, 'CREATE') ORDER BY 1",
            self.tenant,
        )
        return [
            Finding(
                "I-5",
                f"schema {r['name']}",
                "the tenant role may CREATE objects in it",
                f"REVOKE CREATE ON SCHEMA {r['name']} FROM {self.tenant}, PUBLIC;",
            )
            for r in schemas
        ]

    async def _open_registry(self, registry: str) -> list[Finding]:
        reg = await self._fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE c.relname = $2 AND c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}"
            " AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
            # Column-level grants count: SELECT (id, slug) lists every tenant just the same.
            " AND (has_any_column_privilege($1, c.oid, 'SELECT, INSERT, UPDATE')"
            " OR has_table_privilege($1, c.oid, 'DELETE'))",
            self.tenant,
            registry,
        )
        return [
            Finding(
                "I-5",
                r["name"],
                "the tenant registry is granted to the tenant role "
                "without forced RLS: every tenant can list all tenants",
                f"ALTER TABLE {r['name']} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL "
                f"SECURITY; plus a policy on id, or REVOKE ALL ON {r['name']} FROM "
                f"{self.tenant};",
            )
            for r in reg
        ]

    # I-6 ------------------------------------------------------------------------------------
    async def objects(self, allowlist: set[str]) -> list[Finding]:
        return [*await self._views(), *await self._functions(allowlist)]

    async def _views(self) -> list[Finding]:
        rows = await self._fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS relkind,"
            " has_table_privilege($1, c.oid, 'SELECT') AS readable FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMAS}"
            f" AND {_NOT_EXTENSION.format(oid='c.oid')}"
            " AND NOT (c.relkind = 'v' AND coalesce(c.reloptions && ARRAY["
            "  'security_invoker=true', 'security_invoker=on', 'security_invoker=1'], false))"
            " ORDER BY 1",
            self.tenant,
        )
        out = []
        for r in rows:
            if r["relkind"] == "v":
                out.append(
                    Finding(
                        "I-6",
                        r["name"],
                        "view without security_invoker runs with its "
                        "owner's rights"
                        + (" and the tenant role can read it" if r["readable"] else ""),
                        f"ALTER VIEW {r['name']} SET (security_invoker = true);",
                    )
                )
            elif r["readable"]:
                out.append(
                    Finding(
                        "I-6",
                        r["name"],
                        "materialized views cannot have RLS and this "
                        "one is readable by the tenant role",
                        f"REVOKE ALL ON {r['name']} FROM {self.tenant}, PUBLIC;",
                    )
                )
        return out

    async def _functions(self, allowlist: set[str]) -> list[Finding]:
        rows = await self._fetch(
            "SELECT p.oid::regprocedure::text AS sig,"
            " format('%I.%I', n.nspname, p.proname) AS name,"
            " p.prosecdef, p.proleakproof, p.provolatile::text AS provolatile,"
            " EXISTS (SELECT 1 FROM pg_roles o WHERE o.oid = p.proowner"
            "  AND (o.rolsuper OR o.rolbypassrls)) AS owner_bypasses,"
            " coalesce(p.proconfig, '{}') AS config,"
            " p.prosrc ILIKE '%current_setting%' AS reads_settings"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            f" WHERE {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='p.oid')} ORDER BY 1"
        )
        return [f for r in rows for f in _function_findings(r, allowlist)]


async def _visible_to_strangers(conn: Any, table: str) -> str | None:
    """Who sees a row of ``table`` who should see none: no tenant, or a tenant with no rows.

    A behavioural probe (read only, rolled back) that catches what no pattern over the policy
    text can: ``OR 1 = 1``, ``OR tenant_id IS NOT NULL``, ``OR current_user = …``. It needs at
    least one row in the table; an error (a cast of ``''``) fails closed and is not a finding.
    """
    for who, tenant in (("a session without tenant", ""), ("an unknown tenant", str(uuid4()))):
        try:
            async with conn.transaction(readonly=True):
                await conn.execute(
                    "SELECT set_config('app.current_tenant_id', $1, true),"
                    " set_config('app.current_user_id', '', true)",
                    tenant,
                )
                # ``table`` comes from format('%I.%I', ...): a quoted identifier, not input.
                if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    return who
        except (asyncpg.PostgresError, QueryError):  # QueryError: the Data API's server errors
            continue
    return None


def _is_tenant_predicate(qual: str, column: str) -> bool:
    """``tenant_id = <something>`` with no OR anywhere in the expression."""
    equals = re.search(rf"(^|\W){re.escape(column)}\s*=", qual)
    return bool(equals) and not re.search(r"\bor\b", qual, re.IGNORECASE)


_SETTING_CALL = re.compile(r"current_setting\([^()]*\)", re.IGNORECASE)
_TRUE = re.compile(r"(^|\W)true(\W|$)", re.IGNORECASE)


def _function_findings(r: Any, allowlist: set[str]) -> list[Finding]:
    sig, definer = r["sig"], r["prosecdef"]
    checks = (
        (
            definer and not any(c.startswith("search_path=") for c in r["config"]),
            "SECURITY DEFINER function without a pinned search_path",
            f"ALTER FUNCTION {sig} SET search_path = pg_catalog, pg_temp;",
        ),
        (
            definer and r["name"] not in allowlist,
            "SECURITY DEFINER function not on the reviewed allow-list",
            "review it (does it filter by tenant?), then add "
            f"{r['name']} to definer_allowlist or make it SECURITY INVOKER",
        ),
        (
            definer and r["owner_bypasses"],
            "SECURITY DEFINER function owned by a role that bypasses RLS (superuser or "
            "BYPASSRLS): it sees every tenant's rows, allow-listed or not",
            f"ALTER FUNCTION {sig} OWNER TO app_owner;  -- a role subject to FORCEd RLS",
        ),
        (
            r["proleakproof"],
            "LEAKPROOF function: it may run before the policies and see other tenants' rows",
            f"ALTER FUNCTION {sig} NOT LEAKPROOF;",
        ),
        (
            r["provolatile"] == "i" and r["reads_settings"],
            "IMMUTABLE function reads current_setting: cached plans freeze one tenant's value",
            f"ALTER FUNCTION {sig} STABLE;",
        ),
    )
    return [Finding("I-6", sig, message, fix) for bad, message, fix in checks if bad]


def _policy_findings(r: Any) -> list[Finding]:
    name = f"policy {r['policyname']} on {r['tbl']}"
    out = []
    for label, expr in (("USING", r["qual"]), ("WITH CHECK", r["with_check"])):
        bare = _SETTING_CALL.sub("", expr)
        problems = [
            text
            for bad, text in (
                (bool(_TRUE.search(bare)), "is true for every row"),
                (
                    bool(re.search(r"is\s+null\W*\s*or\b", expr, re.IGNORECASE)),
                    "opens up with `IS NULL OR` when no tenant is set",
                ),
                (
                    bool(re.search(r"coalesce\s*\(", expr, re.IGNORECASE)),
                    "uses coalesce(), which can fall back to the row's own value",
                ),
                (
                    "current_setting" in expr and "nullif" not in expr,
                    "reads current_setting without nullif(…, '') (reused connections return '')",
                ),
            )
            if bad
        ]
        out += [
            Finding(
                "I-3",
                name,
                f"{label} ({expr}) {p}",
                f"ALTER POLICY {r['policyname']} ON {r['tbl']} USING ({_POLICY}) "
                f"WITH CHECK ({_POLICY});",
            )
            for p in problems
        ]
    return out


def version_findings(version_num: int) -> list[Finding]:
    major = version_num // 10_000
    if major >= 18 or version_num >= _MIN_VERSION.get(major, 10**9):
        return []
    need = _MIN_VERSION.get(major)
    wanted = f"{need // 10_000}.{need % 100}" if need else "a supported major version (>= 13)"
    return [
        Finding(
            "I-7",
            "server",
            f"PostgreSQL {version_num} predates the CVE-2024-10976 RLS fix for its major version",
            f"upgrade to {wanted} or later",
        )
    ]
