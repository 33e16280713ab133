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
use platform::notified_cache::NotifiedMap;
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Instant;
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
    /// The program's tiers up to the member's own, lowest first (what tier-limited rewards check).
    pub tiers_reached: Vec<String>,
}

/// Balances as this process keeps them, by member id: dropped by the `balance_<schema>`
/// notification the accounts trigger sends when a member's account changes, wherever the change
/// was made, and by this process's own writes at once ([`balance_changed`]).
pub type BalanceCache = NotifiedMap<KeptBalance>;

/// Enough for the members active at once on one process; beyond it balances are read, not kept.
const KEPT_BALANCES: usize = 50_000;
/// How long a balance is kept at most, in case a change ever went unnoticed.
const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub fn cache() -> Arc<BalanceCache> {
    NotifiedMap::new("balance", KEPT_BALANCES)
}

/// What a balance read keeps of its query: everything but the next tier, which is worked out
/// from the program in force.
#[derive(Debug)]
pub struct KeptBalance {
    account: Account,
    expiring_soon: i64,
    qualifying_spend: i64,
}

/// Tells this process's balance cache that the member's account changed, so the member's next
/// read here sees it without waiting for the notification.
pub fn balance_changed(balances: &BalanceCache, member_id: Uuid) {
    balances.invalidate(member_key(member_id, &mut Uuid::encode_buffer()));
}

/// The key the notifications use: the id as Postgres writes it.
fn member_key(member_id: Uuid, buffer: &mut [u8]) -> &str {
    member_id.hyphenated().encode_lower(buffer)
}

/// From memory, or from one indexed query (the account, its expiring points and its running
/// spend total); the spend is summed from the purchases only when the total ran out of date (the
/// oldest purchase left the 12-month window, or a refund changed one). The program is in memory.
pub async fn balance(
    pool: &PgPool,
    programs: &ProgramCache,
    balances: &BalanceCache,
    member_id: Uuid,
) -> Result<Balance, ApiError> {
    let mut buffer = Uuid::encode_buffer();
    let key = member_key(member_id, &mut buffer);
    let kept = match balances.get(key) {
        Ok(kept) => kept,
        Err(ticket) => {
            let mut conn = pool.acquire().await?;
            let (kept, fresh_until) = load(&mut conn, member_id).await?;
            let kept = Arc::new(kept);
            balances.store(key, ticket, Arc::clone(&kept), fresh_until);
            kept
        }
    };
    let program = program::current_in(pool, programs).await?;
    let next_tier = next_tier(
        &program.tiers,
        kept.account.tier_rank,
        kept.qualifying_spend,
    )
    .map(|(tier, needed)| (tier.code.clone(), needed));
    let mut reached: Vec<_> = program
        .tiers
        .iter()
        .filter(|t| t.rank <= kept.account.tier_rank)
        .collect();
    reached.sort_by_key(|t| t.rank);
    Ok(Balance {
        account: kept.account.clone(),
        expiring_soon: kept.expiring_soon,
        qualifying_spend: kept.qualifying_spend,
        next_tier,
        tiers_reached: reached.into_iter().map(|t| t.code.clone()).collect(),
    })
}

/// Reads a balance, and until when it stays right with nothing written: the clock alone moves
/// the day's earnings, a tier override's end, the spend window and the expiry warning window.
async fn load(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<(KeptBalance, Instant), ApiError> {
    let now = Utc::now();
    let row = accounts::balance_row(conn, member_id, EXPIRY_WARNING_DAYS)
        .await?
        .ok_or_else(|| ApiError::NotFound("this member has no points account".into()))?;
    let (qualifying_spend, spend_valid_until) = match row.qualifying_spend {
        Some(spend) => (spend, row.spend_valid_until),
        // Recomputed: the refresh's own account change drops what a read keeps meanwhile, so
        // how long this total stays right does not matter here.
        None => match accounts::refresh_spend(conn, member_id, row.spend_version).await? {
            Some(spend) => (spend, None),
            None => (spend::rolling(conn, member_id, now).await?, None),
        },
    };
    let tomorrow = (now.date_naive() + chrono::Days::new(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let changes_at = [
        Some(now + KEPT_FOR),
        Some(tomorrow),
        row.account.override_expires_at,
        spend_valid_until,
        row.expiring_changes_at,
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(now);
    let fresh_until = Instant::now() + (changes_at - now).to_std().unwrap_or_default();
    Ok((
        KeptBalance {
            account: row.account,
            expiring_soon: row.expiring_soon,
            qualifying_spend,
        },
        fresh_until,
    ))
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
