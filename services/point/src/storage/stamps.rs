//! `stamp_stores`, `stamp_programs`, `stamp_cards`, `stamp_issues`, `stamp_rewards`: stamp cards
//! of every business. Every statement names the business it acts in.

use crate::domain::stamps::{Card, NewStampProgram, StampMode};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Records a store; does nothing if it is known. Returns the business the store belongs to,
/// which is not `business_id` if the store was first recorded under another one.
pub async fn record_store(
    conn: &mut PgConnection,
    store_id: Uuid,
    business_id: Uuid,
    name: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO stamp_stores (store_id, business_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (store_id) DO NOTHING",
        store_id,
        business_id,
        name,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        "SELECT business_id FROM stamp_stores WHERE store_id = $1",
        store_id
    )
    .fetch_one(conn)
    .await
}

/// Whether `store_id` is a store of `business_id`.
pub async fn store_of(
    conn: &mut PgConnection,
    business_id: Uuid,
    store_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM stamp_stores WHERE business_id = $1 AND store_id = $2) AS "found!""#,
        business_id,
        store_id,
    )
    .fetch_one(conn)
    .await?;
    Ok(found)
}

#[derive(Debug, Clone)]
pub struct StampProgram {
    pub id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    pub stamps_required: i32,
    pub reward: String,
    pub mode: StampMode,
    pub stamp_expiry_days: Option<i32>,
    pub void_window_minutes: i32,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A program row as read, before its mode is parsed.
struct ProgramRow {
    id: Uuid,
    business_id: Uuid,
    name: String,
    stamps_required: i32,
    reward: String,
    mode: String,
    stamp_expiry_days: Option<i32>,
    void_window_minutes: i32,
    active: bool,
    created_by: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<ProgramRow> for StampProgram {
    type Error = sqlx::Error;

    fn try_from(row: ProgramRow) -> Result<Self, sqlx::Error> {
        let mode = StampMode::parse(&row.mode).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown stamp mode {:?}", row.mode).into())
        })?;
        Ok(Self {
            id: row.id,
            business_id: row.business_id,
            name: row.name,
            stamps_required: row.stamps_required,
            reward: row.reward,
            mode,
            stamp_expiry_days: row.stamp_expiry_days,
            void_window_minutes: row.void_window_minutes,
            active: row.active,
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

pub async fn insert_program(
    conn: &mut PgConnection,
    business_id: Uuid,
    program: &NewStampProgram,
    created_by: &str,
) -> Result<StampProgram, sqlx::Error> {
    sqlx::query_as!(
        ProgramRow,
        "INSERT INTO stamp_programs (id, business_id, name, stamps_required, reward, mode,
                                     stamp_expiry_days, void_window_minutes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, business_id, name, stamps_required, reward, mode, stamp_expiry_days,
                   void_window_minutes, active, created_by, created_at",
        Uuid::now_v7(),
        business_id,
        program.name,
        program.stamps_required,
        program.reward,
        program.mode.as_str(),
        program.stamp_expiry_days,
        program.void_window_minutes,
        created_by,
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn list_programs(
    conn: &mut PgConnection,
    business_id: Uuid,
) -> Result<Vec<StampProgram>, sqlx::Error> {
    sqlx::query_as!(
        ProgramRow,
        "SELECT id, business_id, name, stamps_required, reward, mode, stamp_expiry_days,
                void_window_minutes, active, created_by, created_at
           FROM stamp_programs WHERE business_id = $1 ORDER BY created_at, id",
        business_id,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(StampProgram::try_from)
    .collect()
}

pub async fn find_program(
    conn: &mut PgConnection,
    business_id: Uuid,
    program_id: Uuid,
) -> Result<Option<StampProgram>, sqlx::Error> {
    sqlx::query_as!(
        ProgramRow,
        "SELECT id, business_id, name, stamps_required, reward, mode, stamp_expiry_days,
                void_window_minutes, active, created_by, created_at
           FROM stamp_programs WHERE business_id = $1 AND id = $2",
        business_id,
        program_id,
    )
    .fetch_optional(conn)
    .await?
    .map(StampProgram::try_from)
    .transpose()
}

/// A member's card, locked or read.
#[derive(Debug, Clone)]
pub struct CardRecord {
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    pub stamps: i32,
    pub completed_count: i32,
    /// Stamps that lapsed before filling a card.
    pub expired_stamps: i32,
    /// The newest issue not voided.
    pub last_stamped_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl CardRecord {
    pub fn numbers(&self) -> Card {
        Card {
            stamps: self.stamps,
            completed: self.completed_count,
        }
    }
}

/// Opens the member's card in the program (a repeat does nothing) and locks it for the rest of
/// the transaction: every change to one card is serialised here.
pub async fn lock_card(
    conn: &mut PgConnection,
    business_id: Uuid,
    program_id: Uuid,
    member_id: Uuid,
) -> Result<CardRecord, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO stamp_cards (business_id, program_id, member_id) VALUES ($1, $2, $3)
         ON CONFLICT (program_id, member_id) DO NOTHING",
        business_id,
        program_id,
        member_id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        CardRecord,
        "SELECT business_id, member_id, program_id, stamps, completed_count, expired_stamps,
                last_stamped_at, updated_at
           FROM stamp_cards WHERE business_id = $1 AND program_id = $2 AND member_id = $3
         FOR UPDATE",
        business_id,
        program_id,
        member_id,
    )
    .fetch_one(conn)
    .await
}

pub async fn find_card(
    conn: &mut PgConnection,
    business_id: Uuid,
    program_id: Uuid,
    member_id: Uuid,
) -> Result<Option<CardRecord>, sqlx::Error> {
    sqlx::query_as!(
        CardRecord,
        "SELECT business_id, member_id, program_id, stamps, completed_count, expired_stamps,
                last_stamped_at, updated_at
           FROM stamp_cards WHERE business_id = $1 AND program_id = $2 AND member_id = $3",
        business_id,
        program_id,
        member_id,
    )
    .fetch_optional(conn)
    .await
}

/// Writes the card's new numbers (the card locked by [`lock_card`]), once its issues are
/// written: its last stamp is read from them.
pub async fn set_card(
    conn: &mut PgConnection,
    business_id: Uuid,
    program_id: Uuid,
    member_id: Uuid,
    card: Card,
    expired_stamps: i32,
) -> Result<CardRecord, sqlx::Error> {
    sqlx::query_as!(
        CardRecord,
        "UPDATE stamp_cards
            SET stamps = $4, completed_count = $5, expired_stamps = $6, updated_at = now(),
                last_stamped_at = (SELECT max(i.issued_at) FROM stamp_issues i
                                    WHERE i.business_id = $1 AND i.program_id = $2
                                      AND i.member_id = $3 AND i.voided_at IS NULL)
          WHERE business_id = $1 AND program_id = $2 AND member_id = $3
         RETURNING business_id, member_id, program_id, stamps, completed_count, expired_stamps,
                   last_stamped_at, updated_at",
        business_id,
        program_id,
        member_id,
        card.stamps,
        card.completed,
        expired_stamps,
    )
    .fetch_one(conn)
    .await
}

/// A card with the program it belongs to, as members and staff read it.
#[derive(Debug, Clone)]
pub struct CardSummary {
    pub business_id: Uuid,
    pub program_id: Uuid,
    pub program_name: String,
    pub reward: String,
    /// Stamps on the card, lapsed or not (see `domain::stamps::on_card`).
    pub stamps: i32,
    pub stamps_required: i32,
    /// Rewards the card gave that still stand.
    pub rewards_issued: i32,
    pub active: bool,
    pub stamp_expiry_days: Option<i32>,
    pub last_stamped_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The member's cards at one business, oldest program first.
pub async fn member_cards(
    conn: &mut PgConnection,
    business_id: Uuid,
    member_id: Uuid,
) -> Result<Vec<CardSummary>, sqlx::Error> {
    sqlx::query_as!(
        CardSummary,
        "SELECT c.business_id, c.program_id, p.name AS program_name, p.reward, c.stamps,
                p.stamps_required, c.completed_count AS rewards_issued, p.active,
                p.stamp_expiry_days, c.last_stamped_at, c.updated_at
           FROM stamp_cards c
           JOIN stamp_programs p ON p.business_id = c.business_id AND p.id = c.program_id
          WHERE c.business_id = $1 AND c.member_id = $2
          ORDER BY p.created_at, p.id",
        business_id,
        member_id,
    )
    .fetch_all(conn)
    .await
}

/// The member's cards at every business (their wallet), by business then program.
pub async fn wallet_cards(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Vec<CardSummary>, sqlx::Error> {
    sqlx::query_as!(
        CardSummary,
        "SELECT c.business_id, c.program_id, p.name AS program_name, p.reward, c.stamps,
                p.stamps_required, c.completed_count AS rewards_issued, p.active,
                p.stamp_expiry_days, c.last_stamped_at, c.updated_at
           FROM stamp_cards c
           JOIN stamp_programs p ON p.business_id = c.business_id AND p.id = c.program_id
          WHERE c.member_id = $1
          ORDER BY c.business_id, p.created_at, p.id",
        member_id,
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct IssueRecord {
    pub id: Uuid,
    pub business_id: Uuid,
    pub store_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    pub stamps: i32,
    pub items: Option<i32>,
    pub transaction_id: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
}

pub struct NewIssue<'a> {
    pub business_id: Uuid,
    pub store_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    pub stamps: i32,
    pub items: Option<i32>,
    pub transaction_id: &'a str,
    pub issued_by: &'a str,
}

/// Records the issue; `None` if the store's transaction was stamped already (the unique
/// (store, transaction) decides between concurrent requests).
pub async fn insert_issue(
    conn: &mut PgConnection,
    issue: &NewIssue<'_>,
) -> Result<Option<IssueRecord>, sqlx::Error> {
    sqlx::query_as!(
        IssueRecord,
        "INSERT INTO stamp_issues (id, business_id, store_id, member_id, program_id, stamps, items,
                                   transaction_id, issued_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (store_id, transaction_id) DO NOTHING
         RETURNING id, business_id, store_id, member_id, program_id, stamps, items, transaction_id,
                   issued_by, issued_at, voided_at, voided_by",
        Uuid::now_v7(),
        issue.business_id,
        issue.store_id,
        issue.member_id,
        issue.program_id,
        issue.stamps,
        issue.items,
        issue.transaction_id,
        issue.issued_by,
    )
    .fetch_optional(conn)
    .await
}

/// The issue of the store's transaction, if it was stamped.
pub async fn find_issue_by_transaction(
    conn: &mut PgConnection,
    business_id: Uuid,
    store_id: Uuid,
    transaction_id: &str,
) -> Result<Option<IssueRecord>, sqlx::Error> {
    sqlx::query_as!(
        IssueRecord,
        "SELECT id, business_id, store_id, member_id, program_id, stamps, items, transaction_id,
                issued_by, issued_at, voided_at, voided_by
           FROM stamp_issues WHERE business_id = $1 AND store_id = $2 AND transaction_id = $3",
        business_id,
        store_id,
        transaction_id,
    )
    .fetch_optional(conn)
    .await
}

/// An issue of the store, as it stands.
pub async fn find_issue(
    conn: &mut PgConnection,
    business_id: Uuid,
    store_id: Uuid,
    issue_id: Uuid,
) -> Result<Option<IssueRecord>, sqlx::Error> {
    sqlx::query_as!(
        IssueRecord,
        "SELECT id, business_id, store_id, member_id, program_id, stamps, items, transaction_id,
                issued_by, issued_at, voided_at, voided_by
           FROM stamp_issues WHERE business_id = $1 AND store_id = $2 AND id = $3",
        business_id,
        store_id,
        issue_id,
    )
    .fetch_optional(conn)
    .await
}

/// Locks an issue of the store for the rest of the transaction.
pub async fn lock_issue(
    conn: &mut PgConnection,
    business_id: Uuid,
    store_id: Uuid,
    issue_id: Uuid,
) -> Result<Option<IssueRecord>, sqlx::Error> {
    sqlx::query_as!(
        IssueRecord,
        "SELECT id, business_id, store_id, member_id, program_id, stamps, items, transaction_id,
                issued_by, issued_at, voided_at, voided_by
           FROM stamp_issues WHERE business_id = $1 AND store_id = $2 AND id = $3
         FOR UPDATE",
        business_id,
        store_id,
        issue_id,
    )
    .fetch_optional(conn)
    .await
}

/// Marks a locked issue voided.
pub async fn mark_voided(
    conn: &mut PgConnection,
    business_id: Uuid,
    issue_id: Uuid,
    voided_by: &str,
) -> Result<IssueRecord, sqlx::Error> {
    sqlx::query_as!(
        IssueRecord,
        "UPDATE stamp_issues SET voided_at = now(), voided_by = $3
          WHERE business_id = $1 AND id = $2 AND voided_at IS NULL
         RETURNING id, business_id, store_id, member_id, program_id, stamps, items, transaction_id,
                   issued_by, issued_at, voided_at, voided_by",
        business_id,
        issue_id,
        voided_by,
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct RewardRecord {
    pub id: Uuid,
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub program_id: Uuid,
    pub issue_id: Uuid,
    /// `issued` or `voided`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

/// Issues `count` rewards for the card `issue` filled.
pub async fn insert_rewards(
    conn: &mut PgConnection,
    issue: &IssueRecord,
    count: i32,
) -> Result<Vec<RewardRecord>, sqlx::Error> {
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    sqlx::query_as!(
        RewardRecord,
        "INSERT INTO stamp_rewards (id, business_id, member_id, program_id, issue_id)
         SELECT id, $2, $3, $4, $5 FROM unnest($1::uuid[]) AS ids (id)
         RETURNING id, business_id, member_id, program_id, issue_id, status, created_at, voided_at",
        &ids,
        issue.business_id,
        issue.member_id,
        issue.program_id,
        issue.id,
    )
    .fetch_all(conn)
    .await
}

/// The rewards `issue` filled the card for, whatever became of them.
pub async fn rewards_of_issue(
    conn: &mut PgConnection,
    business_id: Uuid,
    issue_id: Uuid,
) -> Result<Vec<RewardRecord>, sqlx::Error> {
    sqlx::query_as!(
        RewardRecord,
        "SELECT id, business_id, member_id, program_id, issue_id, status, created_at, voided_at
           FROM stamp_rewards WHERE business_id = $1 AND issue_id = $2 ORDER BY id",
        business_id,
        issue_id,
    )
    .fetch_all(conn)
    .await
}

/// Takes back `count` rewards of the card (locked) that `issue` voids: its own first, then the
/// newest. Returns their ids.
pub async fn void_rewards(
    conn: &mut PgConnection,
    issue: &IssueRecord,
    count: i32,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE stamp_rewards SET status = 'voided', voided_at = now(), voided_by_issue = $4
          WHERE id IN (SELECT id FROM stamp_rewards
                        WHERE business_id = $1 AND program_id = $2 AND member_id = $3
                          AND status = 'issued'
                        ORDER BY issue_id = $4 DESC, created_at DESC, id DESC
                        LIMIT $5)
         RETURNING id",
        issue.business_id,
        issue.program_id,
        issue.member_id,
        issue.id,
        i64::from(count),
    )
    .fetch_all(conn)
    .await
}

/// The rewards the void of `issue_id` took back, by id.
pub async fn rewards_voided_by(
    conn: &mut PgConnection,
    business_id: Uuid,
    issue_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM stamp_rewards WHERE business_id = $1 AND voided_by_issue = $2 ORDER BY id",
        business_id,
        issue_id,
    )
    .fetch_all(conn)
    .await
}
