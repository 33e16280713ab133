use super::unknown;
use crate::domain::{
    Charge, ChargeFilter, ChargeKind, ChargeStatus, NewCharge, Transition, Visibility,
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

struct ChargeRow {
    id: Uuid,
    member_id: Uuid,
    created_by: String,
    kind: String,
    amount: i64,
    currency: String,
    payment_method: String,
    description: Option<String>,
    status: String,
    psp: String,
    psp_reference: Option<String>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    amount_refunded: i64,
    next_action_url: Option<String>,
    card_brand: Option<String>,
    card_last4: Option<String>,
    return_url: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ChargeRow> for Charge {
    type Error = sqlx::Error;

    fn try_from(row: ChargeRow) -> Result<Self, sqlx::Error> {
        Ok(Charge {
            status: ChargeStatus::parse(&row.status)
                .ok_or_else(|| unknown("charge status", &row.status))?,
            kind: ChargeKind::parse(&row.kind).ok_or_else(|| unknown("charge kind", &row.kind))?,
            id: row.id,
            member_id: row.member_id,
            created_by: row.created_by,
            amount: row.amount,
            currency: row.currency,
            payment_method: row.payment_method,
            description: row.description,
            psp: row.psp,
            psp_reference: row.psp_reference,
            failure_code: row.failure_code,
            failure_message: row.failure_message,
            amount_refunded: row.amount_refunded,
            next_action_url: row.next_action_url,
            card_brand: row.card_brand,
            card_last4: row.card_last4,
            return_url: row.return_url,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn charge(row: Option<ChargeRow>) -> Result<Option<Charge>, sqlx::Error> {
    row.map(Charge::try_from).transpose()
}

/// Inserts the charge in `created` and moves it to `first.to` (a state reachable from created),
/// with both transitions recorded. `idempotency_key` is the key of the request that made it,
/// unique per `created_by` (see [`is_key_taken`]).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    charge: &NewCharge,
    created_by: &str,
    idempotency_key: &str,
    psp: &str,
    first: &Transition<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO charges (id, member_id, created_by, kind, amount, currency, payment_method,
                              description, status, psp, card_brand, card_last4, return_url,
                              idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        id,
        charge.member_id,
        created_by,
        charge.kind.as_str(),
        charge.amount.amount_minor,
        charge.amount.currency.code(),
        charge.payment_method,
        charge.description.as_deref(),
        first.to.as_str(),
        psp,
        charge.card.as_ref().map(|c| c.brand.as_str()),
        charge.card.as_ref().map(|c| c.last4.as_str()),
        charge.return_url.as_deref(),
        idempotency_key,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         VALUES ($1, NULL, 'created', 'charge requested'), ($1, 'created', $2, $3)",
        id,
        first.to.as_str(),
        first.cause,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The charge's status, locked for the rest of the transaction.
pub async fn lock_status(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ChargeStatus>, sqlx::Error> {
    let status = sqlx::query_scalar!("SELECT status FROM charges WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?;
    status
        .map(|s| ChargeStatus::parse(&s).ok_or_else(|| unknown("charge status", &s)))
        .transpose()
}

/// Moves a locked charge from `from` to `transition.to` and records the move. The caller has
/// checked that the move is legal.
pub async fn update_status(
    conn: &mut PgConnection,
    id: Uuid,
    from: ChargeStatus,
    transition: &Transition<'_>,
) -> Result<Charge, sqlx::Error> {
    let updated = sqlx::query_as!(
        ChargeRow,
        "UPDATE charges SET status = $2, psp_reference = COALESCE($3, psp_reference),
                failure_code = $4, failure_message = $5, next_action_url = $6, updated_at = now()
          WHERE id = $1
         RETURNING id, member_id, created_by, kind, amount, currency, payment_method, description,
                   status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                   next_action_url, card_brand, card_last4, return_url, created_at, updated_at",
        id,
        transition.to.as_str(),
        transition.psp_reference,
        transition.failure_code,
        transition.failure_message,
        transition.next_action_url,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         VALUES ($1, $2, $3, $4)",
        id,
        from.as_str(),
        transition.to.as_str(),
        transition.cause,
    )
    .execute(conn)
    .await?;
    updated.try_into()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Charge>, sqlx::Error> {
    charge(
        sqlx::query_as!(
            ChargeRow,
            "SELECT id, member_id, created_by, kind, amount, currency, payment_method, description,
                    status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                    next_action_url, card_brand, card_last4, return_url, created_at, updated_at
               FROM charges WHERE id = $1",
            id,
        )
        .fetch_optional(pool)
        .await?,
    )
}

/// The charge `created_by` made with this idempotency key, if any.
pub async fn find_by_idempotency_key(
    pool: &PgPool,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Option<Charge>, sqlx::Error> {
    charge(
        sqlx::query_as!(
            ChargeRow,
            "SELECT id, member_id, created_by, kind, amount, currency, payment_method, description,
                    status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                    next_action_url, card_brand, card_last4, return_url, created_at, updated_at
               FROM charges WHERE created_by = $1 AND idempotency_key = $2",
            created_by,
            idempotency_key,
        )
        .fetch_optional(pool)
        .await?,
    )
}

/// Whether `e` is the insert of a charge under an idempotency key its caller already used.
pub fn is_key_taken(e: &sqlx::Error) -> bool {
    super::violates(e, "charges_idempotency_key")
}

/// The charge, locked for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Charge>, sqlx::Error> {
    charge(
        sqlx::query_as!(
            ChargeRow,
            "SELECT id, member_id, created_by, kind, amount, currency, payment_method, description,
                    status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                    next_action_url, card_brand, card_last4, return_url, created_at, updated_at
               FROM charges WHERE id = $1 FOR UPDATE",
            id,
        )
        .fetch_optional(conn)
        .await?,
    )
}

/// The charge a PSP knows by `psp_reference`.
pub async fn find_by_psp_reference(
    conn: &mut PgConnection,
    psp: &str,
    psp_reference: &str,
) -> Result<Option<Charge>, sqlx::Error> {
    charge(
        sqlx::query_as!(
            ChargeRow,
            "SELECT id, member_id, created_by, kind, amount, currency, payment_method, description,
                    status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                    next_action_url, card_brand, card_last4, return_url, created_at, updated_at
               FROM charges WHERE psp = $1 AND psp_reference = $2",
            psp,
            psp_reference,
        )
        .fetch_optional(conn)
        .await?,
    )
}

/// Moves an unsettled charge to another PSP, recording why as a transition to the same status.
pub async fn switch_psp(
    conn: &mut PgConnection,
    id: Uuid,
    to: &str,
    cause: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE charges SET psp = $2, updated_at = now() WHERE id = $1",
        id,
        to,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause)
         SELECT id, status, status, $2 FROM charges WHERE id = $1",
        id,
        cause,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reserves part of the charge for a refund. The table's check keeps the total within the charge.
pub async fn reserve_refund(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE charges SET amount_refunded = amount_refunded + $2, updated_at = now() WHERE id = $1",
        id,
        amount,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives back the reservation of a refund that failed.
pub async fn release_refund(
    conn: &mut PgConnection,
    id: Uuid,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE charges SET amount_refunded = amount_refunded - $2, updated_at = now() WHERE id = $1",
        id,
        amount,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of charges, newest first, after the position `(after_time, after_id)`.
pub async fn list(
    pool: &PgPool,
    filter: &ChargeFilter,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Charge>, sqlx::Error> {
    let (member, created_by) = match &filter.visibility {
        Visibility::All => (None, None),
        Visibility::Member(id) => (Some(*id), None),
        Visibility::CreatedBy(scope) => (None, Some(scope.as_str())),
    };
    sqlx::query_as!(
        ChargeRow,
        "SELECT id, member_id, created_by, kind, amount, currency, payment_method, description,
                status, psp, psp_reference, failure_code, failure_message, amount_refunded,
                next_action_url, card_brand, card_last4, return_url, created_at, updated_at
           FROM charges
          WHERE ($1::uuid IS NULL OR member_id = $1)
            AND ($2::text IS NULL OR created_by = $2)
            AND ($3::uuid IS NULL OR member_id = $3)
            AND ($4::text IS NULL OR status = $4)
            AND ($5::text IS NULL OR kind = $5)
            AND ($6::timestamptz IS NULL OR created_at >= $6)
            AND ($7::timestamptz IS NULL OR created_at < $7)
            AND (created_at, id) < ($8::timestamptz, $9::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $10",
        member,
        created_by,
        filter.member_id,
        filter.status.map(|s| s.as_str()),
        filter.kind.map(|k| k.as_str()),
        filter.created_from,
        filter.created_to,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(Charge::try_from)
    .collect()
}

/// Erasure: the free-text description is the only member-written field; the financial record
/// itself is kept, as the law requires of payment records.
pub async fn erase_member(conn: &mut PgConnection, member_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE charges SET description = NULL, updated_at = now()
          WHERE member_id = $1 AND description IS NOT NULL",
        member_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A charge as the reconciler sees it: what succeeded, for whom, and when.
pub struct SucceededCharge {
    pub charge_id: Uuid,
    pub member_id: Uuid,
    pub succeeded_at: DateTime<Utc>,
}

/// Charges that succeeded in `[since, until)` and before the position (`after_time`,
/// `after_id`), most recent first.
pub async fn succeeded_between(
    pool: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<SucceededCharge>, sqlx::Error> {
    sqlx::query_as!(
        SucceededCharge,
        "SELECT t.charge_id, c.member_id, t.created_at AS succeeded_at
           FROM charge_transitions t JOIN charges c ON c.id = t.charge_id
          WHERE t.to_status = 'succeeded' AND t.created_at >= $1 AND t.created_at < $2
            AND (t.created_at, t.charge_id) < ($3::timestamptz, $4::uuid)
          ORDER BY t.created_at DESC, t.charge_id DESC
          LIMIT $5",
        since,
        until,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}
