//! Stamp cards (seed 001): a business's stamp programs, the stamps its stores give members and
//! void within the program's window, members' cards and their wallet. Each use case owns its
//! transaction (or runs in the event consumer's): it locks the member's card first, so every
//! change to one card is serialised, changes the card through `storage` by the arithmetic of
//! `domain::stamps`, and writes its events to the outbox, all committing together. Every read
//! and write names the business it acts in.

use super::REPLAY_STATUS;
use crate::domain::stamps::{self, Items, NewStampProgram, StampError};
use crate::events::publishes;
use crate::storage::accounts::{self, Account};
use crate::storage::audit;
use crate::storage::stamps::{self as storage, NewIssue};
pub use crate::storage::stamps::{
    CardRecord, CardSummary, IssueRecord, RewardRecord, StampProgram,
};
use chrono::Utc;
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Why a stamp use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] StampError),
    /// The card's rows disagree with its numbers: a bug, never the caller's fault.
    #[error("stamp card inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Refused(refusal) => refusal.into(),
            Error::Inconsistent(detail) => ApiError::Internal(anyhow::anyhow!(detail)),
            Error::Database(e) => e.into(),
        }
    }
}

impl From<StampError> for ApiError {
    fn from(e: StampError) -> Self {
        let detail = e.to_string();
        match e {
            StampError::UnknownStore | StampError::UnknownProgram | StampError::UnknownIssue => {
                ApiError::NotFound(detail)
            }
            StampError::ProgramInactive => ApiError::Unprocessable {
                slug: "stamp-program-inactive",
                detail,
            },
            StampError::ItemsRequired => ApiError::validation("items", detail),
            StampError::TransactionConflict(_) => ApiError::Conflict {
                slug: "stamp-transaction-conflict",
                detail,
            },
            StampError::VoidWindowClosed(_) => ApiError::Conflict {
                slug: "void-window-closed",
                detail,
            },
            StampError::OutOfRange => ApiError::Unprocessable {
                slug: "stamps-out-of-range",
                detail,
            },
            StampError::StoreOfAnotherBusiness { .. } => ApiError::Conflict {
                slug: "store-of-another-business",
                detail,
            },
        }
    }
}

/// Records a store the admin service opened (`store.created`), in the consumer's transaction.
/// A repeat does nothing; the same store under another business is refused, since a store's
/// business never changes.
pub async fn record_store(
    conn: &mut PgConnection,
    store_id: Uuid,
    business_id: Uuid,
    name: &str,
) -> Result<()> {
    let known = storage::record_store(conn, store_id, business_id, name).await?;
    if known != business_id {
        return Err(StampError::StoreOfAnotherBusiness {
            store: store_id,
            known,
            claimed: business_id,
        }
        .into());
    }
    Ok(())
}

/// Creates a stamp program under the request's idempotency key; `replay` is the response a
/// retry with the same key gets, recorded in the same transaction.
pub async fn create_program(
    pool: &PgPool,
    business_id: Uuid,
    program: &NewStampProgram,
    actor: &str,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&StampProgram) -> serde_json::Value,
) -> std::result::Result<StampProgram, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let created = storage::insert_program(&mut tx, business_id, program, actor).await?;
        audit::record(
            &mut tx,
            actor,
            "stamp_program.create",
            None,
            serde_json::json!({"business_id": business_id, "program_id": created.id}),
        )
        .await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&created))
            .await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

pub async fn programs(pool: &PgPool, business_id: Uuid) -> Result<Vec<StampProgram>> {
    let mut conn = pool.acquire().await?;
    Ok(storage::list_programs(&mut conn, business_id).await?)
}

/// Stamps a store gives a member for one of its transactions.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    pub business_id: Uuid,
    pub store_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    /// The store's own id of the purchase: one issue per (store, transaction).
    pub transaction_id: &'a str,
    pub items: Option<Items>,
    /// The caller (`user:<id>`, `partner:<id>`).
    pub issued_by: &'a str,
}

/// An issue and the card it left.
#[derive(Debug, Clone)]
pub struct Issued {
    pub issue: IssueRecord,
    pub program: StampProgram,
    /// The card now (for a replay: as it stands, later issues included).
    pub card: CardRecord,
    /// The rewards this issue filled the card for.
    pub rewards: Vec<RewardRecord>,
    /// The store's transaction had been stamped by this same request before.
    pub replayed: bool,
}

/// Gives the member the stamps their purchase earns at a store of the business. Idempotent on
/// (store, transaction): the same request again answers with the first issue and changes
/// nothing; another request for that transaction is refused.
pub async fn issue(pool: &PgPool, request: &IssueRequest<'_>) -> Result<Issued> {
    let mut tx = pool.begin().await?;
    if !storage::store_of(&mut tx, request.business_id, request.store_id).await? {
        return Err(StampError::UnknownStore.into());
    }
    // A replay answers with its issue even if the program has ended since.
    if let Some(existing) = storage::find_issue_by_transaction(
        &mut tx,
        request.business_id,
        request.store_id,
        request.transaction_id,
    )
    .await?
    {
        return replay(&mut tx, request, existing).await;
    }
    let program = storage::find_program(&mut tx, request.business_id, request.program_id)
        .await?
        .ok_or(StampError::UnknownProgram)?;
    if !program.active {
        return Err(StampError::ProgramInactive.into());
    }
    let stamps = program.mode.stamps_for(request.items)?;
    let card =
        storage::lock_card(&mut tx, request.business_id, program.id, request.member_id).await?;
    let new_issue = NewIssue {
        business_id: request.business_id,
        store_id: request.store_id,
        member_id: request.member_id,
        program_id: program.id,
        stamps,
        items: request.items.map(Items::get),
        transaction_id: request.transaction_id,
        issued_by: request.issued_by,
    };
    let Some(issue) = storage::insert_issue(&mut tx, &new_issue).await? else {
        // A concurrent request for the same transaction committed first.
        let existing = storage::find_issue_by_transaction(
            &mut tx,
            request.business_id,
            request.store_id,
            request.transaction_id,
        )
        .await?
        .ok_or_else(|| StampError::TransactionConflict(request.transaction_id.to_owned()))?;
        return replay(&mut tx, request, existing).await;
    };
    // Stamps that lapsed before this purchase do not count towards its card.
    let lapsed = stamps::lapse(
        card.numbers(),
        card.expired_stamps,
        card.last_stamped_at,
        program.stamp_expiry_days,
        issue.issued_at,
    )?;
    let filled = stamps::fill(lapsed.card, stamps, program.stamps_required)?;
    let card = storage::set_card(
        &mut tx,
        request.business_id,
        program.id,
        request.member_id,
        filled.card,
        lapsed.expired,
    )
    .await?;
    let rewards = storage::insert_rewards(&mut tx, &issue, filled.rewards).await?;
    events::outbox::enqueue(&mut tx, &publishes::stamps_issued(&issue)).await?;
    for reward in &rewards {
        events::outbox::enqueue(
            &mut tx,
            &publishes::stamp_card_completed(reward, &program.reward),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Issued {
        issue,
        program,
        card,
        rewards,
        replayed: false,
    })
}

/// The first issue of a transaction, if `request` is the same request again.
async fn replay(
    conn: &mut PgConnection,
    request: &IssueRequest<'_>,
    existing: IssueRecord,
) -> Result<Issued> {
    let same = existing.member_id == request.member_id
        && existing.program_id == request.program_id
        && existing.items == request.items.map(Items::get);
    if !same {
        return Err(StampError::TransactionConflict(request.transaction_id.to_owned()).into());
    }
    let program = storage::find_program(conn, existing.business_id, existing.program_id)
        .await?
        .ok_or_else(|| Error::Inconsistent(format!("issue {} has no program", existing.id)))?;
    let card = storage::find_card(
        conn,
        existing.business_id,
        existing.program_id,
        existing.member_id,
    )
    .await?
    .ok_or_else(|| Error::Inconsistent(format!("issue {} has no card", existing.id)))?;
    let rewards = storage::rewards_of_issue(conn, existing.business_id, existing.id).await?;
    Ok(Issued {
        issue: existing,
        program,
        card,
        rewards,
        replayed: true,
    })
}

/// A store taking back one of its issues.
#[derive(Debug, Clone)]
pub struct VoidRequest<'a> {
    pub business_id: Uuid,
    pub store_id: Uuid,
    pub issue_id: Uuid,
    pub voided_by: &'a str,
}

#[derive(Debug, Clone)]
pub struct Voided {
    pub issue: IssueRecord,
    pub program: StampProgram,
    pub card: CardRecord,
    /// The rewards this void took back (see [`stamps::unfill`] for which).
    pub voided_rewards: Vec<Uuid>,
    /// The issue had been voided before: nothing changed now.
    pub already_voided: bool,
}

/// Voids an issue within its program's void window, leaving the card as if the issue had never
/// happened (see [`stamps::unfill`]). Once only: voiding a voided issue changes nothing and
/// answers with the void as it was made.
pub async fn void(pool: &PgPool, request: &VoidRequest<'_>) -> Result<Voided> {
    let mut tx = pool.begin().await?;
    // The card is locked before the issue, in the order an issue takes them.
    let found = storage::find_issue(
        &mut tx,
        request.business_id,
        request.store_id,
        request.issue_id,
    )
    .await?
    .ok_or(StampError::UnknownIssue)?;
    let program = storage::find_program(&mut tx, found.business_id, found.program_id)
        .await?
        .ok_or_else(|| Error::Inconsistent(format!("issue {} has no program", found.id)))?;
    let card = storage::lock_card(
        &mut tx,
        found.business_id,
        found.program_id,
        found.member_id,
    )
    .await?;
    let issue = storage::lock_issue(
        &mut tx,
        request.business_id,
        request.store_id,
        request.issue_id,
    )
    .await?
    .ok_or(StampError::UnknownIssue)?;
    if issue.voided_at.is_some() {
        let voided_rewards =
            storage::rewards_voided_by(&mut tx, issue.business_id, issue.id).await?;
        return Ok(Voided {
            issue,
            program,
            card,
            voided_rewards,
            already_voided: true,
        });
    }
    let now = Utc::now();
    if !stamps::may_void(issue.issued_at, program.void_window_minutes, now) {
        return Err(StampError::VoidWindowClosed(stamps::void_until(
            issue.issued_at,
            program.void_window_minutes,
        ))
        .into());
    }
    let unfilled = stamps::unfill(card.numbers(), issue.stamps, program.stamps_required)?;
    let mut voided_rewards = storage::void_rewards(&mut tx, &issue, unfilled.rewards).await?;
    if i32::try_from(voided_rewards.len()).ok() != Some(unfilled.rewards) {
        return Err(Error::Inconsistent(format!(
            "card ({}, {}) has {} rewards to take back, found {}",
            issue.program_id,
            issue.member_id,
            unfilled.rewards,
            voided_rewards.len()
        )));
    }
    voided_rewards.sort();
    // Voided first: the card's last stamp is then its newest issue still standing.
    let issue =
        storage::mark_voided(&mut tx, issue.business_id, issue.id, request.voided_by).await?;
    let card = storage::set_card(
        &mut tx,
        issue.business_id,
        issue.program_id,
        issue.member_id,
        unfilled.card,
        card.expired_stamps,
    )
    .await?;
    events::outbox::enqueue(&mut tx, &publishes::stamps_voided(&issue)).await?;
    tx.commit().await?;
    Ok(Voided {
        issue,
        program,
        card,
        voided_rewards,
        already_voided: false,
    })
}

/// The member's cards at one business.
pub async fn member_cards(
    pool: &PgPool,
    business_id: Uuid,
    member_id: Uuid,
) -> Result<Vec<CardSummary>> {
    let mut conn = pool.acquire().await?;
    Ok(storage::member_cards(&mut conn, business_id, member_id).await?)
}

/// What a member holds at one business.
#[derive(Debug, Clone)]
pub struct WalletEntry {
    pub business_id: Uuid,
    /// Their points account: only the demo business keeps points today.
    pub points: Option<Account>,
    pub stamp_cards: Vec<CardSummary>,
}

/// The member's wallet: one entry per business where they have points or a stamp card.
pub async fn wallet(pool: &PgPool, member_id: Uuid) -> Result<Vec<WalletEntry>> {
    let mut conn = pool.acquire().await?;
    let account = accounts::find(&mut conn, member_id)
        .await?
        .filter(|a| a.erased_at.is_none());
    let cards = storage::wallet_cards(&mut conn, member_id).await?;
    let mut entries: Vec<WalletEntry> = Vec::new();
    if let Some(account) = account {
        entries.push(WalletEntry {
            business_id: kernel::DEMO_BUSINESS_ID,
            points: Some(account),
            stamp_cards: Vec::new(),
        });
    }
    for card in cards {
        match entries
            .iter_mut()
            .find(|e| e.business_id == card.business_id)
        {
            Some(entry) => entry.stamp_cards.push(card),
            None => entries.push(WalletEntry {
                business_id: card.business_id,
                points: None,
                stamp_cards: vec![card],
            }),
        }
    }
    Ok(entries)
}
