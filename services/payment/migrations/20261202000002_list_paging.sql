-- Paged lists, newest first, keyset on (time, id).
DROP INDEX refunds_charge;
CREATE INDEX refunds_charge ON refunds (charge_id, created_at DESC, id DESC);
DROP INDEX withdrawals_member;
CREATE INDEX withdrawals_member ON withdrawals (member_id, created_at DESC, id DESC);
DROP INDEX payment_jobs_dead;
CREATE INDEX payment_jobs_dead ON payment_jobs (updated_at DESC, id DESC) WHERE status = 'dead';
