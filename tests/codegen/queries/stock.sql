-- name: StockWithItem :many
-- Embeds: the item always exists; the stock row comes from a LEFT JOIN.
-- @nullable-embed stock
SELECT sqlc.embed(i), sqlc.embed(s), s.quantity AS qty
FROM items i LEFT JOIN inventory.stock s ON s.item_id = i.id
ORDER BY i.id;

-- name: InsertStock :exec
-- A schema-qualified enum and a renamed column (sku_code -> sku by the rename option).
INSERT INTO inventory.stock (item_id, sku_code, quantity, grade, note)
VALUES (@item_id, @sku_code, @quantity, @grade, @note);

-- name: FindStock :many
-- Seven and more parameters.
SELECT item_id, quantity FROM inventory.stock
WHERE item_id = @item_id AND sku_code = @sku_code AND quantity
  BETWEEN sqlc.arg(min_q) AND sqlc.arg(max_q)
  AND grade = @grade AND note = @note
  AND quantity <> @a::int AND quantity <> @b::int AND quantity <> @c::int;

-- name: StockByGrade :many
SELECT item_id, sku_code, grade, note FROM inventory.stock
WHERE grade = sqlc.arg(grade) AND quantity > sqlc.narg(min_quantity)::int;

-- name: ItemSizes :many
SELECT id, size FROM items;

-- name: StockWithItemUnmarked :many
-- The same LEFT JOIN without @nullable-embed: an item without stock is an error naming the
-- embed, never a Struct of NULLs.
SELECT sqlc.embed(i), sqlc.embed(s)
FROM items i LEFT JOIN inventory.stock s ON s.item_id = i.id
ORDER BY i.id;
