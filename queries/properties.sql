-- name: CreateProperty :one
INSERT INTO properties (tenant_id, code, name, city, country, timezone)
VALUES ((SELECT app.current_tenant_id()), @code, @name, @city, sqlc.narg(country), @timezone)
RETURNING *;

-- name: GetProperty :one
SELECT * FROM properties WHERE id = @id;

-- name: ListProperties :many
SELECT * FROM properties ORDER BY code;

-- name: UpdateProperty :one
-- Renames and relocates a property; a NULL country clears it.
UPDATE properties
SET name = @name, city = @city, country = sqlc.narg(country)
WHERE id = @id
RETURNING *;

-- name: SetPropertyMetadataKey :one
-- Sets one top-level key of the metadata document (jsonb_set).
UPDATE properties
SET metadata = jsonb_set(metadata, ARRAY[@key::text], @value::jsonb, true)
WHERE id = @id
RETURNING id, metadata;

-- name: GetPropertyMetadataKey :one
-- One key of the metadata document; NULL when absent.
SELECT id, metadata -> @key::text AS "value?" FROM properties WHERE id = @id;

-- name: DeleteProperty :execrows
DELETE FROM properties WHERE id = @id;
