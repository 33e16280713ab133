use super::{check_url, ChargeInput, ChargeKind, InputError, NewCharge, Payer};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a hosted-checkout charge records as its payment method: the customer chooses the card
/// on the PSP's page, and only the PSP knows it.
pub const HOSTED_CHECKOUT_METHOD: &str = "hosted_checkout";

/// What the page shows when the request gives no description.
const DEFAULT_DESCRIPTION: &str = "Payment";

/// The fields of a checkout request, as received.
#[derive(Debug, Clone)]
pub struct CheckoutInput {
    pub amount: i64,
    pub currency: String,
    pub kind: ChargeKind,
    pub member_id: Option<Uuid>,
    pub description: Option<String>,
    pub success_url: String,
    pub cancel_url: Option<String>,
}

/// A checkout request that passed every rule.
#[derive(Debug, Clone)]
pub struct NewCheckout {
    pub charge: NewCharge,
    pub description: String,
    pub success_url: String,
    pub cancel_url: Option<String>,
}

impl NewCheckout {
    /// The same rules as any charge (who may pay for whom, amount, currency), plus the URLs.
    pub fn parse(input: CheckoutInput, payer: &Payer) -> Result<Self, InputError> {
        let mut problems = Vec::new();
        check_url("success_url", &input.success_url, &mut problems);
        if let Some(url) = &input.cancel_url {
            check_url("cancel_url", url, &mut problems);
        }
        let charge = NewCharge::parse(
            ChargeInput {
                amount: input.amount,
                currency: input.currency,
                payment_method: HOSTED_CHECKOUT_METHOD.to_owned(),
                kind: input.kind,
                member_id: input.member_id,
                description: input.description,
                return_url: None,
            },
            payer,
        );
        let charge = match charge {
            Ok(charge) if problems.is_empty() => charge,
            Ok(_) => return Err(InputError::Invalid(problems)),
            Err(InputError::Invalid(mut charge_problems)) => {
                charge_problems.extend(problems);
                return Err(InputError::Invalid(charge_problems));
            }
            Err(other) => return Err(other),
        };
        Ok(NewCheckout {
            description: charge
                .description
                .clone()
                .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned()),
            charge,
            success_url: input.success_url,
            cancel_url: input.cancel_url,
        })
    }
}

/// A hosted payment page at a PSP, one per charge.
#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub charge_id: Uuid,
    pub psp: String,
    pub psp_session_id: String,
    pub url: String,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::charge::tests::member;

    fn request(success_url: &str) -> CheckoutInput {
        CheckoutInput {
            amount: 2500,
            currency: "EUR".into(),
            kind: ChargeKind::Purchase,
            member_id: None,
            description: None,
            success_url: success_url.into(),
            cancel_url: None,
        }
    }

    fn invalid_fields(result: Result<NewCheckout, InputError>) -> Vec<String> {
        match result {
            Err(InputError::Invalid(problems)) => problems.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn a_member_opens_a_page_for_themself() {
        let payer = member();
        let checkout = NewCheckout::parse(
            request("https://shop.example/done?session={CHECKOUT_SESSION_ID}"),
            &payer,
        )
        .unwrap();
        assert_eq!(Payer::Member(checkout.charge.member_id), payer);
        assert_eq!(checkout.charge.payment_method, HOSTED_CHECKOUT_METHOD);
        assert_eq!(checkout.description, "Payment");
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for bad in [
            "/done",
            "javascript:alert(1)",
            "ftp://shop.example/",
            "https://shop example/",
        ] {
            assert_eq!(
                invalid_fields(NewCheckout::parse(request(bad), &member())),
                ["success_url"],
                "{bad}"
            );
        }
    }

    #[test]
    fn url_and_amount_errors_are_reported_together() {
        let mut bad = request("nope");
        bad.amount = 0;
        let fields = invalid_fields(NewCheckout::parse(bad, &member()));
        assert!(
            fields.contains(&"amount".to_owned()) && fields.contains(&"success_url".to_owned())
        );
    }
}
