//! Ledger operations: each takes a connection inside the caller's transaction, locks the
//! member's account, writes the transaction with its entries, updates the balance and writes
//! the event to the outbox, so all of it commits together or not at all.

use crate::domain::{self, Multiplier};
use crate::storage::{accounts, entries};
use platform::money::Money;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Earned {
    pub transaction_id: Uuid,
    pub points: i64,
    pub balance_after: i64,
    pub tier: String,
}

/// Earns points for money the member spent. Returns `None` when nothing was earned: the
/// purchase was worth less than a point, or it was earned for already.
pub async fn earn_for_purchase(
    conn: &mut PgConnection,
    member_id: Uuid,
    amount: Money,
    source: &str,
    reference_id: &str,
    description: Option<&str>,
) -> Result<Option<Earned>, sqlx::Error> {
    // The member may pay before their registration event arrives here: open the account now.
    accounts::open(conn, member_id).await?;
    let account = accounts::lock(conn, member_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let rate = accounts::program_rate(conn).await?;
    let multiplier = Multiplier::from_basis_points(account.multiplier_bp);
    let points = domain::points_for_purchase(amount, rate, multiplier);
    if points <= 0 {
        return Ok(None);
    }
    let recorded = entries::record(
        conn,
        &entries::NewTransaction {
            member_id,
            kind: "earn",
            points,
            source,
            reference_id,
            description,
            amount_minor: Some(amount.amount_minor),
            currency: Some(amount.currency.code()),
            multiplier_bp: Some(multiplier.basis_points()),
        },
    )
    .await?;
    let Some(transaction_id) = recorded else {
        return Ok(None);
    };
    let balance_after = accounts::apply_delta(conn, member_id, points).await?;
    let earned = Earned {
        transaction_id,
        points,
        balance_after,
        tier: account.tier,
    };
    let event = crate::events::points_earned(member_id, &earned, source, reference_id);
    events::outbox::enqueue(conn, &event).await?;
    Ok(Some(earned))
}
