-- activity_log becomes a partitioned table: one range partition per month of created_at
-- (docs/scale.md, "Partitioning"). The parent keeps the columns, checks, keys and policies of
-- 0004; the primary key gains created_at (a partitioned table's unique keys must contain
-- the partition key) and stays tenant-leading.
--
-- RLS is applied through the parent: a query on activity_log uses the parent's policies,
-- whatever partitions it reads. A partition named directly would use its own (none by
-- default), so every partition gets RLS enabled and forced, the same policies, and no grant
-- to the tenant role at all (app.create_activity_log_partitions does it; tenantdb doctor
-- checks it). Rows outside the created months land in activity_log_default.
--
-- Operations: SELECT app.create_activity_log_partitions(now()::date, 12) monthly (as the
-- admin role) keeps a year of partitions ahead; retention detaches and drops old months:
--   ALTER TABLE activity_log DETACH PARTITION activity_log_2025_01;
--   DROP TABLE activity_log_2025_01;   -- or archive it first (pg_dump -t)
-- (not CONCURRENTLY: PostgreSQL refuses it while a default partition exists).

ALTER TABLE activity_log RENAME TO activity_log_unpartitioned;
ALTER INDEX activity_log_pkey RENAME TO activity_log_unpartitioned_pkey;
ALTER INDEX activity_log_tenant_created_at_idx RENAME TO activity_log_unpartitioned_created_idx;
ALTER INDEX activity_log_tenant_subject_idx RENAME TO activity_log_unpartitioned_subject_idx;

CREATE TABLE activity_log (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    author_id    uuid        NOT NULL,
    action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]*$'),
    subject_type text,
    subject_id   uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, created_at, id),
    CONSTRAINT activity_log_author_fkey FOREIGN KEY (tenant_id, author_id)
        REFERENCES users (tenant_id, id)
) PARTITION BY RANGE (created_at);
CREATE INDEX activity_log_tenant_subject_idx ON activity_log (tenant_id, subject_type, subject_id);
ALTER TABLE activity_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE activity_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON activity_log AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY author_is_current_user ON activity_log AS RESTRICTIVE FOR INSERT TO app_tenant
    WITH CHECK (author_id = (SELECT app.current_user_id()));
GRANT SELECT, INSERT ON activity_log TO app_tenant;

-- One partition with the parent's RLS (enabled, forced, same policies) and no grants; owned
-- by the parent's owner whoever calls (the admin role is a member of the owner role).
CREATE FUNCTION app.secure_activity_log_partition(part regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE %s OWNER TO %I', part,
                   (SELECT c.relowner::regrole::text FROM pg_class c
                    WHERE c.oid = 'public.activity_log'::regclass));
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, app_tenant', part);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s AS PERMISSIVE FOR ALL TO app_tenant'
                   ' USING (tenant_id = (SELECT app.current_tenant_id()))'
                   ' WITH CHECK (tenant_id = (SELECT app.current_tenant_id()))', part);
    EXECUTE format('CREATE POLICY author_is_current_user ON %s AS RESTRICTIVE FOR INSERT'
                   ' TO app_tenant WITH CHECK (author_id = (SELECT app.current_user_id()))', part);
END
$fn$;

-- The month partitions from first_month's month through months_ahead months after now(),
-- skipping those that exist (and months the default partition already holds rows of).
-- Returns how many it created.
CREATE FUNCTION app.create_activity_log_partitions(first_month date, months_ahead integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    month date := date_trunc('month', first_month)::date;
    last  date := (date_trunc('month', now()) + make_interval(months => months_ahead))::date;
    part  text;
    made  integer := 0;
BEGIN
    IF to_regclass('public.activity_log_default') IS NULL THEN
        CREATE TABLE public.activity_log_default PARTITION OF public.activity_log DEFAULT;
        PERFORM app.secure_activity_log_partition('public.activity_log_default');
    END IF;
    WHILE month <= last LOOP
        part := 'activity_log_' || to_char(month, 'YYYY_MM');
        IF to_regclass('public.' || part) IS NULL AND NOT EXISTS (
            SELECT 1 FROM public.activity_log_default
            WHERE created_at >= month AND created_at < month + interval '1 month'
        ) THEN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.activity_log'
                           ' FOR VALUES FROM (%L) TO (%L)',
                           part, month, (month + interval '1 month')::date);
            PERFORM app.secure_activity_log_partition(format('public.%I', part)::regclass);
            made := made + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN made;
END
$fn$;
REVOKE ALL ON FUNCTION app.secure_activity_log_partition(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION app.create_activity_log_partitions(date, integer) FROM PUBLIC;

SELECT app.create_activity_log_partitions((now() - interval '12 months')::date, 12);

-- The rows of 0004's table. The owner role is subject to FORCEd RLS with no policy, so the
-- copy runs as the session's (admin, BYPASSRLS) role.
RESET ROLE;
INSERT INTO activity_log
    (tenant_id, id, author_id, action, subject_type, subject_id, details, created_at)
SELECT tenant_id, id, author_id, action, subject_type, subject_id, details, created_at
FROM activity_log_unpartitioned;
DROP TABLE activity_log_unpartitioned;
