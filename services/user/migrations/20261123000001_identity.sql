-- Email and phone are encrypted at rest (AES-256-GCM, key from configuration) and found by a
-- keyed hash (HMAC-SHA256 of the normalised value), so a database dump alone reveals neither.
-- Rows written before this migration keep their plaintext until the service starts and
-- encrypts them (startup::encrypt_legacy_rows), which then clears the plaintext columns.
ALTER TABLE users
    ALTER COLUMN email DROP NOT NULL,
    ADD COLUMN email_hash       bytea,
    ADD COLUMN email_ciphertext bytea,
    ADD COLUMN phone_hash       bytea,
    ADD COLUMN phone_ciphertext bytea,
    ADD COLUMN phone_verified_at timestamptz,
    -- Marketing consent as a record: granted or withdrawn, and when.
    ADD COLUMN marketing_consent boolean NOT NULL DEFAULT false,
    ADD COLUMN marketing_consent_updated_at timestamptz,
    ADD COLUMN created_by       uuid,
    ADD COLUMN erased_at        timestamptz;
UPDATE users SET marketing_consent = true, marketing_consent_updated_at = marketing_consent_at
 WHERE marketing_consent_at IS NOT NULL;
ALTER TABLE users DROP COLUMN marketing_consent_at;
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_hash_key ON users (email_hash);
CREATE INDEX users_phone_hash ON users (phone_hash);

-- Refresh-token rotation: a used token points at its successor. Presenting a used or revoked
-- token again means it was stolen or replayed, and revokes its whole family.
ALTER TABLE refresh_tokens
    ADD COLUMN used_at     timestamptz,
    ADD COLUMN revoke_reason text;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- One-time codes for email/phone verification and password resets, stored as keyed hashes.
CREATE TABLE one_time_codes (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text        NOT NULL CHECK (purpose IN ('verify_email', 'verify_phone', 'password_reset')),
    code_hash    bytea       NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    consumed_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose);

-- Messages waiting for delivery (email or SMS). A row holds the recipient and text only until
-- the delivery worker has handed it over; then it is deleted.
CREATE TABLE outbound_messages (
    id           uuid        PRIMARY KEY,
    channel      text        NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient    text        NOT NULL,
    subject      text        NOT NULL,
    body         text        NOT NULL,
    user_id      uuid        REFERENCES users (id) ON DELETE CASCADE,
    attempts     integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_messages_due ON outbound_messages (next_attempt_at);

-- Partner clients (POS systems, shops) and their secret keys. A client has fixed scopes; a key
-- is stored as a SHA-256 digest (keys are 256-bit random, so a slow hash adds nothing), shown
-- once, and can be rotated with an overlap during which old and new both work.
CREATE TABLE partner_clients (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    scopes      text[]      NOT NULL,
    created_by  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE partner_client_secrets (
    id          uuid        PRIMARY KEY,
    client_id   uuid        NOT NULL REFERENCES partner_clients (id) ON DELETE CASCADE,
    secret_hash text        NOT NULL UNIQUE,
    -- The first characters of the key, for telling keys apart in the dashboard.
    hint        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when a rotation supersedes the key: it keeps working until then.
    expires_at  timestamptz
);
CREATE INDEX partner_client_secrets_client ON partner_client_secrets (client_id);

-- Key rotation: a new key is published before it signs (`not_before`), so every verifier has
-- it cached by then; the key it replaces stays published until `retired_at`, after the last
-- token it signed has expired.
ALTER TABLE signing_keys ADD COLUMN not_before timestamptz NOT NULL DEFAULT now();
