-- A read model of each member's activity, projected from other services' events. Events arrive
-- in any order (a points.earned may come before the member's user.registered), so every write is
-- an upsert that commutes with the others: counters are increments, `last_event_at` only moves
-- forward, and `role`/`registered_at` are set by user.registered alone. Whatever the order, the
-- row ends the same. The consumer's inbox drops redelivered events, so each increment happens once.
CREATE TABLE member_activity (
    member_id            uuid        PRIMARY KEY,
    -- NULL until the member's user.registered has been seen.
    role                 text        CHECK (role IN ('customer', 'support', 'admin', 'super_admin')),
    registered_at        timestamptz,
    points_earned_total  bigint      NOT NULL DEFAULT 0,
    points_events        integer     NOT NULL DEFAULT 0,
    charges_succeeded    integer     NOT NULL DEFAULT 0,
    -- When the latest event about the member happened (the envelope's occurred_at).
    last_event_at        timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Money paid in successful charges, per currency: amounts in different currencies never add up.
CREATE TABLE member_charge_volume (
    member_id     uuid   NOT NULL REFERENCES member_activity (member_id),
    currency      text   NOT NULL,
    amount_total  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, currency)
);
