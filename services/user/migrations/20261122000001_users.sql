CREATE TABLE users (
    id              uuid        PRIMARY KEY,
    -- Lower-cased; uniqueness is enforced here so two sign-ups can't race past a check.
    email           text        NOT NULL,
    password_hash   text        NOT NULL,
    first_name      text        NOT NULL,
    last_name       text        NOT NULL,
    phone_number    text,
    role            text        NOT NULL DEFAULT 'customer'
                                CHECK (role IN ('customer', 'support', 'admin', 'super_admin')),
    email_verified_at timestamptz,
    marketing_consent_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Ed25519 keys access tokens are signed with. The newest unretired key signs; retired keys stay
-- published in the JWKS for a day so tokens they signed keep verifying.
CREATE TABLE signing_keys (
    kid         text        PRIMARY KEY,
    private_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- Refresh tokens, stored as SHA-256 digests. A family is one login; rotating a token keeps the
-- family, and reusing a rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid        NOT NULL,
    token_hash  text        NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
