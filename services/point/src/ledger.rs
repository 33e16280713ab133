//! Ledger operations. Each runs inside the caller's transaction: it locks the member's account,
//! writes the transaction with its double entries, moves points between lots, updates the cached
//! balances and writes its event to the outbox, so all of it commits together or not at all.
//! Locking the account first serialises every change to one member's points.

use crate::domain::{self, Purchase};
use crate::storage::accounts::{self, Account};
use crate::storage::entries::{self, Book, NewTransaction, TransactionRecord};
use crate::storage::holds::{self, Hold, NewHold};
use crate::storage::lots::{self, NewLot};
use crate::storage::program::{self, ProgramSettings};
use chrono::{DateTime, Duration, Months, Utc};
use kernel::money::Money;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("this member has no points account")]
    UnknownMember,
    #[error("this member's account was erased")]
    Erased,
    #[error("the program earns in {expected}, not {given}")]
    CurrencyNotAccepted { expected: String, given: String },
    #[error("not enough points: {available} available")]
    Insufficient { available: i64 },
    #[error("reference {0} was already used for a different amount")]
    ReferenceConflict(String),
    #[error("this idempotency key was used for a different request")]
    KeyReused,
    #[error("the hold is {0}")]
    HoldNotActive(String),
    #[error("no such hold")]
    UnknownHold,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<LedgerError> for platform::ApiError {
    fn from(e: LedgerError) -> Self {
        use platform::ApiError;
        match e {
            LedgerError::UnknownMember => {
                ApiError::NotFound("this member has no points account".into())
            }
            LedgerError::UnknownHold => ApiError::NotFound("no such hold for this member".into()),
            LedgerError::Erased => ApiError::Unprocessable {
                slug: "member-erased",
                detail: "this member's account was erased".into(),
            },
            LedgerError::CurrencyNotAccepted { expected, given } => ApiError::Unprocessable {
                slug: "currency-not-accepted",
                detail: format!("the program earns points in {expected}; {given} is not accepted"),
            },
            LedgerError::Insufficient { available } => ApiError::Unprocessable {
                slug: "insufficient-points",
                detail: format!("not enough points: {available} available"),
            },
            LedgerError::ReferenceConflict(reference) => ApiError::Conflict {
                slug: "reference-conflict",
                detail: format!("reference {reference} was already used with a different amount"),
            },
            LedgerError::KeyReused => ApiError::Unprocessable {
                slug: "idempotency-key-reused",
                detail: "this Idempotency-Key was used with a different request".into(),
            },
            LedgerError::HoldNotActive(status) => ApiError::Conflict {
                slug: "hold-not-active",
                detail: format!("the hold is {status}"),
            },
            LedgerError::Database(e) => e.into(),
        }
    }
}

impl From<LedgerError> for events::HandlerError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Database(e) => e.into(),
            other => events::HandlerError::Permanent(anyhow::anyhow!(other)),
        }
    }
}

type Result<T> = std::result::Result<T, LedgerError>;

/// Locks the member's account; refuses erased members.
async fn lock_member(conn: &mut PgConnection, member_id: Uuid) -> Result<Account> {
    let account = accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    if account.erased_at.is_some() {
        return Err(LedgerError::Erased);
    }
    Ok(account)
}

/// What is being earned for.
#[derive(Debug, Clone)]
pub enum EarnBasis<'a> {
    /// Money spent: the earn rules decide the points.
    Purchase {
        amount: Money,
        store_id: Option<&'a str>,
        category: Option<&'a str>,
    },
    /// A fixed number of points (a campaign bonus, a partner's own calculation).
    Points(i64),
}

#[derive(Debug, Clone)]
pub struct EarnRequest<'a> {
    pub member_id: Uuid,
    pub basis: EarnBasis<'a>,
    pub source: &'a str,
    pub reference_id: &'a str,
    pub description: Option<&'a str>,
    pub occurred_at: DateTime<Utc>,
    pub actor: Option<&'a str>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Earned {
    pub transaction_id: Uuid,
    pub points: i64,
    /// True while the points wait out the source's return window.
    pub pending: bool,
    pub balance_after: i64,
    pub tier: String,
    /// Points the program's caps held back.
    pub capped: i64,
}

#[derive(Debug)]
pub enum EarnOutcome {
    Earned(Earned),
    /// The (source, reference) was earned for already: the original transaction.
    Repeat(TransactionRecord),
    /// Worth less than a point.
    Nothing,
}

/// Earns points, idempotently on (source, reference).
pub async fn earn(conn: &mut PgConnection, request: &EarnRequest<'_>) -> Result<EarnOutcome> {
    // The member may pay before their registration event arrives here: open the account now.
    accounts::open(conn, request.member_id).await?;
    let account = lock_member(conn, request.member_id).await?;
    let settings = program::settings(conn).await?;
    let repeat = entries::find_by_reference(
        conn,
        request.source,
        request.reference_id,
        &["earn", "earn_pending"],
    )
    .await?;

    let (points, purchase, rule_ids, capped) = match &request.basis {
        EarnBasis::Purchase {
            amount,
            store_id,
            category,
        } => {
            if amount.currency.code() != settings.currency {
                return Err(LedgerError::CurrencyNotAccepted {
                    expected: settings.currency.clone(),
                    given: amount.currency.code().to_owned(),
                });
            }
            if let Some(repeat) = repeat {
                return if repeat.amount_minor == Some(amount.amount_minor) {
                    Ok(EarnOutcome::Repeat(repeat))
                } else {
                    Err(LedgerError::ReferenceConflict(
                        request.reference_id.to_owned(),
                    ))
                };
            }
            let purchase = Purchase {
                amount: *amount,
                source: request.source,
                store_id: *store_id,
                category: *category,
                occurred_at: request.occurred_at,
            };
            let day_start = Utc::now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc();
            let earned_today = entries::earned_since(conn, request.member_id, day_start).await?;
            let rules = program::live_rules(conn).await?;
            let tier = domain::Multiplier::from_basis_points(account.multiplier_bp);
            let quote = domain::quote(&purchase, &settings.policy(), tier, &rules, earned_today);
            program::add_qualifying_spend(
                conn,
                request.member_id,
                &format!("{}:{}", request.source, request.reference_id),
                amount.amount_minor,
                request.occurred_at,
            )
            .await?;
            (quote.points, Some(purchase), quote.rule_ids, quote.capped)
        }
        EarnBasis::Points(points) => {
            if let Some(repeat) = repeat {
                return if repeat.points == *points {
                    Ok(EarnOutcome::Repeat(repeat))
                } else {
                    Err(LedgerError::ReferenceConflict(
                        request.reference_id.to_owned(),
                    ))
                };
            }
            (*points, None, Vec::new(), 0)
        }
    };
    if points <= 0 {
        upgrade_tier_if_qualified(conn, &account, request.occurred_at).await?;
        return Ok(EarnOutcome::Nothing);
    }

    let pending_days = program::pending_days(conn, request.source).await?;
    let pending = pending_days > 0;
    let book = if pending { Book::Pending } else { Book::Active };
    let amount = purchase.as_ref().map(|p| p.amount);
    let Some(transaction_id) = entries::record(
        conn,
        &NewTransaction {
            member_id: request.member_id,
            kind: if pending { "earn_pending" } else { "earn" },
            points,
            source: request.source,
            reference_id: request.reference_id,
            description: request.description,
            amount_minor: amount.map(|a| a.amount_minor),
            currency: amount.map(|a| a.currency.code()),
            multiplier_bp: purchase.as_ref().map(|_| account.multiplier_bp),
            occurred_at: Some(request.occurred_at),
            store_id: purchase.as_ref().and_then(|p| p.store_id),
            category: purchase.as_ref().and_then(|p| p.category),
            rule_ids: Some(rule_ids),
            actor: request.actor,
            moves: vec![(book, points)],
            ..Default::default()
        },
    )
    .await?
    else {
        // Unreachable under the account lock (the repeat check above saw none), kept for safety.
        return Ok(EarnOutcome::Nothing);
    };
    let available_at = request.occurred_at + Duration::days(i64::from(pending_days));
    // A member in debt (a reversal under the negative-balance policy) repays it first.
    let debt = if pending {
        0
    } else {
        (-account.balance).max(0)
    };
    lots::create(
        conn,
        &NewLot {
            member_id: request.member_id,
            transaction_id,
            points,
            remaining: points - debt.min(points),
            pending,
            earned_at: request.occurred_at,
            available_at,
            expires_at: expiry(available_at, &settings),
        },
    )
    .await?;
    let (active, held_pending) = if pending { (0, points) } else { (points, 0) };
    accounts::apply(conn, request.member_id, active, held_pending, 0, points).await?;
    let tier = upgrade_tier_if_qualified(conn, &account, request.occurred_at).await?;
    let earned = Earned {
        transaction_id,
        points,
        pending,
        balance_after: account.balance + active,
        tier,
        capped,
    };
    events::outbox::enqueue(
        conn,
        &crate::events::points_earned(
            request.member_id,
            &earned,
            request.source,
            request.reference_id,
        ),
    )
    .await?;
    // A refund that overtook its charge is applied now, as if it had come second.
    if request.source == "charge" {
        if let Some((total_refunded, charge_amount)) =
            program::take_early_refund(conn, request.reference_id).await?
        {
            refund(
                conn,
                request.member_id,
                request.reference_id,
                total_refunded,
                charge_amount,
            )
            .await?;
        }
    }
    Ok(EarnOutcome::Earned(earned))
}

fn expiry(from: DateTime<Utc>, settings: &ProgramSettings) -> DateTime<Utc> {
    from.checked_add_months(Months::new(settings.expiry_months as u32))
        .unwrap_or(from)
}

/// Upgrades the member at once when their rolling 12-month spend reaches a higher tier.
/// Returns the tier in force afterwards.
async fn upgrade_tier_if_qualified(
    conn: &mut PgConnection,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<String> {
    let tiers = program::tiers(conn).await?;
    let spend = program::rolling_spend(conn, account.member_id, now.max(Utc::now())).await?;
    let qualified = domain::qualifying_tier(&tiers, spend);
    let current_rank = tiers
        .iter()
        .find(|t| t.code == account.qualified_tier)
        .map(|t| t.rank)
        .unwrap_or(0);
    if qualified.rank > current_rank {
        let period_end = Utc::now()
            .checked_add_months(Months::new(12))
            .unwrap_or_else(Utc::now);
        accounts::set_tier(conn, account.member_id, &qualified.code, period_end).await?;
        events::outbox::enqueue(
            conn,
            &crate::events::tier_changed(
                account.member_id,
                &account.qualified_tier,
                &qualified.code,
                "qualifying spend reached",
                true,
            ),
        )
        .await?;
        let after = accounts::find(conn, account.member_id)
            .await?
            .ok_or(LedgerError::UnknownMember)?;
        return Ok(after.tier);
    }
    Ok(account.tier.clone())
}

/// Applies a charge's refund state: `total_refunded` of `charge_amount` so far. Inside the
/// return window it cancels pending points; after it, it reverses active points (never below
/// zero unless the program allows it; what cannot be taken back is recorded as a shortfall).
/// Repeats and older states are no-ops; a refund for a charge not earned for yet is kept until
/// the charge arrives.
pub async fn refund(
    conn: &mut PgConnection,
    member_id: Uuid,
    charge_id: &str,
    total_refunded: i64,
    charge_amount: i64,
) -> Result<()> {
    accounts::open(conn, member_id).await?;
    let account = lock_member(conn, member_id).await?;
    let Some(earn) =
        entries::find_by_reference(conn, "charge", charge_id, &["earn", "earn_pending"]).await?
    else {
        program::remember_early_refund(conn, charge_id, member_id, total_refunded, charge_amount)
            .await?;
        return Ok(());
    };
    program::reduce_qualifying_spend(
        conn,
        member_id,
        &format!("charge:{charge_id}"),
        total_refunded,
        charge_amount,
    )
    .await?;
    let due = domain::points_to_reverse(earn.points, charge_amount, total_refunded);
    let accounted: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(-points + shortfall), 0)::bigint FROM point_transactions
          WHERE source = 'refund' AND split_part(reference_id, '/', 1) = $1",
    )
    .bind(charge_id)
    .fetch_one(&mut *conn)
    .await?;
    let delta = due - accounted;
    if delta <= 0 {
        return Ok(());
    }
    let reference = format!("{charge_id}/{total_refunded}");
    let lot = lots::of_transaction(conn, earn.id).await?;
    if let Some(lot) = lot.filter(|l| l.status == "pending") {
        let cancel = delta.min(lot.remaining);
        let Some(transaction_id) = entries::record(
            conn,
            &NewTransaction {
                member_id,
                kind: "cancel_pending",
                points: -cancel,
                source: "refund",
                reference_id: &reference,
                description: Some("Refund inside the return window"),
                shortfall: delta - cancel,
                moves: vec![(Book::Pending, -cancel)],
                ..Default::default()
            },
        )
        .await?
        else {
            return Ok(());
        };
        if cancel > 0 {
            lots::cancel_pending(conn, lot.id, cancel, transaction_id).await?;
            accounts::apply(conn, member_id, 0, -cancel, 0, 0).await?;
        }
        return Ok(());
    }
    let settings = program::settings(conn).await?;
    let take = if settings.allow_negative_balance {
        delta
    } else {
        delta.min(account.available().max(0))
    };
    let Some(transaction_id) = entries::record(
        conn,
        &NewTransaction {
            member_id,
            kind: "reverse",
            points: -take,
            source: "refund",
            reference_id: &reference,
            description: Some("Refund of the purchase"),
            shortfall: delta - take,
            moves: vec![(Book::Active, -take)],
            ..Default::default()
        },
    )
    .await?
    else {
        return Ok(());
    };
    if take > 0 {
        lots::take(conn, member_id, take, transaction_id, Some(earn.id)).await?;
        accounts::apply(conn, member_id, -take, 0, 0, 0).await?;
    }
    if delta > take {
        tracing::warn!(%member_id, charge_id, shortfall = delta - take, "refund reversal short: points already spent");
    }
    events::outbox::enqueue(
        conn,
        &crate::events::points_reversed(
            member_id,
            transaction_id,
            take,
            &reference,
            account.balance - take,
        ),
    )
    .await?;
    Ok(())
}

pub struct HoldRequest<'a> {
    pub member_id: Uuid,
    pub points: i64,
    pub ttl_secs: i64,
    pub reference_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub created_by: &'a str,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
}

/// Reserves points. The same caller and key gives back the same hold; with another request,
/// `KeyReused`.
pub async fn hold(conn: &mut PgConnection, request: &HoldRequest<'_>) -> Result<(Hold, bool)> {
    let account = lock_member(conn, request.member_id).await?;
    if let Some(existing) =
        holds::find_by_key(conn, request.created_by, request.idempotency_key).await?
    {
        return if existing.request_fingerprint == request.fingerprint
            && existing.member_id == request.member_id
        {
            Ok((existing, true))
        } else {
            Err(LedgerError::KeyReused)
        };
    }
    if request.points > account.available() {
        return Err(LedgerError::Insufficient {
            available: account.available().max(0),
        });
    }
    let hold = holds::insert(
        conn,
        &NewHold {
            member_id: request.member_id,
            points: request.points,
            reference_id: request.reference_id,
            description: request.description,
            created_by: request.created_by,
            idempotency_key: request.idempotency_key,
            request_fingerprint: request.fingerprint,
            ttl_secs: request.ttl_secs,
        },
    )
    .await?;
    accounts::apply(conn, request.member_id, 0, 0, request.points, 0).await?;
    Ok((hold, false))
}

/// Spends a hold's points (oldest lots first). Capturing a captured hold returns it unchanged.
pub async fn capture(conn: &mut PgConnection, member_id: Uuid, hold_id: Uuid) -> Result<Hold> {
    let account = lock_member(conn, member_id).await?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.as_str() {
        "captured" => return Ok(hold),
        "active" => {}
        other => return Err(LedgerError::HoldNotActive(other.to_owned())),
    }
    let reference = hold.id.to_string();
    let transaction_id = entries::record(
        conn,
        &NewTransaction {
            member_id,
            kind: "redeem",
            points: -hold.points,
            source: "hold",
            reference_id: &reference,
            description: hold.description.as_deref().or(Some("Redemption")),
            moves: vec![(Book::Active, -hold.points)],
            ..Default::default()
        },
    )
    .await?
    .ok_or_else(|| LedgerError::HoldNotActive("already captured".into()))?;
    lots::take(conn, member_id, hold.points, transaction_id, None).await?;
    accounts::apply(conn, member_id, -hold.points, 0, -hold.points, 0).await?;
    let hold = holds::settle(conn, hold.id, "captured", Some(transaction_id)).await?;
    events::outbox::enqueue(
        conn,
        &crate::events::points_redeemed(
            member_id,
            transaction_id,
            hold.points,
            hold.reference_id.as_deref().unwrap_or(&reference),
            account.balance - hold.points,
        ),
    )
    .await?;
    Ok(hold)
}

/// Gives a hold's points back (`released`, or `expired` by the job). Releasing a released or
/// expired hold returns it unchanged.
pub async fn release(
    conn: &mut PgConnection,
    member_id: Uuid,
    hold_id: Uuid,
    status: &str,
) -> Result<Hold> {
    accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.as_str() {
        "released" | "expired" => return Ok(hold),
        "active" => {}
        other => return Err(LedgerError::HoldNotActive(other.to_owned())),
    }
    accounts::apply(conn, member_id, 0, 0, -hold.points, 0).await?;
    Ok(holds::settle(conn, hold.id, status, None).await?)
}

pub struct Adjustment<'a> {
    pub member_id: Uuid,
    pub points: i64,
    pub reason: &'a str,
    pub actor: &'a str,
    pub idempotency_key: &'a str,
}

/// A staff correction, audited. Returns the transaction and whether it was a repeat.
pub async fn adjust(
    conn: &mut PgConnection,
    adjustment: &Adjustment<'_>,
) -> Result<(TransactionRecord, bool)> {
    let account = lock_member(conn, adjustment.member_id).await?;
    let reference = format!("{}:{}", adjustment.actor, adjustment.idempotency_key);
    if let Some(existing) =
        entries::find_by_reference(conn, "adjustment", &reference, &["adjust"]).await?
    {
        return if existing.points == adjustment.points && existing.member_id == adjustment.member_id
        {
            Ok((existing, true))
        } else {
            Err(LedgerError::KeyReused)
        };
    }
    let settings = program::settings(conn).await?;
    if adjustment.points < 0
        && -adjustment.points > account.available()
        && !settings.allow_negative_balance
    {
        return Err(LedgerError::Insufficient {
            available: account.available().max(0),
        });
    }
    let transaction_id = entries::record(
        conn,
        &NewTransaction {
            member_id: adjustment.member_id,
            kind: "adjust",
            points: adjustment.points,
            source: "adjustment",
            reference_id: &reference,
            description: Some(adjustment.reason),
            actor: Some(adjustment.actor),
            moves: vec![(Book::Active, adjustment.points)],
            ..Default::default()
        },
    )
    .await?
    .ok_or(LedgerError::KeyReused)?;
    let now = Utc::now();
    if adjustment.points > 0 {
        let debt = (-account.balance).max(0);
        lots::create(
            conn,
            &NewLot {
                member_id: adjustment.member_id,
                transaction_id,
                points: adjustment.points,
                remaining: adjustment.points - debt.min(adjustment.points),
                pending: false,
                earned_at: now,
                available_at: now,
                expires_at: expiry(now, &settings),
            },
        )
        .await?;
    } else {
        lots::take(
            conn,
            adjustment.member_id,
            -adjustment.points,
            transaction_id,
            None,
        )
        .await?;
    }
    accounts::apply(
        conn,
        adjustment.member_id,
        adjustment.points,
        0,
        0,
        adjustment.points.max(0),
    )
    .await?;
    program::audit(conn, adjustment.actor, "points.adjust", Some(adjustment.member_id), serde_json::json!({
        "points": adjustment.points, "reason": adjustment.reason, "transaction_id": transaction_id,
    }))
    .await?;
    events::outbox::enqueue(
        conn,
        &crate::events::points_adjusted(
            adjustment.member_id,
            transaction_id,
            adjustment.points,
            adjustment.reason,
            adjustment.actor,
            account.balance + adjustment.points,
        ),
    )
    .await?;
    let record = entries::find_by_reference(conn, "adjustment", &reference, &["adjust"])
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    Ok((record, false))
}

/// Makes a pending lot active once its return window has closed.
pub async fn activate_lot(conn: &mut PgConnection, member_id: Uuid, lot_id: Uuid) -> Result<()> {
    accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    let lot: Option<(i64, String)> =
        sqlx::query_as("SELECT remaining, status FROM point_lots WHERE id = $1 FOR UPDATE")
            .bind(lot_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((remaining, status)) = lot else {
        return Ok(());
    };
    if status != "pending" || remaining == 0 {
        return Ok(());
    }
    let reference = lot_id.to_string();
    if entries::record(
        conn,
        &NewTransaction {
            member_id,
            kind: "activate",
            points: remaining,
            source: "pending",
            reference_id: &reference,
            description: Some("Return window closed"),
            moves: vec![(Book::Pending, -remaining), (Book::Active, remaining)],
            ..Default::default()
        },
    )
    .await?
    .is_some()
    {
        lots::activate(conn, lot_id).await?;
        accounts::apply(conn, member_id, remaining, -remaining, 0, 0).await?;
    }
    Ok(())
}

/// Expires the member's points whose lots expired by `now`, never into held points.
pub async fn expire_member(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64> {
    let account = accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    let due: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(remaining), 0)::bigint FROM point_lots
          WHERE member_id = $1 AND status = 'active' AND remaining > 0 AND expires_at <= $2",
    )
    .bind(member_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let points = due.min(account.available().max(0));
    if points == 0 {
        return Ok(0);
    }
    let reference = format!("{member_id}:{}", now.timestamp_micros());
    let Some(transaction_id) = entries::record(
        conn,
        &NewTransaction {
            member_id,
            kind: "expire",
            points: -points,
            source: "expiry",
            reference_id: &reference,
            description: Some("Points expired"),
            moves: vec![(Book::Active, -points)],
            ..Default::default()
        },
    )
    .await?
    else {
        return Ok(0);
    };
    lots::take_expired(conn, member_id, now, points, transaction_id).await?;
    accounts::apply(conn, member_id, -points, 0, 0, 0).await?;
    events::outbox::enqueue(
        conn,
        &crate::events::points_expired(member_id, transaction_id, points, account.balance - points),
    )
    .await?;
    Ok(points)
}

/// At the end of a qualification period the member keeps the tier their last 12 months qualify
/// for: a lower one is a downgrade (published), and a new period starts.
pub async fn review_tier(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let account = accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    if account.tier_period_ends_at > now {
        return Ok(());
    }
    let tiers = program::tiers(conn).await?;
    let spend = program::rolling_spend(conn, member_id, now).await?;
    let qualified = domain::qualifying_tier(&tiers, spend);
    let next_period = now.checked_add_months(Months::new(12)).unwrap_or(now);
    accounts::set_tier(conn, member_id, &qualified.code, next_period).await?;
    sqlx::query("UPDATE accounts SET downgrade_warned_at = NULL WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    let current_rank = tiers
        .iter()
        .find(|t| t.code == account.qualified_tier)
        .map(|t| t.rank)
        .unwrap_or(0);
    if qualified.rank < current_rank {
        events::outbox::enqueue(
            conn,
            &crate::events::tier_changed(
                member_id,
                &account.qualified_tier,
                &qualified.code,
                "qualification period ended",
                false,
            ),
        )
        .await?;
    }
    Ok(())
}

/// The grace notice: within `notice_days` of the period's end, a member whose rolling spend
/// qualifies for a lower tier is warned once (`tier.downgrade_warning`), so they can still
/// spend to keep their tier.
pub async fn warn_of_downgrade(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let account = accounts::lock(conn, member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    let tiers = program::tiers(conn).await?;
    let spend = program::rolling_spend(conn, member_id, now).await?;
    let qualified = domain::qualifying_tier(&tiers, spend);
    let current_rank = tiers
        .iter()
        .find(|t| t.code == account.qualified_tier)
        .map(|t| t.rank)
        .unwrap_or(0);
    if qualified.rank >= current_rank {
        return Ok(false);
    }
    sqlx::query("UPDATE accounts SET downgrade_warned_at = $2 WHERE member_id = $1")
        .bind(member_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    events::outbox::enqueue(
        conn,
        &crate::events::tier_downgrade_warning(
            member_id,
            &account.qualified_tier,
            &qualified.code,
            account.tier_period_ends_at,
        ),
    )
    .await?;
    Ok(true)
}

/// Forgets what could identify an erased member: the free-text descriptions of their
/// transactions and holds. Amounts stay, so the program's books still balance.
pub async fn erase(conn: &mut PgConnection, member_id: Uuid) -> Result<()> {
    accounts::open(conn, member_id).await?;
    accounts::lock(conn, member_id).await?;
    accounts::mark_erased(conn, member_id).await?;
    sqlx::query("UPDATE point_transactions SET description = NULL WHERE member_id = $1 AND description IS NOT NULL")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE holds SET description = NULL, reference_id = NULL WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM qualifying_spend WHERE member_id = $1")
        .bind(member_id)
        .execute(conn)
        .await?;
    Ok(())
}
