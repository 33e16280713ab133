-- Staff now hold business- and store-level roles (owner, store_manager, cashier), and the user
-- service announces their accounts with user.registered like any other. The read model's check
-- knew only the four roles before businesses, so such an event failed the insert, and the
-- consumer, taking a database error for a passing one, would have retried it forever and held
-- its partition.
ALTER TABLE member_activity DROP CONSTRAINT member_activity_role_check;
ALTER TABLE member_activity ADD CONSTRAINT member_activity_role_check CHECK (role IN
    ('customer', 'support', 'admin', 'super_admin', 'owner', 'store_manager', 'cashier'));
