-- Properties and their rooms (the "entities" of the product brief).
-- Foreign keys carry tenant_id on both sides, so no row can point at another tenant's row
-- and no cascade can cross tenants (RLS.md §2.8).

CREATE TABLE properties (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    code        text        NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text        NOT NULL CHECK (name <> ''),
    city        text        NOT NULL DEFAULT '',
    country     char(2),
    timezone    text        NOT NULL DEFAULT 'UTC',
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT properties_tenant_code_key UNIQUE (tenant_id, code)
);
ALTER TABLE properties ENABLE ROW LEVEL SECURITY;
ALTER TABLE properties FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON properties AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE TRIGGER properties_touch_updated_at BEFORE UPDATE ON properties
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
GRANT SELECT, INSERT, UPDATE, DELETE ON properties TO app_tenant;

-- Labels with punctuation on purpose: the code generator must turn 'under-repair' into a
-- valid Python identifier while keeping the database label.
CREATE TYPE room_status AS ENUM ('available', 'occupied', 'under-repair', 'out-of-service');

CREATE TABLE rooms (
    tenant_id    uuid          NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid          NOT NULL DEFAULT gen_random_uuid(),
    property_id  uuid          NOT NULL,
    number       text          NOT NULL CHECK (number <> ''),
    room_type    text          NOT NULL DEFAULT 'double',
    capacity     integer       NOT NULL DEFAULT 2 CHECK (capacity BETWEEN 1 AND 20),
    nightly_rate numeric(10,2) NOT NULL CHECK (nightly_rate >= 0),
    status       room_status   NOT NULL DEFAULT 'available',
    created_at   timestamptz   NOT NULL DEFAULT now(),
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT rooms_tenant_property_number_key UNIQUE (tenant_id, property_id, number),
    -- Lets bookings reference (tenant, property, room) so a booking's room always belongs
    -- to the booking's property.
    CONSTRAINT rooms_tenant_property_id_key UNIQUE (tenant_id, property_id, id),
    CONSTRAINT rooms_property_fkey FOREIGN KEY (tenant_id, property_id)
        REFERENCES properties (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE rooms ENABLE ROW LEVEL SECURITY;
ALTER TABLE rooms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rooms AS PERMISSIVE FOR ALL TO app_tenant
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE TRIGGER rooms_touch_updated_at BEFORE UPDATE ON rooms
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
GRANT SELECT, INSERT, UPDATE, DELETE ON rooms TO app_tenant;
