-- name: CreateBooking :one
-- Books a room for a guest in the current tenant.
INSERT INTO bookings (tenant_id, reference, property_id, room_id, guest_id, created_by, status,
                      check_in, check_out, guests_count, total_amount, currency, metadata)
VALUES ((SELECT app.current_tenant_id()), @reference, @property_id, @room_id, @guest_id,
        (SELECT app.current_user_id()), @status, @check_in, @check_out, @guests_count,
        @total_amount, @currency, @metadata)
RETURNING *;

-- name: GetBooking :one
SELECT * FROM bookings WHERE id = @id AND deleted_at IS NULL;

-- name: ListBookings :many
-- Keyset-paginated bookings by (check_in, id), optionally of one status. For the first
-- page pass after_check_in=None and after_id=None.
SELECT * FROM bookings
WHERE deleted_at IS NULL
  AND (sqlc.narg(status)::booking_status IS NULL OR status = sqlc.narg(status)::booking_status)
  AND (sqlc.narg(after_check_in)::date IS NULL
       OR (check_in, id) > (sqlc.narg(after_check_in)::date, sqlc.narg(after_id)::uuid))
ORDER BY check_in, id
LIMIT @page_limit;

-- name: GetBookingsByIds :many
SELECT * FROM bookings WHERE id = ANY(@ids::uuid[]) AND deleted_at IS NULL ORDER BY check_in, id;

-- name: ListBookingsWithRoom :many
-- Bookings with their room and, when the creator is known, the creating user.
-- @nullable-embed users
SELECT sqlc.embed(b), sqlc.embed(r), g.full_name AS guest_name, sqlc.embed(u)
FROM bookings b
JOIN rooms r ON r.tenant_id = b.tenant_id AND r.id = b.room_id
JOIN guests g ON g.tenant_id = b.tenant_id AND g.id = b.guest_id
LEFT JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.created_by
WHERE b.deleted_at IS NULL
ORDER BY b.check_in, b.id;

-- name: CountBookings :one
SELECT count(*) AS "bookings!" FROM bookings WHERE deleted_at IS NULL;

-- name: SumBookingsByStatus :many
-- Count and revenue per status.
SELECT status, count(*) AS "bookings!", sum(total_amount) AS "total!"
FROM bookings
WHERE deleted_at IS NULL
GROUP BY status
ORDER BY status;

-- name: UpdateBookingStatus :one
UPDATE bookings SET status = @status WHERE id = @id AND deleted_at IS NULL
RETURNING id, status, updated_at;

-- name: UpdateBookingStatuses :batchexec
-- Many status changes, pipelined.
UPDATE bookings SET status = @status WHERE id = @id AND deleted_at IS NULL;

-- name: GetBookingByReference :batchone
SELECT * FROM bookings WHERE reference = @reference AND deleted_at IS NULL;

-- name: ListBookingsForRoom :batchmany
SELECT * FROM bookings WHERE room_id = @room_id AND deleted_at IS NULL ORDER BY check_in;

-- name: MergeBookingMetadata :one
-- Shallow-merges a JSON object into the booking's metadata.
UPDATE bookings SET metadata = metadata || @patch::jsonb WHERE id = @id
RETURNING id, metadata;

-- name: GetBookingMetadataValue :one
-- One metadata key as text (->>), NULL when absent.
SELECT metadata ->> @key::text AS "value?" FROM bookings WHERE id = @id;

-- name: SoftDeleteBooking :execrows
UPDATE bookings SET deleted_at = now() WHERE id = @id AND deleted_at IS NULL;

-- name: RestoreBooking :execrows
UPDATE bookings SET deleted_at = NULL WHERE id = @id AND deleted_at IS NOT NULL;

-- name: ListDeletedBookings :many
SELECT * FROM bookings WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC;

-- name: PurgeDeletedBookings :execresult
-- Hard-deletes bookings soft-deleted before a point in time.
DELETE FROM bookings WHERE deleted_at < @before;

-- name: CopyBookings :copyfrom
-- Bulk insert (COPY on the admin lane; the tenant lane inserts from unnest()).
INSERT INTO bookings (tenant_id, id, reference, property_id, room_id, guest_id, status,
                      check_in, check_out, guests_count, total_amount, currency, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: ListBookingDigests :many
-- Compact rows for dashboards: a booking with its guest's phone, newest last.
SELECT b.id, b.reference, b.total_amount, b.created_at, b.status, b.metadata, g.phone,
       b.guests_count
FROM bookings b
JOIN guests g ON g.tenant_id = b.tenant_id AND g.id = b.guest_id
WHERE b.deleted_at IS NULL
ORDER BY b.created_at, b.id
LIMIT @max_rows;
