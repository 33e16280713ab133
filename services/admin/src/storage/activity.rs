//! `member_activity` and `member_charge_volume`. Every write is an upsert that commutes with the
//! others, so events applied in any order leave the same rows; the consumer's inbox guarantees
//! each event is applied once, so the increments are plain.

use crate::domain::{ChargeSucceeded, PointsEarned, Registration};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Sets the role and registration time; the counters are left as they are.
pub async fn record_registration(
    conn: &mut PgConnection,
    registration: &Registration,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_activity (member_id, role, registered_at, last_event_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (member_id) DO UPDATE SET
             role = EXCLUDED.role,
             registered_at = LEAST(member_activity.registered_at, EXCLUDED.registered_at),
             last_event_at = GREATEST(member_activity.last_event_at, EXCLUDED.last_event_at),
             updated_at = now()",
        registration.member_id,
        registration.role.as_str(),
        registration.registered_at,
        occurred_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_points(
    conn: &mut PgConnection,
    earned: &PointsEarned,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_activity (member_id, points_earned_total, points_events, last_event_at)
         VALUES ($1, $2, 1, $3)
         ON CONFLICT (member_id) DO UPDATE SET
             points_earned_total = member_activity.points_earned_total + EXCLUDED.points_earned_total,
             points_events = member_activity.points_events + 1,
             last_event_at = GREATEST(member_activity.last_event_at, EXCLUDED.last_event_at),
             updated_at = now()",
        earned.member_id,
        earned.points,
        occurred_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts the charge and adds its amount to the member's volume in its currency.
pub async fn record_charge(
    conn: &mut PgConnection,
    charge: &ChargeSucceeded,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO member_activity (member_id, charges_succeeded, last_event_at)
         VALUES ($1, 1, $2)
         ON CONFLICT (member_id) DO UPDATE SET
             charges_succeeded = member_activity.charges_succeeded + 1,
             last_event_at = GREATEST(member_activity.last_event_at, EXCLUDED.last_event_at),
             updated_at = now()",
        charge.member_id,
        occurred_at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO member_charge_volume (member_id, currency, amount_total)
         VALUES ($1, $2, $3)
         ON CONFLICT (member_id, currency) DO UPDATE SET
             amount_total = member_charge_volume.amount_total + EXCLUDED.amount_total",
        charge.member_id,
        charge.amount.currency.code(),
        charge.amount.amount_minor,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyVolume {
    pub currency: String,
    /// Minor units of `currency`.
    pub amount: i64,
}

#[derive(Debug, Clone)]
pub struct MemberActivity {
    pub member_id: Uuid,
    pub role: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub points_earned_total: i64,
    pub points_events: i32,
    pub charges_succeeded: i32,
    /// Ordered by currency code.
    pub charge_volume: Vec<CurrencyVolume>,
    pub last_event_at: DateTime<Utc>,
}

struct MemberActivityRow {
    member_id: Uuid,
    role: Option<String>,
    registered_at: Option<DateTime<Utc>>,
    points_earned_total: i64,
    points_events: i32,
    charges_succeeded: i32,
    last_event_at: DateTime<Utc>,
    volume_currencies: Vec<String>,
    volume_amounts: Vec<i64>,
}

/// The member's row and charge volumes, read in one statement so they come from one snapshot.
pub async fn find(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<MemberActivity>, sqlx::Error> {
    let row = sqlx::query_as!(
        MemberActivityRow,
        r#"SELECT a.member_id, a.role, a.registered_at, a.points_earned_total, a.points_events,
                  a.charges_succeeded, a.last_event_at,
                  ARRAY(SELECT v.currency FROM member_charge_volume v
                         WHERE v.member_id = a.member_id ORDER BY v.currency) AS "volume_currencies!",
                  ARRAY(SELECT v.amount_total FROM member_charge_volume v
                         WHERE v.member_id = a.member_id ORDER BY v.currency) AS "volume_amounts!"
             FROM member_activity a WHERE a.member_id = $1"#,
        member_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| MemberActivity {
        member_id: r.member_id,
        role: r.role,
        registered_at: r.registered_at,
        points_earned_total: r.points_earned_total,
        points_events: r.points_events,
        charges_succeeded: r.charges_succeeded,
        charge_volume: r
            .volume_currencies
            .into_iter()
            .zip(r.volume_amounts)
            .map(|(currency, amount)| CurrencyVolume { currency, amount })
            .collect(),
        last_event_at: r.last_event_at,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramTotals {
    /// Customers, and accounts whose registration has not been seen yet (only members earn
    /// points and pay); staff accounts are not members.
    pub members: i64,
    pub points_earned_total: i64,
    pub charges_succeeded: i64,
}

pub async fn program_totals(conn: &mut PgConnection) -> Result<ProgramTotals, sqlx::Error> {
    sqlx::query_as!(
        ProgramTotals,
        r#"SELECT COUNT(*) FILTER (WHERE role IS NULL OR role = 'customer') AS "members!",
                  COALESCE(SUM(points_earned_total), 0)::bigint AS "points_earned_total!",
                  COALESCE(SUM(charges_succeeded), 0)::bigint AS "charges_succeeded!"
             FROM member_activity"#,
    )
    .fetch_one(conn)
    .await
}

/// Forgets a member: their rows go, their id is remembered as erased.
pub async fn erase_member(
    conn: &mut PgConnection,
    member_id: Uuid,
    erased_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO erased_members (member_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        member_id,
        erased_at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM member_charge_volume WHERE member_id = $1",
        member_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM member_activity WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn is_erased(conn: &mut PgConnection, member_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM erased_members WHERE member_id = $1) AS "erased!""#,
        member_id
    )
    .fetch_one(conn)
    .await
}
