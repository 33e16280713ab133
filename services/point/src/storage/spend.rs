//! Qualifying spend (what counts towards tiers) and refunds that arrived before their charge.

use super::accounts::QualifyingPurchase;
use crate::domain::earning::ChargeRefund;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Records a purchase that earned nothing (worth less than a point) towards tiers, once per
/// reference. The account's running total is marked unknown, to be recomputed by the next read:
/// such purchases are rare enough that keeping it exact is not worth a second statement here.
pub async fn add_qualifying(
    conn: &mut PgConnection,
    member_id: Uuid,
    purchase: &QualifyingPurchase,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH spent AS (
             INSERT INTO qualifying_spend (member_id, reference, amount_minor, occurred_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
          RETURNING member_id
         )
         UPDATE accounts SET spend_valid_until = NULL, spend_version = spend_version + 1
          WHERE member_id IN (SELECT member_id FROM spent)",
        member_id,
        purchase.reference,
        purchase.amount_minor,
        purchase.occurred_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a refunded amount off a purchase's qualifying spend (never below zero). The account's
/// running 12-month total is marked unknown, to be recomputed by the next read.
pub async fn reduce_qualifying(
    conn: &mut PgConnection,
    member_id: Uuid,
    reference: &str,
    refunded: i64,
    charge_amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH reduced AS (
             UPDATE qualifying_spend SET amount_minor = GREATEST($4::bigint - $3::bigint, 0)
              WHERE member_id = $1 AND reference = $2
          RETURNING member_id
         )
         UPDATE accounts SET spend_valid_until = NULL, spend_version = spend_version + 1
          WHERE member_id IN (SELECT member_id FROM reduced)",
        member_id,
        reference,
        refunded,
        charge_amount,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Qualifying spend in the 12 months up to `now` (a purchase dated later counts: the till's or
/// the PSP's clock may run ahead of ours).
pub async fn rolling(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(amount_minor), 0)::bigint AS "spend!" FROM qualifying_spend
            WHERE member_id = $1 AND occurred_at > $2::timestamptz - interval '12 months'"#,
        member_id,
        now,
    )
    .fetch_one(conn)
    .await
}

pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH forgotten AS (DELETE FROM qualifying_spend WHERE member_id = $1)
         UPDATE accounts SET spend_12m = 0, spend_valid_until = 'infinity',
                spend_version = spend_version + 1
          WHERE member_id = $1",
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
