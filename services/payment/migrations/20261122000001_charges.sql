CREATE TABLE charges (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL,
    -- Who asked for it: `user:<id>` for a member in the app, `partner:<id>` for a merchant backend.
    created_by      text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('purchase', 'load')),
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    payment_method  text        NOT NULL,
    description     text,
    status          text        NOT NULL
                                CHECK (status IN ('created', 'processing', 'requires_action', 'succeeded', 'failed', 'canceled')),
    psp             text        NOT NULL,
    psp_reference   text,
    failure_code    text,
    failure_message text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charges_member ON charges (member_id, created_at DESC);
CREATE INDEX charges_processing ON charges (updated_at) WHERE status = 'processing';

-- Every status change of a charge, with when and why; never updated.
CREATE TABLE charge_transitions (
    id          bigserial   PRIMARY KEY,
    charge_id   uuid        NOT NULL REFERENCES charges (id),
    from_status text,
    to_status   text        NOT NULL,
    cause       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charge_transitions_charge ON charge_transitions (charge_id, id);
