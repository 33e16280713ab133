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

/// What a scope lets a partner client do, for the API's documentation.
pub fn description(scope: &str) -> &'static str {
    match scope {
        POINTS_EARN => "Earn points for members (purchases, orders)",
        POINTS_READ => "Read members' balances and history",
        POINTS_REDEEM => "Redeem members' points",
        STAMPS_ISSUE => "Issue and void stamps at a store of the client's business",
        ORDERS_WRITE => "Report completed orders",
        PAYMENTS_WRITE => "Create charges, refunds and checkout sessions; record withdrawals",
        PAYMENTS_READ => "Read charges and refunds",
        REWARDS_READ => "Read the reward catalog",
        REWARDS_FULFIL => "Use (fulfil) redemption codes of the client's business",
        MEMBERS_READ => "Identify and read members",
        SETTLEMENTS_WRITE => "Upload the card processor's settlement files",
        RECONCILE => "Reconcile events across services (internal)",
        _ => "",
    }
}

pub fn is_known(scope: &str) -> bool {
    ALL.contains(&scope)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_scope_is_described() {
        for scope in super::ALL {
            assert!(!super::description(scope).is_empty(), "{scope}");
        }
    }
}
