use crate::domain::{ChargeStatus, NewCharge};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeRecord {
    pub id: Uuid,
    pub member_id: Uuid,
    pub created_by: String,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub payment_method: String,
    pub description: Option<String>,
    pub status: String,
    pub psp: String,
    pub psp_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Stores a new charge already in `processing`, with both transitions recorded.
pub async fn insert_processing(
    conn: &mut PgConnection,
    id: Uuid,
    charge: &NewCharge,
    created_by: &str,
    psp: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO charges (id, member_id, created_by, kind, amount, currency, payment_method, description, status, psp)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'processing', $9)",
    )
    .bind(id)
    .bind(charge.member_id)
    .bind(created_by)
    .bind(charge.kind.as_str())
    .bind(charge.amount.amount_minor)
    .bind(charge.amount.currency.code())
    .bind(&charge.payment_method)
    .bind(&charge.description)
    .bind(psp)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         VALUES ($1, NULL, 'created', 'charge requested'), ($1, 'created', 'processing', 'sent to PSP')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Transition<'a> {
    pub to: ChargeStatus,
    pub cause: &'a str,
    pub psp_reference: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub failure_message: Option<&'a str>,
}

/// Moves a charge to `transition.to` if that is legal from its current status; returns the
/// updated charge, or `None` when the move is refused (it raced another update, or would go backwards).
pub async fn transition(
    conn: &mut PgConnection,
    id: Uuid,
    transition: &Transition<'_>,
) -> Result<Option<ChargeRecord>, sqlx::Error> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM charges WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(from) = current.and_then(|(s,)| ChargeStatus::parse(&s)) else {
        return Ok(None);
    };
    if !from.can_become(transition.to) {
        return Ok(None);
    }
    let updated: ChargeRecord = sqlx::query_as(&format!(
        "UPDATE charges SET status = $2, psp_reference = COALESCE($3, psp_reference),
                failure_code = $4, failure_message = $5, updated_at = now()
          WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(transition.to.as_str())
    .bind(transition.psp_reference)
    .bind(transition.failure_code)
    .bind(transition.failure_message)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO charge_transitions (charge_id, from_status, to_status, cause) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(from.as_str())
        .bind(transition.to.as_str())
        .bind(transition.cause)
        .execute(conn)
        .await?;
    Ok(Some(updated))
}

const COLUMNS: &str =
    "id, member_id, created_by, kind, amount, currency, payment_method, description, status, psp,
                       psp_reference, failure_code, failure_message, created_at, updated_at";

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<ChargeRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM charges WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}
