use super::InputError;
use chrono::{DateTime, Utc};
use kernel::money::{Currency, Money};
use kernel::text::TextRule;
use uuid::Uuid;

/// Money taken off a member's card (an ATM or cash withdrawal reported by the card processor).
#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub id: Uuid,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The fields of a withdrawal report, as received.
#[derive(Debug, Clone)]
pub struct WithdrawalInput {
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
}

/// A withdrawal report that passed every rule.
#[derive(Debug, Clone)]
pub struct NewWithdrawal {
    pub member_id: Uuid,
    pub amount: Money,
    /// The card processor's reference.
    pub reference: Option<String>,
}

const REFERENCE_RULE: TextRule = TextRule::line(200);

impl NewWithdrawal {
    pub fn parse(input: WithdrawalInput) -> Result<Self, InputError> {
        let currency =
            Currency::parse(&input.currency).map_err(|e| InputError::field("currency", e))?;
        let amount =
            Money::positive(input.amount, currency).map_err(|e| InputError::field("amount", e))?;
        let reference = REFERENCE_RULE
            .parse_optional(input.reference.as_deref())
            .map_err(|e| InputError::field("reference", e.to_string()))?;
        Ok(Self {
            member_id: input.member_id,
            amount,
            reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(amount: i64, reference: Option<&str>) -> WithdrawalInput {
        WithdrawalInput {
            member_id: Uuid::new_v4(),
            amount,
            currency: "AUD".into(),
            reference: reference.map(str::to_owned),
        }
    }

    #[test]
    fn amounts_are_positive_and_bounded_and_references_plain_text() {
        assert!(NewWithdrawal::parse(input(500, Some(" atm-1 "))).is_ok());
        for bad in [input(0, None), input(i64::MIN, None), input(i64::MAX, None)] {
            match NewWithdrawal::parse(bad) {
                Err(InputError::Invalid(problems)) => assert_eq!(problems[0].field, "amount"),
                other => panic!("expected an invalid amount, got {other:?}"),
            }
        }
        assert!(NewWithdrawal::parse(input(500, Some("atm\0"))).is_err());
        assert!(NewWithdrawal::parse(input(500, Some(&"r".repeat(201)))).is_err());
    }
}
