//! Redeeming rewards: the saga's steps in this service (see proto/tessera/v1/rewards.proto), and
//! what members and staff do with a redemption afterwards (cancel it, use its code).
//!
//! Each step is one transaction that changes the redemption, records the step and writes the
//! next event to the outbox; the event handlers run in the consumer's transaction next to the
//! inbox record. A crash between any two steps leaves the redemption where the last committed
//! step put it, and the undelivered event carries the saga on when the services come back.

use crate::domain::catalog::{check_offered, Unavailable};
use crate::domain::codes::Code;
use crate::domain::redemptions::{
    check_cancel, check_use, CancelRefusal, HoldRefusal, RedemptionStatus, UseRefusal,
};
use crate::events::publishes::{self, Requested};
use crate::storage::catalog::{self, CatalogItem};
use crate::storage::redemptions::{self, Issue, NewRedemption, Redemption};
use chrono::{DateTime, Utc};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// A request to redeem a reward for a member (by the member, or by staff at the counter).
pub struct RedeemRequest<'a> {
    pub reward_id: Uuid,
    pub member_id: Uuid,
    /// The caller (`user:<id>`): one redemption per caller and key.
    pub requested_by: &'a str,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
}

/// A redemption as a request left it.
pub struct RedeemOutcome {
    pub redemption: Redemption,
    /// The caller's key had made this redemption before.
    pub replayed: bool,
}

fn unavailable(reason: Unavailable) -> ApiError {
    ApiError::Conflict {
        slug: reason.slug(),
        detail: reason.detail(),
    }
}

fn key_reused() -> ApiError {
    ApiError::Unprocessable {
        slug: "idempotency-key-reused",
        detail: "this Idempotency-Key was used for a different request".into(),
    }
}

/// Step 1: sets one unit of stock aside and asks the point service to hold the points. Refuses
/// before anything changes when the caller may not redeem this reward (`authorize`: a member for
/// themselves anywhere, staff at the counter in the reward's business only), or the reward is not
/// offered, out of stock, or the member reached its limit.
pub async fn request(
    pool: &PgPool,
    request: &RedeemRequest<'_>,
    authorize: impl FnOnce(&CatalogItem) -> Result<(), ApiError>,
) -> Result<RedeemOutcome, ApiError> {
    let mut tx = pool.begin().await?;
    if let Some(existing) =
        redemptions::find_by_key(&mut tx, request.requested_by, request.idempotency_key).await?
    {
        return replay(existing, request);
    }
    let reward = catalog::lock(&mut tx, request.reward_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such reward".into()))?;
    authorize(&reward)?;
    let now = Utc::now();
    check_offered(
        reward.active,
        reward.valid_from,
        reward.valid_until,
        reward.inventory,
        now,
    )
    .map_err(unavailable)?;
    if let Some(limit) = reward.member_limit {
        let period = reward.limit_period();
        let held =
            redemptions::count_for_limit(&mut tx, reward.id, request.member_id, period.start(now))
                .await?;
        if held >= i64::from(limit) {
            return Err(unavailable(Unavailable::LimitReached { limit, period }));
        }
    }
    let id = Uuid::now_v7();
    let inserted = redemptions::insert(
        &mut tx,
        &NewRedemption {
            id,
            business_id: reward.business_id,
            reward_id: reward.id,
            member_id: request.member_id,
            points: reward.points_cost,
            requested_by: request.requested_by,
            idempotency_key: request.idempotency_key,
            request_fingerprint: request.fingerprint,
        },
    )
    .await?;
    if !inserted {
        // A concurrent request with the same key won; answer as its retry.
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        let existing =
            redemptions::find_by_key(&mut conn, request.requested_by, request.idempotency_key)
                .await?
                .ok_or_else(key_reused)?;
        return replay(existing, request);
    }
    catalog::take_unit(&mut tx, reward.id).await?;
    redemptions::record_step(
        &mut tx,
        id,
        RedemptionStatus::Pending,
        "requested; stock set aside",
    )
    .await?;
    events::outbox::enqueue(
        &mut tx,
        &publishes::redemption_requested(&Requested {
            redemption_id: id,
            business_id: reward.business_id,
            member_id: request.member_id,
            reward_id: reward.id,
            reward_name: &reward.name,
            points: reward.points_cost,
            min_tier: reward.min_tier.as_deref(),
        }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(redemption_id = %id, reward_id = %reward.id, points = reward.points_cost, "redemption requested");
    let mut conn = pool.acquire().await?;
    let redemption = redemptions::get(&mut conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the redemption just written is gone"))?;
    Ok(RedeemOutcome {
        redemption,
        replayed: false,
    })
}

fn replay(existing: Redemption, request: &RedeemRequest<'_>) -> Result<RedeemOutcome, ApiError> {
    if existing.request_fingerprint != request.fingerprint {
        return Err(key_reused());
    }
    Ok(RedeemOutcome {
        redemption: existing,
        replayed: true,
    })
}

/// Waits up to `wait` for the saga to settle the redemption, and returns it as it then stands.
pub async fn wait_settled(pool: &PgPool, id: Uuid, wait: Duration) -> Result<Redemption, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(10);
    loop {
        let redemption = {
            let mut conn = pool.acquire().await?;
            redemptions::get(&mut conn, id)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such redemption".into()))?
        };
        let now = tokio::time::Instant::now();
        if redemption.status().is_settled() || now >= deadline {
            return Ok(redemption);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Step 2, done: the points are held. Issues the code and asks the point service to capture the
/// points. The answer repeated changes nothing; a redemption that failed meanwhile, or whose
/// member was erased, gets the hold given back instead.
pub async fn points_held(
    conn: &mut PgConnection,
    redemption_id: Uuid,
    hold_id: Uuid,
) -> anyhow::Result<()> {
    let Some(redemption) = redemptions::lock(conn, redemption_id).await? else {
        anyhow::bail!("points.held for unknown redemption {redemption_id}");
    };
    let Some(member) = redemption.member_id else {
        // Erased while pending: nobody to issue a code to; give the points back.
        events::outbox::enqueue_again(
            conn,
            &publishes::reward_cancelled(&redemption, Uuid::nil(), Some(hold_id), "member_erased"),
        )
        .await?;
        return Ok(());
    };
    match redemption.status() {
        RedemptionStatus::Pending => {}
        RedemptionStatus::Issued | RedemptionStatus::Used | RedemptionStatus::Cancelled => {
            return Ok(())
        }
        RedemptionStatus::Failed => {
            // Its id comes from the redemption: a hold reported twice is given back twice, harmlessly.
            events::outbox::enqueue_again(
                conn,
                &publishes::reward_cancelled(
                    &redemption,
                    member,
                    Some(hold_id),
                    "redemption_failed",
                ),
            )
            .await?;
            return Ok(());
        }
    }
    let reward = catalog::get(conn, redemption.reward_id)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "reward {} of redemption {redemption_id} is gone",
                redemption.reward_id
            )
        })?;
    let now = Utc::now();
    let code = Code::generate();
    let code_expires_at = now + chrono::Duration::days(reward.code_valid_days.into());
    let cancel_until = (reward.cancel_window_secs > 0)
        .then(|| now + chrono::Duration::seconds(reward.cancel_window_secs.into()));
    redemptions::set_issued(
        conn,
        redemption_id,
        &Issue {
            hold_id,
            code: code.as_str(),
            code_expires_at,
            cancel_until,
        },
    )
    .await?;
    redemptions::record_step(
        conn,
        redemption_id,
        RedemptionStatus::Issued,
        "points held; code issued",
    )
    .await?;
    events::outbox::enqueue(
        conn,
        &publishes::reward_redeemed(
            &redemption,
            member,
            hold_id,
            &code.to_string(),
            code_expires_at,
        ),
    )
    .await?;
    tracing::info!(redemption_id = %redemption_id, "reward redeemed; code issued");
    Ok(())
}

/// Step 2, refused: the point service held nothing. The redemption fails and its stock returns.
pub async fn hold_refused(
    conn: &mut PgConnection,
    redemption_id: Uuid,
    refusal: &HoldRefusal,
) -> anyhow::Result<()> {
    let Some(redemption) = redemptions::lock(conn, redemption_id).await? else {
        anyhow::bail!("points.hold_refused for unknown redemption {redemption_id}");
    };
    if redemption.status() != RedemptionStatus::Pending {
        return Ok(());
    }
    redemptions::set_failed(conn, redemption_id, refusal.reason(), &refusal.detail()).await?;
    catalog::return_unit(conn, redemption.reward_id).await?;
    redemptions::record_step(
        conn,
        redemption_id,
        RedemptionStatus::Failed,
        &format!("points not held ({}); stock returned", refusal.reason()),
    )
    .await?;
    tracing::info!(redemption_id = %redemption_id, reason = refusal.reason(), "redemption failed");
    Ok(())
}

/// Who cancels a redemption.
pub enum Canceller {
    /// The member, inside the reward's cancel window.
    Member(Uuid),
    /// Staff of the business, whatever the window.
    Staff,
}

/// Cancels an issued, unused redemption: the stock returns and the point service gives the points
/// back. `visible` says whether the caller may see a redemption of that business at all.
pub async fn cancel(
    pool: &PgPool,
    redemption_id: Uuid,
    canceller: Canceller,
    visible: impl FnOnce(&Redemption) -> bool,
) -> Result<Redemption, ApiError> {
    let mut tx = pool.begin().await?;
    let redemption = redemptions::lock(&mut tx, redemption_id)
        .await?
        .filter(|r| match canceller {
            Canceller::Member(member) => r.member_id == Some(member),
            Canceller::Staff => visible(r),
        })
        .ok_or_else(|| ApiError::NotFound("no such redemption".into()))?;
    let status = redemption.status();
    if status == RedemptionStatus::Cancelled {
        return Ok(redemption);
    }
    let window = match canceller {
        Canceller::Member(_) => redemption.cancel_until,
        Canceller::Staff => Some(DateTime::<Utc>::MAX_UTC),
    };
    check_cancel(status, window, Utc::now()).map_err(|refusal| match refusal {
        CancelRefusal::NotIssued(status) => ApiError::Conflict {
            slug: "redemption-not-cancellable",
            detail: format!("a {} redemption cannot be cancelled", status.as_str()),
        },
        CancelRefusal::WindowClosed(Some(until)) => ApiError::Conflict {
            slug: "cancel-window-closed",
            detail: format!("the redemption could be cancelled until {until}"),
        },
        CancelRefusal::WindowClosed(None) => ApiError::Conflict {
            slug: "cancel-window-closed",
            detail: "this reward cannot be cancelled once redeemed".into(),
        },
    })?;
    let member = redemption.member_id.unwrap_or_default();
    redemptions::set_cancelled(&mut tx, redemption_id).await?;
    catalog::return_unit(&mut tx, redemption.reward_id).await?;
    let cause = match canceller {
        Canceller::Member(_) => "cancelled by the member; stock returned",
        Canceller::Staff => "cancelled by staff; stock returned",
    };
    redemptions::record_step(&mut tx, redemption_id, RedemptionStatus::Cancelled, cause).await?;
    events::outbox::enqueue(
        &mut tx,
        &publishes::reward_cancelled(&redemption, member, redemption.hold_id, "cancelled"),
    )
    .await?;
    tx.commit().await?;
    let mut conn = pool.acquire().await?;
    Ok(redemptions::get(&mut conn, redemption_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the redemption just cancelled is gone"))?)
}

/// Someone using a code.
pub struct CodeUse<'a> {
    pub used_by: &'a str,
    pub store: Option<Uuid>,
    pub idempotency_key: &'a str,
}

/// Uses a code once. `authorize` decides whether the caller may use codes of the redemption's
/// business and kind (`Err(NotFound)` for another business's code).
pub async fn use_code(
    pool: &PgPool,
    code: &Code,
    code_use: &CodeUse<'_>,
    authorize: impl FnOnce(&Redemption) -> Result<(), ApiError>,
) -> Result<Redemption, ApiError> {
    let mut tx = pool.begin().await?;
    let redemption = redemptions::lock_by_code(&mut tx, code.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound("no redemption has this code".into()))?;
    authorize(&redemption)?;
    // The retry of the request that used the code gets the same answer.
    if redemption.status() == RedemptionStatus::Used
        && redemption.used_by.as_deref() == Some(code_use.used_by)
        && redemption.used_idempotency_key.as_deref() == Some(code_use.idempotency_key)
    {
        return Ok(redemption);
    }
    check_use(
        redemption.status(),
        redemption.used_at,
        redemption.used_store_id,
        redemption.code_expires_at,
        Utc::now(),
    )
    .map_err(|refusal| match refusal {
        UseRefusal::AlreadyUsed { at, store } => ApiError::Conflict {
            slug: "code-already-used",
            detail: match store {
                Some(store) => format!("the code was used at {at} at store {store}"),
                None => format!("the code was used at {at}"),
            },
        },
        UseRefusal::Expired(at) => ApiError::Conflict {
            slug: "code-expired",
            detail: format!("the code expired at {at}"),
        },
        UseRefusal::Cancelled => ApiError::Conflict {
            slug: "redemption-cancelled",
            detail: "the redemption was cancelled; its code is void".into(),
        },
        UseRefusal::NotIssued => ApiError::Conflict {
            slug: "code-not-issued",
            detail: "the redemption has no usable code".into(),
        },
    })?;
    redemptions::set_used(
        &mut tx,
        redemption.id,
        code_use.used_by,
        code_use.store,
        code_use.idempotency_key,
    )
    .await?;
    redemptions::record_step(
        &mut tx,
        redemption.id,
        RedemptionStatus::Used,
        &format!("code used by {}", code_use.used_by),
    )
    .await?;
    if let Some(member) = redemption.member_id {
        events::outbox::enqueue(
            &mut tx,
            &publishes::reward_used(&redemption, member, code_use.used_by, code_use.store),
        )
        .await?;
    }
    tx.commit().await?;
    let mut conn = pool.acquire().await?;
    Ok(redemptions::get(&mut conn, redemption.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the redemption just used is gone"))?)
}

/// A member's redemptions, newest first.
pub async fn list_for_member(
    pool: &PgPool,
    member_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Redemption>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(redemptions::list_for_member(&mut conn, member_id, after, limit).await?)
}

/// One redemption with its steps, if `visible` to the caller.
pub async fn get(
    pool: &PgPool,
    id: Uuid,
    visible: impl FnOnce(&Redemption) -> bool,
) -> Result<(Redemption, Vec<(String, String, DateTime<Utc>)>), ApiError> {
    let mut conn = pool.acquire().await?;
    let redemption = redemptions::get(&mut conn, id)
        .await?
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such redemption".into()))?;
    let steps = redemptions::steps(&mut conn, id).await?;
    Ok((redemption, steps))
}

/// `user.erased`: the member's redemptions stay, without them.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> anyhow::Result<()> {
    let forgotten = redemptions::forget_member(conn, member_id).await?;
    tracing::info!(forgotten, "erased member's redemptions anonymised");
    Ok(())
}
