use super::{check_url, ChargeKind, CreateChargeRequest, NewCharge};
use auth::Principal;
use platform::ApiError;
use serde::Deserialize;
use uuid::Uuid;

/// What a hosted-checkout charge records as its payment method: the customer chooses the card
/// on the PSP's page, and only the PSP knows it.
pub const HOSTED_CHECKOUT_METHOD: &str = "hosted_checkout";

/// What the page shows when the request gives no description.
const DEFAULT_DESCRIPTION: &str = "Payment";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckoutSessionRequest {
    /// Minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    #[serde(default)]
    pub kind: ChargeKind,
    /// Required when a partner opens the page for a member; members pay for themselves.
    pub member_id: Option<Uuid>,
    /// Shown to the customer on the payment page.
    pub description: Option<String>,
    /// Where the customer lands after paying (absolute http(s) URL). `{CHECKOUT_SESSION_ID}` is
    /// replaced with the PSP's session id. Landing there proves nothing: the charge's status
    /// (set by the PSP's webhook) is what counts.
    pub success_url: String,
    /// Where the customer lands on giving up.
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
    pub fn parse(
        request: CreateCheckoutSessionRequest,
        principal: &Principal,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        check_url("success_url", &request.success_url, &mut errors);
        if let Some(url) = &request.cancel_url {
            check_url("cancel_url", url, &mut errors);
        }
        let charge = NewCharge::parse(
            CreateChargeRequest {
                amount: request.amount,
                currency: request.currency,
                payment_method: HOSTED_CHECKOUT_METHOD.to_owned(),
                kind: request.kind,
                member_id: request.member_id,
                description: request.description,
                return_url: None,
            },
            principal,
        );
        let charge = match charge {
            Ok(charge) if errors.is_empty() => charge,
            Ok(_) => return Err(ApiError::Validation(errors)),
            Err(ApiError::Validation(mut charge_errors)) => {
                charge_errors.extend(errors);
                return Err(ApiError::Validation(charge_errors));
            }
            Err(other) => return Err(other),
        };
        Ok(NewCheckout {
            description: charge
                .description
                .clone()
                .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned()),
            charge,
            success_url: request.success_url,
            cancel_url: request.cancel_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::charge::tests::member;

    fn request(success_url: &str) -> CreateCheckoutSessionRequest {
        CreateCheckoutSessionRequest {
            amount: 2500,
            currency: "EUR".into(),
            kind: ChargeKind::Purchase,
            member_id: None,
            description: None,
            success_url: success_url.into(),
            cancel_url: None,
        }
    }

    fn invalid_fields(result: Result<NewCheckout, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn a_member_opens_a_page_for_themself() {
        let principal = member();
        let checkout = NewCheckout::parse(
            request("https://shop.example/done?session={CHECKOUT_SESSION_ID}"),
            &principal,
        )
        .unwrap();
        assert_eq!(checkout.charge.member_id, principal.subject);
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
