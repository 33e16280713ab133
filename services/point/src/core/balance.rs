//! Reading points: a member's balance and tier progress, their transactions, the program's
//! liability.

use crate::core::program::{self, ProgramCache};
use crate::domain::program::EXPIRY_WARNING_DAYS;
use crate::domain::tiers::next_tier;
use crate::domain::TransactionKind;
pub use crate::storage::accounts::Liability;
use crate::storage::accounts::{self, Account};
use crate::storage::entries;
pub use crate::storage::entries::TransactionRecord;
use crate::storage::spend;
use chrono::{DateTime, Utc};
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// A member's points and tier as of now.
#[derive(Debug, Clone)]
pub struct Balance {
    pub account: Account,
    /// Active points that expire within the warning window.
    pub expiring_soon: i64,
    /// Qualifying spend over the last 12 months.
    pub qualifying_spend: i64,
    /// The next tier up and the spend it still needs; `None` at the top.
    pub next_tier: Option<(String, i64)>,
}

/// One indexed query (the account, its expiring points and its running spend total) and the
/// program from memory; the spend is summed from the purchases only when the total ran out of
/// date (the oldest purchase left the 12-month window, or a refund changed one).
pub async fn balance(
    pool: &PgPool,
    cache: &ProgramCache,
    member_id: Uuid,
) -> Result<Balance, ApiError> {
    let mut conn = pool.acquire().await?;
    let row = accounts::balance_row(&mut conn, member_id, EXPIRY_WARNING_DAYS)
        .await?
        .ok_or_else(|| ApiError::NotFound("this member has no points account".into()))?;
    let qualifying_spend = match row.qualifying_spend {
        Some(spend) => spend,
        None => match accounts::refresh_spend(&mut conn, member_id, row.spend_version).await? {
            Some(spend) => spend,
            None => spend::rolling(&mut conn, member_id, Utc::now()).await?,
        },
    };
    let program = program::current(&mut conn, cache).await?;
    let next_tier = next_tier(&program.tiers, row.account.tier_rank, qualifying_spend)
        .map(|(tier, needed)| (tier.code.clone(), needed));
    Ok(Balance {
        account: row.account,
        expiring_soon: row.expiring_soon,
        qualifying_spend,
        next_tier,
    })
}

/// Which of a member's transactions to list.
#[derive(Debug, Clone)]
pub struct TransactionFilter {
    pub kinds: Option<Vec<TransactionKind>>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Seed 003's paging, used when there is no cursor.
    pub offset: i64,
}

/// A page of transactions, newest first, and the cursor of the next page.
pub async fn transactions(
    pool: &PgPool,
    member_id: Uuid,
    filter: &TransactionFilter,
    page: &PageRequest,
) -> Result<(Vec<TransactionRecord>, Option<String>), ApiError> {
    let mut conn = pool.acquire().await?;
    if let Some(cursor) = &page.after {
        // A cursor must name a transaction of this member exactly: an edited one does not.
        if !entries::cursor_is_valid(&mut conn, member_id, cursor).await? {
            return Err(ApiError::MalformedRequest(
                "the cursor is not one this API issued".into(),
            ));
        }
    }
    let rows = entries::page(
        &mut conn,
        &entries::Page {
            member_id,
            kinds: filter.kinds.as_deref(),
            from: filter.from,
            to: filter.to,
            after: page.after,
            offset: filter.offset,
            limit: page.fetch_limit(),
        },
    )
    .await?;
    Ok(page.finish(rows, |r| Cursor {
        created_at: r.created_at,
        id: r.id,
    }))
}

pub async fn liability(pool: &PgPool) -> Result<Liability, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(accounts::liability(&mut conn).await?)
}
