-- Stamp cards (seed 001): a business runs stamp programs ("buy 9, the 10th is free"), its stores
-- give members stamps, and a full card gives the member the program's reward. Every row carries
-- its business, and the composite foreign keys make a row of one business unable to point at a
-- store, program or card of another.
--
-- Per card, two numbers always agree with the rows beside them:
--   completed_count = the card's rewards with status 'issued';
--   completed_count * stamps_required + stamps + expired_stamps = the stamps of the card's
--   issues not voided.
--
-- Stamp expiry (optional, per program): the stamps on a card lapse together
-- stamp_expiry_days after the card's last stamp, so every visit renews them; rewards already
-- given never lapse. Nothing sweeps cards: reads show a lapsed card empty, and the next issue
-- moves its stamps to expired_stamps before adding its own. A program's void window is shorter
-- than its expiry, so no card lapses between an issue and its void.

-- The stores the point service knows, learnt from `store.created` (the admin service owns the
-- business directory). A store's business never changes.
CREATE TABLE stamp_stores (
    store_id     uuid        PRIMARY KEY,
    business_id  uuid        NOT NULL,
    name         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, store_id)
);

CREATE TABLE stamp_programs (
    id                   uuid        PRIMARY KEY,
    business_id          uuid        NOT NULL,
    name                 text        NOT NULL,
    stamps_required      integer     NOT NULL CHECK (stamps_required BETWEEN 1 AND 100),
    -- What a full card gives, as the business words it.
    reward               text        NOT NULL,
    mode                 text        NOT NULL CHECK (mode IN ('per_purchase', 'per_item')),
    stamp_expiry_days    integer     CHECK (stamp_expiry_days BETWEEN 1 AND 3650),
    -- How long after an issue its store may still void it.
    void_window_minutes  integer     NOT NULL DEFAULT 30 CHECK (void_window_minutes BETWEEN 0 AND 10080),
    active               boolean     NOT NULL DEFAULT true,
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id),
    CHECK (stamp_expiry_days IS NULL OR void_window_minutes < stamp_expiry_days * 1440)
);
CREATE INDEX stamp_programs_business ON stamp_programs (business_id, created_at);

-- A member's card in one program: the stamps on it now and how many times it was filled.
-- Stamps never reach stamps_required: a full card turns into a reward and starts again.
CREATE TABLE stamp_cards (
    business_id      uuid        NOT NULL,
    member_id        uuid        NOT NULL,
    program_id       uuid        NOT NULL,
    stamps           integer     NOT NULL DEFAULT 0 CHECK (stamps >= 0),
    completed_count  integer     NOT NULL DEFAULT 0 CHECK (completed_count >= 0),
    -- Stamps that lapsed before filling a card.
    expired_stamps   integer     NOT NULL DEFAULT 0 CHECK (expired_stamps >= 0),
    -- The newest issue not voided: when the stamps on the card lapse is counted from it.
    last_stamped_at  timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, member_id),
    FOREIGN KEY (business_id, program_id) REFERENCES stamp_programs (business_id, id)
);
CREATE INDEX stamp_cards_member ON stamp_cards (member_id, business_id);

-- Stamps a store gave for one of its transactions: one issue per (store, transaction), however
-- often the till sends it.
CREATE TABLE stamp_issues (
    id              uuid        PRIMARY KEY,
    business_id     uuid        NOT NULL,
    store_id        uuid        NOT NULL,
    member_id       uuid        NOT NULL,
    program_id      uuid        NOT NULL,
    stamps          integer     NOT NULL CHECK (stamps > 0),
    -- The items the request named (per-item programs), kept to tell a replay from a new request.
    items           integer     CHECK (items > 0),
    transaction_id  text        NOT NULL,
    issued_by       text        NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    voided_at       timestamptz,
    voided_by       text,
    UNIQUE (store_id, transaction_id),
    CHECK ((voided_at IS NULL) = (voided_by IS NULL)),
    FOREIGN KEY (business_id, store_id) REFERENCES stamp_stores (business_id, store_id),
    FOREIGN KEY (business_id, program_id) REFERENCES stamp_programs (business_id, id),
    FOREIGN KEY (program_id, member_id) REFERENCES stamp_cards (program_id, member_id)
);
-- A card's last stamp.
CREATE INDEX stamp_issues_card ON stamp_issues (program_id, member_id, issued_at);

-- One row per filled card: the reward is the member's, once.
CREATE TABLE stamp_rewards (
    id               uuid        PRIMARY KEY,
    business_id      uuid        NOT NULL,
    member_id        uuid        NOT NULL,
    program_id       uuid        NOT NULL,
    -- The issue whose stamps filled the card.
    issue_id         uuid        NOT NULL REFERENCES stamp_issues (id),
    status           text        NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'voided')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    voided_at        timestamptz,
    -- The issue whose void took the reward back (its own issue, or an earlier one whose stamps
    -- the card needed to be full).
    voided_by_issue  uuid        REFERENCES stamp_issues (id),
    CHECK ((status = 'voided') = (voided_at IS NOT NULL)),
    FOREIGN KEY (business_id, program_id) REFERENCES stamp_programs (business_id, id),
    FOREIGN KEY (program_id, member_id) REFERENCES stamp_cards (program_id, member_id)
);
CREATE INDEX stamp_rewards_card ON stamp_rewards (program_id, member_id, status, created_at);
CREATE INDEX stamp_rewards_issue ON stamp_rewards (issue_id);
