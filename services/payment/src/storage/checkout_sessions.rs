use crate::domain::CheckoutSession;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub struct NewSession<'a> {
    pub charge_id: Uuid,
    pub psp: &'a str,
    pub psp_session_id: &'a str,
    pub url: &'a str,
    pub success_url: &'a str,
    pub cancel_url: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a session, first checked when its page expires.
pub async fn insert(conn: &mut PgConnection, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO checkout_sessions (charge_id, psp, psp_session_id, url, success_url,
                                        cancel_url, expires_at, next_check_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        session.charge_id,
        session.psp,
        session.psp_session_id,
        session.url,
        session.success_url,
        session.cancel_url,
        session.expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(pool: &PgPool, charge_id: Uuid) -> Result<Option<CheckoutSession>, sqlx::Error> {
    sqlx::query_as!(
        CheckoutSession,
        "SELECT charge_id, psp, psp_session_id, url, success_url, cancel_url, expires_at, created_at
           FROM checkout_sessions WHERE charge_id = $1",
        charge_id,
    )
    .fetch_optional(pool)
    .await
}

/// A checkout whose page has expired while its charge still waits for the customer.
#[derive(Debug, Clone)]
pub struct ExpiredCheckout {
    pub charge_id: Uuid,
    pub psp: String,
    pub psp_session_id: String,
}

/// Claims up to `limit` checkouts due for a check: the ones whose charge still waits are
/// returned and checked again after `recheck_secs` unless settled meanwhile; the others are
/// settled and never checked again. Concurrent workers claim different rows.
pub async fn claim_expired(
    pool: &PgPool,
    limit: i64,
    recheck_secs: f64,
) -> Result<Vec<ExpiredCheckout>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH due AS (
             SELECT s.charge_id, c.status FROM checkout_sessions s JOIN charges c ON c.id = s.charge_id
              WHERE s.next_check_at <= now()
              ORDER BY s.next_check_at LIMIT $1
                FOR UPDATE OF s SKIP LOCKED)
         UPDATE checkout_sessions s
            SET next_check_at = CASE WHEN due.status = 'requires_action'
                                     THEN now() + make_interval(secs => $2) END
           FROM due WHERE s.charge_id = due.charge_id
         RETURNING s.charge_id AS "charge_id!", s.psp AS "psp!", s.psp_session_id AS "psp_session_id!",
                   due.status AS "status!""#,
        limit,
        recheck_secs,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.status == "requires_action")
        .map(|row| ExpiredCheckout {
            charge_id: row.charge_id,
            psp: row.psp,
            psp_session_id: row.psp_session_id,
        })
        .collect())
}
