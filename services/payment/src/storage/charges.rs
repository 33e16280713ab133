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
    /// Minor units refunded or being refunded (pending refunds reserve their amount).
    pub amount_refunded: i64,
    pub next_action_url: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub return_url: Option<String>,
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
    insert(
        conn,
        id,
        charge,
        created_by,
        psp,
        &Transition::new(ChargeStatus::Processing, "sent to PSP"),
    )
    .await
}

/// Stores a new charge whose customer is on the PSP's hosted page (`psp_reference` is the
/// session, `url` the page), with its three transitions recorded.
pub async fn insert_awaiting_customer(
    conn: &mut PgConnection,
    id: Uuid,
    charge: &NewCharge,
    created_by: &str,
    psp: &str,
    psp_reference: &str,
    url: &str,
) -> Result<(), sqlx::Error> {
    insert(
        conn,
        id,
        charge,
        created_by,
        psp,
        &Transition::new(ChargeStatus::Processing, "checkout session opened at PSP"),
    )
    .await?;
    let moved = transition(
        conn,
        id,
        &Transition {
            psp_reference: Some(psp_reference),
            next_action_url: Some(url),
            ..Transition::new(
                ChargeStatus::RequiresAction,
                "customer sent to the PSP's payment page",
            )
        },
    )
    .await?;
    debug_assert!(moved.is_some(), "processing -> requires_action is legal");
    Ok(())
}

/// Inserts the charge in `created` and moves it to `first.to` (a state reachable from created).
async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    charge: &NewCharge,
    created_by: &str,
    psp: &str,
    first: &Transition<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO charges (id, member_id, created_by, kind, amount, currency, payment_method, description, status, psp,
                              card_brand, card_last4, return_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(charge.member_id)
    .bind(created_by)
    .bind(charge.kind.as_str())
    .bind(charge.amount.amount_minor)
    .bind(charge.amount.currency.code())
    .bind(&charge.payment_method)
    .bind(&charge.description)
    .bind(first.to.as_str())
    .bind(psp)
    .bind(charge.card.as_ref().map(|c| &c.brand))
    .bind(charge.card.as_ref().map(|c| &c.last4))
    .bind(&charge.return_url)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         VALUES ($1, NULL, 'created', 'charge requested'), ($1, 'created', $2, $3)",
    )
    .bind(id)
    .bind(first.to.as_str())
    .bind(first.cause)
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
    pub next_action_url: Option<&'a str>,
}

impl<'a> Transition<'a> {
    /// A move that sets nothing but the status (and keeps the PSP reference).
    pub fn new(to: ChargeStatus, cause: &'a str) -> Self {
        Self {
            to,
            cause,
            psp_reference: None,
            failure_code: None,
            failure_message: None,
            next_action_url: None,
        }
    }
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
                failure_code = $4, failure_message = $5, next_action_url = $6, updated_at = now()
          WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(transition.to.as_str())
    .bind(transition.psp_reference)
    .bind(transition.failure_code)
    .bind(transition.failure_message)
    .bind(transition.next_action_url)
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
     psp_reference, failure_code, failure_message, amount_refunded, next_action_url, card_brand, card_last4, return_url, created_at, updated_at";

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<ChargeRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM charges WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The charge, locked for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<ChargeRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM charges WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves an unsettled charge to another PSP (failover before any PSP saw it).
pub async fn switch_psp(pool: &PgPool, id: Uuid, from: &str, to: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE charges SET psp = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         SELECT id, status, status, $2 FROM charges WHERE id = $1",
    )
    .bind(id)
    .bind(format!("failover: {from} unreachable, sent to {to}"))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Reserves (positive) or gives back (negative) part of the charge for refunds.
pub async fn add_refunded(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE charges SET amount_refunded = amount_refunded + $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(amount)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a caller may list: everything (staff), or only their own charges.
pub enum Visibility {
    All,
    Member(Uuid),
    CreatedBy(String),
}

pub struct ChargeFilter {
    pub visibility: Visibility,
    pub member_id: Option<Uuid>,
    pub status: Option<ChargeStatus>,
    pub kind: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// The last charge of the previous page: ids are time-ordered (UUIDv7), newest first.
    pub before: Option<Uuid>,
    pub limit: i64,
}

pub async fn list(pool: &PgPool, filter: &ChargeFilter) -> Result<Vec<ChargeRecord>, sqlx::Error> {
    let (member, created_by) = match &filter.visibility {
        Visibility::All => (None, None),
        Visibility::Member(id) => (Some(*id), None),
        Visibility::CreatedBy(scope) => (None, Some(scope.as_str())),
    };
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM charges
          WHERE ($1::uuid IS NULL OR member_id = $1)
            AND ($2::text IS NULL OR created_by = $2)
            AND ($3::uuid IS NULL OR member_id = $3)
            AND ($4::text IS NULL OR status = $4)
            AND ($5::text IS NULL OR kind = $5)
            AND ($6::timestamptz IS NULL OR created_at >= $6)
            AND ($7::timestamptz IS NULL OR created_at < $7)
            AND ($8::uuid IS NULL OR id < $8)
          ORDER BY id DESC
          LIMIT $9"
    ))
    .bind(member)
    .bind(created_by)
    .bind(filter.member_id)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(&filter.kind)
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
}

/// Erasure: the free-text description is the only member-written field; the financial record
/// itself is kept, as the law requires of payment records.
pub async fn erase_member(conn: &mut PgConnection, member_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE charges SET description = NULL, updated_at = now()
          WHERE member_id = $1 AND description IS NOT NULL",
    )
    .bind(member_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The charge a PSP knows by `psp_reference`.
pub async fn find_by_psp_reference(
    conn: &mut PgConnection,
    psp: &str,
    psp_reference: &str,
) -> Result<Option<ChargeRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM charges WHERE psp = $1 AND psp_reference = $2"
    ))
    .bind(psp)
    .bind(psp_reference)
    .fetch_optional(conn)
    .await
}
