-- The business directory (seed 001): businesses, their brands and their stores. The admin service
-- owns it and announces businesses and stores (business.created, store.created); the other
-- services learn of them from those events.
--
-- Every query of a brand or a store names its business, so each table leads its indexes with
-- business_id: `(business_id, created_at DESC, id DESC)` serves a business's pages newest first,
-- and `(business_id, id)` finds one row inside its business (and is what a composite foreign
-- key needs). No row-level security: the service reaches Postgres as one role, so a policy would
-- rest on a per-transaction setting every query would have to set; the business is in every
-- WHERE clause of storage/directory.rs instead, and the API tests check it.

CREATE TABLE businesses (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- Lower-case letters, digits and inner hyphens, 2 to 63 characters (a DNS label).
    slug        text        NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])$'),
    -- ISO 4217: the currency the business's program counts money in.
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- `user:<id>` of the platform operator who opened it; `migration` for the demo business.
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT businesses_slug_key UNIQUE (slug)
);
CREATE INDEX businesses_recent ON businesses (created_at DESC, id DESC);

CREATE TABLE brands (
    id           uuid        PRIMARY KEY,
    business_id  uuid        NOT NULL REFERENCES businesses (id),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT brands_business_id_id_key UNIQUE (business_id, id)
);
-- A business has one brand of a name, whatever its case.
CREATE UNIQUE INDEX brands_business_name_key ON brands (business_id, lower(name));
CREATE INDEX brands_business_recent ON brands (business_id, created_at DESC, id DESC);

CREATE TABLE stores (
    id           uuid        PRIMARY KEY,
    business_id  uuid        NOT NULL REFERENCES businesses (id),
    -- A brand of the same business, or none: the composite key refuses a brand of another
    -- business (MATCH SIMPLE: a NULL brand_id is not checked).
    brand_id     uuid,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address      text        CHECK (char_length(address) BETWEEN 1 AND 500),
    -- An IANA time zone name (`Australia/Sydney`, `UTC`), checked loosely by its shape.
    timezone     text        NOT NULL CHECK (char_length(timezone) BETWEEN 1 AND 64),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stores_business_id_id_key UNIQUE (business_id, id),
    CONSTRAINT stores_brand_same_business_fkey FOREIGN KEY (business_id, brand_id)
        REFERENCES brands (business_id, id)
);
CREATE INDEX stores_business_recent ON stores (business_id, created_at DESC, id DESC);

-- Everything that existed before businesses (the program, members' points, charges, rewards, the
-- staff and partner clients) belongs to the demo business: kernel::DEMO_BUSINESS_ID.
INSERT INTO businesses (id, name, slug, currency, created_by)
VALUES ('00000000-0000-7000-8000-000000000001', 'Demo Retail', 'demo', 'AUD', 'migration');
