use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutSessionRecord {
    pub charge_id: Uuid,
    pub psp: String,
    pub psp_session_id: String,
    pub url: String,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub struct NewSession<'a> {
    pub charge_id: Uuid,
    pub psp: &'a str,
    pub psp_session_id: &'a str,
    pub url: &'a str,
    pub success_url: &'a str,
    pub cancel_url: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO checkout_sessions (charge_id, psp, psp_session_id, url, success_url, cancel_url, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.charge_id)
    .bind(session.psp)
    .bind(session.psp_session_id)
    .bind(session.url)
    .bind(session.success_url)
    .bind(session.cancel_url)
    .bind(session.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    pool: &PgPool,
    charge_id: Uuid,
) -> Result<Option<CheckoutSessionRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT charge_id, psp, psp_session_id, url, success_url, cancel_url, expires_at, created_at
           FROM checkout_sessions WHERE charge_id = $1",
    )
    .bind(charge_id)
    .fetch_optional(pool)
    .await
}
