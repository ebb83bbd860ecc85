-- name: CountTags :one
SELECT count(*) FROM tags;
