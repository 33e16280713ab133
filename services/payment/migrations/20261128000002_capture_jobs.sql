-- Capturing a payment the payer approved on the PSP's page (PayPal's approval flow) is PSP work
-- like any other: retried with backoff, dead-lettered when it runs out of attempts.
ALTER TABLE payment_jobs DROP CONSTRAINT payment_jobs_kind_check;
ALTER TABLE payment_jobs ADD CONSTRAINT payment_jobs_kind_check
    CHECK (kind IN ('authorize', 'refund', 'capture'));
