-- name: CreateUser :one
-- Adds a user to the current tenant (tenant_id comes from the transaction's context).
INSERT INTO users (tenant_id, email, display_name, role)
VALUES ((SELECT app.current_tenant_id()), @email, @display_name, @role)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
-- Case-insensitive (citext) lookup.
SELECT * FROM users WHERE email = @email;

-- name: ListUsers :many
SELECT * FROM users ORDER BY email;

-- name: UpdateUserRole :execresult
UPDATE users SET role = @role WHERE id = @id;

-- name: DeleteUser :execrows
DELETE FROM users WHERE id = @id;
