use sqlx::PgConnection;
use uuid::Uuid;

/// The program's side of every entry: points it owes its members.
pub const PROGRAM_LIABILITY: &str = "program:liability";

pub struct NewTransaction<'a> {
    pub member_id: Uuid,
    pub kind: &'a str,
    pub points: i64,
    pub source: &'a str,
    pub reference_id: &'a str,
    pub description: Option<&'a str>,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub multiplier_bp: Option<i32>,
}

/// Writes the transaction and its two entries. Returns `None` when a transaction with the same
/// (source, reference, kind) exists already: the request or event was a repeat.
pub async fn record(
    conn: &mut PgConnection,
    tx: &NewTransaction<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO point_transactions
            (id, member_id, kind, points, source, reference_id, description, amount_minor, currency, multiplier_bp)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO ledger_entries (transaction_id, account, member_id, amount)
         VALUES ($1, 'member:' || $2::text, $2, $3), ($1, $4, NULL, -$3)",
    )
    .bind(id)
    .bind(tx.member_id)
    .bind(tx.points)
    .bind(PROGRAM_LIABILITY)
    .execute(conn)
    .await?;
    Ok(Some(id))
}
