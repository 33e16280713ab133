-- The Idempotency-Key of the request that created a charge or refund, so a retry that takes over
-- a key whose request died after committing its work (but before recording its response) finds
-- that work instead of doing it again. Unique per caller: a key can never make a second charge
-- or refund. NULL for rows made before this column existed.
ALTER TABLE charges ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX charges_idempotency_key ON charges (created_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE refunds ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX refunds_idempotency_key ON refunds (created_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
