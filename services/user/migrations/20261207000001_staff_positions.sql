-- Businesses (seed 001). A staff account works for one business: at business level (owner,
-- admin, support) or at some of its stores (store_manager, cashier). Super admins operate the
-- platform and belong to no business; members belong to none either (they hold a card at every
-- business they join, kept by the point service).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN
    ('customer', 'support', 'admin', 'super_admin', 'owner', 'store_manager', 'cashier'));

CREATE TABLE staff_positions (
    user_id      uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    business_id  uuid        NOT NULL,
    -- The stores of a store-level role; empty for business-level roles.
    store_ids    uuid[]      NOT NULL DEFAULT '{}',
    granted_by   uuid,
    granted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_positions_business ON staff_positions (business_id);

-- The staff that predate businesses ran the one program, which is now the demo business's.
INSERT INTO staff_positions (user_id, business_id)
SELECT id, '00000000-0000-7000-8000-000000000001' FROM users WHERE role IN ('admin', 'support');

-- A partner client acts inside one business; the clients that predate businesses (and the
-- platform's internal clients) act in the demo business.
ALTER TABLE partner_clients ADD COLUMN business_id uuid;
UPDATE partner_clients SET business_id = '00000000-0000-7000-8000-000000000001';
ALTER TABLE partner_clients ALTER COLUMN business_id SET NOT NULL;
CREATE INDEX partner_clients_business ON partner_clients (business_id);
