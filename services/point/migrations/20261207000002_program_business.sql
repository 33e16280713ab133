-- The points program belongs to a business, and so does everything it holds. Before businesses
-- there was one program: it, its tiers and earn rules, and every account and transaction are
-- the demo business's (kernel::DEMO_BUSINESS_ID). A constant default is stored once in the
-- catalogue, not written into each row, so the append-only ledger tables are not touched and
-- no balance can change.
--
-- The points ledger is still the demo business's program alone: the default keeps stamping new
-- rows with it, and the service refuses staff and partners of other businesses on every points
-- route. Stamp cards (20261207000001) are the first program every business runs.
ALTER TABLE program            ADD COLUMN business_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001';
ALTER TABLE tiers              ADD COLUMN business_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001';
ALTER TABLE earn_rules         ADD COLUMN business_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001';
ALTER TABLE accounts           ADD COLUMN business_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001';
ALTER TABLE point_transactions ADD COLUMN business_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001';
