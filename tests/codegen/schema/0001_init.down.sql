DROP TABLE items;
DROP TYPE inventory.dimensions;
DROP TYPE inventory.grade;
DROP TYPE mood;
DROP SCHEMA inventory;
