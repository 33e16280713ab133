-- Members who sign in with an OpenID Connect provider (Google, Apple): the provider's issuer and
-- its stable id for the member (`sub`), tied to the account the first sign-in found or created.
-- A later sign-in finds the account by this pair, even if the address at the provider changed.
-- Erasure deletes the member's rows.
CREATE TABLE external_identities (
    issuer      text        NOT NULL,
    subject     text        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);
