//! `campaigns`, their enrolments and transitions, and the card's loads and withdrawals they count.

use crate::domain::campaigns::{
    BonusTerms, CampaignKind, CampaignTerms, DisqualifiedReason, Eligibility, EnrolmentMode,
    EnrolmentState, LoadFacts, NewCampaign, ReferralTerms, Standing,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A row of `campaigns`.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: Uuid,
    pub business_id: Uuid,
    pub kind: String,
    pub name: String,
    pub description: Option<String>,
    pub target_amount: Option<i64>,
    pub currency: Option<String>,
    pub window_seconds: Option<i64>,
    pub grace_seconds: Option<i64>,
    pub reward_points: Option<i64>,
    pub bonus_multiplier_bp: Option<i32>,
    pub bonus_points: Option<i64>,
    pub bonus_store_id: Option<String>,
    pub bonus_category: Option<String>,
    pub referrer_points: Option<i64>,
    pub referee_points: Option<i64>,
    pub min_purchase_amount: Option<i64>,
    pub purchase_within_seconds: Option<i64>,
    pub settle_seconds: Option<i64>,
    pub max_per_referrer: Option<i32>,
    pub max_referrals: Option<i32>,
    pub eligibility: String,
    pub enrolment: String,
    pub enrol_from: DateTime<Utc>,
    pub enrol_until: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub request_fingerprint: String,
    pub created_at: DateTime<Utc>,
}

impl Campaign {
    pub fn kind(&self) -> CampaignKind {
        CampaignKind::parse(&self.kind).unwrap_or_default()
    }

    pub fn eligibility(&self) -> Eligibility {
        Eligibility::parse(&self.eligibility).unwrap_or_default()
    }

    pub fn enrolment_mode(&self) -> EnrolmentMode {
        EnrolmentMode::parse(&self.enrolment).unwrap_or_default()
    }

    /// A load-goal campaign's window and grace period (the columns' CHECK requires them of
    /// that kind; `None` for other kinds).
    pub fn load_goal_timing(&self) -> Option<(i64, i64)> {
        self.window_seconds.zip(self.grace_seconds)
    }

    /// A referral campaign's terms (`None` for other kinds).
    pub fn referral_terms(&self) -> Option<ReferralTerms> {
        if self.kind() != CampaignKind::Referral {
            return None;
        }
        Some(ReferralTerms {
            referrer_points: self.referrer_points?,
            referee_points: self.referee_points?,
            min_purchase_amount: self.min_purchase_amount?,
            currency: kernel::money::Currency::parse(self.currency.as_deref()?).ok()?,
            purchase_within_seconds: self.purchase_within_seconds?,
            settle_seconds: self.settle_seconds?,
            max_per_referrer: self.max_per_referrer?,
            max_referrals: self.max_referrals,
        })
    }

    /// A bonus window's bonus (`None` for other kinds).
    pub fn bonus_terms(&self) -> Option<BonusTerms> {
        if self.kind() != CampaignKind::BonusWindow {
            return None;
        }
        Some(BonusTerms {
            multiplier_bp: self.bonus_multiplier_bp?,
            bonus_points: self.bonus_points?,
            store_id: self.bonus_store_id.clone(),
            category: self.bonus_category.clone(),
        })
    }
}

pub struct CampaignCreation<'a> {
    pub id: Uuid,
    pub business_id: Uuid,
    pub created_by: &'a str,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
    pub published_at: Option<DateTime<Utc>>,
}

/// Inserts a campaign; `None` when this caller's key already made one.
pub async fn insert_campaign(
    conn: &mut PgConnection,
    campaign: &NewCampaign,
    creation: &CampaignCreation<'_>,
) -> Result<Option<Campaign>, sqlx::Error> {
    let (load_goal, bonus, referral) = match &campaign.terms {
        CampaignTerms::LoadGoal(t) => (Some(t), None, None),
        CampaignTerms::BonusWindow(b) => (None, Some(b), None),
        CampaignTerms::Referral(r) => (None, None, Some(r)),
    };
    let currency = load_goal
        .map(|t| t.currency.code())
        .or(referral.map(|r| r.currency.code()));
    sqlx::query_as!(
        Campaign,
        "INSERT INTO campaigns (id, business_id, kind, name, description, target_amount, currency,
                                window_seconds, grace_seconds, reward_points, bonus_multiplier_bp,
                                bonus_points, bonus_store_id, bonus_category, referrer_points,
                                referee_points, min_purchase_amount, purchase_within_seconds,
                                settle_seconds, max_per_referrer, max_referrals, eligibility,
                                enrolment, enrol_from, enrol_until, published_at, created_by,
                                idempotency_key, request_fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
         ON CONFLICT (created_by, idempotency_key) DO NOTHING
         RETURNING id, business_id, kind, name, description, target_amount, currency, window_seconds,
                   grace_seconds, reward_points, bonus_multiplier_bp, bonus_points, bonus_store_id,
                   bonus_category, referrer_points, referee_points, min_purchase_amount,
                   purchase_within_seconds, settle_seconds, max_per_referrer, max_referrals,
                   eligibility, enrolment, enrol_from, enrol_until, published_at, ended_at,
                   created_by, request_fingerprint, created_at",
        creation.id,
        creation.business_id,
        campaign.terms.kind().as_str(),
        campaign.name,
        campaign.description,
        load_goal.map(|t| t.target_amount),
        currency,
        load_goal.map(|t| t.window_seconds),
        load_goal.map(|t| t.grace_seconds),
        load_goal.map(|t| t.reward_points),
        bonus.map(|b| b.multiplier_bp),
        bonus.map(|b| b.bonus_points),
        bonus.and_then(|b| b.store_id.as_deref()),
        bonus.and_then(|b| b.category.as_deref()),
        referral.map(|r| r.referrer_points),
        referral.map(|r| r.referee_points),
        referral.map(|r| r.min_purchase_amount),
        referral.map(|r| r.purchase_within_seconds),
        referral.map(|r| r.settle_seconds),
        referral.map(|r| r.max_per_referrer),
        referral.and_then(|r| r.max_referrals),
        campaign.eligibility.as_str(),
        campaign.enrolment.as_str(),
        campaign.enrol_from,
        campaign.enrol_until,
        creation.published_at,
        creation.created_by,
        creation.idempotency_key,
        creation.request_fingerprint,
    )
    .fetch_optional(conn)
    .await
}

/// The campaign `created_by` made with `key`.
pub async fn campaign_by_key(
    conn: &mut PgConnection,
    created_by: &str,
    key: &str,
) -> Result<Option<Campaign>, sqlx::Error> {
    sqlx::query_as!(
        Campaign,
        "SELECT id, business_id, kind, name, description, target_amount, currency, window_seconds,
                grace_seconds, reward_points, bonus_multiplier_bp, bonus_points, bonus_store_id,
                bonus_category, referrer_points, referee_points, min_purchase_amount,
                purchase_within_seconds, settle_seconds, max_per_referrer, max_referrals,
                eligibility, enrolment, enrol_from, enrol_until, published_at, ended_at,
                created_by, request_fingerprint, created_at
           FROM campaigns WHERE created_by = $1 AND idempotency_key = $2",
        created_by,
        key
    )
    .fetch_optional(conn)
    .await
}

/// One campaign; `lock` takes its row for the transaction.
pub async fn campaign(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Campaign>, sqlx::Error> {
    if lock {
        sqlx::query!("SELECT id FROM campaigns WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    sqlx::query_as!(
        Campaign,
        "SELECT id, business_id, kind, name, description, target_amount, currency, window_seconds,
                grace_seconds, reward_points, bonus_multiplier_bp, bonus_points, bonus_store_id,
                bonus_category, referrer_points, referee_points, min_purchase_amount,
                purchase_within_seconds, settle_seconds, max_per_referrer, max_referrals,
                eligibility, enrolment, enrol_from, enrol_until, published_at, ended_at,
                created_by, request_fingerprint, created_at
           FROM campaigns WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// A page of a business's campaigns, newest enrolment start first, after `(enrol_from, id)`.
pub async fn campaigns_of_business(
    conn: &mut PgConnection,
    business_id: Uuid,
    include_drafts: bool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Campaign>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        Campaign,
        "SELECT id, business_id, kind, name, description, target_amount, currency, window_seconds,
                grace_seconds, reward_points, bonus_multiplier_bp, bonus_points, bonus_store_id,
                bonus_category, referrer_points, referee_points, min_purchase_amount,
                purchase_within_seconds, settle_seconds, max_per_referrer, max_referrals,
                eligibility, enrolment, enrol_from, enrol_until, published_at, ended_at,
                created_by, request_fingerprint, created_at
           FROM campaigns
          WHERE business_id = $1 AND ($2 OR published_at IS NOT NULL)
            AND ($3::timestamptz IS NULL OR (enrol_from, id) < ($3, $4::uuid))
          ORDER BY enrol_from DESC, id DESC
          LIMIT $5",
        business_id,
        include_drafts,
        after_time,
        after_id,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn set_published(
    conn: &mut PgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaigns SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
        id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_ended(
    conn: &mut PgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaigns SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
        id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Published campaigns of a business that enrol members automatically and are open at `now`.
pub async fn automatic_campaigns_open(
    conn: &mut PgConnection,
    business_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM campaigns
          WHERE business_id = $1 AND kind = 'load_goal' AND enrolment = 'automatic'
            AND published_at IS NOT NULL
            AND enrol_from <= $2 AND enrol_until > $2 AND (ended_at IS NULL OR ended_at > $2)
          ORDER BY id",
        business_id,
        now
    )
    .fetch_all(conn)
    .await
}

/// Remembers when a member registered (the first time told).
pub async fn member_registered(
    conn: &mut PgConnection,
    member_id: Uuid,
    business_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO campaign_members (member_id, business_id, registered_at) VALUES ($1, $2, $3)
         ON CONFLICT (member_id) DO NOTHING",
        member_id,
        business_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn member_registered_at(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT registered_at FROM campaign_members WHERE member_id = $1",
        member_id
    )
    .fetch_optional(conn)
    .await
}

/// An enrolment with what it needs of its campaign.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub state: String,
    pub disqualified_reason: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub grace_ends_at: DateTime<Utc>,
    pub window_notice_sent_at: Option<DateTime<Utc>>,
    pub reward_attempts: i32,
    pub reward_requests: i32,
    pub reward_paid_at: Option<DateTime<Utc>>,
    pub reward_transaction_id: Option<String>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub campaign_name: String,
    pub target_amount: i64,
    pub currency: String,
    pub reward_points: i64,
}

impl Enrolment {
    pub fn state(&self) -> EnrolmentState {
        // The column's CHECK allows only the states' names.
        EnrolmentState::parse(&self.state).unwrap_or(EnrolmentState::Disqualified)
    }

    pub fn reason(&self) -> Option<DisqualifiedReason> {
        self.disqualified_reason
            .as_deref()
            .and_then(DisqualifiedReason::parse)
    }

    pub fn standing(&self) -> Standing {
        Standing {
            state: self.state(),
            enrolled_at: self.enrolled_at,
            window_ends_at: self.window_ends_at,
            grace_ends_at: self.grace_ends_at,
            target: self.target_amount,
        }
    }
}

pub struct NewEnrolment {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub enrolled_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub grace_ends_at: DateTime<Utc>,
    pub next_due_at: DateTime<Utc>,
}

/// Enrols a member; `false` when they already are.
pub async fn insert_enrolment(
    conn: &mut PgConnection,
    new: &NewEnrolment,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO campaign_enrolments (id, campaign_id, business_id, member_id, state,
                                          enrolled_at, window_ends_at, grace_ends_at, next_due_at)
         VALUES ($1, $2, $3, $4, 'enrolled', $5, $6, $7, $8)
         ON CONFLICT (campaign_id, member_id) DO NOTHING",
        new.id,
        new.campaign_id,
        new.business_id,
        new.member_id,
        new.enrolled_at,
        new.window_ends_at,
        new.grace_ends_at,
        new.next_due_at
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// One enrolment; `lock` takes its row for the transaction.
pub async fn enrolment(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Enrolment>, sqlx::Error> {
    if lock {
        sqlx::query!(
            "SELECT id FROM campaign_enrolments WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(&mut *conn)
        .await?;
    }
    sqlx::query_as!(
        Enrolment,
        r#"SELECT e.id, e.campaign_id, e.business_id, e.member_id, e.state, e.disqualified_reason,
                e.enrolled_at, e.window_ends_at, e.grace_ends_at, e.window_notice_sent_at,
                e.reward_attempts, e.reward_requests, e.reward_paid_at, e.reward_transaction_id,
                e.next_due_at, e.updated_at, c.name AS campaign_name,
                -- Only load-goal campaigns have enrolments, and their terms are never NULL.
                c.target_amount AS "target_amount!", c.currency AS "currency!",
                c.reward_points AS "reward_points!"
           FROM campaign_enrolments e JOIN campaigns c ON c.id = e.campaign_id
          WHERE e.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The member's enrolment in a campaign, if any.
pub async fn enrolment_of_member(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    member_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM campaign_enrolments WHERE campaign_id = $1 AND member_id = $2",
        campaign_id,
        member_id
    )
    .fetch_optional(conn)
    .await
}

/// The member's enrolments in a business that a load or withdrawal may still move, locked,
/// in id order (one lock order for every transaction).
pub async fn lock_open_enrolments(
    conn: &mut PgConnection,
    business_id: Uuid,
    member_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM campaign_enrolments
          WHERE business_id = $1 AND member_id = $2
            AND state NOT IN ('completed', 'disqualified')
          ORDER BY id FOR UPDATE",
        business_id,
        member_id
    )
    .fetch_all(conn)
    .await
}

/// Enrolments whose timer is due at `now`, skipping those another instance holds.
pub async fn lock_due_enrolment(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM campaign_enrolments
          WHERE next_due_at <= $1
          ORDER BY next_due_at
          LIMIT 1 FOR UPDATE SKIP LOCKED",
        now
    )
    .fetch_optional(conn)
    .await
}

/// Moves an enrolment's timer to `until` (after its run failed).
pub async fn postpone(
    conn: &mut PgConnection,
    id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaign_enrolments SET next_due_at = $2 WHERE id = $1 AND next_due_at IS NOT NULL",
        id,
        until
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What changes on an enrolment when it moves or its timer runs.
pub struct EnrolmentUpdate<'a> {
    pub state: EnrolmentState,
    pub disqualified_reason: Option<DisqualifiedReason>,
    pub window_notice_sent_at: Option<DateTime<Utc>>,
    pub reward_attempts: i32,
    pub reward_requests: i32,
    pub reward_paid_at: Option<DateTime<Utc>>,
    pub reward_transaction_id: Option<&'a str>,
    pub next_due_at: Option<DateTime<Utc>>,
}

pub async fn update_enrolment(
    conn: &mut PgConnection,
    id: Uuid,
    update: &EnrolmentUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaign_enrolments
            SET state = $2, disqualified_reason = $3, window_notice_sent_at = $4,
                reward_attempts = $5, reward_requests = $6, reward_paid_at = $7,
                reward_transaction_id = $8, next_due_at = $9, updated_at = now()
          WHERE id = $1",
        id,
        update.state.as_str(),
        update.disqualified_reason.map(DisqualifiedReason::as_str),
        update.window_notice_sent_at,
        update.reward_attempts,
        update.reward_requests,
        update.reward_paid_at,
        update.reward_transaction_id,
        update.next_due_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of a campaign's enrolments by id, optionally in one state and reason.
pub async fn enrolments_of_campaign(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    state: Option<EnrolmentState>,
    reason: Option<DisqualifiedReason>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Enrolment>, sqlx::Error> {
    sqlx::query_as!(
        Enrolment,
        r#"SELECT e.id, e.campaign_id, e.business_id, e.member_id, e.state, e.disqualified_reason,
                e.enrolled_at, e.window_ends_at, e.grace_ends_at, e.window_notice_sent_at,
                e.reward_attempts, e.reward_requests, e.reward_paid_at, e.reward_transaction_id,
                e.next_due_at, e.updated_at, c.name AS campaign_name,
                -- Only load-goal campaigns have enrolments, and their terms are never NULL.
                c.target_amount AS "target_amount!", c.currency AS "currency!",
                c.reward_points AS "reward_points!"
           FROM campaign_enrolments e JOIN campaigns c ON c.id = e.campaign_id
          WHERE e.campaign_id = $1 AND ($2::text IS NULL OR e.state = $2)
            AND ($3::text IS NULL OR e.disqualified_reason = $3)
            AND ($4::uuid IS NULL OR e.id > $4)
          ORDER BY e.id LIMIT $5"#,
        campaign_id,
        state.map(EnrolmentState::as_str),
        reason.map(DisqualifiedReason::as_str),
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

/// A recorded transition.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    pub from_state: Option<String>,
    pub to_state: String,
    pub cause: String,
    pub detail: Option<String>,
    pub actor: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn insert_transition(
    conn: &mut PgConnection,
    enrolment_id: Uuid,
    row: &TransitionRow,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO campaign_transitions (enrolment_id, from_state, to_state, cause, detail,
                                           actor, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        enrolment_id,
        row.from_state,
        row.to_state,
        row.cause,
        row.detail,
        row.actor,
        row.occurred_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn transitions(
    conn: &mut PgConnection,
    enrolment_id: Uuid,
) -> Result<Vec<TransitionRow>, sqlx::Error> {
    sqlx::query_as!(
        TransitionRow,
        "SELECT from_state, to_state, cause, detail, actor, occurred_at
           FROM campaign_transitions WHERE enrolment_id = $1 ORDER BY id",
        enrolment_id
    )
    .fetch_all(conn)
    .await
}

/// A load seen instantly. A settlement line may have come first: the load is then marked seen.
pub struct InstantLoad<'a> {
    pub business_id: Uuid,
    pub transaction_id: &'a str,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: &'a str,
    pub transacted_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

pub async fn record_instant_load(
    conn: &mut PgConnection,
    load: &InstantLoad<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_loads (business_id, transaction_id, member_id, amount, currency,
                                   transacted_at, instant_seen_at, channel)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'instant')
         ON CONFLICT (business_id, transaction_id)
         DO UPDATE SET instant_seen_at = coalesce(member_loads.instant_seen_at, excluded.instant_seen_at)",
        load.business_id,
        load.transaction_id,
        load.member_id,
        load.amount,
        load.currency,
        load.transacted_at,
        load.seen_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored load, as a settlement line is checked against it.
#[derive(Debug, Clone)]
pub struct StoredLoad {
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub instant_seen_at: Option<DateTime<Utc>>,
    pub settled_on: Option<NaiveDate>,
}

pub async fn lock_load(
    conn: &mut PgConnection,
    business_id: Uuid,
    transaction_id: &str,
) -> Result<Option<StoredLoad>, sqlx::Error> {
    sqlx::query_as!(
        StoredLoad,
        "SELECT member_id, amount, currency, instant_seen_at, settled_on FROM member_loads
          WHERE business_id = $1 AND transaction_id = $2 FOR UPDATE",
        business_id,
        transaction_id
    )
    .fetch_optional(conn)
    .await
}

/// A load a settlement file settles.
pub struct SettledLoadRow<'a> {
    pub business_id: Uuid,
    pub transaction_id: &'a str,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: &'a str,
    pub transacted_at: DateTime<Utc>,
    pub settled_on: NaiveDate,
    pub file_id: Uuid,
    pub channel: &'a str,
}

/// Records a load first known from settlement (a delayed load).
pub async fn insert_settled_load(
    conn: &mut PgConnection,
    load: &SettledLoadRow<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_loads (business_id, transaction_id, member_id, amount, currency,
                                   transacted_at, settled_on, settlement_file_id, channel)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        load.business_id,
        load.transaction_id,
        load.member_id,
        load.amount,
        load.currency,
        load.transacted_at,
        load.settled_on,
        load.file_id,
        load.channel
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a known load settled (no amount change).
pub async fn mark_settled(
    conn: &mut PgConnection,
    business_id: Uuid,
    transaction_id: &str,
    settled_on: NaiveDate,
    file_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE member_loads SET settled_on = $3, settlement_file_id = $4
          WHERE business_id = $1 AND transaction_id = $2",
        business_id,
        transaction_id,
        settled_on,
        file_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The loads and withdrawals an enrolment counts: loads in `currency` transacted in
/// `[from, until)`, and whether money left the card at or after the first of them.
pub async fn load_facts(
    conn: &mut PgConnection,
    business_id: Uuid,
    member_id: Uuid,
    currency: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<LoadFacts, sqlx::Error> {
    let totals = sqlx::query!(
        r#"SELECT coalesce(sum(amount) FILTER (WHERE instant_seen_at IS NOT NULL), 0)::bigint AS "instant!",
                  coalesce(sum(amount) FILTER (WHERE settled_on IS NOT NULL), 0)::bigint AS "settled!",
                  coalesce(sum(amount), 0)::bigint AS "cumulative!",
                  min(transacted_at) AS first_load_at
             FROM member_loads
            WHERE business_id = $1 AND member_id = $2 AND currency = $3
              AND transacted_at >= $4 AND transacted_at < $5"#,
        business_id,
        member_id,
        currency,
        from,
        until
    )
    .fetch_one(&mut *conn)
    .await?;
    let withdrawal_after_first_load = match totals.first_load_at {
        Some(first) => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM member_withdrawals
                               WHERE business_id = $1 AND member_id = $2 AND occurred_at >= $3) AS "found!""#,
            business_id,
            member_id,
            first
        )
        .fetch_one(conn)
        .await?,
        None => false,
    };
    Ok(LoadFacts {
        instant_total: totals.instant,
        settled_total: totals.settled,
        cumulative_total: totals.cumulative,
        first_load_at: totals.first_load_at,
        withdrawal_after_first_load,
    })
}

pub struct WithdrawalRow<'a> {
    pub business_id: Uuid,
    pub withdrawal_id: &'a str,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: &'a str,
    pub occurred_at: DateTime<Utc>,
}

pub async fn record_withdrawal(
    conn: &mut PgConnection,
    row: &WithdrawalRow<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_withdrawals (business_id, withdrawal_id, member_id, amount, currency,
                                         occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (business_id, withdrawal_id) DO NOTHING",
        row.business_id,
        row.withdrawal_id,
        row.member_id,
        row.amount,
        row.currency,
        row.occurred_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An instant load no settlement file has confirmed.
#[derive(Debug, Clone)]
pub struct UnsettledLoad {
    pub transaction_id: String,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
}

/// Instant loads never settled although the grace period of an enrolment counting them is over.
pub async fn unsettled_after_grace(
    conn: &mut PgConnection,
    business_id: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<UnsettledLoad>, sqlx::Error> {
    sqlx::query_as!(
        UnsettledLoad,
        "SELECT l.transaction_id, l.member_id, l.amount, l.currency
           FROM member_loads l
          WHERE l.business_id = $1 AND l.settled_on IS NULL AND l.instant_seen_at IS NOT NULL
            AND EXISTS (SELECT 1 FROM campaign_enrolments e
                         WHERE e.business_id = l.business_id AND e.member_id = l.member_id
                           AND e.grace_ends_at <= $2
                           AND l.transacted_at >= e.enrolled_at
                           AND l.transacted_at < e.window_ends_at)
          ORDER BY l.transacted_at, l.transaction_id
          LIMIT $3",
        business_id,
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// A settlement file already ingested: its id and report.
pub async fn settlement_file_by_hash(
    conn: &mut PgConnection,
    business_id: Uuid,
    sha256: &str,
) -> Result<Option<(Uuid, serde_json::Value)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, report FROM settlement_files WHERE business_id = $1 AND sha256 = $2",
        business_id,
        sha256
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.report)))
}

pub async fn settlement_file(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, serde_json::Value)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT business_id, report FROM settlement_files WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.business_id, r.report)))
}

pub struct SettlementFileRow<'a> {
    pub id: Uuid,
    pub business_id: Uuid,
    pub sha256: &'a str,
    pub name: &'a str,
    pub source: &'a str,
    pub received_by: &'a str,
    pub report: serde_json::Value,
}

/// Records an ingested file; `false` when a file with the same content got there first.
pub async fn insert_settlement_file(
    conn: &mut PgConnection,
    file: &SettlementFileRow<'_>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO settlement_files (id, business_id, sha256, name, source, received_by, report)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (business_id, sha256) DO NOTHING",
        file.id,
        file.business_id,
        file.sha256,
        file.name,
        file.source,
        file.received_by,
        file.report
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets an erased member's campaign data.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM campaign_enrolments WHERE member_id = $1",
        member_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM member_loads WHERE member_id = $1", member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "DELETE FROM member_withdrawals WHERE member_id = $1",
        member_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM campaign_members WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
