-- The search column (tsvector) is never selected: the Data API cannot return it.

-- name: CreateGuest :one
INSERT INTO guests (tenant_id, full_name, email, phone, notes, metadata)
VALUES ((SELECT app.current_tenant_id()), @full_name, sqlc.narg(email), sqlc.narg(phone),
        @notes, @metadata)
RETURNING id, full_name, email, phone, notes, metadata, created_at, updated_at;

-- name: GetGuest :one
SELECT id, full_name, email, phone, notes, metadata, created_at, updated_at
FROM guests WHERE id = @id;

-- name: ListGuests :many
-- Keyset pagination by (full_name, id): pass the last row's values to get the next page.
SELECT id, full_name, email, phone, notes, metadata, created_at, updated_at
FROM guests
WHERE (full_name, id) > (@after_name::text, @after_id::uuid)
ORDER BY full_name, id
LIMIT @page_limit;

-- name: SearchGuests :many
-- Full-text search over name, email and notes (websearch syntax), best matches first.
SELECT id, full_name, email,
       ts_rank(search, websearch_to_tsquery('simple', @query)) AS "rank!"
FROM guests
WHERE search @@ websearch_to_tsquery('simple', @query)
ORDER BY "rank!" DESC, full_name
LIMIT @max_results;

-- name: UpdateGuestContact :one
UPDATE guests
SET email = sqlc.narg(email), phone = sqlc.narg(phone), notes = @notes
WHERE id = @id
RETURNING id, full_name, email, phone, notes, metadata, created_at, updated_at;

-- name: DeleteGuest :execrows
DELETE FROM guests WHERE id = @id;
