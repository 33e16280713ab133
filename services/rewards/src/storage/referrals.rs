//! `referral_codes`, `referrals` and their transitions, and the members' purchases they count.

use crate::domain::referrals::{PurchaseFact, ReferralStanding, ReferralState};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A member's code in a campaign, if they have one.
pub async fn code_of_member(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    member_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT code FROM referral_codes WHERE campaign_id = $1 AND member_id = $2",
        campaign_id,
        member_id
    )
    .fetch_optional(conn)
    .await
}

/// Gives a member a code; returns the member's code (theirs from before if they had one).
pub async fn insert_code(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    member_id: Uuid,
    code: &str,
    at: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO referral_codes (campaign_id, member_id, code, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id, member_id) DO NOTHING",
        campaign_id,
        member_id,
        code,
        at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        "SELECT code FROM referral_codes WHERE campaign_id = $1 AND member_id = $2",
        campaign_id,
        member_id
    )
    .fetch_one(conn)
    .await
}

/// Whose code this is in the campaign.
pub async fn owner_of_code(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    code: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT member_id FROM referral_codes WHERE campaign_id = $1 AND code = $2",
        campaign_id,
        code
    )
    .fetch_optional(conn)
    .await
}

/// A referral with what it needs of its campaign.
#[derive(Debug, Clone)]
pub struct Referral {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub business_id: Uuid,
    pub referrer_id: Uuid,
    pub referee_id: Uuid,
    pub state: String,
    pub claimed_at: DateTime<Utc>,
    pub purchase_by: DateTime<Utc>,
    pub charge_id: Option<String>,
    pub purchased_at: Option<DateTime<Utc>>,
    pub settles_at: Option<DateTime<Utc>>,
    pub reward_attempts: i32,
    pub reward_requests: i32,
    pub referrer_paid_at: Option<DateTime<Utc>>,
    pub referrer_transaction_id: Option<String>,
    pub referee_paid_at: Option<DateTime<Utc>>,
    pub referee_transaction_id: Option<String>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub campaign_name: String,
    pub referrer_points: i64,
    pub referee_points: i64,
    pub min_purchase_amount: i64,
    pub currency: String,
    pub settle_seconds: i64,
}

impl Referral {
    pub fn state(&self) -> ReferralState {
        // The column's CHECK allows only the states' names.
        ReferralState::parse(&self.state).unwrap_or(ReferralState::Expired)
    }

    pub fn standing(&self) -> ReferralStanding {
        ReferralStanding {
            state: self.state(),
            purchase_by: self.purchase_by,
            settle: Duration::seconds(self.settle_seconds),
            charge_id: self.charge_id.clone(),
            settles_at: self.settles_at,
        }
    }

    /// Both sides are paid (a side that earns nothing counts as paid).
    pub fn fully_paid(&self) -> bool {
        (self.referrer_points == 0 || self.referrer_paid_at.is_some())
            && (self.referee_points == 0 || self.referee_paid_at.is_some())
    }
}

/// One referral; `lock` takes its row for the transaction.
pub async fn referral(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Referral>, sqlx::Error> {
    if lock {
        sqlx::query!("SELECT id FROM referrals WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    sqlx::query_as!(
        Referral,
        r#"SELECT r.id, r.campaign_id, r.business_id, r.referrer_id, r.referee_id, r.state,
                  r.claimed_at, r.purchase_by, r.charge_id, r.purchased_at, r.settles_at,
                  r.reward_attempts, r.reward_requests, r.referrer_paid_at,
                  r.referrer_transaction_id, r.referee_paid_at, r.referee_transaction_id,
                  r.next_due_at, r.updated_at, c.name AS campaign_name,
                  -- Only referral campaigns have referrals, and their terms are never NULL.
                  c.referrer_points AS "referrer_points!", c.referee_points AS "referee_points!",
                  c.min_purchase_amount AS "min_purchase_amount!", c.currency AS "currency!",
                  c.settle_seconds AS "settle_seconds!"
             FROM referrals r JOIN campaigns c ON c.id = r.campaign_id
            WHERE r.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Whether a referral with this id exists (campaign payments name a referral or an enrolment).
pub async fn exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT 1 AS one FROM referrals WHERE id = $1", id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// The referral that brought a member in a campaign, if any.
pub async fn referral_of_referee(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    referee_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM referrals WHERE campaign_id = $1 AND referee_id = $2",
        campaign_id,
        referee_id
    )
    .fetch_optional(conn)
    .await
}

/// How many referrals hold a place toward the caps: the referrer's, and the campaign's.
pub async fn places_taken(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    referrer_id: Uuid,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE referrer_id = $2) AS "by_referrer!",
                  count(*) AS "in_campaign!"
             FROM referrals WHERE campaign_id = $1 AND state <> 'expired'"#,
        campaign_id,
        referrer_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.by_referrer, row.in_campaign))
}

pub struct NewReferral {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub business_id: Uuid,
    pub referrer_id: Uuid,
    pub referee_id: Uuid,
    pub claimed_at: DateTime<Utc>,
    pub purchase_by: DateTime<Utc>,
}

/// Records a claim; `false` when the referee was referred in this campaign meanwhile.
pub async fn insert_referral(
    conn: &mut PgConnection,
    new: &NewReferral,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO referrals (id, campaign_id, business_id, referrer_id, referee_id, state,
                                claimed_at, purchase_by, next_due_at)
         VALUES ($1, $2, $3, $4, $5, 'claimed', $6, $7, $7)
         ON CONFLICT (campaign_id, referee_id) DO NOTHING",
        new.id,
        new.campaign_id,
        new.business_id,
        new.referrer_id,
        new.referee_id,
        new.claimed_at,
        new.purchase_by,
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// What changes on a referral when it moves or its timer runs.
pub struct ReferralUpdate<'a> {
    pub state: ReferralState,
    pub charge_id: Option<&'a str>,
    pub purchased_at: Option<DateTime<Utc>>,
    pub settles_at: Option<DateTime<Utc>>,
    pub reward_attempts: i32,
    pub reward_requests: i32,
    pub referrer_paid_at: Option<DateTime<Utc>>,
    pub referrer_transaction_id: Option<&'a str>,
    pub referee_paid_at: Option<DateTime<Utc>>,
    pub referee_transaction_id: Option<&'a str>,
    pub next_due_at: Option<DateTime<Utc>>,
}

pub async fn update_referral(
    conn: &mut PgConnection,
    id: Uuid,
    u: &ReferralUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE referrals
            SET state = $2, charge_id = $3, purchased_at = $4, settles_at = $5,
                reward_attempts = $6, reward_requests = $7, referrer_paid_at = $8,
                referrer_transaction_id = $9, referee_paid_at = $10, referee_transaction_id = $11,
                next_due_at = $12, updated_at = now()
          WHERE id = $1",
        id,
        u.state.as_str(),
        u.charge_id,
        u.purchased_at,
        u.settles_at,
        u.reward_attempts,
        u.reward_requests,
        u.referrer_paid_at,
        u.referrer_transaction_id,
        u.referee_paid_at,
        u.referee_transaction_id,
        u.next_due_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One recorded move of a referral.
#[derive(Debug, Clone)]
pub struct ReferralTransition {
    pub from_state: Option<String>,
    pub to_state: String,
    pub cause: String,
    pub detail: Option<String>,
    pub actor: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn insert_transition(
    conn: &mut PgConnection,
    referral_id: Uuid,
    t: &ReferralTransition,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO referral_transitions (referral_id, from_state, to_state, cause, detail,
                                           actor, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        referral_id,
        t.from_state,
        t.to_state,
        t.cause,
        t.detail,
        t.actor,
        t.occurred_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn transitions(
    conn: &mut PgConnection,
    referral_id: Uuid,
) -> Result<Vec<ReferralTransition>, sqlx::Error> {
    sqlx::query_as!(
        ReferralTransition,
        "SELECT from_state, to_state, cause, detail, actor, occurred_at
           FROM referral_transitions WHERE referral_id = $1 ORDER BY id",
        referral_id
    )
    .fetch_all(conn)
    .await
}

/// A page of a campaign's referrals, optionally only those a member is part of.
pub async fn referrals_of_campaign(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    member_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM referrals
          WHERE campaign_id = $1
            AND ($2::uuid IS NULL OR referrer_id = $2 OR referee_id = $2)
            AND ($3::uuid IS NULL OR id > $3)
          ORDER BY id LIMIT $4",
        campaign_id,
        member_id,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The referrals a purchase or refund of the member may move, locked in id order.
pub async fn lock_open_referrals_of_referee(
    conn: &mut PgConnection,
    business_id: Uuid,
    referee_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM referrals
          WHERE business_id = $1 AND referee_id = $2 AND state IN ('claimed', 'settling')
          ORDER BY id FOR UPDATE",
        business_id,
        referee_id
    )
    .fetch_all(conn)
    .await
}

/// The referral whose timer is due first, locked; one another instance holds is skipped.
pub async fn lock_due_referral(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM referrals WHERE next_due_at <= $1
          ORDER BY next_due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        now
    )
    .fetch_optional(conn)
    .await
}

pub async fn postpone(
    conn: &mut PgConnection,
    id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE referrals SET next_due_at = $2 WHERE id = $1 AND next_due_at IS NOT NULL",
        id,
        until
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct PurchaseRow<'a> {
    pub business_id: Uuid,
    pub charge_id: &'a str,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: &'a str,
    pub purchased_at: DateTime<Utc>,
}

/// Records a purchase (once; a refund may have arrived first and made the row).
pub async fn record_purchase(
    conn: &mut PgConnection,
    p: &PurchaseRow<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_purchases (business_id, charge_id, member_id, amount, currency,
                                       purchased_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (business_id, charge_id) DO UPDATE
            SET amount = EXCLUDED.amount, currency = EXCLUDED.currency,
                purchased_at = EXCLUDED.purchased_at
          WHERE member_purchases.amount IS NULL",
        p.business_id,
        p.charge_id,
        p.member_id,
        p.amount,
        p.currency,
        p.purchased_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records what has been refunded of a charge in all (refund events carry the running total,
/// so the largest seen is the truth whatever order they came in).
pub async fn record_refund(
    conn: &mut PgConnection,
    business_id: Uuid,
    charge_id: &str,
    member_id: Uuid,
    total_refunded: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_purchases (business_id, charge_id, member_id, refunded_amount)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (business_id, charge_id) DO UPDATE
            SET refunded_amount = GREATEST(member_purchases.refunded_amount, EXCLUDED.refunded_amount)",
        business_id,
        charge_id,
        member_id,
        total_refunded,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The member's purchases (with their amounts known) since `since`.
pub async fn purchases_since(
    conn: &mut PgConnection,
    business_id: Uuid,
    member_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<PurchaseFact>, sqlx::Error> {
    sqlx::query_as!(
        PurchaseFact,
        r#"SELECT charge_id, amount AS "amount!", currency AS "currency!",
                  purchased_at AS "purchased_at!", refunded_amount
             FROM member_purchases
            WHERE business_id = $1 AND member_id = $2 AND amount IS NOT NULL
              AND purchased_at >= $3
            ORDER BY purchased_at, charge_id"#,
        business_id,
        member_id,
        since
    )
    .fetch_all(conn)
    .await
}

/// Forgets an erased member's codes, purchases and the referrals that brought them. Referrals
/// they made of others stay: the others' points depend on them.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM referral_codes WHERE member_id = $1", member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM referrals WHERE referee_id = $1", member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "DELETE FROM member_purchases WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
