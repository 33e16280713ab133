//! `holds`: points reserved for a redemption until they are captured or released.

use crate::domain::HoldStatus;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Hold {
    pub id: Uuid,
    pub member_id: Uuid,
    pub points: i64,
    pub status: HoldStatus,
    pub reference_id: Option<String>,
    pub description: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub transaction_id: Option<Uuid>,
    pub request_fingerprint: String,
}

struct HoldRow {
    id: Uuid,
    member_id: Uuid,
    points: i64,
    status: String,
    reference_id: Option<String>,
    description: Option<String>,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
    transaction_id: Option<Uuid>,
    request_fingerprint: String,
}

impl TryFrom<HoldRow> for Hold {
    type Error = sqlx::Error;

    fn try_from(row: HoldRow) -> Result<Self, sqlx::Error> {
        let status = HoldStatus::parse(&row.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown hold status {:?}", row.status).into())
        })?;
        Ok(Hold {
            id: row.id,
            member_id: row.member_id,
            points: row.points,
            status,
            reference_id: row.reference_id,
            description: row.description,
            expires_at: row.expires_at,
            created_at: row.created_at,
            settled_at: row.settled_at,
            transaction_id: row.transaction_id,
            request_fingerprint: row.request_fingerprint,
        })
    }
}

pub struct NewHold<'a> {
    pub member_id: Uuid,
    pub points: i64,
    pub reference_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub created_by: &'a str,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
    pub ttl_secs: i64,
}

/// Inserts an active hold; `None` when the caller's key already names a hold
/// (`UNIQUE (created_by, idempotency_key)`).
pub async fn insert(
    conn: &mut PgConnection,
    hold: &NewHold<'_>,
) -> Result<Option<Hold>, sqlx::Error> {
    let row = sqlx::query_as!(
        HoldRow,
        "INSERT INTO holds (id, member_id, points, status, reference_id, description, created_by,
                            idempotency_key, request_fingerprint, expires_at)
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
         ON CONFLICT (created_by, idempotency_key) DO NOTHING
         RETURNING id, member_id, points, status, reference_id, description, expires_at,
                   created_at, settled_at, transaction_id, request_fingerprint",
        Uuid::now_v7(),
        hold.member_id,
        hold.points,
        hold.reference_id,
        hold.description,
        hold.created_by,
        hold.idempotency_key,
        hold.request_fingerprint,
        hold.ttl_secs as f64,
    )
    .fetch_optional(conn)
    .await?;
    row.map(Hold::try_from).transpose()
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Option<Hold>, sqlx::Error> {
    let row = sqlx::query_as!(
        HoldRow,
        "SELECT id, member_id, points, status, reference_id, description, expires_at,
                created_at, settled_at, transaction_id, request_fingerprint
           FROM holds WHERE created_by = $1 AND idempotency_key = $2",
        created_by,
        idempotency_key,
    )
    .fetch_optional(conn)
    .await?;
    row.map(Hold::try_from).transpose()
}

pub async fn lock(
    conn: &mut PgConnection,
    member_id: Uuid,
    id: Uuid,
) -> Result<Option<Hold>, sqlx::Error> {
    let row = sqlx::query_as!(
        HoldRow,
        "SELECT id, member_id, points, status, reference_id, description, expires_at,
                created_at, settled_at, transaction_id, request_fingerprint
           FROM holds WHERE id = $1 AND member_id = $2 FOR UPDATE",
        id,
        member_id,
    )
    .fetch_optional(conn)
    .await?;
    row.map(Hold::try_from).transpose()
}

pub async fn settle(
    conn: &mut PgConnection,
    id: Uuid,
    status: HoldStatus,
    transaction_id: Option<Uuid>,
) -> Result<Hold, sqlx::Error> {
    let row = sqlx::query_as!(
        HoldRow,
        "UPDATE holds SET status = $2, settled_at = now(), transaction_id = $3 WHERE id = $1
         RETURNING id, member_id, points, status, reference_id, description, expires_at,
                   created_at, settled_at, transaction_id, request_fingerprint",
        id,
        status.as_str(),
        transaction_id,
    )
    .fetch_one(conn)
    .await?;
    Hold::try_from(row)
}

/// A hold past its expiry, and whose it is.
#[derive(Debug, Clone, Copy)]
pub struct ExpiredHold {
    pub id: Uuid,
    pub member_id: Uuid,
}

/// Active holds past their expiry at `now`, oldest first.
pub async fn expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ExpiredHold>, sqlx::Error> {
    sqlx::query_as!(
        ExpiredHold,
        "SELECT id, member_id FROM holds WHERE status = 'active' AND expires_at <= $1
          ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Forgets the free text of an erased member's holds.
pub async fn forget_details(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE holds SET description = NULL, reference_id = NULL WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
