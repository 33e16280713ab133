//! Members' accounts: opened on registration, anonymised on erasure.

use super::Result;
use crate::storage::{accounts, entries, holds, spend};
use sqlx::PgConnection;
use uuid::Uuid;

/// Opens the member's account at the entry tier (a repeat does nothing).
pub async fn open_account(conn: &mut PgConnection, member_id: Uuid) -> Result<()> {
    accounts::open(conn, member_id).await?;
    Ok(())
}

/// Forgets what could identify an erased member: the free-text descriptions of their
/// transactions and holds, and their spend. Amounts stay, so the program's books still balance.
pub async fn erase(conn: &mut PgConnection, member_id: Uuid) -> Result<()> {
    accounts::open(conn, member_id).await?;
    accounts::lock(conn, member_id).await?;
    accounts::mark_erased(conn, member_id).await?;
    entries::forget_descriptions(conn, member_id).await?;
    holds::forget_details(conn, member_id).await?;
    spend::forget_member(conn, member_id).await?;
    Ok(())
}
