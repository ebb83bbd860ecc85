-- A later migration: sqlc must follow ALTER/RENAME to the final shape.
CREATE TABLE inventory.stock_levels (
    item_id  bigint NOT NULL REFERENCES items (id),
    sku_code text NOT NULL,
    qty      integer NOT NULL DEFAULT 0,
    old_col  text
);
ALTER TABLE inventory.stock_levels RENAME TO stock;
ALTER TABLE inventory.stock RENAME COLUMN qty TO quantity;
ALTER TABLE inventory.stock DROP COLUMN old_col;
ALTER TABLE inventory.stock ADD COLUMN grade inventory.grade NOT NULL DEFAULT 'b';
ALTER TABLE inventory.stock ADD COLUMN note text;
ALTER TYPE mood ADD VALUE 'later';
