-- Guests (with full-text search) and bookings (status enum, money, dates, soft delete).

CREATE TABLE guests (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    full_name  text        NOT NULL CHECK (full_name <> ''),
    email      citext,
    phone      text,
    notes      text        NOT NULL DEFAULT '',
    metadata   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- STORED: PostgreSQL 18 defaults generated columns to VIRTUAL, which cannot be indexed.
    search     tsvector    GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig,
                    full_name || ' ' || coalesce(email::text, '') || ' ' || notes)
    ) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT guests_tenant_email_key UNIQUE (tenant_id, email)
);
-- `@@` is not LEAKPROOF, so under RLS it can never be an index condition; a plain GIN index
-- on `search` would be useless to the tenant role. btree_gin lets tenant_id lead the GIN
-- index, so a search costs the size of the tenant, not of the table (RLS.md §3.3).
CREATE INDEX guests_tenant_search_idx ON guests USING gin (tenant_id, search);
ALTER TABLE guests ENABLE ROW LEVEL SECURITY;
ALTER TABLE guests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON guests AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE TRIGGER guests_touch_updated_at BEFORE UPDATE ON guests
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
GRANT SELECT, INSERT, UPDATE, DELETE ON guests TO app_tenant;

CREATE TYPE booking_status AS ENUM ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled');

CREATE TABLE bookings (
    tenant_id    uuid           NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid           NOT NULL DEFAULT gen_random_uuid(),
    reference    text           NOT NULL CHECK (reference <> ''),
    property_id  uuid           NOT NULL,
    room_id      uuid           NOT NULL,
    guest_id     uuid           NOT NULL,
    created_by   uuid,
    status       booking_status NOT NULL DEFAULT 'pending',
    check_in     date           NOT NULL,
    check_out    date           NOT NULL,
    guests_count integer        NOT NULL DEFAULT 1 CHECK (guests_count BETWEEN 1 AND 20),
    total_amount numeric(10,2)  NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
    currency     char(3)        NOT NULL DEFAULT 'EUR',
    metadata     jsonb          NOT NULL DEFAULT '{}'::jsonb,
    deleted_at   timestamptz,
    created_at   timestamptz    NOT NULL DEFAULT now(),
    updated_at   timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT bookings_tenant_reference_key UNIQUE (tenant_id, reference),
    CONSTRAINT bookings_dates_check CHECK (check_out > check_in),
    CONSTRAINT bookings_property_fkey FOREIGN KEY (tenant_id, property_id)
        REFERENCES properties (tenant_id, id),
    CONSTRAINT bookings_room_fkey FOREIGN KEY (tenant_id, property_id, room_id)
        REFERENCES rooms (tenant_id, property_id, id),
    CONSTRAINT bookings_guest_fkey FOREIGN KEY (tenant_id, guest_id)
        REFERENCES guests (tenant_id, id),
    CONSTRAINT bookings_created_by_fkey FOREIGN KEY (tenant_id, created_by)
        REFERENCES users (tenant_id, id)
);
CREATE INDEX bookings_tenant_check_in_idx ON bookings (tenant_id, check_in);
CREATE INDEX bookings_tenant_guest_idx ON bookings (tenant_id, guest_id);
CREATE INDEX bookings_tenant_room_check_in_idx ON bookings (tenant_id, room_id, check_in);
CREATE INDEX bookings_tenant_status_idx ON bookings (tenant_id, status) WHERE deleted_at IS NULL;
ALTER TABLE bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bookings AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE TRIGGER bookings_touch_updated_at BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
GRANT SELECT, INSERT, UPDATE, DELETE ON bookings TO app_tenant;
