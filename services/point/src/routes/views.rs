//! What the API answers with, built from the use cases' results. Component names in the
//! OpenAPI document stay those the clients know (`Hold`, `RuleRecord`, ...).

use crate::core::balance::{Balance, Liability, TransactionRecord};
use crate::core::holds::Hold;
use crate::core::program::RuleRecord;
use crate::domain::{Earned, Multiplier, ProgramSettings, Rounding};
use chrono::{DateTime, Utc};
use kernel::money::Currency;
use platform::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Hold)]
pub struct HoldView {
    pub id: Uuid,
    pub member_id: Uuid,
    pub points: i64,
    /// active, captured, released or expired.
    pub status: String,
    pub reference_id: Option<String>,
    pub description: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub transaction_id: Option<Uuid>,
}

impl From<&Hold> for HoldView {
    fn from(h: &Hold) -> Self {
        Self {
            id: h.id,
            member_id: h.member_id,
            points: h.points,
            status: h.status.as_str().to_owned(),
            reference_id: h.reference_id.clone(),
            description: h.description.clone(),
            expires_at: h.expires_at,
            created_at: h.created_at,
            settled_at: h.settled_at,
            transaction_id: h.transaction_id,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub points: i64,
    pub source: String,
    pub reference_id: String,
    pub description: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<TransactionRecord> for TransactionView {
    fn from(r: TransactionRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            points: r.points,
            source: r.source,
            reference_id: r.reference_id,
            description: r.description,
            amount: r.amount_minor,
            currency: r.currency,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionPage {
    pub items: Vec<TransactionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Earned)]
pub struct EarnedView {
    pub transaction_id: Uuid,
    pub points: i64,
    /// True while the points wait out the source's return window.
    pub pending: bool,
    pub balance_after: i64,
    pub tier: String,
    /// Points the program's caps held back.
    pub capped: i64,
}

impl From<Earned> for EarnedView {
    fn from(e: Earned) -> Self {
        Self {
            transaction_id: e.transaction_id,
            points: e.points,
            pending: e.pending,
            balance_after: e.balance_after,
            tier: e.tier,
            capped: e.capped,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EarnView {
    pub transaction_id: Option<Uuid>,
    pub points: i64,
    pub pending: bool,
    /// True when this (source, reference_id) had been earned for already.
    pub replayed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earned: Option<EarnedView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NextTier {
    pub tier: String,
    /// Qualifying spend still needed, in minor units of the program currency.
    pub spend_needed: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub user_id: Uuid,
    /// Active points (held ones included).
    pub total_points: i64,
    /// What the member can spend now: active minus held.
    pub available_points: i64,
    /// Points still waiting out a return window.
    pub pending_points: i64,
    /// Points reserved by unfinished redemptions.
    pub on_hold_points: i64,
    /// Active points that expire within 30 days.
    pub expiring_within_30_days: i64,
    pub tier: String,
    /// The tier's earn multiplier, e.g. 1.25.
    pub tier_multiplier: f64,
    /// Set while an admin's override is in force.
    pub tier_override_reason: Option<String>,
    pub tier_override_expires_at: Option<DateTime<Utc>>,
    /// Qualifying spend over the last 12 months, minor units of the program currency.
    pub qualifying_spend: i64,
    /// Absent at the top tier.
    pub next_tier: Option<NextTier>,
    pub tier_period_ends_at: DateTime<Utc>,
    pub lifetime_points: i64,
    /// The program's tiers up to and including the member's, lowest first: rewards limited to
    /// any of these are open to the member.
    pub tiers_reached: Vec<String>,
}

impl From<Balance> for BalanceView {
    fn from(b: Balance) -> Self {
        let available_points = b.account.available();
        let a = b.account;
        Self {
            user_id: a.member_id,
            total_points: a.balance,
            available_points,
            pending_points: a.pending,
            on_hold_points: a.held,
            expiring_within_30_days: b.expiring_soon,
            tier_multiplier: Multiplier::from_basis_points(a.multiplier_bp).as_decimal(),
            tier_override_reason: a.override_reason,
            tier_override_expires_at: a.override_expires_at,
            tier: a.tier,
            qualifying_spend: b.qualifying_spend,
            next_tier: b
                .next_tier
                .map(|(tier, spend_needed)| NextTier { tier, spend_needed }),
            tier_period_ends_at: a.tier_period_ends_at,
            lifetime_points: a.lifetime_earned,
            tiers_reached: b.tiers_reached,
        }
    }
}

/// Everything outstanding: what the program owes its members.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Liability)]
pub struct LiabilityView {
    /// Active points of every member (the sum of the cached balances).
    pub active_points: i64,
    pub pending_points: i64,
    pub held_points: i64,
    pub members: i64,
    /// The ledger's side: minus the program liability account's entries for active points.
    pub ledger_active_points: i64,
    pub ledger_pending_points: i64,
}

impl From<Liability> for LiabilityView {
    fn from(l: Liability) -> Self {
        Self {
            active_points: l.active_points,
            pending_points: l.pending_points,
            held_points: l.held_points,
            members: l.members,
            ledger_active_points: l.ledger_active_points,
            ledger_pending_points: l.ledger_pending_points,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RuleRecord)]
pub struct RuleView {
    pub id: Uuid,
    pub name: String,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub source: Option<String>,
    pub store_id: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub replaces: Option<Uuid>,
    /// The bonus-window campaign that owns the rule: it changes only with the campaign, never
    /// through these endpoints. Null for rules staff made.
    pub campaign_id: Option<Uuid>,
}

impl From<RuleRecord> for RuleView {
    fn from(r: RuleRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            multiplier_bp: r.multiplier_bp,
            bonus_points: r.bonus_points,
            source: r.source,
            store_id: r.store_id,
            category: r.category,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            created_by: r.created_by,
            created_at: r.created_at,
            retired_at: r.retired_at,
            replaces: r.replaces,
            campaign_id: r.campaign_id,
        }
    }
}

/// The program's settings, read and written whole.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ProgramSettings)]
pub struct ProgramSettingsView {
    /// The currency purchases earn in (ISO 4217); other currencies are refused.
    pub currency: String,
    /// Points per whole unit of the currency, before multipliers.
    pub points_per_unit: i32,
    /// Months after earning that points expire.
    pub expiry_months: i32,
    pub cap_per_transaction: Option<i64>,
    pub cap_per_day: Option<i64>,
    /// `down` or `nearest`.
    pub rounding: String,
    /// Whether a reversal may take a member below zero (their debt is repaid by later earns).
    pub allow_negative_balance: bool,
}

impl From<&ProgramSettings> for ProgramSettingsView {
    fn from(s: &ProgramSettings) -> Self {
        Self {
            currency: s.currency.code().to_owned(),
            points_per_unit: s.points_per_unit,
            expiry_months: s.expiry_months,
            cap_per_transaction: s.cap_per_transaction,
            cap_per_day: s.cap_per_day,
            rounding: s.rounding.as_str().to_owned(),
            allow_negative_balance: s.allow_negative_balance,
        }
    }
}

impl ProgramSettingsView {
    /// The settings, or every field that breaks a rule.
    pub fn parse(&self) -> Result<ProgramSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&self.currency)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "currency",
                    "is not an ISO 4217 currency code",
                ))
            })
            .ok();
        let rounding = Rounding::parse(&self.rounding);
        let settings = ProgramSettings {
            currency: currency.unwrap_or_else(|| Currency::parse("AUD").expect("AUD exists")),
            points_per_unit: self.points_per_unit,
            expiry_months: self.expiry_months,
            cap_per_transaction: self.cap_per_transaction,
            cap_per_day: self.cap_per_day,
            rounding: rounding.unwrap_or(Rounding::Down),
            allow_negative_balance: self.allow_negative_balance,
        };
        errors.extend(
            settings
                .invalid_fields()
                .into_iter()
                .map(|f| FieldError::new(f.field, f.message)),
        );
        if rounding.is_none() {
            errors.push(FieldError::new("rounding", "must be `down` or `nearest`"));
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }
}
