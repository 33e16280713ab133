-- Where the customer's browser returns after the bank's challenge (3-D Secure) or the PSP's
-- approval page, for charges whose customer may have to act.
ALTER TABLE charges ADD COLUMN return_url text;
