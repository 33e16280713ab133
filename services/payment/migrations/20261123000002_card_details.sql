-- Charges paid with card data sent server to server: only the PSP's token (in payment_method)
-- and what a receipt shows are kept. The card number never reaches the database.
ALTER TABLE charges
    ADD COLUMN card_brand text,
    ADD COLUMN card_last4 text CHECK (card_last4 ~ '^[0-9]{4}$');
