-- name: CreateTenant :one
-- Registers a tenant (admin lane: the tenant role may not insert tenants).
INSERT INTO tenants (slug, name, settings)
VALUES (@slug, @name, @settings)
RETURNING *;

-- name: GetTenant :one
-- On the tenant lane RLS shows only the current tenant's own row.
SELECT * FROM tenants WHERE id = @id;

-- name: GetTenantBySlug :one
SELECT * FROM tenants WHERE slug = @slug;

-- name: ListTenants :many
-- Every tenant, by slug (admin lane; a tenant sees only itself).
SELECT * FROM tenants ORDER BY slug;

-- name: RenameTenant :execrows
UPDATE tenants SET name = @name WHERE id = @id;

-- name: MergeTenantSettings :one
-- Shallow-merges a JSON object into the settings document.
UPDATE tenants SET settings = settings || @patch::jsonb WHERE id = @id
RETURNING id, settings;

-- name: DeleteTenant :execrows
DELETE FROM tenants WHERE id = @id;
