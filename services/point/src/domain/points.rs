//! Numbers of points from outside, bounded so that no sum over a member's history overflows.

/// The largest number of points one request may move: far above any real purchase, low enough
/// that sums over a member's history cannot overflow.
pub const MAX_POINTS: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointsError {
    #[error("must be between 1 and {MAX_POINTS}")]
    OutOfRange,
    #[error("must be non-zero and at most {MAX_POINTS} either way")]
    AdjustmentOutOfRange,
}

/// A positive number of points to earn, hold or redeem: 1 to [`MAX_POINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Points(i64);

impl Points {
    pub fn parse(raw: i64) -> Result<Self, PointsError> {
        if (1..=MAX_POINTS).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(PointsError::OutOfRange)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A staff correction: a credit or a debit of 1 to [`MAX_POINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdjustmentPoints(i64);

impl AdjustmentPoints {
    pub fn parse(raw: i64) -> Result<Self, PointsError> {
        // checked_abs: i64::MIN has no positive counterpart.
        match raw.checked_abs() {
            Some(size) if (1..=MAX_POINTS).contains(&size) => Ok(Self(raw)),
            _ => Err(PointsError::AdjustmentOutOfRange),
        }
    }

    /// Positive to credit, negative to debit.
    pub fn signed(self) -> i64 {
        self.0
    }

    /// How many points a debit takes, or `None` for a credit.
    pub fn debit(self) -> Option<i64> {
        if self.0 < 0 {
            self.0.checked_neg()
        } else {
            None
        }
    }

    /// How many points a credit adds, or `None` for a debit.
    pub fn credit(self) -> Option<i64> {
        (self.0 > 0).then_some(self.0)
    }
}

/// What a member can spend now: active points minus held ones.
pub fn available(balance: i64, held: i64) -> i64 {
    balance.saturating_sub(held)
}

/// What a member in debt (a reversal under the negative-balance policy) owes; later earns repay
/// it first.
pub fn debt(balance: i64) -> i64 {
    if balance < 0 {
        balance.checked_neg().unwrap_or(i64::MAX)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_bounded() {
        assert_eq!(Points::parse(1).map(Points::get), Ok(1));
        assert!(Points::parse(0).is_err());
        assert!(Points::parse(MAX_POINTS + 1).is_err());
        assert!(Points::parse(i64::MIN).is_err());
    }

    #[test]
    fn adjustments_refuse_zero_and_the_extremes() {
        assert_eq!(AdjustmentPoints::parse(-20).unwrap().debit(), Some(20));
        assert_eq!(AdjustmentPoints::parse(50).unwrap().credit(), Some(50));
        assert_eq!(AdjustmentPoints::parse(50).unwrap().debit(), None);
        for bad in [0, i64::MIN, i64::MAX, MAX_POINTS + 1, -MAX_POINTS - 1] {
            assert!(AdjustmentPoints::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debt_never_overflows() {
        assert_eq!(debt(-5), 5);
        assert_eq!(debt(7), 0);
        assert_eq!(debt(i64::MIN), i64::MAX);
        assert_eq!(available(i64::MIN, 1), i64::MIN);
    }
}
