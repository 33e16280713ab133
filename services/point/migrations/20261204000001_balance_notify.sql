-- Every point service process keeps members' balances in memory; a change to an account
-- notifies them all on `balance_<schema>` with the member's id when it commits. A change of the
-- tiers (their names, ranks and multipliers are part of every balance) sends an empty payload:
-- drop them all. Postgres serialises notifying commits once per transaction; an earn, a
-- redemption or an adjustment notifies the outbox relay already, so this costs them nothing more.
CREATE OR REPLACE FUNCTION balance_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        PERFORM pg_notify('balance_' || TG_TABLE_SCHEMA, NEW.member_id::text);
    ELSE
        PERFORM pg_notify('balance_' || TG_TABLE_SCHEMA, '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER balance_notify AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION balance_notify();
CREATE TRIGGER balance_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tiers
    FOR EACH STATEMENT EXECUTE FUNCTION balance_notify();
