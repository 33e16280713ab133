-- A balance read sums the member's qualifying spend of the last 12 months: an index-only range
-- scan of that window, instead of reading every purchase the member ever made.
CREATE INDEX qualifying_spend_window ON qualifying_spend (member_id, occurred_at) INCLUDE (amount_minor);
