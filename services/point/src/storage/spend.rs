//! Qualifying spend (what counts towards tiers) and refunds that arrived before their charge.

use crate::domain::earning::ChargeRefund;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn add_qualifying(
    conn: &mut PgConnection,
    member_id: Uuid,
    reference: &str,
    amount_minor: i64,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO qualifying_spend (member_id, reference, amount_minor, occurred_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        member_id,
        reference,
        amount_minor,
        occurred_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a refunded amount off a purchase's qualifying spend (never below zero).
pub async fn reduce_qualifying(
    conn: &mut PgConnection,
    member_id: Uuid,
    reference: &str,
    refunded: i64,
    charge_amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE qualifying_spend SET amount_minor = GREATEST($4::bigint - $3::bigint, 0)
          WHERE member_id = $1 AND reference = $2",
        member_id,
        reference,
        refunded,
        charge_amount,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Qualifying spend in the 12 months up to `now`.
pub async fn rolling(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(amount_minor), 0)::bigint AS "spend!" FROM qualifying_spend
            WHERE member_id = $1 AND occurred_at > $2::timestamptz - interval '12 months' AND occurred_at <= $2"#,
        member_id,
        now,
    )
    .fetch_one(conn)
    .await
}

pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM qualifying_spend WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A charge.refunded that arrived before its charge.succeeded: kept until the charge comes.
pub async fn remember_early_refund(
    conn: &mut PgConnection,
    charge_id: &str,
    member_id: Uuid,
    refund: ChargeRefund,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO early_refunds (charge_id, member_id, total_refunded, charge_amount)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (charge_id) DO UPDATE SET
             total_refunded = GREATEST(early_refunds.total_refunded, EXCLUDED.total_refunded)",
        charge_id,
        member_id,
        refund.total_refunded,
        refund.charge_amount,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn take_early_refund(
    conn: &mut PgConnection,
    charge_id: &str,
) -> Result<Option<ChargeRefund>, sqlx::Error> {
    sqlx::query_as!(
        ChargeRefund,
        "DELETE FROM early_refunds WHERE charge_id = $1 RETURNING total_refunded, charge_amount",
        charge_id,
    )
    .fetch_optional(conn)
    .await
}
