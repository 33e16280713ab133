-- The durable job queue, refunds, PSP webhooks and withdrawals.

ALTER TABLE charges
    ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0,
    -- Where the customer completes a 3-D Secure challenge while the charge requires action.
    ADD COLUMN next_action_url text,
    ADD CONSTRAINT charges_refund_within_amount CHECK (amount_refunded >= 0 AND amount_refunded <= amount);
CREATE INDEX charges_created_by ON charges (created_by, created_at DESC);
CREATE INDEX charges_psp_reference ON charges (psp, psp_reference);

-- Work for the PSP. The API runs a job's first attempt itself (so a member gets an answer at
-- once when the PSP is fine); what fails transiently waits here for the worker, with backoff.
-- A job out of attempts is `dead`: admins see it and can retry it.
CREATE TABLE payment_jobs (
    id             uuid        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('authorize', 'refund')),
    charge_id      uuid        NOT NULL REFERENCES charges (id),
    refund_id      uuid,
    status         text        NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts       integer     NOT NULL DEFAULT 0,
    max_attempts   integer     NOT NULL,
    -- Set once a request may have reached the PSP: from then on a retry must first ask the PSP
    -- what happened, never blindly send again.
    psp_contacted  boolean     NOT NULL DEFAULT false,
    run_at         timestamptz NOT NULL DEFAULT now(),
    locked_until   timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_jobs_due ON payment_jobs (run_at) WHERE status IN ('queued', 'running');
CREATE INDEX payment_jobs_dead ON payment_jobs (updated_at DESC) WHERE status = 'dead';

CREATE TABLE refunds (
    id             uuid        PRIMARY KEY,
    charge_id      uuid        NOT NULL REFERENCES charges (id),
    amount         bigint      NOT NULL CHECK (amount > 0),
    currency       text        NOT NULL,
    reason         text,
    status         text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    psp_reference  text,
    failure_reason text,
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_charge ON refunds (charge_id, created_at);

-- PSP events already handled: a replayed event id is acknowledged and ignored.
CREATE TABLE webhook_events (
    psp          text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (psp, event_id)
);

-- Money taken off a member's card (seed 000): recorded and published, it disqualifies campaigns.
CREATE TABLE withdrawals (
    id           uuid        PRIMARY KEY,
    member_id    uuid        NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    currency     text        NOT NULL,
    reference    text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX withdrawals_member ON withdrawals (member_id, created_at DESC);
