-- name: LogActivity :exec
-- Appends to the activity log as the acting user of the transaction.
INSERT INTO activity_log (tenant_id, author_id, action, subject_type, subject_id, details)
VALUES ((SELECT app.current_tenant_id()), (SELECT app.current_user_id()), @action,
        sqlc.narg(subject_type), sqlc.narg(subject_id), @details);

-- name: ListActivityForSubject :many
SELECT * FROM activity_log
WHERE subject_type = @subject_type AND subject_id = @subject_id
ORDER BY created_at DESC, id
LIMIT @max_rows;

-- name: ListRecentActivity :many
-- The newest entries with their authors.
SELECT sqlc.embed(a), sqlc.embed(u)
FROM activity_log a
JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.author_id
ORDER BY a.created_at DESC, a.id
LIMIT @max_rows;
