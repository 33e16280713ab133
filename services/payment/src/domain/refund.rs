use super::{Charge, ChargeStatus, InputError};
use chrono::{DateTime, Utc};
use kernel::text::TextRule;
use std::fmt;
use uuid::Uuid;

/// A refund waits for the PSP (`pending`), then `succeeded` or `failed` for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// Only a pending refund moves, and only to a final state.
    pub fn can_become(&self, next: RefundStatus) -> bool {
        matches!(
            (self, next),
            (
                RefundStatus::Pending,
                RefundStatus::Succeeded | RefundStatus::Failed
            )
        )
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: Uuid,
    pub charge_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: RefundStatus,
    pub psp_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const REASON_RULE: TextRule = TextRule::paragraph(500);

/// A refund request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// `None`: everything not yet refunded.
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

impl NewRefund {
    pub fn parse(amount: Option<i64>, reason: Option<&str>) -> Result<Self, InputError> {
        let reason = REASON_RULE
            .parse_optional(reason)
            .map_err(|e| InputError::field("reason", e.to_string()))?;
        if amount.is_some_and(|a| a <= 0) {
            return Err(InputError::field(
                "amount",
                "must be a positive integer number of minor units",
            ));
        }
        Ok(Self { amount, reason })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("only a succeeded charge can be refunded; this one is {0}")]
    NotRefundable(ChargeStatus),
    #[error("must be a positive integer number of minor units")]
    NotPositive,
    #[error("{remaining} of the charge's {amount} {currency} is left to refund")]
    ExceedsCharge {
        remaining: i64,
        amount: i64,
        currency: String,
    },
}

/// How much a refund of `requested` (everything left when `None`) takes from the charge.
pub fn refund_amount(charge: &Charge, requested: Option<i64>) -> Result<i64, RefundError> {
    if charge.status != ChargeStatus::Succeeded {
        return Err(RefundError::NotRefundable(charge.status));
    }
    let remaining = charge
        .amount
        .checked_sub(charge.amount_refunded)
        .filter(|r| *r >= 0)
        .unwrap_or(0);
    let amount = requested.unwrap_or(remaining);
    if amount <= 0 && requested.is_some() {
        return Err(RefundError::NotPositive);
    }
    if amount > remaining || remaining == 0 {
        return Err(RefundError::ExceedsCharge {
            remaining,
            amount: charge.amount,
            currency: charge.currency.clone(),
        });
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChargeKind;

    fn charge(amount: i64, refunded: i64, status: ChargeStatus) -> Charge {
        let now = Utc::now();
        Charge {
            id: Uuid::now_v7(),
            member_id: Uuid::new_v4(),
            created_by: "partner:x".into(),
            kind: ChargeKind::Purchase,
            amount,
            currency: "AUD".into(),
            payment_method: "pm_card_visa".into(),
            description: None,
            status,
            psp: "stripe".into(),
            psp_reference: Some("pi_1".into()),
            failure_code: None,
            failure_message: None,
            amount_refunded: refunded,
            next_action_url: None,
            card_brand: None,
            card_last4: None,
            return_url: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn refunds_take_at_most_what_is_left() {
        let paid = charge(1_000, 400, ChargeStatus::Succeeded);
        assert_eq!(refund_amount(&paid, None), Ok(600));
        assert_eq!(refund_amount(&paid, Some(600)), Ok(600));
        assert!(matches!(
            refund_amount(&paid, Some(601)),
            Err(RefundError::ExceedsCharge { remaining: 600, .. })
        ));
        assert!(matches!(
            refund_amount(&charge(1_000, 1_000, ChargeStatus::Succeeded), None),
            Err(RefundError::ExceedsCharge { remaining: 0, .. })
        ));
        assert_eq!(
            refund_amount(&charge(1_000, 0, ChargeStatus::Failed), None),
            Err(RefundError::NotRefundable(ChargeStatus::Failed))
        );
    }

    #[test]
    fn extreme_amounts_never_overflow() {
        let odd = charge(i64::MAX, i64::MIN, ChargeStatus::Succeeded);
        assert!(refund_amount(&odd, None).is_err());
        assert!(refund_amount(&odd, Some(i64::MAX)).is_err());
        let paid = charge(1_000, 0, ChargeStatus::Succeeded);
        assert!(refund_amount(&paid, Some(i64::MAX)).is_err());
        assert_eq!(
            NewRefund::parse(Some(i64::MIN), None).map(|_| ()),
            Err(InputError::field(
                "amount",
                "must be a positive integer number of minor units"
            ))
        );
    }

    #[test]
    fn reasons_are_bounded_text_without_nul() {
        assert!(NewRefund::parse(None, Some("broken\0")).is_err());
        assert!(NewRefund::parse(None, Some(&"x".repeat(501))).is_err());
        assert_eq!(NewRefund::parse(None, Some("  ")).unwrap().reason, None);
        assert!(RefundStatus::Pending.can_become(RefundStatus::Failed));
        assert!(!RefundStatus::Succeeded.can_become(RefundStatus::Failed));
    }
}
