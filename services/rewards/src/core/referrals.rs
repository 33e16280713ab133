//! Referral campaigns: members' codes, claims under the caps, and referrals moved by the
//! referee's purchases, refunds, the time and the point service's payments. Every move is made
//! under the referral's row lock, recorded with its cause, and its events written to the outbox
//! in the same transaction.

use super::campaigns::{status_of, CampaignRuntime, TIMERS_PER_SWEEP, TIMER_POSTPONE};
use crate::domain::campaigns::{CampaignKind, CampaignStatus};
use crate::domain::codes::Code;
use crate::domain::referrals::{self, Qualifying, ReferralCause, ReferralState};
use crate::events::publishes::{self, ReferralSide};
use crate::storage::campaigns::{self as campaign_store, Campaign};
use crate::storage::referrals::{
    self as store, NewReferral, PurchaseRow, Referral, ReferralTransition, ReferralUpdate,
};
use chrono::{DateTime, Duration, Utc};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A running referral campaign the caller may see, or why not.
async fn referral_campaign(
    conn: &mut PgConnection,
    campaign_id: Uuid,
    lock: bool,
    visible: impl FnOnce(&Campaign) -> bool,
) -> Result<Campaign, ApiError> {
    let campaign = campaign_store::campaign(conn, campaign_id, lock)
        .await?
        .filter(|c| c.published_at.is_some())
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such campaign".into()))?;
    if campaign.kind() != CampaignKind::Referral {
        return Err(ApiError::Conflict {
            slug: "not-a-referral-campaign",
            detail: format!("this is a {} campaign", campaign.kind().as_str()),
        });
    }
    Ok(campaign)
}

fn not_running() -> ApiError {
    ApiError::Conflict {
        slug: "campaign-not-running",
        detail: "this campaign is not taking referrals now".into(),
    }
}

/// The member's code to share, made on first asking (while the campaign runs).
pub async fn code_for(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    campaign_id: Uuid,
    member_id: Uuid,
    visible: impl FnOnce(&Campaign) -> bool,
) -> Result<String, ApiError> {
    let mut conn = pool.acquire().await?;
    let campaign = referral_campaign(&mut conn, campaign_id, false, visible).await?;
    if let Some(code) = store::code_of_member(&mut conn, campaign_id, member_id).await? {
        return Ok(code);
    }
    let now = runtime.now();
    if status_of(&campaign, now) != CampaignStatus::Running {
        return Err(not_running());
    }
    // 95 random bits: a collision is never expected; the UNIQUE index would refuse one.
    let code = Code::generate().to_string();
    Ok(store::insert_code(&mut conn, campaign_id, member_id, &code, now).await?)
}

/// A claim and whether this request made it.
pub struct Claimed {
    pub referral: Referral,
    pub created: bool,
}

/// The referee claims a referrer's code. Refused: a code of their own or of the member they
/// referred, a member who joined before the campaign opened, a second referrer, and claims
/// beyond the referrer's or the campaign's cap. Claims of one campaign are made one at a time
/// (under the campaign's row lock), so concurrent claims cannot pass a cap.
pub async fn claim(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    campaign_id: Uuid,
    referee_id: Uuid,
    typed_code: &str,
    visible: impl FnOnce(&Campaign) -> bool,
) -> Result<Claimed, ApiError> {
    let code = Code::parse(typed_code)
        .map_err(|e| ApiError::validation("code", e.to_string()))?
        .to_string();
    let mut tx = pool.begin().await?;
    let campaign = referral_campaign(&mut tx, campaign_id, true, visible).await?;
    let terms = campaign
        .referral_terms()
        .ok_or_else(|| anyhow::anyhow!("referral campaign {campaign_id} has no terms"))?;
    let referrer_id = store::owner_of_code(&mut tx, campaign_id, &code)
        .await?
        .ok_or_else(|| ApiError::Unprocessable {
            slug: "unknown-referral-code",
            detail: "no member of this campaign has that code".into(),
        })?;
    if let Some(existing) = store::referral_of_referee(&mut tx, campaign_id, referee_id).await? {
        let referral = store::referral(&mut tx, existing, false)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such referral".into()))?;
        if referral.referrer_id == referrer_id {
            return Ok(Claimed {
                referral,
                created: false,
            });
        }
        return Err(ApiError::Conflict {
            slug: "already-referred",
            detail: "you were already referred by another member in this campaign".into(),
        });
    }
    let now = runtime.now();
    if status_of(&campaign, now) != CampaignStatus::Running {
        return Err(not_running());
    }
    if referrer_id == referee_id {
        return Err(ApiError::Unprocessable {
            slug: "self-referral",
            detail: "you cannot claim your own code".into(),
        });
    }
    // A pair referring each other would pay both twice for one new member.
    if let Some(theirs) = store::referral_of_referee(&mut tx, campaign_id, referrer_id).await? {
        let theirs = store::referral(&mut tx, theirs, false).await?;
        if theirs.is_some_and(|r| r.referrer_id == referee_id) {
            return Err(ApiError::Unprocessable {
                slug: "self-referral",
                detail: "you cannot claim the code of the member you referred".into(),
            });
        }
    }
    let registered = campaign_store::member_registered_at(&mut tx, referee_id).await?;
    if registered.is_none_or(|at| at < campaign.enrol_from) {
        return Err(ApiError::Denied {
            slug: "not-eligible",
            detail: "referrals are for members who joined since the campaign opened".into(),
        });
    }
    let (by_referrer, in_campaign) = store::places_taken(&mut tx, campaign_id, referrer_id).await?;
    if by_referrer >= i64::from(terms.max_per_referrer) {
        return Err(ApiError::Conflict {
            slug: "referral-cap-reached",
            detail: format!(
                "the member whose code this is has referred the most this campaign allows ({})",
                terms.max_per_referrer
            ),
        });
    }
    if terms
        .max_referrals
        .is_some_and(|max| in_campaign >= i64::from(max))
    {
        return Err(ApiError::Conflict {
            slug: "referral-campaign-full",
            detail: "this campaign has all the referrals it allows".into(),
        });
    }
    let id = Uuid::now_v7();
    let inserted = store::insert_referral(
        &mut tx,
        &NewReferral {
            id,
            campaign_id,
            business_id: campaign.business_id,
            referrer_id,
            referee_id,
            claimed_at: now,
            purchase_by: now + Duration::seconds(terms.purchase_within_seconds),
        },
    )
    .await?;
    if !inserted {
        return Err(anyhow::anyhow!("the member was referred in this campaign meanwhile").into());
    }
    store::insert_transition(
        &mut tx,
        id,
        &ReferralTransition {
            from_state: None,
            to_state: ReferralState::Claimed.as_str().into(),
            cause: ReferralCause::Claimed.as_str().into(),
            detail: None,
            actor: Some(format!("user:{referee_id}")),
            occurred_at: now,
        },
    )
    .await?;
    let referral = store::referral(&mut tx, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such referral".into()))?;
    tx.commit().await?;
    tracing::info!(referral_id = %id, %campaign_id, "referral claimed");
    Ok(Claimed {
        referral,
        created: true,
    })
}

/// A referral with its history, as its two members and staff see it.
pub struct ReferralProgress {
    pub referral: Referral,
    pub transitions: Vec<ReferralTransition>,
}

pub async fn progress(
    pool: &PgPool,
    id: Uuid,
    visible: impl FnOnce(&Referral) -> bool,
) -> Result<ReferralProgress, ApiError> {
    let mut conn = pool.acquire().await?;
    let referral = store::referral(&mut conn, id, false)
        .await?
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such referral".into()))?;
    let transitions = store::transitions(&mut conn, id).await?;
    Ok(ReferralProgress {
        referral,
        transitions,
    })
}

/// A page of a campaign's referrals (only those `member` is part of, when given).
pub async fn list(
    pool: &PgPool,
    campaign_id: Uuid,
    member: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Referral>, ApiError> {
    let mut conn = pool.acquire().await?;
    let ids = store::referrals_of_campaign(&mut conn, campaign_id, member, after, limit).await?;
    let mut page = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = store::referral(&mut conn, id, false).await? {
            page.push(r);
        }
    }
    Ok(page)
}

/// Brings a locked referral up to date with the referee's purchases and the time, then makes
/// or retries the reward's requests.
async fn advance(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    mut r: Referral,
) -> anyhow::Result<Referral> {
    let now = runtime.now();
    let purchases = store::purchases_since(conn, r.business_id, r.referee_id, r.claimed_at).await?;
    let rule = Qualifying {
        min_amount: r.min_purchase_amount,
        currency: &r.currency,
        claimed_at: r.claimed_at,
        purchase_by: r.purchase_by,
    };
    let first = rule.first(&purchases);
    let mut retry_at = (r.state() == ReferralState::Rewarding)
        .then_some(r.next_due_at)
        .flatten();
    for step in referrals::decide(&r.standing(), first, now) {
        let detail = step
            .purchase
            .as_ref()
            .map(|(charge, _, settles)| format!("purchase {charge}, settles {settles}"));
        move_to(conn, &mut r, step.to, step.cause, detail, None, now).await?;
        match &step.purchase {
            Some((charge, purchased_at, settles_at)) => {
                r.charge_id = Some(charge.clone());
                r.purchased_at = Some(*purchased_at);
                r.settles_at = Some(*settles_at);
            }
            None => {
                r.charge_id = None;
                r.purchased_at = None;
                r.settles_at = None;
            }
        }
        if step.to == ReferralState::Rewarding {
            retry_at = Some(request_rewards(conn, runtime, &mut r, 1, now).await?);
        }
    }
    if r.state() == ReferralState::Rewarding && retry_at.is_some_and(|at| at <= now) {
        if runtime.reward.may_retry(r.reward_attempts) {
            let attempt = r.reward_attempts + 1;
            tracing::warn!(referral_id = %r.id, attempt, "referral reward not confirmed; asking again");
            retry_at = Some(request_rewards(conn, runtime, &mut r, attempt, now).await?);
        } else {
            let detail = format!("{} requests unanswered", r.reward_attempts);
            move_to(
                conn,
                &mut r,
                ReferralState::RewardFailed,
                ReferralCause::RewardRetriesExhausted,
                Some(detail),
                None,
                now,
            )
            .await?;
            tracing::error!(referral_id = %r.id, "referral reward failed after every retry; an admin may retry it");
            retry_at = None;
        }
    }
    r.next_due_at = match r.state() {
        ReferralState::Claimed => Some(r.purchase_by),
        ReferralState::Settling => r.settles_at,
        ReferralState::Rewarding => retry_at,
        ReferralState::Completed | ReferralState::Expired | ReferralState::RewardFailed => None,
    };
    save(conn, &r).await?;
    Ok(r)
}

/// Records one move (refusing an illegal one; settling on another purchase keeps the state).
async fn move_to(
    conn: &mut PgConnection,
    r: &mut Referral,
    to: ReferralState,
    cause: ReferralCause,
    detail: Option<String>,
    actor: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let from = r.state();
    if from != to && !from.may_become(to) {
        anyhow::bail!(
            "a referral cannot go from {} to {}",
            from.as_str(),
            to.as_str()
        );
    }
    store::insert_transition(
        conn,
        r.id,
        &ReferralTransition {
            from_state: Some(from.as_str().into()),
            to_state: to.as_str().into(),
            cause: cause.as_str().into(),
            detail,
            actor: actor.map(str::to_owned),
            occurred_at: now,
        },
    )
    .await?;
    tracing::info!(referral_id = %r.id, from = from.as_str(), to = to.as_str(), cause = cause.as_str(), "referral moved");
    r.state = to.as_str().into();
    Ok(())
}

/// Asks the point service to pay each side not yet paid (request `attempt` of this round);
/// returns when to look again. The point service pays once per referral and member.
async fn request_rewards(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    r: &mut Referral,
    attempt: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<DateTime<Utc>> {
    r.reward_attempts = attempt;
    r.reward_requests = r
        .reward_requests
        .checked_add(1)
        .ok_or_else(|| anyhow::anyhow!("too many reward requests"))?;
    for side in [ReferralSide::Referrer, ReferralSide::Referee] {
        let (points, paid) = match side {
            ReferralSide::Referrer => (r.referrer_points, r.referrer_paid_at),
            ReferralSide::Referee => (r.referee_points, r.referee_paid_at),
        };
        if points > 0 && paid.is_none() {
            events::outbox::enqueue(conn, &publishes::referral_reward_due(r, side)).await?;
        }
    }
    Ok(runtime.reward.retry_at(attempt, now))
}

async fn save(conn: &mut PgConnection, r: &Referral) -> Result<(), sqlx::Error> {
    store::update_referral(
        conn,
        r.id,
        &ReferralUpdate {
            state: r.state(),
            charge_id: r.charge_id.as_deref(),
            purchased_at: r.purchased_at,
            settles_at: r.settles_at,
            reward_attempts: r.reward_attempts,
            reward_requests: r.reward_requests,
            referrer_paid_at: r.referrer_paid_at,
            referrer_transaction_id: r.referrer_transaction_id.as_deref(),
            referee_paid_at: r.referee_paid_at,
            referee_transaction_id: r.referee_transaction_id.as_deref(),
            next_due_at: r.next_due_at,
        },
    )
    .await
}

/// What the payment service told of a member's card purchase.
enum CardEvent<'a> {
    Purchase(&'a PurchaseRow<'a>),
    Refund {
        business_id: Uuid,
        charge_id: &'a str,
        member_id: Uuid,
        total_refunded: i64,
    },
}

/// Records a purchase or refund and moves the member's open referrals. A member with none is
/// not recorded: a purchase before a claim never qualifies, so nothing is lost, and the table
/// holds only what referrals count.
async fn record_for_referrals(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    fact: CardEvent<'_>,
) -> anyhow::Result<()> {
    let (business_id, member_id) = match &fact {
        CardEvent::Purchase(row) => (row.business_id, row.member_id),
        CardEvent::Refund {
            business_id,
            member_id,
            ..
        } => (*business_id, *member_id),
    };
    let open = store::lock_open_referrals_of_referee(conn, business_id, member_id).await?;
    if open.is_empty() {
        return Ok(());
    }
    match fact {
        CardEvent::Purchase(row) => store::record_purchase(conn, row).await?,
        CardEvent::Refund {
            charge_id,
            total_refunded,
            ..
        } => store::record_refund(conn, business_id, charge_id, member_id, total_refunded).await?,
    }
    for id in open {
        if let Some(r) = store::referral(conn, id, false).await? {
            advance(conn, runtime, r).await?;
        }
    }
    Ok(())
}

/// A member's purchase (`charge.succeeded`, kind purchase).
pub async fn purchase(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    row: &PurchaseRow<'_>,
) -> anyhow::Result<()> {
    record_for_referrals(conn, runtime, CardEvent::Purchase(row)).await
}

/// Money given back on a charge (`charge.refunded`; `total_refunded` is the charge's running
/// total).
pub async fn refund(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    business_id: Uuid,
    charge_id: &str,
    member_id: Uuid,
    total_refunded: i64,
) -> anyhow::Result<()> {
    let fact = CardEvent::Refund {
        business_id,
        charge_id,
        member_id,
        total_refunded,
    };
    record_for_referrals(conn, runtime, fact).await
}

/// Whether a campaign payment's reference names a referral (else it names an enrolment).
pub async fn is_referral(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    store::exists(conn, id).await
}

/// The point service paid one side of a referral (`points.earned`, source campaign).
pub async fn reward_paid(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    referral_id: Uuid,
    member_id: Uuid,
    transaction_id: &str,
) -> anyhow::Result<()> {
    let Some(mut r) = store::referral(conn, referral_id, true).await? else {
        return Ok(());
    };
    let now = runtime.now();
    if member_id == r.referrer_id && r.referrer_paid_at.is_none() {
        r.referrer_paid_at = Some(now);
        r.referrer_transaction_id = Some(transaction_id.to_owned());
    } else if member_id == r.referee_id && r.referee_paid_at.is_none() {
        r.referee_paid_at = Some(now);
        r.referee_transaction_id = Some(transaction_id.to_owned());
    } else {
        return Ok(());
    }
    let waiting = matches!(
        r.state(),
        ReferralState::Rewarding | ReferralState::RewardFailed
    );
    if waiting && r.fully_paid() {
        move_to(
            conn,
            &mut r,
            ReferralState::Completed,
            ReferralCause::RewardPaid,
            Some(format!("point transaction {transaction_id}")),
            None,
            now,
        )
        .await?;
        r.next_due_at = None;
    }
    save(conn, &r).await?;
    Ok(())
}

/// An admin retries a referral whose reward failed: it waits for its points again.
pub async fn retry_reward(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    referral_id: Uuid,
    actor: &str,
    may_manage: impl FnOnce(&Referral) -> bool,
) -> Result<Referral, ApiError> {
    let mut tx = pool.begin().await?;
    let mut r = store::referral(&mut tx, referral_id, true)
        .await?
        .filter(may_manage)
        .ok_or_else(|| ApiError::NotFound("no such referral".into()))?;
    if r.state() != ReferralState::RewardFailed {
        return Err(ApiError::Conflict {
            slug: "reward-not-failed",
            detail: format!(
                "only a referral whose reward failed can be retried; this one is {}",
                r.state().as_str()
            ),
        });
    }
    let now = runtime.now();
    move_to(
        &mut tx,
        &mut r,
        ReferralState::Rewarding,
        ReferralCause::AdminRetry,
        None,
        Some(actor),
        now,
    )
    .await?;
    r.next_due_at = Some(request_rewards(&mut tx, runtime, &mut r, 1, now).await?);
    save(&mut tx, &r).await?;
    tx.commit().await?;
    Ok(r)
}

/// Runs every referral timer due now, one referral per transaction (SKIP LOCKED, as the
/// enrolments' timers). Returns how many ran.
pub async fn run_due_timers(pool: &PgPool, runtime: &CampaignRuntime) -> anyhow::Result<usize> {
    let mut ran = 0;
    while ran < TIMERS_PER_SWEEP {
        let mut tx = pool.begin().await?;
        let Some(id) = store::lock_due_referral(&mut tx, runtime.now()).await? else {
            return Ok(ran);
        };
        let r = store::referral(&mut tx, id, false)
            .await?
            .ok_or_else(|| anyhow::anyhow!("referral {id} vanished under its lock"))?;
        match advance(&mut tx, runtime, r).await {
            Ok(_) => tx.commit().await?,
            Err(error) => {
                drop(tx);
                tracing::error!(referral_id = %id, error = %error, "referral timer failed; postponed");
                let mut conn = pool.acquire().await?;
                store::postpone(&mut conn, id, runtime.now() + TIMER_POSTPONE).await?;
            }
        }
        ran += 1;
    }
    Ok(ran)
}

/// Forgets an erased member's codes, purchases and the referrals that brought them.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> anyhow::Result<()> {
    Ok(store::forget_member(conn, member_id).await?)
}
