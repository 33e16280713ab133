use super::{check_url, FieldProblem, InputError};
use chrono::{DateTime, Utc};
use kernel::money::{Currency, Money};
use kernel::text::TextRule;
use serde::{Deserialize, Serialize};
use std::fmt;
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

impl fmt::Display for ChargeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Purchase, Self::Load]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// A charge as stored.
#[derive(Debug, Clone)]
pub struct Charge {
    pub id: Uuid,
    pub member_id: Uuid,
    /// Who asked for it: `user:<id>` for a member in the app, `partner:<id>` for a merchant.
    pub created_by: String,
    pub kind: ChargeKind,
    pub amount: i64,
    pub currency: String,
    pub payment_method: String,
    pub description: Option<String>,
    pub status: ChargeStatus,
    pub psp: String,
    pub psp_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// Minor units refunded or being refunded (pending refunds reserve their amount).
    pub amount_refunded: i64,
    pub next_action_url: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub return_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Charge {
    /// The charge's amount as money, if its stored currency is one we know.
    pub fn money(&self) -> Result<Money, String> {
        let currency = Currency::parse(&self.currency)?;
        Ok(Money {
            amount_minor: self.amount,
            currency,
        })
    }
}

/// A move of a charge to another status, with what the PSP said.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub to: ChargeStatus,
    pub cause: &'a str,
    pub psp_reference: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub failure_message: Option<&'a str>,
    pub next_action_url: Option<&'a str>,
}

impl<'a> Transition<'a> {
    /// A move that sets nothing but the status (and keeps the PSP reference).
    pub fn new(to: ChargeStatus, cause: &'a str) -> Self {
        Self {
            to,
            cause,
            psp_reference: None,
            failure_code: None,
            failure_message: None,
            next_action_url: None,
        }
    }
}

/// Who is asking to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    /// A member signed in to the app: pays for themself.
    Member(Uuid),
    /// A merchant backend; it charges members only with the `payments:write` scope.
    Partner { may_charge: bool },
    /// Staff accounts do not pay.
    Staff,
}

impl Payer {
    /// The member a charge by this payer is for, given the member the request names.
    fn member_to_charge(&self, named: Option<Uuid>) -> Result<Uuid, InputError> {
        match *self {
            Payer::Member(me) => match named {
                Some(other) if other != me => Err(InputError::Forbidden(
                    "members can only charge their own account".into(),
                )),
                _ => Ok(me),
            },
            Payer::Partner { may_charge: true } => named.ok_or_else(|| {
                InputError::field("member_id", "is required when a partner creates a charge")
            }),
            Payer::Partner { may_charge: false } => Err(InputError::Forbidden(
                "this client lacks the payments:write scope".into(),
            )),
            Payer::Staff => Err(InputError::Forbidden(
                "staff accounts cannot create charges".into(),
            )),
        }
    }
}

/// The fields of a charge request, as received.
#[derive(Debug, Clone)]
pub struct ChargeInput {
    pub amount: i64,
    pub currency: String,
    pub payment_method: String,
    pub kind: ChargeKind,
    pub member_id: Option<Uuid>,
    pub description: Option<String>,
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

pub const DESCRIPTION_RULE: TextRule = TextRule::paragraph(500);

/// The largest amount one charge may have, in minor units: the most the PSPs we speak take in
/// one payment (Stripe's limit is eight digits of minor units). A larger charge would be refused
/// by the PSP after it was accepted here, and wait in the dead-letter queue instead of failing
/// at once.
pub const MAX_CHARGE_MINOR: i64 = 99_999_999;

impl NewCharge {
    /// Who may charge whom: a member charges themself; a partner with `payments:write` charges
    /// the member it names; staff accounts do not pay.
    pub fn parse(input: ChargeInput, payer: &Payer) -> Result<Self, InputError> {
        let member_id = payer.member_to_charge(input.member_id)?;
        let mut problems = Vec::new();
        let currency = Currency::parse(&input.currency)
            .map_err(|e| problems.push(FieldProblem::new("currency", e)))
            .ok();
        let amount = match currency {
            Some(_) if input.amount > MAX_CHARGE_MINOR => {
                problems.push(FieldProblem::new(
                    "amount",
                    format!("must be at most {MAX_CHARGE_MINOR} minor units, the most a PSP takes in one payment"),
                ));
                None
            }
            Some(currency) => Money::positive(input.amount, currency)
                .map_err(|e| problems.push(FieldProblem::new("amount", e)))
                .ok(),
            None => {
                if input.amount <= 0 {
                    problems.push(FieldProblem::new(
                        "amount",
                        "must be a positive integer number of minor units",
                    ));
                }
                None
            }
        };
        let method = input.payment_method.trim();
        let method_ok = (3..=255).contains(&method.len())
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !method_ok {
            problems.push(FieldProblem::new(
                "payment_method",
                "must be a payment method token such as pm_card_visa",
            ));
        }
        let description = DESCRIPTION_RULE
            .parse_optional(input.description.as_deref())
            .map_err(|e| problems.push(FieldProblem::new("description", e.to_string())))
            .ok()
            .flatten();
        if let Some(url) = &input.return_url {
            check_url("return_url", url, &mut problems);
        }
        match amount {
            Some(amount) if problems.is_empty() => Ok(NewCharge {
                member_id,
                amount,
                kind: input.kind,
                payment_method: method.to_owned(),
                description,
                card: None,
                pinned_psp: None,
                return_url: input.return_url,
            }),
            _ => Err(InputError::Invalid(problems)),
        }
    }
}

/// Which charges a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Staff: every charge.
    All,
    /// A member: their own.
    Member(Uuid),
    /// A partner: the ones it created (by its scope key).
    CreatedBy(String),
}

/// What to list: the caller's visibility narrowed by the query's filters.
#[derive(Debug, Clone)]
pub struct ChargeFilter {
    pub visibility: Visibility,
    pub member_id: Option<Uuid>,
    pub status: Option<ChargeStatus>,
    pub kind: Option<ChargeKind>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A member signed in to the app.
    pub(in crate::domain) fn member() -> Payer {
        Payer::Member(Uuid::new_v4())
    }

    fn request(amount: i64, currency: &str) -> ChargeInput {
        ChargeInput {
            amount,
            currency: currency.into(),
            payment_method: "pm_card_visa".into(),
            kind: ChargeKind::Purchase,
            member_id: None,
            description: None,
            return_url: None,
        }
    }

    fn fields(err: InputError) -> Vec<String> {
        match err {
            InputError::Invalid(problems) => problems.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn a_member_charges_themself() {
        let payer = member();
        let charge = NewCharge::parse(request(12345, "aud"), &payer).unwrap();
        assert_eq!(Payer::Member(charge.member_id), payer);
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
        assert_eq!(
            fields(NewCharge::parse(request(MAX_CHARGE_MINOR + 1, "AUD"), &member()).unwrap_err()),
            ["amount"]
        );
        assert!(NewCharge::parse(request(MAX_CHARGE_MINOR, "AUD"), &member()).is_ok());
        assert_eq!(
            fields(NewCharge::parse(request(i64::MAX, "AUD"), &member()).unwrap_err()),
            ["amount"]
        );
        assert_eq!(
            fields(NewCharge::parse(request(i64::MIN, "AUD"), &member()).unwrap_err()),
            ["amount"]
        );
    }

    #[test]
    fn descriptions_are_bounded_text_without_nul() {
        let mut nul = request(100, "AUD");
        nul.description = Some("coffee\0".into());
        assert_eq!(
            fields(NewCharge::parse(nul, &member()).unwrap_err()),
            ["description"]
        );
        let mut long = request(100, "AUD");
        long.description = Some("x".repeat(501));
        assert_eq!(
            fields(NewCharge::parse(long, &member()).unwrap_err()),
            ["description"]
        );
        let mut blank = request(100, "AUD");
        blank.description = Some("   ".into());
        assert_eq!(
            NewCharge::parse(blank, &member()).unwrap().description,
            None
        );
    }

    #[test]
    fn a_member_cannot_charge_someone_else_and_staff_cannot_charge() {
        let mut other = request(100, "AUD");
        other.member_id = Some(Uuid::new_v4());
        assert!(matches!(
            NewCharge::parse(other, &member()),
            Err(InputError::Forbidden(_))
        ));
        assert!(matches!(
            NewCharge::parse(request(100, "AUD"), &Payer::Staff),
            Err(InputError::Forbidden(_))
        ));
    }

    #[test]
    fn a_partner_needs_the_scope_and_a_member() {
        let partner = Payer::Partner { may_charge: true };
        assert_eq!(
            fields(NewCharge::parse(request(100, "AUD"), &partner).unwrap_err()),
            ["member_id"]
        );
        let mut named = request(100, "AUD");
        named.member_id = Some(Uuid::new_v4());
        assert!(NewCharge::parse(named, &partner).is_ok());
        assert!(matches!(
            NewCharge::parse(request(100, "AUD"), &Payer::Partner { may_charge: false }),
            Err(InputError::Forbidden(_))
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
