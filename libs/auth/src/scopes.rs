//! The fixed list of scopes a partner client can be granted. A partner token carries exactly the
//! scopes of its client; each service checks the one its endpoint needs.

pub const POINTS_EARN: &str = "points:earn";
pub const POINTS_READ: &str = "points:read";
pub const POINTS_REDEEM: &str = "points:redeem";
/// Issue (and void) stamps at a store of the client's business: a POS system's.
pub const STAMPS_ISSUE: &str = "stamps:issue";
pub const ORDERS_WRITE: &str = "orders:write";
pub const PAYMENTS_WRITE: &str = "payments:write";
pub const PAYMENTS_READ: &str = "payments:read";
pub const REWARDS_READ: &str = "rewards:read";
/// Use (fulfil) redemption codes of the client's business.
pub const REWARDS_FULFIL: &str = "rewards:fulfil";
pub const MEMBERS_READ: &str = "members:read";
/// Upload the card processor's settlement files (goal campaigns count settled loads).
pub const SETTLEMENTS_WRITE: &str = "settlements:write";
/// Reconciliation across services: list what a service published or applied, and ask it to
/// publish again (the admin service's reconciler; see [`crate::internal::RECONCILER`]).
pub const RECONCILE: &str = "reconcile";

pub const ALL: &[&str] = &[
    POINTS_EARN,
    POINTS_READ,
    POINTS_REDEEM,
    STAMPS_ISSUE,
    ORDERS_WRITE,
    PAYMENTS_WRITE,
    PAYMENTS_READ,
    REWARDS_READ,
    REWARDS_FULFIL,
    MEMBERS_READ,
    SETTLEMENTS_WRITE,
    RECONCILE,
];

pub fn is_known(scope: &str) -> bool {
    ALL.contains(&scope)
}
