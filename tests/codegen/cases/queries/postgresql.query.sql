-- name: In :many
SELECT id FROM users WHERE id IN (@a::bigint, @b::bigint) ORDER BY id;

-- name: Import :exec
INSERT INTO users (id, name) VALUES ($1, $2);

-- name: List :many
SELECT id, name FROM bar ORDER BY id;

-- name: Models :one
SELECT id, uuid, datetime, list, models, status FROM bar WHERE id = $1;

-- name: AddBar :exec
INSERT INTO bar (id, name, uuid, datetime, list, models, status)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: DeleteBarByIDAndName :execrows
DELETE FROM bar WHERE id = $1 AND name = $2;

-- name: ListHTTPRequests :many
SELECT id, status FROM bar ORDER BY id;

-- name: UsersAndBazUsers :many
SELECT sqlc.embed(users), sqlc.embed(bu) FROM users JOIN baz.users bu ON bu.id = users.id;

-- name: AddBazUser :exec
INSERT INTO baz.users (id, name) VALUES ($1, $2);

-- name: JoinStar :many
SELECT * FROM users JOIN tags ON tags.id = users.id ORDER BY users.id;

-- name: AddTag :exec
INSERT INTO tags (id, name) VALUES ($1, $2);

-- name: TwoCoalesce :one
SELECT coalesce(name, 'x'), coalesce(name, 'y') FROM users WHERE id = $1;

-- name: GetUserIDName :one
SELECT id, name FROM users WHERE id = $1;

-- name: AddPlace :exec
INSERT INTO places (id, during, days, attrs, path, email, at) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: GetPlace :one
SELECT id, during, days, attrs, path, email, at FROM places WHERE id = $1;

-- name: GetPlaceNoPoint :one
SELECT id, during, days, attrs, path, email FROM places WHERE id = $1;

-- name: CopyUsers :copyfrom
INSERT INTO users (name, id) VALUES (sqlc.arg('name_param'), sqlc.arg('id_param'));

-- name: Lock :one
SELECT pg_advisory_xact_lock(@key::bigint);

-- name: CountUsers :one
SELECT count(*) AS "n!" FROM users;

-- name: ListUserNames :many
SELECT * FROM user_names ORDER BY id;

-- name: Query :one
SELECT id, name AS int, name AS "Any" FROM users WHERE id = $1;
