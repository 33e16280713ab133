-- Goal campaigns (seed 000): "load $1,000 onto your card within 30 days, get 2,000 points".
-- A campaign is defined by a business's admins; a member's enrolment runs the seed's state
-- machine; the loads and withdrawals it counts are kept as facts, so totals are always derived
-- from them and events arriving out of order give the same result.
CREATE TABLE campaigns (
    id                  uuid        PRIMARY KEY,
    business_id         uuid        NOT NULL,
    kind                text        NOT NULL CHECK (kind IN ('load_goal')),
    name                text        NOT NULL,
    description         text        NULL,
    target_amount       bigint      NOT NULL CHECK (target_amount > 0),
    currency            text        NOT NULL,
    window_seconds      bigint      NOT NULL CHECK (window_seconds > 0),
    grace_seconds       bigint      NOT NULL CHECK (grace_seconds >= 0),
    reward_points       bigint      NOT NULL CHECK (reward_points > 0),
    eligibility         text        NOT NULL CHECK (eligibility IN ('all_members', 'new_members')),
    enrolment           text        NOT NULL CHECK (enrolment IN ('opt_in', 'automatic')),
    enrol_from          timestamptz NOT NULL,
    enrol_until         timestamptz NOT NULL CHECK (enrol_until > enrol_from),
    -- draft until published; ended early when ended_at is before enrol_until.
    published_at        timestamptz NULL,
    ended_at            timestamptz NULL,
    created_by          text        NOT NULL,
    idempotency_key     text        NOT NULL,
    request_fingerprint text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (created_by, idempotency_key)
);
CREATE INDEX campaigns_by_business ON campaigns (business_id, enrol_from DESC, id);

-- Members the service has seen register (for `new_members` eligibility and automatic enrolment).
CREATE TABLE campaign_members (
    member_id     uuid        PRIMARY KEY,
    business_id   uuid        NOT NULL,
    registered_at timestamptz NOT NULL
);

-- A member in a campaign: the seed's state machine.
CREATE TABLE campaign_enrolments (
    id                  uuid        PRIMARY KEY,
    campaign_id         uuid        NOT NULL REFERENCES campaigns (id),
    business_id         uuid        NOT NULL,
    member_id           uuid        NOT NULL,
    state               text        NOT NULL CHECK (state IN ('enrolled', 'active', 'goal_achieved',
        'confirming', 'pending_reward', 'completed', 'disqualified')),
    disqualified_reason text        NULL,
    enrolled_at         timestamptz NOT NULL,
    window_ends_at      timestamptz NOT NULL,
    grace_ends_at       timestamptz NOT NULL,
    -- When the window-ending notice was sent (once).
    window_notice_sent_at timestamptz NULL,
    -- Reward requests in the current round of retries, and in all (each request is its own event).
    reward_attempts     integer     NOT NULL DEFAULT 0,
    reward_requests     integer     NOT NULL DEFAULT 0,
    reward_paid_at      timestamptz NULL,
    reward_transaction_id text      NULL,
    -- The next time the timer has something to do for this enrolment; NULL: nothing.
    next_due_at         timestamptz NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, member_id)
);
CREATE INDEX campaign_enrolments_due ON campaign_enrolments (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX campaign_enrolments_by_member ON campaign_enrolments (member_id);
CREATE INDEX campaign_enrolments_by_campaign ON campaign_enrolments (campaign_id, id);

-- Every transition, with its cause; never updated.
CREATE TABLE campaign_transitions (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrolment_id  uuid        NOT NULL REFERENCES campaign_enrolments (id) ON DELETE CASCADE,
    from_state    text        NULL,
    to_state      text        NOT NULL,
    cause         text        NOT NULL,
    detail        text        NULL,
    actor         text        NULL,
    occurred_at   timestamptz NOT NULL
);
CREATE INDEX campaign_transitions_by_enrolment ON campaign_transitions (enrolment_id, id);

-- Money loaded onto a member's card: seen instantly (charge.succeeded, kind load), settled by a
-- settlement file, or both. Counted once whatever the order.
CREATE TABLE member_loads (
    business_id         uuid        NOT NULL,
    transaction_id      text        NOT NULL,
    member_id           uuid        NOT NULL,
    amount              bigint      NOT NULL CHECK (amount > 0),
    currency            text        NOT NULL,
    transacted_at       timestamptz NOT NULL,
    instant_seen_at     timestamptz NULL,
    settled_on          date        NULL,
    settlement_file_id  uuid        NULL,
    channel             text        NOT NULL,
    PRIMARY KEY (business_id, transaction_id)
);
CREATE INDEX member_loads_by_member ON member_loads (member_id, transacted_at);

-- Money taken off a member's card (withdrawal.recorded).
CREATE TABLE member_withdrawals (
    business_id    uuid        NOT NULL,
    withdrawal_id  text        NOT NULL,
    member_id      uuid        NOT NULL,
    amount         bigint      NOT NULL,
    currency       text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (business_id, withdrawal_id)
);
CREATE INDEX member_withdrawals_by_member ON member_withdrawals (member_id, occurred_at);

-- Settlement files, once each (by content hash), with the report of their ingestion.
CREATE TABLE settlement_files (
    id           uuid        PRIMARY KEY,
    business_id  uuid        NOT NULL,
    sha256       text        NOT NULL,
    name         text        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('upload', 'directory')),
    received_by  text        NOT NULL,
    report       jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, sha256)
);
