-- When the worker next asks the PSP about a checkout whose page has expired (first at
-- expires_at, then every minute while the charge still waits; NULL once it is settled). This
-- settles charges whose PSP events were lost, and cancels pages that were abandoned.
ALTER TABLE checkout_sessions ADD COLUMN next_check_at timestamptz;
UPDATE checkout_sessions s SET next_check_at = s.expires_at
  FROM charges c WHERE c.id = s.charge_id AND c.status = 'requires_action';
CREATE INDEX checkout_sessions_next_check ON checkout_sessions (next_check_at)
    WHERE next_check_at IS NOT NULL;
