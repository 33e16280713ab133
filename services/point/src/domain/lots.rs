//! Lots: the points of one earn, spent and expired oldest first.

/// Where a lot's points are: waiting out a return window, spendable, or taken back by a
/// refund inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotStatus {
    Pending,
    Active,
    Cancelled,
}

impl LotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LotStatus::Pending => "pending",
            LotStatus::Active => "active",
            LotStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [LotStatus::Pending, LotStatus::Active, LotStatus::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// A new lot: pending while its source has a return window, else active at once.
    pub fn new_lot(pending: bool) -> Self {
        if pending {
            LotStatus::Pending
        } else {
            LotStatus::Active
        }
    }

    /// Only pending points move: to active when the window closes, to cancelled when a refund
    /// inside the window empties the lot. Active and cancelled lots never change status.
    pub fn can_become(self, next: LotStatus) -> bool {
        matches!(
            (self, next),
            (LotStatus::Pending, LotStatus::Active | LotStatus::Cancelled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::LotStatus::*;
    use super::*;

    #[test]
    fn only_pending_lots_change_status() {
        assert!(Pending.can_become(Active));
        assert!(Pending.can_become(Cancelled));
        for (from, to) in [
            (Active, Pending),
            (Active, Cancelled),
            (Cancelled, Active),
            (Pending, Pending),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?}");
        }
        for s in [Pending, Active, Cancelled] {
            assert_eq!(LotStatus::parse(s.as_str()), Some(s));
        }
    }
}
