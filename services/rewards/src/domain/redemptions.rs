//! A redemption's states and the rules of moving between them.
//!
//! ```text
//! pending --points.held--> issued --code used--> used
//!    |                        \--member cancels (window open, unused)--> cancelled
//!    \--points.hold_refused--> failed (stock returned)
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionStatus {
    /// Stock is set aside; the point service is asked to hold the points.
    Pending,
    /// The points are held (and being captured); the code is the member's.
    Issued,
    Used,
    Cancelled,
    Failed,
}

impl RedemptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionStatus::Pending => "pending",
            RedemptionStatus::Issued => "issued",
            RedemptionStatus::Used => "used",
            RedemptionStatus::Cancelled => "cancelled",
            RedemptionStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Issued,
            Self::Used,
            Self::Cancelled,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Whether the saga has finished its forward steps (the API's wait ends here).
    pub fn is_settled(self) -> bool {
        self != RedemptionStatus::Pending
    }

    /// Whether `to` may follow `self`.
    pub fn can_become(self, to: RedemptionStatus) -> bool {
        use RedemptionStatus::*;
        matches!(
            (self, to),
            (Pending, Issued) | (Pending, Failed) | (Issued, Used) | (Issued, Cancelled)
        )
    }
}

/// Why the point service refused to hold a redemption's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldRefusal {
    InsufficientPoints {
        needed: i64,
        available: i64,
    },
    TierTooLow {
        member_tier: String,
        needed_tier: String,
    },
    /// The member has no points account at the reward's business.
    NoAccount,
    Other(String),
}

impl HoldRefusal {
    /// From `points.hold_refused`.
    pub fn from_event(
        reason: &str,
        needed: i64,
        available: i64,
        member_tier: &str,
        needed_tier: &str,
    ) -> Self {
        match reason {
            "insufficient_points" => HoldRefusal::InsufficientPoints { needed, available },
            "tier_too_low" => HoldRefusal::TierTooLow {
                member_tier: member_tier.to_owned(),
                needed_tier: needed_tier.to_owned(),
            },
            "no_account" => HoldRefusal::NoAccount,
            other => HoldRefusal::Other(other.to_owned()),
        }
    }

    /// The stored reason (a stable word).
    pub fn reason(&self) -> &str {
        match self {
            HoldRefusal::InsufficientPoints { .. } => "insufficient_points",
            HoldRefusal::TierTooLow { .. } => "tier_too_low",
            HoldRefusal::NoAccount => "no_account",
            HoldRefusal::Other(reason) => reason,
        }
    }

    /// What the member reads.
    pub fn detail(&self) -> String {
        match self {
            HoldRefusal::InsufficientPoints { needed, available } => format!(
                "not enough points: the reward costs {needed}, you have {available} available, {} short",
                needed.saturating_sub(*available)
            ),
            HoldRefusal::TierTooLow {
                member_tier,
                needed_tier,
            } => format!("the reward needs tier {needed_tier} or higher; you are {member_tier}"),
            HoldRefusal::NoAccount => {
                "you have no points account with this business".to_owned()
            }
            HoldRefusal::Other(reason) => format!("the points could not be held: {reason}"),
        }
    }
}

/// Why a member may not cancel a redemption now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelRefusal {
    NotIssued(RedemptionStatus),
    WindowClosed(Option<DateTime<Utc>>),
}

/// A member cancels an issued, unused redemption before its cancel window closes.
pub fn check_cancel(
    status: RedemptionStatus,
    cancel_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), CancelRefusal> {
    if status != RedemptionStatus::Issued {
        return Err(CancelRefusal::NotIssued(status));
    }
    match cancel_until {
        Some(until) if now < until => Ok(()),
        other => Err(CancelRefusal::WindowClosed(other)),
    }
}

/// Why a code cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseRefusal {
    AlreadyUsed {
        at: DateTime<Utc>,
        store: Option<uuid::Uuid>,
    },
    Expired(DateTime<Utc>),
    Cancelled,
    /// Still pending or failed: there is no code to use yet.
    NotIssued,
}

/// A code is used once, before it expires, and only while issued.
pub fn check_use(
    status: RedemptionStatus,
    used_at: Option<DateTime<Utc>>,
    used_store: Option<uuid::Uuid>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), UseRefusal> {
    match status {
        RedemptionStatus::Used => Err(UseRefusal::AlreadyUsed {
            at: used_at.unwrap_or(now),
            store: used_store,
        }),
        RedemptionStatus::Cancelled => Err(UseRefusal::Cancelled),
        RedemptionStatus::Pending | RedemptionStatus::Failed => Err(UseRefusal::NotIssued),
        RedemptionStatus::Issued => match expires_at {
            Some(expiry) if now >= expiry => Err(UseRefusal::Expired(expiry)),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RedemptionStatus::*;

    #[test]
    fn statuses_round_trip_and_only_the_saga_s_moves_are_allowed() {
        for status in [Pending, Issued, Used, Cancelled, Failed] {
            assert_eq!(RedemptionStatus::parse(status.as_str()), Some(status));
        }
        assert!(Pending.can_become(Issued) && Pending.can_become(Failed));
        assert!(Issued.can_become(Used) && Issued.can_become(Cancelled));
        for (from, to) in [
            (Pending, Used),
            (Pending, Cancelled),
            (Failed, Issued),
            (Used, Cancelled),
            (Cancelled, Issued),
            (Issued, Failed),
            (Used, Used),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?}");
        }
        assert!(!Pending.is_settled() && Issued.is_settled() && Failed.is_settled());
    }

    #[test]
    fn refusals_name_the_shortfall_and_the_tier() {
        let short = HoldRefusal::from_event("insufficient_points", 1200, 800, "", "");
        assert_eq!(short.reason(), "insufficient_points");
        assert!(short.detail().contains("400 short"), "{}", short.detail());
        let tier = HoldRefusal::from_event("tier_too_low", 10, 0, "SILVER", "GOLD");
        assert!(tier.detail().contains("GOLD") && tier.detail().contains("SILVER"));
        assert_eq!(
            HoldRefusal::from_event("something_new", 1, 0, "", "").reason(),
            "something_new"
        );
    }

    #[test]
    fn cancelling_needs_an_issued_redemption_and_an_open_window() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(5);
        assert_eq!(check_cancel(Issued, Some(later), now), Ok(()));
        assert_eq!(
            check_cancel(Issued, Some(now), now),
            Err(CancelRefusal::WindowClosed(Some(now)))
        );
        assert_eq!(
            check_cancel(Issued, None, now),
            Err(CancelRefusal::WindowClosed(None)),
            "no window: never cancellable"
        );
        assert_eq!(
            check_cancel(Used, Some(later), now),
            Err(CancelRefusal::NotIssued(Used))
        );
    }

    #[test]
    fn a_code_is_used_once_before_it_expires() {
        let now = Utc::now();
        let later = now + chrono::Duration::days(1);
        assert_eq!(check_use(Issued, None, None, Some(later), now), Ok(()));
        assert_eq!(
            check_use(Issued, None, None, Some(now), now),
            Err(UseRefusal::Expired(now))
        );
        let store = uuid::Uuid::now_v7();
        assert_eq!(
            check_use(Used, Some(now), Some(store), Some(later), now),
            Err(UseRefusal::AlreadyUsed {
                at: now,
                store: Some(store)
            })
        );
        assert_eq!(
            check_use(Cancelled, None, None, Some(later), now),
            Err(UseRefusal::Cancelled)
        );
        assert_eq!(
            check_use(Pending, None, None, None, now),
            Err(UseRefusal::NotIssued)
        );
    }
}
