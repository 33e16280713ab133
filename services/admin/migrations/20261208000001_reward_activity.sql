-- Redemptions per reward and day, per business (issue: rewards): the back office's top rewards
-- and redemptions per day, projected from reward.redeemed, reward.used and reward.cancelled.
CREATE TABLE reward_activity (
    business_id uuid   NOT NULL,
    reward_id   uuid   NOT NULL,
    day         date   NOT NULL,
    -- The reward's name as of its latest redemption ('' until one is seen).
    reward_name text   NOT NULL DEFAULT '',
    redeemed    bigint NOT NULL DEFAULT 0,
    used        bigint NOT NULL DEFAULT 0,
    cancelled   bigint NOT NULL DEFAULT 0,
    points      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, day, reward_id)
);
