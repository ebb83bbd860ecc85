-- Every PostgreSQL type the plugin maps, an enum in a non-default schema with labels that
-- are not Python identifiers, and a composite type that needs an override.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA inventory;

CREATE TYPE mood AS ENUM ('op!en', '24h', 'under-repair', 'Under Repair', 'class');
CREATE TYPE inventory.grade AS ENUM ('a+', 'b', 'c-');
CREATE TYPE inventory.dimensions AS (w numeric, h numeric);

CREATE TABLE items (
    id          bigserial PRIMARY KEY,
    uid         uuid NOT NULL DEFAULT gen_random_uuid(),
    small       smallint NOT NULL DEFAULT 0,
    regular     integer,
    big         bigint,
    real_n      real,
    double_n    double precision,
    price       numeric(10, 2) NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    label       text NOT NULL,
    short_label varchar(20),
    code        char(3),
    email       citext,
    born        date,
    opens       time,
    opens_tz    time with time zone,
    seen        timestamp,
    seen_tz     timestamptz NOT NULL DEFAULT now(),
    span        interval,
    blob        bytea,
    doc         json,
    attrs       jsonb NOT NULL DEFAULT '{}',
    extra       jsonb,
    addr        inet,
    net         cidr,
    search      tsvector,
    cost        money,
    mac         macaddr,
    tags        text[] NOT NULL DEFAULT '{}',
    grid        integer[][],
    moods       mood[],
    mood        mood NOT NULL DEFAULT 'op!en',
    size        inventory.dimensions
);
