-- Cases from issue 10: SQL shaped like sqlc's end-to-end test data that once broke codegen.
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA baz;
CREATE TYPE status AS ENUM ('op!en', 'clo@sed');
CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE baz.users (id bigint PRIMARY KEY, name text NOT NULL);
-- Same column names and types as users: a query on users must not return models.Tag.
CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);
-- Column names that are also module names generated code uses.
CREATE TABLE bar (
    id bigint PRIMARY KEY, name text NOT NULL, uuid uuid, datetime timestamptz, list text,
    models text, status status
);
-- pg_lsn has no mapping: only a query that uses it is refused; point is asyncpg.Point.
CREATE TABLE places (
    id bigint PRIMARY KEY, spot pg_lsn, at point, during int4range, days daterange, attrs hstore,
    path ltree, email citext
);
-- CREATE TABLE AS copies no NOT NULL: both columns are nullable whatever sqlc says.
CREATE TABLE user_names AS SELECT id, name FROM users;
