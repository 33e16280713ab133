-- Running totals kept on the account by every earn, so neither a balance read nor an earn scans a
-- member's history.
--
-- Qualifying spend over the rolling 12 months: `spend_12m` is that sum for any moment before
-- `spend_valid_until` (when the oldest purchase in the window leaves it); NULL means unknown (a
-- refund changed a purchase, or an account that predates this column), and the next read
-- recomputes it. `spend_version` counts the changes,
-- so a read that recomputed it stores the result only if no earn changed it meanwhile.
ALTER TABLE accounts
    ADD COLUMN spend_12m         bigint      NOT NULL DEFAULT 0,
    ADD COLUMN spend_valid_until timestamptz,
    ADD COLUMN spend_version     bigint      NOT NULL DEFAULT 0,
    -- Points earned on `earned_day` (UTC), for the daily cap.
    ADD COLUMN earned_today      bigint      NOT NULL DEFAULT 0,
    ADD COLUMN earned_day        date;
-- A new account has no purchases: its spend is 0 for ever, until one comes.
ALTER TABLE accounts ALTER COLUMN spend_valid_until SET DEFAULT 'infinity';

UPDATE accounts a SET earned_today = t.earned, earned_day = (now() AT TIME ZONE 'UTC')::date
  FROM (SELECT member_id, sum(points) AS earned FROM point_transactions
         WHERE kind IN ('earn', 'earn_pending')
           AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
         GROUP BY member_id) t
 WHERE a.member_id = t.member_id;

-- The program's settings, tiers, earn rules and return windows are cached by every point
-- service process; a change notifies them all on `program_<schema>` when it commits.
CREATE OR REPLACE FUNCTION program_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('program_' || TG_TABLE_SCHEMA, TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER program_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON program
    FOR EACH STATEMENT EXECUTE FUNCTION program_notify();
CREATE TRIGGER program_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tiers
    FOR EACH STATEMENT EXECUTE FUNCTION program_notify();
CREATE TRIGGER program_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON earn_rules
    FOR EACH STATEMENT EXECUTE FUNCTION program_notify();
CREATE TRIGGER program_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON source_settings
    FOR EACH STATEMENT EXECUTE FUNCTION program_notify();

-- One earn per (source, reference), whether its points were pending or active: the earn's
-- insert finds a repeat by this index instead of a lookup before it.
CREATE UNIQUE INDEX point_transactions_one_earn ON point_transactions (source, reference_id)
    WHERE kind IN ('earn', 'earn_pending');
