//! `point_transactions` and their double entries.

use super::accounts::EarnChange;
use super::lots::NewLot;
use crate::domain::{LotStatus, TransactionKind};
use chrono::{DateTime, Utc};
use platform::pagination::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

/// The program's side of every entry: points it owes its members.
pub const PROGRAM_LIABILITY: &str = "program:liability";

/// Which of a member's books an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Book {
    /// Spendable points (the balance).
    Active,
    /// Points waiting out a return window.
    Pending,
}

impl Book {
    fn account(self, member_id: Uuid) -> String {
        match self {
            Book::Active => format!("member:{member_id}"),
            Book::Pending => format!("pending:{member_id}"),
        }
    }
}

#[derive(Debug)]
pub struct NewTransaction<'a> {
    pub member_id: Uuid,
    pub kind: TransactionKind,
    /// Signed: what the transaction did to the member's points.
    pub points: i64,
    pub source: &'a str,
    pub reference_id: &'a str,
    pub description: Option<&'a str>,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub multiplier_bp: Option<i32>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub store_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub rule_ids: Option<Vec<Uuid>>,
    pub actor: Option<&'a str>,
    pub shortfall: i64,
    /// The member-side entries; the liability account takes the opposite of their sum.
    pub moves: Vec<(Book, i64)>,
    /// The lot of points the transaction creates, if it creates one.
    pub lot: Option<NewLot>,
    /// An earn's change to the member's account, written with it.
    pub earn: Option<EarnChange>,
}

/// A transaction as written.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub id: Uuid,
    /// After an earn: the member's rolling qualifying spend, if the running total is known.
    pub qualifying_spend: Option<i64>,
}

impl<'a> NewTransaction<'a> {
    /// A transaction with only what every one has; the rest is set field by field.
    pub fn new(
        member_id: Uuid,
        kind: TransactionKind,
        points: i64,
        source: &'a str,
        reference_id: &'a str,
    ) -> Self {
        Self {
            member_id,
            kind,
            points,
            source,
            reference_id,
            description: None,
            amount_minor: None,
            currency: None,
            multiplier_bp: None,
            occurred_at: None,
            store_id: None,
            category: None,
            rule_ids: None,
            actor: None,
            shortfall: 0,
            moves: Vec::new(),
            lot: None,
            earn: None,
        }
    }
}

/// Writes the transaction, its entries, its lot and an earn's account change in one statement.
/// Returns `None` when a transaction with the same (source, reference, kind) exists already, or
/// an earn with the same (source, reference): the request or event was a repeat, and nothing was
/// written.
pub async fn record(
    conn: &mut PgConnection,
    tx: &NewTransaction<'_>,
) -> Result<Option<Recorded>, sqlx::Error> {
    let id = Uuid::now_v7();
    let mut accounts: Vec<String> = Vec::new();
    let mut amounts: Vec<i64> = Vec::new();
    for (book, amount) in tx.moves.iter().filter(|(_, a)| *a != 0) {
        accounts.push(book.account(tx.member_id));
        amounts.push(*amount);
    }
    // The liability account balances the member's moves, so every transaction sums to zero.
    let liability = amounts
        .iter()
        .try_fold(0i64, |sum, a| sum.checked_add(*a))
        .and_then(i64::checked_neg)
        .ok_or_else(|| sqlx::Error::Protocol("ledger moves overflow".into()))?;
    let lot = tx.lot.as_ref();
    let earn = tx.earn.as_ref();
    let change = earn.map(|e| e.change).unwrap_or_default();
    let purchase = earn.and_then(|e| e.purchase.as_ref());
    // The rest is written only if the transaction was (each part selects from `t`).
    let written = sqlx::query!(
        r#"WITH t AS (
               INSERT INTO point_transactions
                   (id, member_id, kind, points, source, reference_id, description, amount_minor,
                    currency, multiplier_bp, occurred_at, store_id, category, rule_ids, actor, shortfall)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, now()), $12, $13, $14,
                       $15, $16)
               ON CONFLICT DO NOTHING
               RETURNING id
           ), entries AS (
               INSERT INTO ledger_entries (transaction_id, account, member_id, amount)
               SELECT t.id, e.a, $2::uuid, e.x FROM t, unnest($17::text[], $18::bigint[]) AS e(a, x)
               UNION ALL
               SELECT t.id, $19::text, NULL, $20::bigint FROM t WHERE $20::bigint <> 0
           ), lot AS (
               INSERT INTO point_lots (id, member_id, transaction_id, points, remaining, status,
                                       earned_at, available_at, expires_at)
               SELECT $21::uuid, $2::uuid, t.id, $22::bigint, $23::bigint, $24::text,
                      $25::timestamptz, $26::timestamptz, $27::timestamptz
                 FROM t WHERE $22::bigint IS NOT NULL
           ), spent AS (
               -- A purchase counts towards tiers once per reference.
               INSERT INTO qualifying_spend (member_id, reference, amount_minor, occurred_at)
               SELECT $2::uuid, $32::text, $33::bigint, $34::timestamptz FROM t WHERE $32::text IS NOT NULL
               ON CONFLICT DO NOTHING
               RETURNING amount_minor, occurred_at, occurred_at > now() - interval '12 months' AS in_window
           ), account AS (
               UPDATE accounts
                  SET balance = balance + $28, pending = pending + $29,
                      lifetime_earned = lifetime_earned + $30,
                      earned_today = CASE WHEN earned_day = (now() AT TIME ZONE 'UTC')::date
                                          THEN earned_today ELSE 0 END + $30,
                      earned_day = (now() AT TIME ZONE 'UTC')::date,
                      spend_12m = spend_12m + COALESCE((SELECT amount_minor FROM spent WHERE in_window), 0),
                      -- The total stays right until the purchase leaves the window; NULL
                      -- (unknown) stays NULL, which LEAST would not keep.
                      spend_valid_until = CASE WHEN spend_valid_until IS NOT NULL THEN
                          LEAST(spend_valid_until,
                                (SELECT occurred_at + interval '12 months' FROM spent WHERE in_window))
                      END,
                      spend_version = spend_version + (SELECT count(*) FROM spent),
                      updated_at = now()
                WHERE member_id = $2 AND $31::bool AND EXISTS (SELECT 1 FROM t)
            RETURNING CASE WHEN spend_valid_until > now() THEN spend_12m END AS qualifying_spend
           )
           SELECT id AS "id!", (SELECT qualifying_spend FROM account) AS qualifying_spend FROM t"#,
        id,
        tx.member_id,
        tx.kind.as_str(),
        tx.points,
        tx.source,
        tx.reference_id,
        tx.description,
        tx.amount_minor,
        tx.currency,
        tx.multiplier_bp,
        tx.occurred_at,
        tx.store_id,
        tx.category,
        tx.rule_ids.as_deref(),
        tx.actor,
        tx.shortfall,
        &accounts,
        &amounts,
        PROGRAM_LIABILITY,
        liability,
        Uuid::now_v7(),
        lot.map(|l| l.points),
        lot.map(|l| l.remaining),
        lot.map(|l| LotStatus::new_lot(l.pending).as_str()),
        lot.map(|l| l.earned_at),
        lot.map(|l| l.available_at),
        lot.map(|l| l.expires_at),
        change.active,
        change.pending,
        change.earned,
        earn.is_some(),
        purchase.map(|p| p.reference.as_str()),
        purchase.map(|p| p.amount_minor),
        purchase.map(|p| p.occurred_at),
    )
    .fetch_optional(conn)
    .await?;
    Ok(written.map(|w| Recorded {
        id: w.id,
        qualifying_spend: w.qualifying_spend,
    }))
}

#[derive(Debug, Clone)]
pub struct TransactionRecord {
    pub id: Uuid,
    pub member_id: Uuid,
    pub kind: String,
    pub points: i64,
    pub source: String,
    pub reference_id: String,
    pub description: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn find_by_reference(
    conn: &mut PgConnection,
    source: &str,
    reference_id: &str,
    kinds: &[TransactionKind],
) -> Result<Option<TransactionRecord>, sqlx::Error> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.as_str().to_owned()).collect();
    sqlx::query_as!(
        TransactionRecord,
        "SELECT id, member_id, kind, points, source, reference_id, description, amount_minor,
                currency, occurred_at, created_at
           FROM point_transactions
          WHERE source = $1 AND reference_id = $2 AND kind = ANY($3) ORDER BY created_at LIMIT 1",
        source,
        reference_id,
        &kinds,
    )
    .fetch_optional(conn)
    .await
}

pub struct Page<'a> {
    pub member_id: Uuid,
    pub kinds: Option<&'a [TransactionKind]>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after: Option<Cursor>,
    pub offset: i64,
    pub limit: i64,
}

/// Newest first. With a cursor, the items after it; else from `offset`.
pub async fn page(
    conn: &mut PgConnection,
    page: &Page<'_>,
) -> Result<Vec<TransactionRecord>, sqlx::Error> {
    let kinds: Option<Vec<String>> = page
        .kinds
        .map(|kinds| kinds.iter().map(|k| k.as_str().to_owned()).collect());
    sqlx::query_as!(
        TransactionRecord,
        "SELECT id, member_id, kind, points, source, reference_id, description, amount_minor,
                currency, occurred_at, created_at
           FROM point_transactions
          WHERE member_id = $1
            AND ($2::text[] IS NULL OR kind = ANY($2))
            AND ($3::timestamptz IS NULL OR created_at >= $3)
            AND ($4::timestamptz IS NULL OR created_at < $4)
            AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
          ORDER BY created_at DESC, id DESC
          OFFSET $7 LIMIT $8",
        page.member_id,
        kinds.as_deref(),
        page.from,
        page.to,
        page.after.map(|c| c.created_at),
        page.after.map(|c| c.id),
        page.offset,
        page.limit,
    )
    .fetch_all(conn)
    .await
}

/// Whether a cursor names a real transaction of this member (an edited cursor does not).
pub async fn cursor_is_valid(
    conn: &mut PgConnection,
    member_id: Uuid,
    cursor: &Cursor,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM point_transactions
                           WHERE id = $1 AND member_id = $2
                             AND date_trunc('microseconds', created_at) = $3) AS "valid!""#,
        cursor.id,
        member_id,
        cursor.created_at,
    )
    .fetch_one(conn)
    .await
}

/// Points already taken back (or recorded as short) for a charge's refunds.
pub async fn refunded_for_charge(
    conn: &mut PgConnection,
    charge_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(-points + shortfall), 0)::bigint AS "accounted!"
             FROM point_transactions
            WHERE source = 'refund' AND split_part(reference_id, '/', 1) = $1"#,
        charge_id,
    )
    .fetch_one(conn)
    .await
}

/// Blanks the free-text descriptions of a member's transactions (the one change the ledger's
/// append-only trigger allows).
pub async fn forget_descriptions(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE point_transactions SET description = NULL
          WHERE member_id = $1 AND description IS NOT NULL",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
