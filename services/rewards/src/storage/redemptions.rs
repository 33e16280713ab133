//! `redemptions` and their steps.

use crate::domain::redemptions::RedemptionStatus;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A row of `redemptions`, with its reward's name and fulfilment.
#[derive(Debug, Clone)]
pub struct Redemption {
    pub id: Uuid,
    pub business_id: Uuid,
    pub reward_id: Uuid,
    pub reward_name: String,
    pub fulfilment: String,
    pub member_id: Option<Uuid>,
    pub points: i64,
    pub status: String,
    pub failure_reason: Option<String>,
    pub failure_detail: Option<String>,
    pub hold_id: Option<Uuid>,
    pub code: Option<String>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub cancel_until: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<String>,
    pub used_store_id: Option<Uuid>,
    pub used_idempotency_key: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub requested_by: String,
    pub request_fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Redemption {
    pub fn status(&self) -> RedemptionStatus {
        RedemptionStatus::parse(&self.status).unwrap_or(RedemptionStatus::Failed)
    }
}

pub struct NewRedemption<'a> {
    pub id: Uuid,
    pub business_id: Uuid,
    pub reward_id: Uuid,
    pub member_id: Uuid,
    pub points: i64,
    pub requested_by: &'a str,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
}

/// Inserts a pending redemption; `false` when this caller's key already made one.
pub async fn insert(conn: &mut PgConnection, new: &NewRedemption<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO redemptions (id, business_id, reward_id, member_id, points, status,
                                  requested_by, idempotency_key, request_fingerprint)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)
         ON CONFLICT (requested_by, idempotency_key) DO NOTHING",
        new.id,
        new.business_id,
        new.reward_id,
        new.member_id,
        new.points,
        new.requested_by,
        new.idempotency_key,
        new.request_fingerprint,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    requested_by: &str,
    idempotency_key: &str,
) -> Result<Option<Redemption>, sqlx::Error> {
    sqlx::query_as!(
        Redemption,
        r#"SELECT r.id, r.business_id, r.reward_id, c.name AS reward_name, c.fulfilment,
                  r.member_id, r.points, r.status, r.failure_reason, r.failure_detail, r.hold_id,
                  r.code, r.code_expires_at, r.cancel_until, r.used_at, r.used_by,
                  r.used_store_id, r.used_idempotency_key, r.cancelled_at, r.requested_by, r.request_fingerprint,
                  r.created_at, r.updated_at
             FROM redemptions r JOIN catalog_items c ON c.id = r.reward_id
            WHERE r.requested_by = $1 AND r.idempotency_key = $2"#,
        requested_by,
        idempotency_key
    )
    .fetch_optional(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Redemption>, sqlx::Error> {
    sqlx::query_as!(
        Redemption,
        r#"SELECT r.id, r.business_id, r.reward_id, c.name AS reward_name, c.fulfilment,
                  r.member_id, r.points, r.status, r.failure_reason, r.failure_detail, r.hold_id,
                  r.code, r.code_expires_at, r.cancel_until, r.used_at, r.used_by,
                  r.used_store_id, r.used_idempotency_key, r.cancelled_at, r.requested_by, r.request_fingerprint,
                  r.created_at, r.updated_at
             FROM redemptions r JOIN catalog_items c ON c.id = r.reward_id
            WHERE r.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The redemption, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Redemption>, sqlx::Error> {
    sqlx::query_as!(
        Redemption,
        r#"SELECT r.id, r.business_id, r.reward_id, c.name AS reward_name, c.fulfilment,
                  r.member_id, r.points, r.status, r.failure_reason, r.failure_detail, r.hold_id,
                  r.code, r.code_expires_at, r.cancel_until, r.used_at, r.used_by,
                  r.used_store_id, r.used_idempotency_key, r.cancelled_at, r.requested_by, r.request_fingerprint,
                  r.created_at, r.updated_at
             FROM redemptions r JOIN catalog_items c ON c.id = r.reward_id
            WHERE r.id = $1
              FOR UPDATE OF r"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The redemption whose code this is, locked until the transaction ends.
pub async fn lock_by_code(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<Redemption>, sqlx::Error> {
    sqlx::query_as!(
        Redemption,
        r#"SELECT r.id, r.business_id, r.reward_id, c.name AS reward_name, c.fulfilment,
                  r.member_id, r.points, r.status, r.failure_reason, r.failure_detail, r.hold_id,
                  r.code, r.code_expires_at, r.cancel_until, r.used_at, r.used_by,
                  r.used_store_id, r.used_idempotency_key, r.cancelled_at, r.requested_by, r.request_fingerprint,
                  r.created_at, r.updated_at
             FROM redemptions r JOIN catalog_items c ON c.id = r.reward_id
            WHERE r.code = $1
              FOR UPDATE OF r"#,
        code
    )
    .fetch_optional(conn)
    .await
}

/// A member's redemptions, newest first, after the cursor.
pub async fn list_for_member(
    conn: &mut PgConnection,
    member_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Redemption>, sqlx::Error> {
    let (after_at, after_id) = after.unwrap_or((DateTime::<Utc>::MAX_UTC, Uuid::max()));
    sqlx::query_as!(
        Redemption,
        r#"SELECT r.id, r.business_id, r.reward_id, c.name AS reward_name, c.fulfilment,
                  r.member_id, r.points, r.status, r.failure_reason, r.failure_detail, r.hold_id,
                  r.code, r.code_expires_at, r.cancel_until, r.used_at, r.used_by,
                  r.used_store_id, r.used_idempotency_key, r.cancelled_at, r.requested_by, r.request_fingerprint,
                  r.created_at, r.updated_at
             FROM redemptions r JOIN catalog_items c ON c.id = r.reward_id
            WHERE r.member_id = $1 AND (r.created_at, r.id) < ($2, $3)
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT $4"#,
        member_id,
        after_at,
        after_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// How many redemptions of the reward the member holds since `since` (all time when `None`),
/// failed and cancelled ones aside.
pub async fn count_for_limit(
    conn: &mut PgConnection,
    reward_id: Uuid,
    member_id: Uuid,
    since: Option<DateTime<Utc>>,
) -> Result<i64, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM redemptions
            WHERE reward_id = $1 AND member_id = $2
              AND status IN ('pending', 'issued', 'used')
              AND ($3::timestamptz IS NULL OR created_at >= $3)"#,
        reward_id,
        member_id,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok(count)
}

pub struct Issue<'a> {
    pub hold_id: Uuid,
    pub code: &'a str,
    pub code_expires_at: DateTime<Utc>,
    pub cancel_until: Option<DateTime<Utc>>,
}

pub async fn set_issued(
    conn: &mut PgConnection,
    id: Uuid,
    issue: &Issue<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE redemptions
            SET status = 'issued', hold_id = $2, code = $3, code_expires_at = $4,
                cancel_until = $5, updated_at = now()
          WHERE id = $1",
        id,
        issue.hold_id,
        issue.code,
        issue.code_expires_at,
        issue.cancel_until,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_failed(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE redemptions
            SET status = 'failed', failure_reason = $2, failure_detail = $3, updated_at = now()
          WHERE id = $1",
        id,
        reason,
        detail
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_used(
    conn: &mut PgConnection,
    id: Uuid,
    used_by: &str,
    store: Option<Uuid>,
    idempotency_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE redemptions
            SET status = 'used', used_at = now(), used_by = $2, used_store_id = $3,
                used_idempotency_key = $4, updated_at = now()
          WHERE id = $1",
        id,
        used_by,
        store,
        idempotency_key
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_cancelled(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE redemptions SET status = 'cancelled', cancelled_at = now(), updated_at = now()
          WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a step of the saga with its cause.
pub async fn record_step(
    conn: &mut PgConnection,
    id: Uuid,
    status: RedemptionStatus,
    cause: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO redemption_steps (redemption_id, status, cause) VALUES ($1, $2, $3)",
        id,
        status.as_str(),
        cause
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A redemption's steps, oldest first.
pub async fn steps(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<(String, String, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT status, cause, at FROM redemption_steps WHERE redemption_id = $1 ORDER BY id",
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.status, r.cause, r.at))
        .collect())
}

/// An erased member's redemptions stay (stock and the books need them) without their person.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE redemptions
            SET member_id = NULL,
                requested_by = 'erased:' || id::text,
                updated_at = now()
          WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?
    .rows_affected())
}
