-- Core of the hospitality example: extensions, the RLS helper functions, tenants and users.
--
-- Roles (created by the DBA, see docs/schema.md): app_owner owns every object created here
-- (the migration runner runs each file under SET LOCAL ROLE app_owner), app_admin bypasses
-- RLS, app_tenant gets DML grants only. Every tenant table has ENABLE + FORCE row level
-- security and one FOR ALL policy on tenant_id = (SELECT app.current_tenant_id()).

-- Trusted extensions: the database owner may create them without superuser.
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

-- Helper functions live in their own schema; app_tenant may use it but never create in it.
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO app_tenant;
GRANT USAGE ON SCHEMA public TO app_tenant;

-- The tenant of the current transaction, NULL when unset. After any earlier transaction on
-- a pooled connection set it, current_setting returns '' (never NULL again), hence nullif.
-- STABLE, never IMMUTABLE: an IMMUTABLE helper is constant-folded into cached plans and
-- hands one tenant's rows to the next (RLS.md §2.13). A malformed value fails the ::uuid
-- cast (SQLSTATE 22P02): fail closed.
CREATE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT nullif(pg_catalog.current_setting('app.current_tenant_id', true), '')::uuid $$;

-- The acting user of the current transaction (app.current_user_id), NULL when unset.
CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT nullif(pg_catalog.current_setting('app.current_user_id', true), '')::uuid $$;

REVOKE ALL ON FUNCTION app.current_tenant_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_tenant_id() TO app_tenant;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO app_tenant;

-- Keeps the audit columns honest: updated_at is the time of the last change and created_at
-- cannot be rewritten. SECURITY INVOKER (runs with the caller's rights, so it is subject to
-- RLS like the statement that fired it) with a pinned search_path.
CREATE FUNCTION app.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    NEW.created_at := OLD.created_at;
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app.touch_updated_at() FROM PUBLIC;

-- The tenant registry. It has no tenant_id column: it is protected on id, so a tenant sees
-- (and may rename, or change the settings of) only its own row. Creating and deleting
-- tenants, and changing slugs, is admin work.
CREATE TABLE tenants (
    id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    slug       citext      NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name       text        NOT NULL CHECK (name <> ''),
    settings   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants AS PERMISSIVE FOR ALL TO app_tenant
    USING (id = (SELECT app.current_tenant_id()))
    WITH CHECK (id = (SELECT app.current_tenant_id()));
CREATE TRIGGER tenants_touch_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
-- Column-level UPDATE: the slug is globally unique, so letting a tenant change it would
-- reveal (by a unique violation) which slugs other tenants use.
GRANT SELECT, UPDATE (name, settings) ON tenants TO app_tenant;

CREATE TYPE user_role AS ENUM ('owner', 'manager', 'front-desk', 'housekeeping');

CREATE TABLE users (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    email        citext      NOT NULL CHECK (email LIKE '%_@_%'),
    display_name text        NOT NULL CHECK (display_name <> ''),
    role         user_role   NOT NULL DEFAULT 'front-desk',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- Tenant-scoped: a global UNIQUE (email) would tell tenant A that B has that address.
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email)
);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO app_tenant;
