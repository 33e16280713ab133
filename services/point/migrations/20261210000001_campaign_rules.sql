-- Earn rules that a bonus-window campaign of the rewards service owns (campaign.bonus_window_changed).
-- `campaign_revision` is the revision of the event a version was made from: an event whose
-- revision is not above every version's is a redelivery or arrived out of order, and changes
-- nothing. Staff rules have neither column; staff may not change a campaign's rules.
ALTER TABLE earn_rules
    ADD COLUMN campaign_id       uuid,
    ADD COLUMN campaign_revision bigint,
    ADD CONSTRAINT earn_rules_campaign_revision CHECK ((campaign_id IS NULL) = (campaign_revision IS NULL));

-- One live rule per campaign: two events of one campaign applied at once cannot both add one
-- (the second fails and is retried, and then sees the first).
CREATE UNIQUE INDEX earn_rules_live_campaign ON earn_rules (campaign_id) WHERE retired_at IS NULL;
