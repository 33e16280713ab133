//! Holds: points reserved for a redemption until they are captured (spent), released, or
//! expire by themselves.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    Active,
    Captured,
    Released,
    Expired,
}

/// What a requested status change does to a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Apply it.
    Apply,
    /// The hold is there already (a retry): change nothing.
    AlreadyDone,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Captured => "captured",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            HoldStatus::Active,
            HoldStatus::Captured,
            HoldStatus::Released,
            HoldStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Only an active hold settles; settling to where a hold already is, is a harmless retry
    /// (a released and an expired hold both count as given back).
    pub fn settle(self, to: HoldStatus) -> Result<Transition, HoldStatus> {
        match (self, to) {
            (HoldStatus::Active, HoldStatus::Active) => Err(self),
            (HoldStatus::Active, _) => Ok(Transition::Apply),
            (HoldStatus::Captured, HoldStatus::Captured) => Ok(Transition::AlreadyDone),
            (
                HoldStatus::Released | HoldStatus::Expired,
                HoldStatus::Released | HoldStatus::Expired,
            ) => Ok(Transition::AlreadyDone),
            (current, _) => Err(current),
        }
    }
}

impl fmt::Display for HoldStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a hold lives if nobody captures or releases it, by default and at most.
pub const DEFAULT_HOLD_SECS: i64 = 15 * 60;
pub const MAX_HOLD_SECS: i64 = 24 * 3600;
/// A redemption is a hold captured at once; this only bounds the moment in between.
pub const REDEMPTION_HOLD_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and {MAX_HOLD_SECS} seconds")]
pub struct HoldTtlError;

/// Seconds until a hold releases itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTtl(i64);

impl HoldTtl {
    pub fn parse(raw: Option<i64>) -> Result<Self, HoldTtlError> {
        let secs = raw.unwrap_or(DEFAULT_HOLD_SECS);
        if (1..=MAX_HOLD_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(HoldTtlError)
        }
    }

    pub fn redemption() -> Self {
        Self(REDEMPTION_HOLD_SECS)
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

/// Why the point service did not hold a redemption's points (`points.hold_refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedemptionRefusal {
    InsufficientPoints { available: i64 },
    TierTooLow { member_tier: String },
    NoAccount,
}

#[cfg(test)]
mod tests {
    use super::*;
    use HoldStatus::*;

    #[test]
    fn only_an_active_hold_settles_and_retries_are_harmless() {
        assert_eq!(Active.settle(Captured), Ok(Transition::Apply));
        assert_eq!(Active.settle(Released), Ok(Transition::Apply));
        assert_eq!(Active.settle(Expired), Ok(Transition::Apply));
        assert_eq!(Captured.settle(Captured), Ok(Transition::AlreadyDone));
        assert_eq!(Released.settle(Released), Ok(Transition::AlreadyDone));
        assert_eq!(Expired.settle(Released), Ok(Transition::AlreadyDone));
        assert_eq!(Captured.settle(Released), Err(Captured));
        assert_eq!(Released.settle(Captured), Err(Released));
        assert_eq!(Expired.settle(Captured), Err(Expired));
    }

    #[test]
    fn statuses_round_trip_and_ttls_are_bounded() {
        for s in [Active, Captured, Released, Expired] {
            assert_eq!(HoldStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            HoldTtl::parse(None).map(HoldTtl::secs),
            Ok(DEFAULT_HOLD_SECS)
        );
        assert!(HoldTtl::parse(Some(0)).is_err());
        assert!(HoldTtl::parse(Some(MAX_HOLD_SECS + 1)).is_err());
    }
}
