//! Earning: purchases (charges, partner orders, POS), partner earns and campaign bonuses.
//! Idempotent on (source, reference): a repeat answers with the original transaction.

use super::program::{self, ProgramCache};
use super::{lock_member, lock_or_open_member, refunds, tiers, Error, Result};
use crate::domain::program::Program;
use crate::domain::{
    self, earning, points, EarnBasis, Earned, LedgerError, Multiplier, Purchase, TransactionKind,
};
use crate::events::publishes;
use crate::storage::accounts::{Account, BalanceChange, EarnChange, QualifyingPurchase};
use crate::storage::entries::{self, Book, NewTransaction, TransactionRecord};
use crate::storage::lots::NewLot;
use crate::storage::spend;
use chrono::{DateTime, Duration, Utc};
use kernel::money::{Currency, Money};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const EARN_KINDS: &[TransactionKind] = &[TransactionKind::Earn, TransactionKind::EarnPending];

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

#[derive(Debug)]
pub enum EarnOutcome {
    Earned(Earned),
    /// The (source, reference) was earned for already: the original transaction.
    Repeat(TransactionRecord),
    /// Worth less than a point.
    Nothing,
}

/// A partner's (or an admin's) earn for a member who must have an account already.
pub async fn earn_for_member(
    pool: &PgPool,
    cache: &ProgramCache,
    request: &EarnRequest<'_>,
) -> std::result::Result<EarnOutcome, ApiError> {
    let mut tx = pool.begin().await?;
    let program = program::current(&mut tx, cache).await?;
    let account = lock_member(&mut tx, request.member_id).await?;
    let outcome = earn_locked(&mut tx, &program, &account, request).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A till's purchase as the POS integration reports it.
#[derive(Debug, Clone)]
pub struct PosPurchase<'a> {
    pub member_id: Uuid,
    pub store_id: &'a str,
    pub till_transaction_id: &'a str,
    pub amount_minor: i64,
    /// `None`: the program's currency.
    pub currency: Option<Currency>,
    pub category: Option<&'a str>,
    pub occurred_at: DateTime<Utc>,
    pub actor: &'a str,
}

/// Earns for a POS purchase; one earn per (store, till transaction).
pub async fn pos_purchase(
    pool: &PgPool,
    cache: &ProgramCache,
    purchase: &PosPurchase<'_>,
) -> std::result::Result<EarnOutcome, ApiError> {
    let mut tx = pool.begin().await?;
    let program = program::current(&mut tx, cache).await?;
    let currency = purchase.currency.unwrap_or(program.settings.currency);
    let amount = Money::positive(purchase.amount_minor, currency)
        .map_err(|e| ApiError::validation("amount", e))?;
    let account = lock_member(&mut tx, purchase.member_id).await?;
    let reference = format!("{}:{}", purchase.store_id, purchase.till_transaction_id);
    let outcome = earn_locked(
        &mut tx,
        &program,
        &account,
        &EarnRequest {
            member_id: purchase.member_id,
            basis: EarnBasis::Purchase {
                amount,
                store_id: Some(purchase.store_id),
                category: purchase.category,
            },
            source: "pos",
            reference_id: &reference,
            description: Some("In-store purchase"),
            occurred_at: purchase.occurred_at,
            actor: Some(purchase.actor),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What an earn is worth before it is written.
struct Priced<'a> {
    points: i64,
    purchase: Option<Purchase<'a>>,
    rule_ids: Vec<Uuid>,
    capped: i64,
}

/// Earns points inside the caller's transaction, idempotently on (source, reference). The
/// member may pay before their registration event arrives here: their account is opened now.
pub async fn earn_in(
    conn: &mut PgConnection,
    cache: &ProgramCache,
    request: &EarnRequest<'_>,
) -> Result<EarnOutcome> {
    let program = program::current(conn, cache).await?;
    let account = lock_or_open_member(conn, request.member_id).await?;
    earn_locked(conn, &program, &account, request).await
}

/// The earn itself, the member's account locked: one statement writing the transaction, its
/// entries, its lot and the account's balances and running totals, one for the event.
async fn earn_locked(
    conn: &mut PgConnection,
    program: &Program,
    account: &Account,
    request: &EarnRequest<'_>,
) -> Result<EarnOutcome> {
    let settings = &program.settings;
    if let EarnBasis::Purchase { amount, .. } = &request.basis {
        if amount.currency != settings.currency {
            return Err(LedgerError::CurrencyNotAccepted {
                expected: settings.currency.code().to_owned(),
                given: amount.currency.code().to_owned(),
            }
            .into());
        }
    }
    let priced = price(request, &settings.policy(), account, program);
    if priced.points <= 0 {
        if let Some(repeat) = find_earn(conn, request).await? {
            return repeat_or_conflict(request, repeat);
        }
        // Worth nothing, but the purchase still counts towards tiers.
        let purchase = qualifying(request, priced.purchase.as_ref());
        if let Some(purchase) = &purchase {
            spend::add_qualifying(conn, request.member_id, purchase).await?;
        }
        tiers::upgrade_if_qualified(conn, account, &program.tiers, None, request.occurred_at)
            .await?;
        return Ok(EarnOutcome::Nothing);
    }

    let Some(written) = write_earn(conn, request, &priced, account, program).await? else {
        // This (source, reference) was earned for already.
        let original = find_earn(conn, request)
            .await?
            .ok_or(LedgerError::ReferenceConflict(
                request.reference_id.to_owned(),
            ))?;
        return repeat_or_conflict(request, original);
    };
    let tier = tiers::upgrade_if_qualified(
        conn,
        account,
        &program.tiers,
        written.qualifying_spend,
        request.occurred_at,
    )
    .await?;
    let earned = Earned {
        transaction_id: written.transaction_id,
        points: priced.points,
        pending: written.pending,
        balance_after: account
            .balance
            .checked_add(written.active)
            .ok_or(LedgerError::OutOfRange)?,
        tier,
        capped: priced.capped,
    };
    events::outbox::enqueue(
        conn,
        &publishes::points_earned(
            request.member_id,
            &earned,
            request.source,
            request.reference_id,
        ),
    )
    .await?;
    // A refund that overtook its charge is applied now, as if it had come second.
    if request.source == "charge" {
        if let Some(early) = spend::take_early_refund(conn, request.reference_id).await? {
            refunds::refund_in(conn, request.member_id, request.reference_id, early).await?;
        }
    }
    Ok(EarnOutcome::Earned(earned))
}

async fn find_earn(
    conn: &mut PgConnection,
    request: &EarnRequest<'_>,
) -> Result<Option<TransactionRecord>> {
    Ok(entries::find_by_reference(conn, request.source, request.reference_id, EARN_KINDS).await?)
}

/// An earn as written to the ledger.
struct Written {
    transaction_id: Uuid,
    pending: bool,
    /// What it added to the spendable balance.
    active: i64,
    /// The member's rolling 12-month qualifying spend afterwards, if the running total is known.
    qualifying_spend: Option<i64>,
}

/// Writes the earn's transaction, its lot, the cached balances and the qualifying spend in one
/// statement; `None` if the (source, reference) was earned for already.
async fn write_earn(
    conn: &mut PgConnection,
    request: &EarnRequest<'_>,
    priced: &Priced<'_>,
    account: &Account,
    program: &Program,
) -> Result<Option<Written>> {
    let pending_days = program.pending_days(request.source);
    let pending = pending_days > 0;
    let amount = priced.purchase.as_ref().map(|p| p.amount);
    let mut transaction = NewTransaction::new(
        request.member_id,
        if pending {
            TransactionKind::EarnPending
        } else {
            TransactionKind::Earn
        },
        priced.points,
        request.source,
        request.reference_id,
    );
    transaction.description = request.description;
    transaction.amount_minor = amount.map(|a| a.amount_minor);
    transaction.currency = amount.map(|a| a.currency.code());
    transaction.multiplier_bp = priced.purchase.as_ref().map(|_| account.multiplier_bp);
    transaction.occurred_at = Some(request.occurred_at);
    transaction.store_id = priced.purchase.as_ref().and_then(|p| p.store_id);
    transaction.category = priced.purchase.as_ref().and_then(|p| p.category);
    transaction.rule_ids = Some(priced.rule_ids.clone());
    transaction.actor = request.actor;
    transaction.moves = vec![(
        if pending { Book::Pending } else { Book::Active },
        priced.points,
    )];
    let available_at = request.occurred_at + Duration::days(i64::from(pending_days));
    // A member in debt (a reversal under the negative-balance policy) repays it first.
    let debt = if pending {
        0
    } else {
        points::debt(account.balance)
    };
    transaction.lot = Some(NewLot {
        points: priced.points,
        remaining: priced.points - debt.min(priced.points),
        pending,
        earned_at: request.occurred_at,
        available_at,
        expires_at: program.settings.expiry(available_at),
    });
    let change = if pending {
        BalanceChange {
            pending: priced.points,
            earned: priced.points,
            ..Default::default()
        }
    } else {
        BalanceChange {
            active: priced.points,
            earned: priced.points,
            ..Default::default()
        }
    };
    transaction.earn = Some(EarnChange {
        change,
        purchase: qualifying(request, priced.purchase.as_ref()),
    });
    let Some(recorded) = entries::record(conn, &transaction).await? else {
        return Ok(None);
    };
    Ok(Some(Written {
        transaction_id: recorded.id,
        pending,
        active: change.active,
        qualifying_spend: recorded.qualifying_spend,
    }))
}

/// A repeat of an earn is the original if it was for the same amount; else the reference was
/// reused for something else.
fn repeat_or_conflict(
    request: &EarnRequest<'_>,
    original: TransactionRecord,
) -> Result<EarnOutcome> {
    let same = match &request.basis {
        EarnBasis::Purchase { amount, .. } => original.amount_minor == Some(amount.amount_minor),
        EarnBasis::Points(points) => original.points == points.get(),
    };
    if same {
        Ok(EarnOutcome::Repeat(original))
    } else {
        Err(Error::Refused(LedgerError::ReferenceConflict(
            request.reference_id.to_owned(),
        )))
    }
}

/// The points an earn is worth: fixed, or by the earn rules for a purchase (capped by what the
/// member earned today, which the account keeps).
fn price<'a>(
    request: &EarnRequest<'a>,
    policy: &domain::EarnPolicy,
    account: &Account,
    program: &Program,
) -> Priced<'a> {
    match &request.basis {
        EarnBasis::Points(points) => Priced {
            points: points.get(),
            purchase: None,
            rule_ids: Vec::new(),
            capped: 0,
        },
        EarnBasis::Purchase {
            amount,
            store_id,
            category,
        } => {
            let purchase = Purchase {
                amount: *amount,
                source: request.source,
                store_id: *store_id,
                category: *category,
                occurred_at: request.occurred_at,
            };
            let tier = Multiplier::from_basis_points(account.multiplier_bp);
            let quote = earning::quote(
                &purchase,
                policy,
                tier,
                &program.rules,
                account.earned_today,
            );
            Priced {
                points: quote.points,
                purchase: Some(purchase),
                rule_ids: quote.rule_ids,
                capped: quote.capped,
            }
        }
    }
}

/// A purchase counts towards tiers, once per (source, reference).
fn qualifying(
    request: &EarnRequest<'_>,
    purchase: Option<&Purchase<'_>>,
) -> Option<QualifyingPurchase> {
    purchase.map(|purchase| QualifyingPurchase {
        reference: format!("{}:{}", request.source, request.reference_id),
        amount_minor: purchase.amount.amount_minor,
        occurred_at: request.occurred_at,
    })
}
