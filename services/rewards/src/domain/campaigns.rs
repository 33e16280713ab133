//! Goal campaigns (seed 000), free of I/O: a campaign's definition and lifecycle, and the
//! enrolment's state machine with the rules that move it.
//!
//! ```text
//! ENROLLED ──first load──▶ ACTIVE ──total ≥ target──▶ GOAL_ACHIEVED ──window ends──▶ CONFIRMING
//!    │ window ends, no load   │ withdrawal, or window        │ withdrawal                │
//!    ▼                        ▼ ends short                   ▼                           │
//! DISQUALIFIED ◀──────────────┴──────────────────────────────┴──── late withdrawal, ─────┘
//!    ▲                                                             or settled funds short
//!    │ reward retries run out                        grace over, still eligible
//! PENDING_REWARD ◀───────────────────────────────────────────────────────────────────────
//!    │ the point service paid (once)
//!    ▼
//! COMPLETED
//! ```

use super::catalog::{parse_description, parse_name, Fields, InvalidField};
use chrono::{DateTime, Duration, Utc};
use kernel::money::Currency;
use serde::{Deserialize, Serialize};

/// At most a year: a window or grace period longer than that is a typo.
pub const WINDOW_MAX_SECONDS: i64 = 366 * 86_400;
pub const GRACE_MAX_SECONDS: i64 = 30 * 86_400;
pub const REWARD_POINTS_MAX: i64 = 10_000_000;
/// Ten billion minor units (a hundred million dollars): larger targets are mistakes, and sums
/// of loads stay far from overflowing.
pub const TARGET_MAX: i64 = 10_000_000_000;

/// What a campaign asks of its members, and what it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// Load a target amount onto the card within a window (seed 000).
    #[default]
    LoadGoal,
    /// More points on purchases while the campaign runs, optionally at one store or on one
    /// category ("double points on coffee this weekend"). Nobody enrols: every member's
    /// matching purchases earn it.
    BonusWindow,
    /// A member shares a code; a new member who claims it earns, and so does the member who
    /// shared it, once the newcomer's first qualifying purchase settles.
    Referral,
}

/// Who may take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Every member of the business.
    #[default]
    AllMembers,
    /// Only members whose card was issued (who registered) while enrolment is open.
    NewMembers,
}

/// How members come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentMode {
    /// Members enrol themselves.
    #[default]
    OptIn,
    /// Eligible members are enrolled when they register; they may also enrol themselves.
    Automatic,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(CampaignKind {
    LoadGoal => "load_goal",
    BonusWindow => "bonus_window",
    Referral => "referral",
});
text_enum!(Eligibility { AllMembers => "all_members", NewMembers => "new_members" });
text_enum!(EnrolmentMode { OptIn => "opt_in", Automatic => "automatic" });

/// A campaign's lifecycle: draft -> scheduled -> running -> ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being prepared; members do not see it.
    Draft,
    /// Published; enrolment has not opened yet.
    Scheduled,
    /// Enrolment is open.
    Running,
    /// Enrolment is closed (enrolments already made run to their end).
    Ended,
}

text_enum!(CampaignStatus {
    Draft => "draft",
    Scheduled => "scheduled",
    Running => "running",
    Ended => "ended",
});

/// Where a campaign stands at `now`: its stored dates decide, so no timer is needed for it.
pub fn campaign_status(
    published_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    enrol_from: DateTime<Utc>,
    enrol_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> CampaignStatus {
    if published_at.is_none() {
        CampaignStatus::Draft
    } else if ended_at.is_some_and(|ended| ended <= now) || now >= enrol_until {
        CampaignStatus::Ended
    } else if now < enrol_from {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Running
    }
}

/// A campaign as an admin sends it. The load-goal terms are top-level fields (required for
/// `load_goal`); the other kinds bring theirs in `bonus` or `referral`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    /// 1 to 200 characters once trimmed.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: CampaignKind,
    /// load_goal: the amount to load, in minor units of `currency` (seed 000: 100000 for $1,000).
    #[serde(default)]
    pub target_amount: Option<i64>,
    /// load_goal: ISO 4217, e.g. "AUD". Only loads in this currency count.
    #[serde(default)]
    pub currency: Option<String>,
    /// load_goal: how long each member's window runs from their enrolment (seed 000: 2592000,
    /// 30 days).
    #[serde(default)]
    pub window_seconds: Option<i64>,
    /// load_goal: the grace period after the window for late settlements and withdrawals
    /// (seed 000: 172800, 48 hours).
    #[serde(default)]
    pub grace_seconds: Option<i64>,
    /// load_goal: points paid once the goal is confirmed (seed 000: 2000).
    #[serde(default)]
    pub reward_points: Option<i64>,
    /// bonus_window: the bonus.
    #[serde(default)]
    pub bonus: Option<BonusRequest>,
    /// referral: what each side earns, what qualifies, and the caps.
    #[serde(default)]
    pub referral: Option<ReferralRequest>,
    /// load_goal only (referrals are always for new members).
    #[serde(default)]
    pub eligibility: Option<Eligibility>,
    /// load_goal only.
    #[serde(default)]
    pub enrolment: Option<EnrolmentMode>,
    /// Enrolment opens (bonus_window: the bonus starts; referral: codes may be claimed).
    pub enrol_from: DateTime<Utc>,
    /// Enrolment closes (bonus_window: the bonus ends; referral: the last claim).
    pub enrol_until: DateTime<Utc>,
    /// Publish at once (else a draft, published with `POST /api/v1/campaigns/{id}/publish`).
    #[serde(default)]
    pub publish: bool,
    /// The business running it: required of platform operators, else the caller's.
    #[serde(default)]
    pub business_id: Option<uuid::Uuid>,
}

/// A bonus window's bonus, applied by the point service to purchases while the campaign runs.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BonusRequest {
    /// 100 = 1x, 200 = double points, at most 10000 (100x). Default 100.
    #[serde(default)]
    pub multiplier_bp: Option<i32>,
    /// Fixed points added to each matching purchase. Default 0. A bonus needs a multiplier
    /// above 100 or some fixed points.
    #[serde(default)]
    pub bonus_points: Option<i64>,
    /// Only purchases at this store (default: every store).
    #[serde(default)]
    pub store_id: Option<String>,
    /// Only purchases in this category (default: every category).
    #[serde(default)]
    pub category: Option<String>,
}

/// A referral campaign's terms.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRequest {
    /// Points for the member who shared the code.
    pub referrer_points: i64,
    /// Points for the new member who claimed it.
    pub referee_points: i64,
    /// The smallest purchase that qualifies, in minor units of `currency`.
    pub min_purchase_amount: i64,
    /// ISO 4217; only purchases in this currency qualify.
    pub currency: String,
    /// How long after claiming the code the new member has to make the purchase.
    pub purchase_within_seconds: i64,
    /// How long the purchase must stand unrefunded before both earn (default 172800, 48 hours).
    #[serde(default)]
    pub settle_seconds: Option<i64>,
    /// Most referrals one member may have (claimed, settling or paid; expired ones free their
    /// place).
    pub max_per_referrer: i32,
    /// Most referrals in the whole campaign (default: no limit).
    #[serde(default)]
    pub max_referrals: Option<i32>,
}

/// What a load-goal campaign asks and gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadGoalTerms {
    pub target_amount: i64,
    pub currency: Currency,
    pub window_seconds: i64,
    pub grace_seconds: i64,
    pub reward_points: i64,
}

/// A bonus window's bonus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusTerms {
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub store_id: Option<String>,
    pub category: Option<String>,
}

/// A referral campaign's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralTerms {
    pub referrer_points: i64,
    pub referee_points: i64,
    pub min_purchase_amount: i64,
    pub currency: Currency,
    pub purchase_within_seconds: i64,
    pub settle_seconds: i64,
    pub max_per_referrer: i32,
    pub max_referrals: Option<i32>,
}

/// The terms of each kind of campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignTerms {
    LoadGoal(LoadGoalTerms),
    BonusWindow(BonusTerms),
    Referral(ReferralTerms),
}

impl CampaignTerms {
    pub fn kind(&self) -> CampaignKind {
        match self {
            Self::LoadGoal(_) => CampaignKind::LoadGoal,
            Self::BonusWindow(_) => CampaignKind::BonusWindow,
            Self::Referral(_) => CampaignKind::Referral,
        }
    }
}

/// A campaign that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub name: String,
    pub description: Option<String>,
    pub terms: CampaignTerms,
    pub eligibility: Eligibility,
    pub enrolment: EnrolmentMode,
    pub enrol_from: DateTime<Utc>,
    pub enrol_until: DateTime<Utc>,
    pub publish: bool,
}

/// The point service's bounds on earn rules, which a bonus window becomes.
pub const MULTIPLIER_MAX_BP: i32 = 10_000;
pub const BONUS_POINTS_MAX: i64 = 1_000_000;
pub const REFERRAL_SETTLE_DEFAULT_SECONDS: i64 = 48 * 3_600;
/// A member may bring at most this many others in one campaign, whatever the campaign says.
pub const REFERRALS_PER_REFERRER_MAX: i32 = 1_000;
/// Store ids and categories are the point service's: at most this long.
const FILTER_MAX_CHARS: usize = 100;

fn within(value: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

fn required<T>(value: Option<T>, kind: CampaignKind) -> Result<T, String> {
    value.ok_or_else(|| format!("is required for a {} campaign", kind.as_str()))
}

/// An optional store or category: trimmed, empty meaning none.
fn filter_text(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > FILTER_MAX_CHARS || text.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {FILTER_MAX_CHARS} characters, without control characters"
        ));
    }
    Ok(Some(text.to_owned()))
}

fn load_goal_terms(f: &mut Fields, r: &CreateCampaign) -> Option<LoadGoalTerms> {
    let kind = CampaignKind::LoadGoal;
    let target_amount = f.take(
        "target_amount",
        required(r.target_amount, kind).and_then(|v| within(v, 1, TARGET_MAX)),
    );
    let currency = f.take(
        "currency",
        required(r.currency.as_deref(), kind).and_then(Currency::parse),
    );
    let window_seconds = f.take(
        "window_seconds",
        required(r.window_seconds, kind).and_then(|v| within(v, 1, WINDOW_MAX_SECONDS)),
    );
    let grace_seconds = f.take(
        "grace_seconds",
        required(r.grace_seconds, kind).and_then(|v| within(v, 0, GRACE_MAX_SECONDS)),
    );
    let reward_points = f.take(
        "reward_points",
        required(r.reward_points, kind).and_then(|v| within(v, 1, REWARD_POINTS_MAX)),
    );
    Some(LoadGoalTerms {
        target_amount: target_amount?,
        currency: currency?,
        window_seconds: window_seconds?,
        grace_seconds: grace_seconds?,
        reward_points: reward_points?,
    })
}

fn bonus_terms(f: &mut Fields, bonus: &BonusRequest) -> Option<BonusTerms> {
    let multiplier_bp = f.take(
        "bonus.multiplier_bp",
        within(
            i64::from(bonus.multiplier_bp.unwrap_or(100)),
            100,
            i64::from(MULTIPLIER_MAX_BP),
        )
        .map(|v| v as i32),
    );
    let bonus_points = f.take(
        "bonus.bonus_points",
        within(bonus.bonus_points.unwrap_or(0), 0, BONUS_POINTS_MAX),
    );
    let store_id = f.take("bonus.store_id", filter_text(bonus.store_id.as_deref()));
    let category = f.take("bonus.category", filter_text(bonus.category.as_deref()));
    let (multiplier_bp, bonus_points) = (multiplier_bp?, bonus_points?);
    if multiplier_bp == 100 && bonus_points == 0 {
        f.0.push(InvalidField {
            field: "bonus",
            message: "a bonus needs multiplier_bp above 100 or some bonus_points".into(),
        });
        return None;
    }
    Some(BonusTerms {
        multiplier_bp,
        bonus_points,
        store_id: store_id?,
        category: category?,
    })
}

fn referral_terms(f: &mut Fields, r: &ReferralRequest) -> Option<ReferralTerms> {
    let referrer_points = f.take(
        "referral.referrer_points",
        within(r.referrer_points, 0, REWARD_POINTS_MAX),
    );
    let referee_points = f.take(
        "referral.referee_points",
        within(r.referee_points, 0, REWARD_POINTS_MAX),
    );
    let min_purchase_amount = f.take(
        "referral.min_purchase_amount",
        within(r.min_purchase_amount, 1, TARGET_MAX),
    );
    let currency = f.take("referral.currency", Currency::parse(&r.currency));
    let purchase_within_seconds = f.take(
        "referral.purchase_within_seconds",
        within(r.purchase_within_seconds, 1, WINDOW_MAX_SECONDS),
    );
    let settle_seconds = f.take(
        "referral.settle_seconds",
        within(
            r.settle_seconds.unwrap_or(REFERRAL_SETTLE_DEFAULT_SECONDS),
            0,
            GRACE_MAX_SECONDS,
        ),
    );
    let max_per_referrer = f.take(
        "referral.max_per_referrer",
        within(
            i64::from(r.max_per_referrer),
            1,
            i64::from(REFERRALS_PER_REFERRER_MAX),
        )
        .map(|v| v as i32),
    );
    let max_referrals = f.take(
        "referral.max_referrals",
        r.max_referrals
            .map(|v| within(i64::from(v), 1, i64::from(i32::MAX)).map(|v| v as i32))
            .transpose(),
    );
    let (referrer_points, referee_points) = (referrer_points?, referee_points?);
    if referrer_points == 0 && referee_points == 0 {
        f.0.push(InvalidField {
            field: "referral",
            message: "someone must earn something: referrer_points or referee_points above 0"
                .into(),
        });
        return None;
    }
    Some(ReferralTerms {
        referrer_points,
        referee_points,
        min_purchase_amount: min_purchase_amount?,
        currency: currency?,
        purchase_within_seconds: purchase_within_seconds?,
        settle_seconds: settle_seconds?,
        max_per_referrer: max_per_referrer?,
        max_referrals: max_referrals?,
    })
}

impl TryFrom<CreateCampaign> for NewCampaign {
    type Error = Vec<InvalidField>;

    /// Checks every field and reports all that are wrong.
    fn try_from(request: CreateCampaign) -> Result<Self, Self::Error> {
        let mut f = Fields::default();
        let name = f.take("name", parse_name(&request.name));
        let description = f.take(
            "description",
            request
                .description
                .as_deref()
                .map(parse_description)
                .transpose()
                .map(Option::flatten),
        );
        if request.enrol_until <= request.enrol_from {
            f.0.push(InvalidField {
                field: "enrol_until",
                message: "must be after enrol_from".into(),
            });
        }
        let kind = request.kind;
        // Terms of another kind are a mistake worth saying, not something to ignore.
        let mut not_for_this_kind = |field: &'static str, given: bool| {
            if given {
                f.0.push(InvalidField {
                    field,
                    message: format!("does not apply to a {} campaign", kind.as_str()),
                });
            }
        };
        let load_goal_given = request.target_amount.is_some()
            || request.window_seconds.is_some()
            || request.grace_seconds.is_some()
            || request.reward_points.is_some();
        if kind != CampaignKind::LoadGoal {
            not_for_this_kind("target_amount", load_goal_given);
            not_for_this_kind("currency", request.currency.is_some());
            not_for_this_kind("eligibility", request.eligibility.is_some());
            not_for_this_kind("enrolment", request.enrolment.is_some());
        }
        if kind != CampaignKind::BonusWindow {
            not_for_this_kind("bonus", request.bonus.is_some());
        }
        if kind != CampaignKind::Referral {
            not_for_this_kind("referral", request.referral.is_some());
        }
        let terms = match kind {
            CampaignKind::LoadGoal => {
                load_goal_terms(&mut f, &request).map(CampaignTerms::LoadGoal)
            }
            CampaignKind::BonusWindow => {
                let bonus = f.take("bonus", required(request.bonus.as_ref(), kind));
                bonus
                    .and_then(|b| bonus_terms(&mut f, b))
                    .map(CampaignTerms::BonusWindow)
            }
            CampaignKind::Referral => {
                let referral = f.take("referral", required(request.referral.as_ref(), kind));
                referral
                    .and_then(|r| referral_terms(&mut f, r))
                    .map(CampaignTerms::Referral)
            }
        };
        match (name, description, terms) {
            (Some(name), Some(description), Some(terms)) if f.0.is_empty() => Ok(NewCampaign {
                name,
                description,
                // Referrals reward bringing someone new: their referees are always new members.
                eligibility: if kind == CampaignKind::Referral {
                    Eligibility::NewMembers
                } else {
                    request.eligibility.unwrap_or_default()
                },
                enrolment: request.enrolment.unwrap_or_default(),
                terms,
                enrol_from: request.enrol_from,
                enrol_until: request.enrol_until,
                publish: request.publish,
            }),
            _ => Err(f.0),
        }
    }
}

/// Where a member's enrolment stands (seed 000's member lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentState {
    /// Enrolled; the window runs; no load yet.
    Enrolled,
    /// Loading; the total is below the target.
    Active,
    /// The target is reached; the window still runs and a withdrawal still disqualifies.
    GoalAchieved,
    /// The window is over; the grace period waits for late settlements and withdrawals.
    Confirming,
    /// Eligible; the points are being paid.
    PendingReward,
    /// The points are paid. Final.
    Completed,
    /// Out, for `disqualified_reason`. Final, except that admins may retry a failed reward.
    Disqualified,
}

text_enum!(EnrolmentState {
    Enrolled => "enrolled",
    Active => "active",
    GoalAchieved => "goal_achieved",
    Confirming => "confirming",
    PendingReward => "pending_reward",
    Completed => "completed",
    Disqualified => "disqualified",
});

/// Why an enrolment was disqualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisqualifiedReason {
    /// The window ended with no load.
    NoLoad,
    /// The window ended below the target.
    WindowEndedShort,
    /// Money was withdrawn from the card before the reward was paid.
    Withdrawal,
    /// At the end of the grace period the settled loads were below the target.
    SettledFundsShort,
    /// The point service did not confirm the payment after every retry (admins may retry).
    RewardFailed,
}

text_enum!(DisqualifiedReason {
    NoLoad => "no_load",
    WindowEndedShort => "window_ended_short",
    Withdrawal => "withdrawal",
    SettledFundsShort => "settled_funds_short",
    RewardFailed => "reward_failed",
});

/// What moved an enrolment, recorded with each transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Enrolled,
    FirstLoad,
    GoalReached,
    WindowEnded,
    GraceEnded,
    Withdrawal,
    RewardPaid,
    RewardRetriesExhausted,
    AdminRetry,
}

text_enum!(Cause {
    Enrolled => "enrolled",
    FirstLoad => "first_load",
    GoalReached => "goal_reached",
    WindowEnded => "window_ended",
    GraceEnded => "grace_ended",
    Withdrawal => "withdrawal",
    RewardPaid => "reward_paid",
    RewardRetriesExhausted => "reward_retries_exhausted",
    AdminRetry => "admin_retry",
});

impl EnrolmentState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Disqualified)
    }

    /// The seed's diagram, edge by edge. Two edges leave DISQUALIFIED, both only for a reward
    /// that failed: an admin's retry, and the point service's payment arriving after the
    /// retries ran out (the points were paid; the record says so).
    pub fn may_become(
        self,
        to: EnrolmentState,
        reason: Option<DisqualifiedReason>,
    ) -> Result<(), IllegalTransition> {
        use EnrolmentState::*;
        let legal = match (self, to) {
            (Enrolled, Active | Disqualified)
            | (Active, GoalAchieved | Disqualified)
            | (GoalAchieved, Confirming | Disqualified)
            | (Confirming, PendingReward | Disqualified)
            | (PendingReward, Completed | Disqualified) => true,
            (Disqualified, PendingReward | Completed) => {
                reason == Some(DisqualifiedReason::RewardFailed)
            }
            _ => false,
        };
        if legal {
            Ok(())
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an enrolment cannot go from {} to {}", from.as_str(), to.as_str())]
pub struct IllegalTransition {
    pub from: EnrolmentState,
    pub to: EnrolmentState,
}

/// One move of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: EnrolmentState,
    pub cause: Cause,
    pub reason: Option<DisqualifiedReason>,
}

/// An enrolment's clock and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub state: EnrolmentState,
    pub enrolled_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub grace_ends_at: DateTime<Utc>,
    pub target: i64,
}

/// What is known about the member's card inside the window. Derived from the stored loads and
/// withdrawals every time, so the order in which they arrived does not matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadFacts {
    /// Loads seen instantly (charge.succeeded).
    pub instant_total: i64,
    /// Loads a settlement file settled (instant ones it confirmed and delayed ones it added).
    pub settled_total: i64,
    /// Every load once: instant loads plus delayed loads known only from settlement.
    pub cumulative_total: i64,
    /// The earliest load in the window.
    pub first_load_at: Option<DateTime<Utc>>,
    /// A withdrawal at or after the first load (withdrawals before any load are ignored, as in
    /// ENROLLED, which has no withdrawal edge).
    pub withdrawal_after_first_load: bool,
}

/// The moves the facts and the time call for, in order (the state after the last is where the
/// enrolment stands). Rewards and their retries are not decided here: see [`RewardPolicy`].
pub fn decide(standing: Standing, facts: LoadFacts, now: DateTime<Utc>) -> Vec<Transition> {
    use EnrolmentState::*;
    let mut moves = Vec::new();
    let mut state = standing.state;
    let window_over = now >= standing.window_ends_at;
    let grace_over = now >= standing.grace_ends_at;
    let out = |reason, cause| Transition {
        to: Disqualified,
        cause,
        reason: Some(reason),
    };
    let to = |to, cause| Transition {
        to,
        cause,
        reason: None,
    };
    loop {
        let next = match state {
            Enrolled if facts.first_load_at.is_some() => to(Active, Cause::FirstLoad),
            Enrolled if window_over => out(DisqualifiedReason::NoLoad, Cause::WindowEnded),
            Active | GoalAchieved | Confirming | PendingReward
                if facts.withdrawal_after_first_load =>
            {
                out(DisqualifiedReason::Withdrawal, Cause::Withdrawal)
            }
            Active if facts.cumulative_total >= standing.target => {
                to(GoalAchieved, Cause::GoalReached)
            }
            Active if window_over => out(DisqualifiedReason::WindowEndedShort, Cause::WindowEnded),
            GoalAchieved if window_over => to(Confirming, Cause::WindowEnded),
            Confirming if grace_over => {
                if facts.settled_total >= standing.target {
                    to(PendingReward, Cause::GraceEnded)
                } else {
                    out(DisqualifiedReason::SettledFundsShort, Cause::GraceEnded)
                }
            }
            _ => break,
        };
        state = next.to;
        moves.push(next);
    }
    moves
}

/// When the timer next has something to do for an enrolment in `state`.
pub fn next_due(
    state: EnrolmentState,
    standing: &Standing,
    window_notice_at: Option<DateTime<Utc>>,
    reward_retry_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    use EnrolmentState::*;
    match state {
        Enrolled | Active => Some(
            window_notice_at.map_or(standing.window_ends_at, |n| n.min(standing.window_ends_at)),
        ),
        GoalAchieved => Some(standing.window_ends_at),
        Confirming => Some(standing.grace_ends_at),
        PendingReward => reward_retry_at,
        Completed | Disqualified => None,
    }
}

/// How the reward request is retried: `max_attempts` requests, the n-th retry after
/// `base * 2^(n-1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardPolicy {
    pub max_attempts: i32,
    pub base_delay: Duration,
}

impl RewardPolicy {
    /// When to look again after request number `attempt` (1-based) of this round.
    pub fn retry_at(&self, attempt: i32, now: DateTime<Utc>) -> DateTime<Utc> {
        let doublings = attempt.clamp(1, 20) - 1;
        now + self.base_delay * (1i32 << doublings)
    }

    /// Whether another request may be made after `attempt` requests.
    pub fn may_retry(&self, attempt: i32) -> bool {
        attempt < self.max_attempts
    }
}

/// Whole days left in the window, rounded up; 0 once it is over.
pub fn days_left(window_ends_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (window_ends_at - now).num_seconds();
    if seconds <= 0 {
        0
    } else {
        (seconds + 86_399) / 86_400
    }
}

/// The reference the point service gives a campaign's payment: the enrolment (the campaign
/// window of seed 000) and the member.
pub fn reward_reference(enrolment_id: uuid::Uuid, member_id: uuid::Uuid) -> String {
    format!("{enrolment_id}/{member_id}")
}

#[cfg(test)]
mod tests {
    use super::EnrolmentState::*;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    const WINDOW: i64 = 30 * 86_400;
    const GRACE: i64 = 48 * 3_600;

    fn standing(state: EnrolmentState) -> Standing {
        Standing {
            state,
            enrolled_at: at(0),
            window_ends_at: at(WINDOW),
            grace_ends_at: at(WINDOW + GRACE),
            target: 100_000,
        }
    }

    fn loads(instant: i64, settled: i64, cumulative: i64) -> LoadFacts {
        LoadFacts {
            instant_total: instant,
            settled_total: settled,
            cumulative_total: cumulative,
            first_load_at: (cumulative > 0).then(|| at(10)),
            withdrawal_after_first_load: false,
        }
    }

    fn states(moves: &[Transition]) -> Vec<EnrolmentState> {
        moves.iter().map(|m| m.to).collect()
    }

    #[test]
    fn every_edge_of_the_diagram_is_legal_and_nothing_else() {
        let all = [
            Enrolled,
            Active,
            GoalAchieved,
            Confirming,
            PendingReward,
            Completed,
            Disqualified,
        ];
        let edges = [
            (Enrolled, Active),
            (Enrolled, Disqualified),
            (Active, GoalAchieved),
            (Active, Disqualified),
            (GoalAchieved, Confirming),
            (GoalAchieved, Disqualified),
            (Confirming, PendingReward),
            (Confirming, Disqualified),
            (PendingReward, Completed),
            (PendingReward, Disqualified),
        ];
        for from in all {
            for to in all {
                let expected = edges.contains(&(from, to));
                assert_eq!(
                    from.may_become(to, None).is_ok(),
                    expected,
                    "{from:?} -> {to:?}"
                );
            }
        }
        let failed = Some(DisqualifiedReason::RewardFailed);
        assert!(Disqualified.may_become(PendingReward, failed).is_ok());
        assert!(Disqualified.may_become(Completed, failed).is_ok());
        let withdrawn = Some(DisqualifiedReason::Withdrawal);
        assert!(Disqualified.may_become(PendingReward, withdrawn).is_err());
        assert!(Completed.may_become(Disqualified, None).is_err());
    }

    #[test]
    fn a_window_without_loads_disqualifies_at_its_end_not_a_second_before() {
        let s = standing(Enrolled);
        assert!(decide(s, LoadFacts::default(), at(WINDOW - 1)).is_empty());
        let moves = decide(s, LoadFacts::default(), at(WINDOW));
        assert_eq!(states(&moves), [Disqualified]);
        assert_eq!(moves[0].reason, Some(DisqualifiedReason::NoLoad));
    }

    #[test]
    fn loads_reaching_the_target_achieve_the_goal_and_the_window_end_confirms_it() {
        let s = standing(Enrolled);
        let moves = decide(s, loads(100_000, 0, 100_000), at(20));
        assert_eq!(states(&moves), [Active, GoalAchieved]);
        let s = standing(GoalAchieved);
        assert!(decide(s, loads(100_000, 0, 100_000), at(WINDOW - 1)).is_empty());
        assert_eq!(
            states(&decide(s, loads(100_000, 0, 100_000), at(WINDOW + 1))),
            [Confirming]
        );
    }

    #[test]
    fn a_short_window_disqualifies_and_one_cent_short_is_short() {
        let s = standing(Active);
        let moves = decide(s, loads(99_999, 0, 99_999), at(WINDOW));
        assert_eq!(moves[0].reason, Some(DisqualifiedReason::WindowEndedShort));
        assert!(decide(s, loads(99_999, 0, 99_999), at(WINDOW - 1)).is_empty());
    }

    #[test]
    fn the_grace_end_pays_only_settled_funds() {
        let s = standing(Confirming);
        let settled = loads(100_000, 100_000, 100_000);
        assert!(decide(s, settled, at(WINDOW + GRACE - 1)).is_empty());
        assert_eq!(
            states(&decide(s, settled, at(WINDOW + GRACE + 1))),
            [PendingReward]
        );
        let unsettled = loads(100_000, 60_000, 100_000);
        let moves = decide(s, unsettled, at(WINDOW + GRACE));
        assert_eq!(moves[0].reason, Some(DisqualifiedReason::SettledFundsShort));
    }

    #[test]
    fn a_withdrawal_after_the_first_load_disqualifies_until_the_reward_is_paid() {
        let mut facts = loads(100_000, 100_000, 100_000);
        facts.withdrawal_after_first_load = true;
        for state in [Active, GoalAchieved, Confirming, PendingReward] {
            let moves = decide(standing(state), facts, at(100));
            assert_eq!(states(&moves), [Disqualified], "{state:?}");
            assert_eq!(moves[0].reason, Some(DisqualifiedReason::Withdrawal));
        }
        assert!(decide(standing(Completed), facts, at(100)).is_empty());
        // A load and a later withdrawal arriving in reverse order end the same way.
        assert_eq!(
            states(&decide(standing(Enrolled), facts, at(100))),
            [Active, Disqualified]
        );
    }

    #[test]
    fn retries_double_and_stop_at_the_maximum() {
        let policy = RewardPolicy {
            max_attempts: 3,
            base_delay: Duration::seconds(60),
        };
        assert_eq!(policy.retry_at(1, at(0)), at(60));
        assert_eq!(policy.retry_at(3, at(0)), at(240));
        assert!(policy.may_retry(2));
        assert!(!policy.may_retry(3));
    }

    #[test]
    fn days_left_round_up_and_stop_at_zero() {
        assert_eq!(days_left(at(WINDOW), at(0)), 30);
        assert_eq!(days_left(at(WINDOW), at(WINDOW - 1)), 1);
        assert_eq!(days_left(at(WINDOW), at(WINDOW)), 0);
        assert_eq!(days_left(at(WINDOW), at(WINDOW + 5)), 0);
    }
}
