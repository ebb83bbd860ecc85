-- Back to 0004's plain table, with every row (run as the admin role: BYPASSRLS for the copy).
ALTER TABLE activity_log RENAME TO activity_log_partitioned;
ALTER INDEX activity_log_pkey RENAME TO activity_log_partitioned_pkey;
ALTER INDEX activity_log_tenant_subject_idx RENAME TO activity_log_partitioned_subject_idx;
CREATE TABLE activity_log (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    author_id    uuid        NOT NULL,
    action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]*$'),
    subject_type text,
    subject_id   uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT activity_log_author_fkey FOREIGN KEY (tenant_id, author_id)
        REFERENCES users (tenant_id, id)
);
CREATE INDEX activity_log_tenant_created_at_idx ON activity_log (tenant_id, created_at);
CREATE INDEX activity_log_tenant_subject_idx ON activity_log (tenant_id, subject_type, subject_id);
ALTER TABLE activity_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE activity_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON activity_log AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY author_is_current_user ON activity_log AS RESTRICTIVE FOR INSERT TO app_tenant
    WITH CHECK (author_id = (SELECT app.current_user_id()));
GRANT SELECT, INSERT ON activity_log TO app_tenant;
RESET ROLE;
INSERT INTO activity_log SELECT * FROM activity_log_partitioned;
DROP TABLE activity_log_partitioned;
DROP FUNCTION app.create_activity_log_partitions(date, integer);
DROP FUNCTION app.secure_activity_log_partition(regclass);
