use auth::{Principal, PrincipalKind, Role};
use kernel::money::{Currency, Money};
use platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A charge's life: created -> processing -> (requires_action ->) succeeded | failed | canceled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Created,
    Processing,
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
}

impl ChargeStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeStatus::Created => "created",
            ChargeStatus::Processing => "processing",
            ChargeStatus::RequiresAction => "requires_action",
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Failed => "failed",
            ChargeStatus::Canceled => "canceled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Processing,
            Self::RequiresAction,
            Self::Succeeded,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// Whether a charge may move from `self` to `next`. Final states never move (refunds are
    /// separate objects), and nothing moves backwards.
    pub fn can_become(&self, next: ChargeStatus) -> bool {
        use ChargeStatus::*;
        matches!(
            (self, next),
            (Created, Processing | Canceled | Failed)
                | (Processing, RequiresAction | Succeeded | Failed | Canceled)
                | (RequiresAction, Processing | Succeeded | Failed | Canceled)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    /// Paying for something: earns points.
    #[default]
    Purchase,
    /// Loading money onto the member's card (seed 000's load-goal campaign).
    Load,
}

impl ChargeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeKind::Purchase => "purchase",
            ChargeKind::Load => "load",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChargeRequest {
    /// Minor units of `currency`: 12345 is 123.45 AUD.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// A payment method token from client-side tokenisation, e.g. `pm_card_visa`.
    pub payment_method: String,
    #[serde(default)]
    pub kind: ChargeKind,
    /// Required when a partner charges on a member's behalf; members charge themselves.
    pub member_id: Option<Uuid>,
    pub description: Option<String>,
    /// Where the customer's browser comes back to if the card needs the bank's challenge
    /// (3-D Secure): an absolute http(s) URL, usually the page that started the payment.
    pub return_url: Option<String>,
}

/// A charge request that passed every rule.
#[derive(Debug, Clone)]
pub struct NewCharge {
    pub member_id: Uuid,
    pub amount: Money,
    pub kind: ChargeKind,
    pub payment_method: String,
    pub description: Option<String>,
    /// Receipt details of a card sent server to server (the card itself stays with the PSP).
    pub card: Option<CardSummary>,
    /// The PSP that must take the charge (its payment method token is that PSP's): no routing,
    /// no failover.
    pub pinned_psp: Option<&'static str>,
    pub return_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
}

impl NewCharge {
    /// Who may charge whom: a member charges themself; a partner with `payments:write` charges
    /// the member it names; staff accounts do not pay.
    pub fn parse(request: CreateChargeRequest, principal: &Principal) -> Result<Self, ApiError> {
        let member_id = match principal.kind {
            PrincipalKind::User if principal.role == Some(Role::Customer) => {
                match request.member_id {
                    Some(other) if other != principal.subject => {
                        return Err(ApiError::Forbidden(
                            "members can only charge their own account".into(),
                        ))
                    }
                    _ => principal.subject,
                }
            }
            PrincipalKind::Partner if principal.has_scope("payments:write") => {
                request.member_id.ok_or_else(|| {
                    ApiError::validation("member_id", "is required when a partner creates a charge")
                })?
            }
            PrincipalKind::Partner => {
                return Err(ApiError::Forbidden(
                    "this client lacks the payments:write scope".into(),
                ))
            }
            PrincipalKind::User => {
                return Err(ApiError::Forbidden(
                    "staff accounts cannot create charges".into(),
                ))
            }
        };
        let mut errors = Vec::new();
        let currency = Currency::parse(&request.currency)
            .map_err(|e| errors.push(FieldError::new("currency", e)))
            .ok();
        if let Some(currency) = currency {
            if let Err(e) = Money::positive(request.amount, currency) {
                errors.push(FieldError::new("amount", e));
            }
        } else if request.amount <= 0 {
            errors.push(FieldError::new(
                "amount",
                "must be a positive integer number of minor units",
            ));
        }
        let method = request.payment_method.trim();
        let method_ok = (3..=255).contains(&method.len())
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !method_ok {
            errors.push(FieldError::new(
                "payment_method",
                "must be a payment method token such as pm_card_visa",
            ));
        }
        let description = request
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            errors.push(FieldError::new(
                "description",
                "must be at most 500 characters",
            ));
        }
        if let Some(url) = &request.return_url {
            super::check_url("return_url", url, &mut errors);
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let amount = Money::positive(request.amount, currency.expect("checked above"))
            .expect("checked above");
        Ok(NewCharge {
            member_id,
            amount,
            kind: request.kind,
            payment_method: method.to_owned(),
            description,
            card: None,
            pinned_psp: None,
            return_url: request.return_url,
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A member signed in to the app.
    pub(in crate::domain) fn member() -> Principal {
        Principal {
            subject: Uuid::new_v4(),
            kind: PrincipalKind::User,
            role: Some(Role::Customer),
            scopes: vec![],
        }
    }

    fn request(amount: i64, currency: &str) -> CreateChargeRequest {
        CreateChargeRequest {
            amount,
            currency: currency.into(),
            payment_method: "pm_card_visa".into(),
            kind: ChargeKind::Purchase,
            member_id: None,
            description: None,
            return_url: None,
        }
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn a_member_charges_themself() {
        let principal = member();
        let charge = NewCharge::parse(request(12345, "aud"), &principal).unwrap();
        assert_eq!(charge.member_id, principal.subject);
        assert_eq!(charge.amount.currency.code(), "AUD");
    }

    #[test]
    fn bad_amounts_and_currencies_name_their_field() {
        assert_eq!(
            fields(NewCharge::parse(request(0, "AUD"), &member()).unwrap_err()),
            ["amount"]
        );
        assert_eq!(
            fields(NewCharge::parse(request(-5, "AUD"), &member()).unwrap_err()),
            ["amount"]
        );
        assert_eq!(
            fields(NewCharge::parse(request(100, "XYZ"), &member()).unwrap_err()),
            ["currency"]
        );
        assert_eq!(
            fields(NewCharge::parse(request(-1, "XYZ"), &member()).unwrap_err()),
            ["currency", "amount"]
        );
    }

    #[test]
    fn a_member_cannot_charge_someone_else_and_staff_cannot_charge() {
        let mut other = request(100, "AUD");
        other.member_id = Some(Uuid::new_v4());
        assert!(matches!(
            NewCharge::parse(other, &member()),
            Err(ApiError::Forbidden(_))
        ));
        let staff = Principal {
            role: Some(Role::Admin),
            ..member()
        };
        assert!(matches!(
            NewCharge::parse(request(100, "AUD"), &staff),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn a_partner_needs_the_scope_and_a_member() {
        let partner = Principal {
            subject: Uuid::new_v4(),
            kind: PrincipalKind::Partner,
            role: None,
            scopes: vec!["payments:write".into()],
        };
        assert_eq!(
            fields(NewCharge::parse(request(100, "AUD"), &partner).unwrap_err()),
            ["member_id"]
        );
        let mut named = request(100, "AUD");
        named.member_id = Some(Uuid::new_v4());
        assert!(NewCharge::parse(named, &partner).is_ok());
        let unscoped = Principal {
            scopes: vec!["points:read".into()],
            ..partner
        };
        assert!(matches!(
            NewCharge::parse(request(100, "AUD"), &unscoped),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn status_never_moves_backwards_or_out_of_a_final_state() {
        use ChargeStatus::*;
        assert!(Processing.can_become(Succeeded));
        assert!(RequiresAction.can_become(Succeeded));
        assert!(!Succeeded.can_become(Failed));
        assert!(!Failed.can_become(Succeeded));
        assert!(!Processing.can_become(Created));
        assert!(!Succeeded.can_become(Processing));
    }
}
