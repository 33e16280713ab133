//! `point_transactions` and their double entries.

use chrono::{DateTime, Utc};
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

#[derive(Debug, Default)]
pub struct NewTransaction<'a> {
    pub member_id: Uuid,
    pub kind: &'a str,
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
}

/// Writes the transaction and its entries. Returns `None` when a transaction with the same
/// (source, reference, kind) exists already: the request or event was a repeat.
pub async fn record(
    conn: &mut PgConnection,
    tx: &NewTransaction<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO point_transactions
            (id, member_id, kind, points, source, reference_id, description, amount_minor, currency,
             multiplier_bp, occurred_at, store_id, category, rule_ids, actor, shortfall)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, now()), $12, $13, $14, $15, $16)
         ON CONFLICT (source, reference_id, kind) DO NOTHING",
    )
    .bind(id)
    .bind(tx.member_id)
    .bind(tx.kind)
    .bind(tx.points)
    .bind(tx.source)
    .bind(tx.reference_id)
    .bind(tx.description)
    .bind(tx.amount_minor)
    .bind(tx.currency)
    .bind(tx.multiplier_bp)
    .bind(tx.occurred_at)
    .bind(tx.store_id)
    .bind(tx.category)
    .bind(&tx.rule_ids)
    .bind(tx.actor)
    .bind(tx.shortfall)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let mut accounts: Vec<String> = Vec::new();
    let mut amounts: Vec<i64> = Vec::new();
    let mut members: Vec<Option<Uuid>> = Vec::new();
    for (book, amount) in tx.moves.iter().filter(|(_, a)| *a != 0) {
        accounts.push(book.account(tx.member_id));
        amounts.push(*amount);
        members.push(Some(tx.member_id));
    }
    let net: i64 = amounts.iter().sum();
    if net != 0 {
        accounts.push(PROGRAM_LIABILITY.to_owned());
        amounts.push(-net);
        members.push(None);
    }
    sqlx::query(
        "INSERT INTO ledger_entries (transaction_id, account, member_id, amount)
         SELECT $1, a, m, x FROM unnest($2::text[], $3::uuid[], $4::bigint[]) AS e(a, m, x)",
    )
    .bind(id)
    .bind(&accounts)
    .bind(&members)
    .bind(&amounts)
    .execute(conn)
    .await?;
    Ok(Some(id))
}

#[derive(Debug, Clone, sqlx::FromRow)]
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

const COLUMNS: &str = "id, member_id, kind, points, source, reference_id, description, amount_minor, currency, occurred_at, created_at";

pub async fn find_by_reference(
    conn: &mut PgConnection,
    source: &str,
    reference_id: &str,
    kinds: &[&str],
) -> Result<Option<TransactionRecord>, sqlx::Error> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM point_transactions
          WHERE source = $1 AND reference_id = $2 AND kind = ANY($3) ORDER BY created_at LIMIT 1"
    ))
    .bind(source)
    .bind(reference_id)
    .bind(&kinds)
    .fetch_optional(conn)
    .await
}

pub struct Page<'a> {
    pub member_id: Uuid,
    pub kinds: Option<&'a [String]>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after: Option<crate::domain::cursor::Cursor>,
    pub offset: i64,
    pub limit: i64,
}

/// Newest first. With a cursor, the items after it; else from `offset`.
pub async fn page(
    conn: &mut PgConnection,
    page: &Page<'_>,
) -> Result<Vec<TransactionRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM point_transactions
          WHERE member_id = $1
            AND ($2::text[] IS NULL OR kind = ANY($2))
            AND ($3::timestamptz IS NULL OR created_at >= $3)
            AND ($4::timestamptz IS NULL OR created_at < $4)
            AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
          ORDER BY created_at DESC, id DESC
          OFFSET $7 LIMIT $8"
    ))
    .bind(page.member_id)
    .bind(page.kinds)
    .bind(page.from)
    .bind(page.to)
    .bind(page.after.map(|c| c.created_at))
    .bind(page.after.map(|c| c.id))
    .bind(page.offset)
    .bind(page.limit)
    .fetch_all(conn)
    .await
}

/// Whether a cursor names a real transaction of this member (an edited cursor does not).
pub async fn cursor_is_valid(
    conn: &mut PgConnection,
    member_id: Uuid,
    cursor: &crate::domain::cursor::Cursor,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM point_transactions
                         WHERE id = $1 AND member_id = $2 AND date_trunc('microseconds', created_at) = $3)",
    )
    .bind(cursor.id)
    .bind(member_id)
    .bind(cursor.created_at)
    .fetch_one(conn)
    .await
}

/// Points earned (active or pending) by the member since `since`, for the daily cap.
pub async fn earned_since(
    conn: &mut PgConnection,
    member_id: Uuid,
    since: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(points), 0)::bigint FROM point_transactions
          WHERE member_id = $1 AND kind IN ('earn', 'earn_pending') AND created_at >= $2",
    )
    .bind(member_id)
    .bind(since)
    .fetch_one(conn)
    .await
}
