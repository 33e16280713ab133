//! Holds and redemptions: points reserved, then captured (spent, oldest lots first) or given
//! back (released by the caller, expired by the scheduler).

use super::{lock_account, lock_member, Result, REPLAY_STATUS};
pub use crate::domain::holds::RedemptionRefusal;
use crate::domain::holds::Transition;
use crate::domain::{HoldStatus, HoldTtl, LedgerError, Points, TransactionKind};
use crate::events::publishes;
use crate::storage::accounts::{self, BalanceChange};
use crate::storage::entries::{self, Book, NewTransaction};
pub use crate::storage::holds::Hold;
use crate::storage::holds::{self, NewHold};
use crate::storage::lots;
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub struct HoldRequest<'a> {
    pub member_id: Uuid,
    pub points: Points,
    pub ttl: HoldTtl,
    pub reference_id: Option<&'a str>,
    pub description: Option<&'a str>,
    /// The caller (`user:<id>`, `partner:<id>`): one hold per caller and idempotency key.
    pub created_by: &'a str,
    /// What makes two requests with one key the same request.
    pub fingerprint: &'a str,
}

/// A hold as a request left it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub hold: Hold,
    /// The caller's key had placed this hold before.
    pub replayed: bool,
}

/// Reserves points under the request's idempotency key; `replay` is the response a retry with
/// the same key gets, recorded in the same transaction.
pub async fn place(
    pool: &PgPool,
    request: &HoldRequest<'_>,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&Hold) -> serde_json::Value,
) -> std::result::Result<Placed, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let placed = hold_in(&mut tx, request, claimed.key.as_str()).await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&placed.hold))
            .await?;
        tx.commit().await?;
        Ok(placed)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// Spends points in one step: a hold captured at once, under the request's idempotency key.
pub async fn redeem(
    pool: &PgPool,
    request: &HoldRequest<'_>,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&Hold) -> serde_json::Value,
) -> std::result::Result<Placed, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let placed = hold_in(&mut tx, request, claimed.key.as_str()).await?;
        let hold = capture_in(&mut tx, request.member_id, placed.hold.id).await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&hold))
            .await?;
        tx.commit().await?;
        Ok(Placed {
            hold,
            replayed: placed.replayed,
        })
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// Spends a hold's points. Capturing a captured hold returns it unchanged.
pub async fn capture(
    pool: &PgPool,
    member_id: Uuid,
    hold_id: Uuid,
) -> std::result::Result<Hold, ApiError> {
    let mut tx = pool.begin().await?;
    let hold = capture_in(&mut tx, member_id, hold_id).await?;
    tx.commit().await?;
    Ok(hold)
}

/// Gives a hold's points back. Releasing a released or expired hold returns it unchanged.
pub async fn release(
    pool: &PgPool,
    member_id: Uuid,
    hold_id: Uuid,
) -> std::result::Result<Hold, ApiError> {
    let mut tx = pool.begin().await?;
    let hold = give_back(&mut tx, member_id, hold_id, HoldStatus::Released).await?;
    tx.commit().await?;
    Ok(hold)
}

/// Expires a hold nobody captured or released in time (the scheduler).
pub async fn expire(pool: &PgPool, member_id: Uuid, hold_id: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    give_back(&mut tx, member_id, hold_id, HoldStatus::Expired).await?;
    tx.commit().await?;
    Ok(())
}

/// Places the hold, or finds the one this caller's key placed before. The unique
/// (created_by, idempotency_key) decides between concurrent requests with one key.
async fn hold_in(
    conn: &mut PgConnection,
    request: &HoldRequest<'_>,
    idempotency_key: &str,
) -> Result<Placed> {
    let account = lock_member(conn, request.member_id).await?;
    let points = request.points.get();
    if points > account.available() {
        return Err(LedgerError::Insufficient {
            available: account.available().max(0),
        }
        .into());
    }
    let new_hold = NewHold {
        member_id: request.member_id,
        points,
        reference_id: request.reference_id,
        description: request.description,
        created_by: request.created_by,
        idempotency_key,
        request_fingerprint: request.fingerprint,
        ttl_secs: request.ttl.secs(),
    };
    let Some(hold) = holds::insert(conn, &new_hold).await? else {
        let existing = holds::find_by_key(conn, request.created_by, idempotency_key)
            .await?
            .ok_or(LedgerError::KeyReused)?;
        return if existing.request_fingerprint == request.fingerprint
            && existing.member_id == request.member_id
        {
            Ok(Placed {
                hold: existing,
                replayed: true,
            })
        } else {
            Err(LedgerError::KeyReused.into())
        };
    };
    accounts::apply(
        conn,
        request.member_id,
        BalanceChange {
            held: points,
            ..Default::default()
        },
    )
    .await?;
    Ok(Placed {
        hold,
        replayed: false,
    })
}

async fn capture_in(conn: &mut PgConnection, member_id: Uuid, hold_id: Uuid) -> Result<Hold> {
    let account = lock_member(conn, member_id).await?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.settle(HoldStatus::Captured) {
        Ok(Transition::AlreadyDone) => return Ok(hold),
        Ok(Transition::Apply) => {}
        Err(status) => return Err(LedgerError::HoldNotActive(status).into()),
    }
    let spent = hold.points.checked_neg().ok_or(LedgerError::OutOfRange)?;
    let reference = hold.id.to_string();
    let mut redemption = NewTransaction::new(
        member_id,
        TransactionKind::Redeem,
        spent,
        "hold",
        &reference,
    );
    redemption.description = hold.description.as_deref().or(Some("Redemption"));
    redemption.moves = vec![(Book::Active, spent)];
    let transaction_id = entries::record(conn, &redemption)
        .await?
        .ok_or(LedgerError::HoldNotActive(HoldStatus::Captured))?
        .id;
    lots::take(conn, member_id, hold.points, transaction_id, None).await?;
    accounts::apply(
        conn,
        member_id,
        BalanceChange {
            active: spent,
            held: spent,
            ..Default::default()
        },
    )
    .await?;
    let hold = holds::settle(conn, hold.id, HoldStatus::Captured, Some(transaction_id)).await?;
    events::outbox::enqueue(
        conn,
        &publishes::points_redeemed(
            member_id,
            transaction_id,
            hold.points,
            hold.reference_id.as_deref().unwrap_or(&reference),
            account.balance.saturating_sub(hold.points),
        ),
    )
    .await?;
    Ok(hold)
}

async fn give_back(
    conn: &mut PgConnection,
    member_id: Uuid,
    hold_id: Uuid,
    to: HoldStatus,
) -> Result<Hold> {
    lock_account(conn, member_id).await?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.settle(to) {
        Ok(Transition::AlreadyDone) => return Ok(hold),
        Ok(Transition::Apply) => {}
        Err(status) => return Err(LedgerError::HoldNotActive(status).into()),
    }
    let freed = hold.points.checked_neg().ok_or(LedgerError::OutOfRange)?;
    accounts::apply(
        conn,
        member_id,
        BalanceChange {
            held: freed,
            ..Default::default()
        },
    )
    .await?;
    Ok(holds::settle(conn, hold.id, to, None).await?)
}

/// What the rewards service asks for a redemption (`reward.redemption_requested`).
pub struct RedemptionHold<'a> {
    pub redemption_id: Uuid,
    pub member_id: Uuid,
    pub points: Points,
    /// The lowest tier the reward is for (its code); `None`: any tier.
    pub min_tier: Option<&'a str>,
    pub reward_name: &'a str,
}

/// The caller every redemption hold is recorded under (its key is the redemption id).
const REWARDS_SERVICE: &str = "service:rewards";

/// Holds a redemption's points in the consumer's transaction and answers the rewards service:
/// `points.held`, or `points.hold_refused` with the reason when the member has too few points,
/// too low a tier or no account. The redemption id is the hold's idempotency key, so a request
/// delivered twice holds once.
pub async fn hold_for_redemption(
    conn: &mut PgConnection,
    request: &RedemptionHold<'_>,
) -> Result<()> {
    let outcome = match redemption_refusal(conn, request).await? {
        Some(refusal) => Err(refusal),
        None => {
            let key = request.redemption_id.to_string();
            let hold = HoldRequest {
                member_id: request.member_id,
                points: request.points,
                ttl: HoldTtl::parse(Some(crate::domain::holds::MAX_HOLD_SECS))
                    .expect("the longest hold is a valid hold"),
                reference_id: Some(&key),
                description: Some(request.reward_name),
                created_by: REWARDS_SERVICE,
                fingerprint: &key,
            };
            match hold_in(conn, &hold, &key).await {
                Ok(placed) => Ok(placed.hold),
                Err(super::Error::Refused(LedgerError::Insufficient { available })) => {
                    Err(RedemptionRefusal::InsufficientPoints { available })
                }
                Err(e) => return Err(e),
            }
        }
    };
    let event = match outcome {
        Ok(hold) => {
            let available = accounts::lock(conn, request.member_id)
                .await?
                .map_or(0, |a| a.available());
            publishes::points_held(
                request.redemption_id,
                request.member_id,
                hold.id,
                hold.points,
                available,
            )
        }
        Err(refusal) => return refuse_redemption(conn, request, refusal).await,
    };
    // The answer's id comes from the redemption: a request asked again is answered again.
    events::outbox::enqueue_again(conn, &event).await?;
    Ok(())
}

/// Answers a redemption with a refusal without looking at the ledger.
pub async fn refuse_redemption(
    conn: &mut PgConnection,
    request: &RedemptionHold<'_>,
    refusal: RedemptionRefusal,
) -> Result<()> {
    let event = publishes::points_hold_refused(
        request.redemption_id,
        request.member_id,
        request.points.get(),
        request.min_tier,
        &refusal,
    );
    events::outbox::enqueue_again(conn, &event).await?;
    Ok(())
}

/// The member's account and tier, checked before holding (the account stays locked).
async fn redemption_refusal(
    conn: &mut PgConnection,
    request: &RedemptionHold<'_>,
) -> Result<Option<RedemptionRefusal>> {
    let account = match lock_member(conn, request.member_id).await {
        Ok(account) => account,
        Err(super::Error::Refused(LedgerError::UnknownMember | LedgerError::Erased)) => {
            return Ok(Some(RedemptionRefusal::NoAccount))
        }
        Err(e) => return Err(e),
    };
    if let Some(min_tier) = request.min_tier {
        let tiers = crate::storage::program::tiers(conn).await?;
        // A tier the program does not have is out of everyone's reach.
        let needed = tiers.iter().find(|t| t.code == min_tier).map(|t| t.rank);
        if needed.is_none_or(|needed| account.tier_rank < needed) {
            return Ok(Some(RedemptionRefusal::TierTooLow {
                member_tier: account.tier,
            }));
        }
    }
    Ok(None)
}

/// `reward.redeemed`: the code is issued, so the redemption's hold is spent. Capturing a captured
/// hold changes nothing.
pub async fn capture_for_redemption(
    conn: &mut PgConnection,
    member_id: Uuid,
    hold_id: Uuid,
) -> Result<()> {
    capture_in(conn, member_id, hold_id).await?;
    Ok(())
}

/// `reward.cancelled`: the redemption's points come back. An active hold is released; a captured
/// one is credited back as a new lot (an adjustment by the rewards service, with the redemption as
/// its key, so it happens once). A hold already released or expired needs nothing.
pub async fn give_back_redemption(
    conn: &mut PgConnection,
    member_id: Uuid,
    hold_id: Uuid,
    redemption_id: Uuid,
) -> Result<()> {
    let hold = match lock_account(conn, member_id).await {
        Ok(_) => holds::lock(conn, member_id, hold_id).await?,
        Err(super::Error::Refused(LedgerError::UnknownMember)) => None,
        Err(e) => return Err(e),
    };
    let Some(hold) = hold else {
        return Ok(());
    };
    match hold.status {
        HoldStatus::Active => {
            give_back(conn, member_id, hold_id, HoldStatus::Released).await?;
        }
        HoldStatus::Captured => {
            let points = crate::domain::AdjustmentPoints::parse(hold.points)
                .map_err(|_| LedgerError::OutOfRange)?;
            super::adjust::adjust_in(
                conn,
                &super::adjust::Adjustment {
                    member_id,
                    points,
                    reason: "Redemption cancelled",
                    actor: REWARDS_SERVICE,
                },
                &format!("redemption:{redemption_id}"),
            )
            .await?;
        }
        HoldStatus::Released | HoldStatus::Expired => {}
    }
    Ok(())
}
