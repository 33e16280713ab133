-- The reconciler's runs and what each found: events a producer published that a consumer never
-- applied. A difference is repaired by asking the producer to publish the event again; one that
-- is still there after a repair is left for a person (the event was dead-lettered, say).
CREATE TABLE reconciliation_runs (
    id            uuid        PRIMARY KEY,
    -- `schedule` or `staff:<user id>`.
    started_by    text        NOT NULL,
    window_from   timestamptz NOT NULL,
    window_to     timestamptz NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    -- Events compared (each against every consumer), differences found, events published again.
    checked       bigint      NOT NULL DEFAULT 0,
    differences   bigint      NOT NULL DEFAULT 0,
    republished   bigint      NOT NULL DEFAULT 0,
    -- Why the run stopped early (a service unreachable), if it did.
    error         text
);
CREATE INDEX reconciliation_runs_recent ON reconciliation_runs (started_at DESC, id DESC);

CREATE TABLE reconciliation_differences (
    run_id        uuid        NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
    -- What was compared: `charge.succeeded -> point`, `charge.succeeded -> admin`.
    pair          text        NOT NULL,
    -- The fact in question (a charge id) and the id of the event that announced it.
    reference_id  text        NOT NULL,
    event_id      uuid        NOT NULL,
    member_id     uuid        NOT NULL,
    -- `republished`, or `needs_attention` when an earlier run already republished it in vain.
    action        text        NOT NULL CHECK (action IN ('republished', 'needs_attention')),
    PRIMARY KEY (run_id, pair, event_id)
);
CREATE INDEX reconciliation_differences_event ON reconciliation_differences (event_id, pair);
