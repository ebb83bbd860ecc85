-- name: CreateRoom :one
INSERT INTO rooms (tenant_id, property_id, number, room_type, capacity, nightly_rate, status)
VALUES ((SELECT app.current_tenant_id()), @property_id, @number, @room_type, @capacity,
        @nightly_rate, @status)
RETURNING *;

-- name: GetRoom :one
SELECT * FROM rooms WHERE id = @id;

-- name: ListRoomsByProperty :many
SELECT * FROM rooms WHERE property_id = @property_id ORDER BY number;

-- name: ListRoomsWithProperty :many
-- Every room with its property, as nested Structs (sqlc.embed).
SELECT sqlc.embed(r), sqlc.embed(p)
FROM rooms r
JOIN properties p ON p.tenant_id = r.tenant_id AND p.id = r.property_id
ORDER BY p.code, r.number;

-- name: SetRoomStatus :exec
UPDATE rooms SET status = @status WHERE id = @id;

-- name: CountRoomsByStatus :many
SELECT status, count(*) AS "rooms!" FROM rooms GROUP BY status ORDER BY status;

-- name: DeleteRoom :execrows
DELETE FROM rooms WHERE id = @id;
