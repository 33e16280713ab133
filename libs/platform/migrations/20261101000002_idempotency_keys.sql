-- Idempotency keys of retryable writes (see platform::idempotency), in every service's schema.
-- IF NOT EXISTS: schemas created before this table was a migration already have it.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
