-- Every program caps what one purchase can earn: without a cap, many bonus rules matching one
-- purchase (or one rule entered with a typo) could hand out any number of points. Programs that
-- had none get 100,000 points, which the program settings can raise or lower but not remove.
UPDATE program SET cap_per_transaction = 100000 WHERE cap_per_transaction IS NULL;
ALTER TABLE program ALTER COLUMN cap_per_transaction SET DEFAULT 100000;
ALTER TABLE program ADD CONSTRAINT program_caps_every_purchase CHECK (cap_per_transaction IS NOT NULL);
