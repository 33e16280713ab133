-- The reward catalog (seed 003): what members can spend points on.
CREATE TABLE catalog_items (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL,
    description  text,
    points_cost  bigint      NOT NULL CHECK (points_cost > 0),
    -- Units left to redeem; NULL = unlimited.
    inventory    integer     NULL CHECK (inventory IS NULL OR inventory >= 0),
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The catalog as members browse it: active items, cheapest first.
CREATE INDEX catalog_items_active_by_cost ON catalog_items (points_cost, id) WHERE active;
