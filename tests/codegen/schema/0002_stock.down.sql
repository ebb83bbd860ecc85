DROP TABLE inventory.stock;
