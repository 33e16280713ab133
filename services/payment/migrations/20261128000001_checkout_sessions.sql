-- Hosted payment pages at a PSP, one per charge. The charge waits in requires_action until the
-- PSP's webhook says the customer paid (or the session expired).
CREATE TABLE checkout_sessions (
    charge_id       uuid        PRIMARY KEY REFERENCES charges (id),
    psp             text        NOT NULL,
    psp_session_id  text        NOT NULL,
    url             text        NOT NULL,
    success_url     text        NOT NULL,
    cancel_url      text,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (psp, psp_session_id)
);
