-- name: GetItem :one
-- Fetches one item.
--
-- A multi-line comment: the docstring keeps every line,
-- including "quotes" and a backslash \ here.
SELECT * FROM items WHERE id = $1;

-- name: ListItems :many
SELECT id, label, mood, tags FROM items ORDER BY id;

-- name: ItemsByIds :many
SELECT id, label FROM items WHERE id = ANY(@ids::bigint[]) AND mood = ANY(@moods::mood[]);

-- name: ReusedAndOutOfOrder :many
-- $2 comes first in the text and $1 is used twice.
SELECT id FROM items WHERE label = $2 AND (short_label = $1 OR code = $1);

-- name: InsertItem :one
INSERT INTO items (label, short_label, code, email, price, active, mood, attrs, doc, tags, addr, net)
VALUES (@label, sqlc.narg(short_label), sqlc.narg(code), sqlc.narg(email), @price, @active,
        @mood, @attrs, sqlc.narg(doc), @tags, sqlc.narg(addr), sqlc.narg(net))
RETURNING id, uid;

-- name: Totals :one
-- Nullability overrides by alias suffix.
SELECT count(*) AS n, max(price) AS "highest!", min(label) AS "lowest?", sum(regular) AS total
FROM items;

-- name: TouchItem :exec
UPDATE items SET seen_tz = now() WHERE id = @id;

-- name: DeactivateItems :execrows
UPDATE items SET active = false WHERE price < @below;

-- name: DeleteItem :execresult
DELETE FROM items WHERE id = @id;

-- name: CopyItems :copyfrom
INSERT INTO items (label, price, mood, attrs, tags) VALUES ($1, $2, $3, $4, $5);

-- name: SetMoods :batchexec
UPDATE items SET mood = @mood WHERE id = @id;

-- name: ItemByLabel :batchone
SELECT id, label FROM items WHERE label = @label;

-- name: ItemsByMood :batchmany
SELECT id, mood FROM items WHERE mood = @mood;

-- name: JsonPaths :one
SELECT attrs -> 'color' AS color, extra ->> 'k' AS k, doc FROM items WHERE id = @id;
