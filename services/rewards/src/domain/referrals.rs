//! Referral campaigns, free of I/O: a referral's states and the rules that move it.
//!
//! ```text
//! CLAIMED ──first qualifying purchase──▶ SETTLING ──stood unrefunded settle_seconds──▶ REWARDING
//!    │ no purchase by purchase_by          │ refunded: back to CLAIMED while            │ both paid
//!    ▼                                     ▼ purchase_by is ahead, else EXPIRED         ▼
//! EXPIRED ◀─────────────────────────────────┘                                       COMPLETED
//!                                            REWARDING ──retries run out──▶ REWARD_FAILED
//!                                            REWARD_FAILED ──admin retry──▶ REWARDING
//! ```
//!
//! Decisions are derived from the stored purchases every time, so a refund that arrives before
//! its charge, or a charge delivered twice, ends the same way as events in order.

use super::campaigns::text_enum;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralState {
    /// The new member claimed the code; their first qualifying purchase is awaited.
    Claimed,
    /// The purchase is made; it must stand unrefunded until `settles_at`.
    Settling,
    /// The purchase settled; the point service is paying both sides.
    Rewarding,
    /// Both sides are paid. Final.
    Completed,
    /// No qualifying purchase in time. Final.
    Expired,
    /// The point service did not confirm the payments after every retry (admins may retry).
    RewardFailed,
}

text_enum!(ReferralState {
    Claimed => "claimed",
    Settling => "settling",
    Rewarding => "rewarding",
    Completed => "completed",
    Expired => "expired",
    RewardFailed => "reward_failed",
});

/// What moved a referral, recorded with each move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralCause {
    Claimed,
    Purchase,
    PurchaseRefunded,
    NoPurchase,
    Settled,
    RewardPaid,
    RewardRetriesExhausted,
    AdminRetry,
}

text_enum!(ReferralCause {
    Claimed => "claimed",
    Purchase => "purchase",
    PurchaseRefunded => "purchase_refunded",
    NoPurchase => "no_purchase",
    Settled => "settled",
    RewardPaid => "reward_paid",
    RewardRetriesExhausted => "reward_retries_exhausted",
    AdminRetry => "admin_retry",
});

impl ReferralState {
    pub fn may_become(self, to: ReferralState) -> bool {
        use ReferralState::*;
        matches!(
            (self, to),
            (Claimed, Settling | Expired)
                | (Settling, Claimed | Expired | Rewarding)
                | (Rewarding, Completed | RewardFailed)
                | (RewardFailed, Rewarding | Completed)
        )
    }
}

/// A purchase by the referee, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseFact {
    pub charge_id: String,
    pub amount: i64,
    pub currency: String,
    pub purchased_at: DateTime<Utc>,
    pub refunded_amount: i64,
}

/// What qualifies: a purchase in the campaign's currency, made after the claim and before
/// `purchase_by`, whose amount less refunds is at least the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qualifying<'a> {
    pub min_amount: i64,
    pub currency: &'a str,
    pub claimed_at: DateTime<Utc>,
    pub purchase_by: DateTime<Utc>,
}

impl Qualifying<'_> {
    pub fn accepts(&self, p: &PurchaseFact) -> bool {
        p.currency == self.currency
            && p.purchased_at >= self.claimed_at
            && p.purchased_at < self.purchase_by
            && p.amount.saturating_sub(p.refunded_amount) >= self.min_amount
    }

    /// The referee's first qualifying purchase (by time, then charge id, so ties are stable).
    pub fn first<'p>(&self, purchases: &'p [PurchaseFact]) -> Option<&'p PurchaseFact> {
        purchases
            .iter()
            .filter(|p| self.accepts(p))
            .min_by(|a, b| (a.purchased_at, &a.charge_id).cmp(&(b.purchased_at, &b.charge_id)))
    }
}

/// Where a referral stands before a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralStanding {
    pub state: ReferralState,
    pub purchase_by: DateTime<Utc>,
    pub settle: Duration,
    /// The purchase it is settling on, if any.
    pub charge_id: Option<String>,
    pub settles_at: Option<DateTime<Utc>>,
}

/// One move, with the purchase the referral now rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralMove {
    pub to: ReferralState,
    pub cause: ReferralCause,
    /// The qualifying purchase and when it settles (while settling and after).
    pub purchase: Option<(String, DateTime<Utc>, DateTime<Utc>)>,
}

/// The moves the purchases and the time call for (rewards and their retries are the caller's).
pub fn decide(
    standing: &ReferralStanding,
    first_qualifying: Option<&PurchaseFact>,
    now: DateTime<Utc>,
) -> Vec<ReferralMove> {
    use ReferralState::*;
    let mut moves = Vec::new();
    let mut state = standing.state;
    let mut resting_on = standing.charge_id.clone();
    let mut settles_at = standing.settles_at;
    let settling = |p: &PurchaseFact| {
        let at = p.purchased_at + standing.settle;
        (p.charge_id.clone(), p.purchased_at, at)
    };
    loop {
        let next = match (state, first_qualifying) {
            (Claimed, Some(p)) => ReferralMove {
                to: Settling,
                cause: ReferralCause::Purchase,
                purchase: Some(settling(p)),
            },
            (Claimed, None) if now >= standing.purchase_by => ReferralMove {
                to: Expired,
                cause: ReferralCause::NoPurchase,
                purchase: None,
            },
            // The purchase it rested on was refunded (or another, earlier one now qualifies).
            (Settling, Some(p)) if resting_on.as_deref() != Some(p.charge_id.as_str()) => {
                ReferralMove {
                    to: Settling,
                    cause: ReferralCause::PurchaseRefunded,
                    purchase: Some(settling(p)),
                }
            }
            (Settling, None) => ReferralMove {
                to: if now >= standing.purchase_by {
                    Expired
                } else {
                    Claimed
                },
                cause: ReferralCause::PurchaseRefunded,
                purchase: None,
            },
            // (The purchase here is the one it rests on: another was handled just above.)
            (Settling, Some(p)) if settles_at.is_some_and(|at| now >= at) => ReferralMove {
                to: Rewarding,
                cause: ReferralCause::Settled,
                purchase: Some(settling(p)),
            },
            _ => break,
        };
        state = next.to;
        resting_on = next.purchase.as_ref().map(|p| p.0.clone());
        settles_at = next.purchase.as_ref().map(|p| p.2);
        moves.push(next);
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::ReferralState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    const WITHIN: i64 = 30 * 86_400;
    const SETTLE: i64 = 48 * 3_600;

    fn standing(state: ReferralState, charge: Option<(&str, i64)>) -> ReferralStanding {
        ReferralStanding {
            state,
            purchase_by: at(WITHIN),
            settle: Duration::seconds(SETTLE),
            charge_id: charge.map(|(c, _)| c.to_owned()),
            settles_at: charge.map(|(_, t)| at(t + SETTLE)),
        }
    }

    fn purchase(id: &str, amount: i64, secs: i64, refunded: i64) -> PurchaseFact {
        PurchaseFact {
            charge_id: id.into(),
            amount,
            currency: "AUD".into(),
            purchased_at: at(secs),
            refunded_amount: refunded,
        }
    }

    fn rule() -> Qualifying<'static> {
        Qualifying {
            min_amount: 2_000,
            currency: "AUD",
            claimed_at: at(0),
            purchase_by: at(WITHIN),
        }
    }

    fn states(moves: &[ReferralMove]) -> Vec<ReferralState> {
        moves.iter().map(|m| m.to).collect()
    }

    #[test]
    fn only_purchases_after_the_claim_in_time_and_above_the_minimum_qualify() {
        let r = rule();
        assert!(r.accepts(&purchase("a", 2_000, 10, 0)));
        assert!(
            !r.accepts(&purchase("b", 1_999, 10, 0)),
            "below the minimum"
        );
        assert!(!r.accepts(&purchase("c", 5_000, -1, 0)), "before the claim");
        assert!(!r.accepts(&purchase("d", 5_000, WITHIN, 0)), "too late");
        assert!(
            !r.accepts(&purchase("e", 5_000, 10, 3_001)),
            "refunded below"
        );
        let mut usd = purchase("f", 5_000, 10, 0);
        usd.currency = "USD".into();
        assert!(!r.accepts(&usd), "another currency");
        let all = [
            purchase("late", 9_000, 50, 0),
            purchase("early", 2_500, 20, 0),
        ];
        assert_eq!(r.first(&all).unwrap().charge_id, "early");
    }

    #[test]
    fn a_purchase_settles_after_the_settle_period_not_a_second_before() {
        let p = purchase("a", 2_000, 100, 0);
        let moves = decide(&standing(Claimed, None), Some(&p), at(101));
        assert_eq!(states(&moves), [Settling]);
        assert_eq!(moves[0].purchase.as_ref().unwrap().2, at(100 + SETTLE));
        let s = standing(Settling, Some(("a", 100)));
        assert!(decide(&s, Some(&p), at(100 + SETTLE - 1)).is_empty());
        assert_eq!(states(&decide(&s, Some(&p), at(100 + SETTLE))), [Rewarding]);
        // A purchase and the whole settle period seen at once go straight through.
        assert_eq!(
            states(&decide(
                &standing(Claimed, None),
                Some(&p),
                at(100 + SETTLE)
            )),
            [Settling, Rewarding]
        );
    }

    #[test]
    fn a_refund_while_settling_waits_for_another_purchase_or_expires() {
        let s = standing(Settling, Some(("a", 100)));
        assert_eq!(states(&decide(&s, None, at(200))), [Claimed]);
        let moves = decide(&s, None, at(WITHIN + 1));
        assert_eq!(states(&moves), [Expired]);
        assert_eq!(moves[0].cause, ReferralCause::PurchaseRefunded);
        // Another qualifying purchase takes over, with its own settle period.
        let other = purchase("b", 3_000, 500, 0);
        let moves = decide(&s, Some(&other), at(600));
        assert_eq!(states(&moves), [Settling]);
        assert_eq!(moves[0].purchase.as_ref().unwrap().0, "b");
    }

    #[test]
    fn no_purchase_by_the_deadline_expires_and_settled_referrals_ignore_refunds() {
        assert!(decide(&standing(Claimed, None), None, at(WITHIN - 1)).is_empty());
        assert_eq!(
            states(&decide(&standing(Claimed, None), None, at(WITHIN))),
            [Expired]
        );
        for state in [Rewarding, Completed, Expired, RewardFailed] {
            assert!(decide(&standing(state, Some(("a", 100))), None, at(1_000)).is_empty());
        }
    }

    #[test]
    fn every_move_decide_makes_is_legal() {
        let p = purchase("a", 2_000, 100, 0);
        for (s, purchase, now) in [
            (standing(Claimed, None), Some(&p), at(100 + SETTLE)),
            (standing(Claimed, None), None, at(WITHIN)),
            (standing(Settling, Some(("a", 100))), None, at(200)),
            (standing(Settling, Some(("a", 100))), None, at(WITHIN)),
        ] {
            let mut from = s.state;
            for m in decide(&s, purchase, now) {
                assert!(
                    from == m.to || from.may_become(m.to),
                    "{from:?} -> {:?}",
                    m.to
                );
                from = m.to;
            }
        }
        assert!(!Completed.may_become(Claimed));
        assert!(!Expired.may_become(Settling));
    }
}
