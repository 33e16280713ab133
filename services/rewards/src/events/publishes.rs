//! What the rewards service publishes.

use events::topics;

/// Redemptions will publish `reward.redeemed`; it is listed now so the topic exists.
pub const PUBLISHES: &[&str] = &[topics::REWARD_REDEEMED];
