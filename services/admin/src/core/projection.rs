//! Applying facts about members to the read model, inside the consumer's transaction (the one
//! that records the event in the inbox), so each event counts once.

use crate::domain::{ChargeSucceeded, PointsEarned, Registration};
use crate::storage::activity;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Whether events about this member must be dropped: they were erased, and events still in
/// flight about them must not bring their data back.
pub async fn is_forgotten(conn: &mut PgConnection, member_id: Uuid) -> Result<bool, sqlx::Error> {
    activity::is_erased(conn, member_id).await
}

pub async fn registered(
    conn: &mut PgConnection,
    registration: &Registration,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    activity::record_registration(conn, registration, occurred_at).await
}

pub async fn points_earned(
    conn: &mut PgConnection,
    earned: &PointsEarned,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    activity::record_points(conn, earned, occurred_at).await
}

pub async fn charge_succeeded(
    conn: &mut PgConnection,
    charge: &ChargeSucceeded,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    activity::record_charge(conn, charge, occurred_at).await
}

/// Forgets the member and remembers that they were erased.
pub async fn erased(
    conn: &mut PgConnection,
    member_id: Uuid,
    erased_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    activity::erase_member(&mut *conn, member_id, erased_at).await?;
    crate::storage::reconciliation::forget_member(conn, member_id).await
}
