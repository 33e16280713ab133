//! `point_lots`: the points of each earn, spent and expired oldest first.

use crate::domain::LotStatus;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// The lot an earn (or a credit) creates, written with its transaction (`entries::record`).
#[derive(Debug, Clone)]
pub struct NewLot {
    pub points: i64,
    /// Usually `points`; less when part of the earn repays a negative balance.
    pub remaining: i64,
    pub pending: bool,
    pub earned_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A lot's id and what is left of it.
struct Remaining {
    id: Uuid,
    remaining: i64,
}

/// Takes up to `points` from the member's active lots for `transaction_id`: first from the lot of
/// `prefer` (the earn being reversed), then oldest expiry first. Returns what was taken.
pub async fn take(
    conn: &mut PgConnection,
    member_id: Uuid,
    points: i64,
    transaction_id: Uuid,
    prefer: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    let lots = sqlx::query_as!(
        Remaining,
        "SELECT id, remaining FROM point_lots
          WHERE member_id = $1 AND status = 'active' AND remaining > 0
          ORDER BY (transaction_id = $2) IS TRUE DESC, expires_at, earned_at, id
          FOR UPDATE",
        member_id,
        prefer,
    )
    .fetch_all(&mut *conn)
    .await?;
    take_in_order(conn, lots, points, transaction_id).await
}

async fn take_in_order(
    conn: &mut PgConnection,
    lots: Vec<Remaining>,
    points: i64,
    transaction_id: Uuid,
) -> Result<i64, sqlx::Error> {
    let mut left = points;
    for lot in lots {
        if left == 0 {
            break;
        }
        let taken = lot.remaining.min(left);
        take_from(conn, lot.id, taken, transaction_id).await?;
        left -= taken;
    }
    Ok(points - left)
}

async fn take_from(
    conn: &mut PgConnection,
    lot_id: Uuid,
    points: i64,
    transaction_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH taken AS (UPDATE point_lots SET remaining = remaining - $2 WHERE id = $1)
         INSERT INTO lot_movements (lot_id, transaction_id, points) VALUES ($1, $3, $2)",
        lot_id,
        points,
        transaction_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct LotRecord {
    pub id: Uuid,
    pub member_id: Uuid,
    pub transaction_id: Uuid,
    pub points: i64,
    pub remaining: i64,
    pub status: LotStatus,
    pub expires_at: DateTime<Utc>,
}

struct LotRow {
    id: Uuid,
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    remaining: i64,
    status: String,
    expires_at: DateTime<Utc>,
}

impl TryFrom<LotRow> for LotRecord {
    type Error = sqlx::Error;

    fn try_from(row: LotRow) -> Result<Self, sqlx::Error> {
        let status = LotStatus::parse(&row.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown lot status {:?}", row.status).into())
        })?;
        Ok(LotRecord {
            id: row.id,
            member_id: row.member_id,
            transaction_id: row.transaction_id,
            points: row.points,
            remaining: row.remaining,
            status,
            expires_at: row.expires_at,
        })
    }
}

fn records(rows: Vec<LotRow>) -> Result<Vec<LotRecord>, sqlx::Error> {
    rows.into_iter().map(LotRecord::try_from).collect()
}

/// The lot an earn created, locked.
pub async fn of_transaction(
    conn: &mut PgConnection,
    transaction_id: Uuid,
) -> Result<Option<LotRecord>, sqlx::Error> {
    sqlx::query_as!(
        LotRow,
        "SELECT id, member_id, transaction_id, points, remaining, status, expires_at
           FROM point_lots WHERE transaction_id = $1 FOR UPDATE",
        transaction_id,
    )
    .fetch_optional(conn)
    .await?
    .map(LotRecord::try_from)
    .transpose()
}

/// A lot, locked.
pub async fn lock(conn: &mut PgConnection, lot_id: Uuid) -> Result<Option<LotRecord>, sqlx::Error> {
    sqlx::query_as!(
        LotRow,
        "SELECT id, member_id, transaction_id, points, remaining, status, expires_at
           FROM point_lots WHERE id = $1 FOR UPDATE",
        lot_id,
    )
    .fetch_optional(conn)
    .await?
    .map(LotRecord::try_from)
    .transpose()
}

/// Takes `points` out of a pending lot (a refund inside the return window); a lot emptied this
/// way is cancelled.
pub async fn cancel_pending(
    conn: &mut PgConnection,
    lot_id: Uuid,
    points: i64,
    transaction_id: Uuid,
) -> Result<(), sqlx::Error> {
    take_from(conn, lot_id, points, transaction_id).await?;
    sqlx::query!(
        "UPDATE point_lots SET status = 'cancelled' WHERE id = $1 AND remaining = 0",
        lot_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn activate(conn: &mut PgConnection, lot_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE point_lots SET status = 'active' WHERE id = $1 AND status = 'pending'",
        lot_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Pending lots whose return window has closed by `now`.
pub async fn due_pending(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LotRecord>, sqlx::Error> {
    sqlx::query_as!(
        LotRow,
        "SELECT id, member_id, transaction_id, points, remaining, status, expires_at
           FROM point_lots
          WHERE status = 'pending' AND remaining > 0 AND available_at <= $1
          ORDER BY available_at LIMIT $2",
        now,
        limit,
    )
    .fetch_all(conn)
    .await
    .and_then(records)
}

/// Members with active points that have expired by `now`.
pub async fn members_with_expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT member_id FROM point_lots
          WHERE status = 'active' AND remaining > 0 AND expires_at <= $1
          LIMIT $2",
        now,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Active points of the member that have expired by `now`.
pub async fn expired_total(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(remaining), 0)::bigint AS "due!" FROM point_lots
            WHERE member_id = $1 AND status = 'active' AND remaining > 0 AND expires_at <= $2"#,
        member_id,
        now,
    )
    .fetch_one(conn)
    .await
}

/// Takes up to `points` from the member's lots that expired by `now`, oldest first.
pub async fn take_expired(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
    points: i64,
    transaction_id: Uuid,
) -> Result<i64, sqlx::Error> {
    let lots = sqlx::query_as!(
        Remaining,
        "SELECT id, remaining FROM point_lots
          WHERE member_id = $1 AND status = 'active' AND remaining > 0 AND expires_at <= $2
          ORDER BY expires_at, earned_at, id FOR UPDATE",
        member_id,
        now,
    )
    .fetch_all(&mut *conn)
    .await?;
    take_in_order(conn, lots, points, transaction_id).await
}

/// Lots expiring within `window_days` of `now` that have not been warned about yet; marks them.
pub async fn claim_expiry_warnings(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    window_days: i32,
    limit: i64,
) -> Result<Vec<LotRecord>, sqlx::Error> {
    sqlx::query_as!(
        LotRow,
        "UPDATE point_lots SET expiry_warned_at = $1
          WHERE id IN (SELECT id FROM point_lots
                        WHERE status = 'active' AND remaining > 0 AND expiry_warned_at IS NULL
                          AND expires_at > $1 AND expires_at <= $1 + make_interval(days => $2)
                        ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING id, member_id, transaction_id, points, remaining, status, expires_at",
        now,
        window_days,
        limit,
    )
    .fetch_all(conn)
    .await
    .and_then(records)
}
