-- The reconciler reads charges by when they succeeded, newest first.
CREATE INDEX charge_transitions_succeeded ON charge_transitions (created_at DESC, charge_id DESC)
    WHERE to_status = 'succeeded';
