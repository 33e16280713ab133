//! What the stamp card endpoints answer with.

use crate::core::stamps::{
    CardRecord, CardSummary, Issued, RewardRecord, StampProgram, Voided, WalletEntry,
};
use crate::domain::stamps::{on_card, void_until};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampProgram)]
pub struct StampProgramView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    /// Stamps that fill a card.
    pub stamps_required: i32,
    /// What a full card gives.
    pub reward: String,
    /// `per_purchase` (one stamp a purchase) or `per_item` (one per item bought).
    pub mode: String,
    /// Days after a card's last stamp that the stamps on it lapse (absent: never). Rewards
    /// already given do not lapse.
    pub stamp_expiry_days: Option<i32>,
    /// How long after an issue its store may still void it.
    pub void_window_minutes: i32,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<&StampProgram> for StampProgramView {
    fn from(p: &StampProgram) -> Self {
        Self {
            id: p.id,
            business_id: p.business_id,
            name: p.name.clone(),
            stamps_required: p.stamps_required,
            reward: p.reward.clone(),
            mode: p.mode.as_str().to_owned(),
            stamp_expiry_days: p.stamp_expiry_days,
            void_window_minutes: p.void_window_minutes,
            active: p.active,
            created_by: p.created_by.clone(),
            created_at: p.created_at,
        }
    }
}

/// A member's card in one program.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampCard)]
pub struct StampCardView {
    pub business_id: Uuid,
    pub program_id: Uuid,
    pub program_name: String,
    pub reward: String,
    /// Stamps on the card now (lapsed ones not counted).
    pub stamps: i32,
    pub stamps_required: i32,
    /// When the stamps on the card lapse unless the member gets another (absent: never, or
    /// the card is empty).
    pub stamps_expire_at: Option<DateTime<Utc>>,
    /// Rewards the card has given (those voided since not counted).
    pub rewards_issued: i32,
    /// Whether the program still gives stamps.
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

impl StampCardView {
    /// The card as it shows at `now`.
    pub fn of_summary(c: CardSummary, now: DateTime<Utc>) -> Self {
        let (stamps, stamps_expire_at) =
            on_card(c.stamps, c.last_stamped_at, c.stamp_expiry_days, now);
        Self {
            business_id: c.business_id,
            program_id: c.program_id,
            program_name: c.program_name,
            reward: c.reward,
            stamps,
            stamps_required: c.stamps_required,
            stamps_expire_at,
            rewards_issued: c.rewards_issued,
            active: c.active,
            updated_at: c.updated_at,
        }
    }

    fn of(program: &StampProgram, card: &CardRecord, now: DateTime<Utc>) -> Self {
        let (stamps, stamps_expire_at) = on_card(
            card.stamps,
            card.last_stamped_at,
            program.stamp_expiry_days,
            now,
        );
        Self {
            business_id: card.business_id,
            program_id: program.id,
            program_name: program.name.clone(),
            reward: program.reward.clone(),
            stamps,
            stamps_required: program.stamps_required,
            stamps_expire_at,
            rewards_issued: card.completed_count,
            active: program.active,
            updated_at: card.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampIssue)]
pub struct StampIssueView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub store_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    /// Stamps the issue gave.
    pub stamps: i32,
    /// Items the request named, if any.
    pub items: Option<i32>,
    /// The store's own id of the purchase.
    pub transaction_id: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    /// The store may void the issue until then.
    pub void_until: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
}

impl StampIssueView {
    fn of(program: &StampProgram, i: &crate::core::stamps::IssueRecord) -> Self {
        Self {
            id: i.id,
            business_id: i.business_id,
            store_id: i.store_id,
            member_id: i.member_id,
            program_id: i.program_id,
            stamps: i.stamps,
            items: i.items,
            transaction_id: i.transaction_id.clone(),
            issued_by: i.issued_by.clone(),
            issued_at: i.issued_at,
            void_until: void_until(i.issued_at, program.void_window_minutes),
            voided_at: i.voided_at,
            voided_by: i.voided_by.clone(),
        }
    }
}

/// A reward a full card gave.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampReward)]
pub struct StampRewardView {
    pub id: Uuid,
    pub program_id: Uuid,
    pub member_id: Uuid,
    /// The issue whose stamps filled the card.
    pub issue_id: Uuid,
    pub reward: String,
    /// `issued` or `voided`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

impl StampRewardView {
    fn of(program: &StampProgram, r: &RewardRecord) -> Self {
        Self {
            id: r.id,
            program_id: r.program_id,
            member_id: r.member_id,
            issue_id: r.issue_id,
            reward: program.reward.clone(),
            status: r.status.clone(),
            created_at: r.created_at,
            voided_at: r.voided_at,
        }
    }
}

/// Stamps given: the issue, the card it left, the rewards it filled the card for.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampsIssued)]
pub struct StampsIssuedView {
    pub issue: StampIssueView,
    /// The card now.
    pub card: StampCardView,
    pub rewards: Vec<StampRewardView>,
    /// True when the store's transaction had been stamped before by this same request.
    pub replayed: bool,
}

impl StampsIssuedView {
    pub fn of(i: &Issued, now: DateTime<Utc>) -> Self {
        Self {
            issue: StampIssueView::of(&i.program, &i.issue),
            card: StampCardView::of(&i.program, &i.card, now),
            rewards: i
                .rewards
                .iter()
                .map(|r| StampRewardView::of(&i.program, r))
                .collect(),
            replayed: i.replayed,
        }
    }
}

/// An issue voided, and the card it left.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StampsVoided)]
pub struct StampsVoidedView {
    pub issue: StampIssueView,
    pub card: StampCardView,
    /// The rewards the void took back.
    pub voided_reward_ids: Vec<Uuid>,
    /// True when the issue had been voided before (nothing changed now).
    pub already_voided: bool,
}

impl StampsVoidedView {
    pub fn of(v: &Voided, now: DateTime<Utc>) -> Self {
        Self {
            issue: StampIssueView::of(&v.program, &v.issue),
            card: StampCardView::of(&v.program, &v.card, now),
            voided_reward_ids: v.voided_rewards.clone(),
            already_voided: v.already_voided,
        }
    }
}

/// A member's points at a business.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WalletPoints {
    /// Active points (held ones included).
    pub total_points: i64,
    pub available_points: i64,
    pub pending_points: i64,
    pub tier: String,
}

/// What a member holds at one business.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WalletCard {
    pub business_id: Uuid,
    /// Absent where the member has no points account.
    pub points: Option<WalletPoints>,
    pub stamp_cards: Vec<StampCardView>,
}

impl WalletCard {
    pub fn of(e: WalletEntry, now: DateTime<Utc>) -> Self {
        Self {
            business_id: e.business_id,
            points: e.points.map(|a| WalletPoints {
                available_points: a.available(),
                total_points: a.balance,
                pending_points: a.pending,
                tier: a.tier,
            }),
            stamp_cards: e
                .stamp_cards
                .into_iter()
                .map(|c| StampCardView::of_summary(c, now))
                .collect(),
        }
    }
}

/// The member's cards: one per business where they have points or stamps.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Wallet {
    pub member_id: Uuid,
    pub cards: Vec<WalletCard>,
}
