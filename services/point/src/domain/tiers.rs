//! Tiers: reached by rolling 12-month qualifying spend, kept until the period ends.

/// A tier and what it takes to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub code: String,
    pub rank: i32,
    pub multiplier_bp: i32,
    pub min_qualifying_spend: i64,
}

/// The highest tier whose threshold `spend` reaches. `tiers` must hold at least the entry tier.
pub fn qualifying_tier(tiers: &[Tier], spend: i64) -> &Tier {
    tiers
        .iter()
        .filter(|t| spend >= t.min_qualifying_spend)
        .max_by_key(|t| t.rank)
        .or_else(|| tiers.iter().min_by_key(|t| t.rank))
        .expect("the program has tiers")
}

/// The rank of a tier by code (0 for a code the program no longer has).
pub fn rank_of(tiers: &[Tier], code: &str) -> i32 {
    tiers
        .iter()
        .find(|t| t.code == code)
        .map(|t| t.rank)
        .unwrap_or(0)
}

/// The next tier above `rank` and the spend still needed to reach it; `None` at the top.
pub fn next_tier(tiers: &[Tier], rank: i32, spend: i64) -> Option<(&Tier, i64)> {
    tiers
        .iter()
        .filter(|t| t.rank > rank)
        .min_by_key(|t| t.rank)
        .map(|t| (t, t.min_qualifying_spend.saturating_sub(spend).max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers() -> Vec<Tier> {
        [("BRONZE", 1, 0), ("SILVER", 2, 100000), ("GOLD", 3, 500000)]
            .into_iter()
            .map(|(code, rank, min)| Tier {
                code: code.into(),
                rank,
                multiplier_bp: 100,
                min_qualifying_spend: min,
            })
            .collect()
    }

    #[test]
    fn the_highest_reached_tier_qualifies() {
        let tiers = tiers();
        assert_eq!(qualifying_tier(&tiers, 0).code, "BRONZE");
        assert_eq!(qualifying_tier(&tiers, 100000).code, "SILVER");
        assert_eq!(qualifying_tier(&tiers, 9_999_999).code, "GOLD");
    }

    #[test]
    fn next_tier_and_the_spend_it_needs() {
        let tiers = tiers();
        let (next, needed) = next_tier(&tiers, 1, 40000).unwrap();
        assert_eq!((next.code.as_str(), needed), ("SILVER", 60000));
        assert!(next_tier(&tiers, 3, 0).is_none());
        assert_eq!(rank_of(&tiers, "GOLD"), 3);
        assert_eq!(rank_of(&tiers, "GONE"), 0);
    }
}
