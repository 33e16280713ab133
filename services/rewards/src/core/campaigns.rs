//! Goal campaigns: defining them, enrolling members, and moving enrolments through seed 000's
//! state machine as loads, withdrawals, settlements, payments and time arrive. Every move is
//! made under the enrolment's row lock, recorded with its cause, and its event written to the
//! outbox in the same transaction.

use super::clock::SharedClock;
use crate::domain::campaigns::{
    self, campaign_status, next_due, CampaignKind, CampaignStatus, Cause, DisqualifiedReason,
    Eligibility, EnrolmentState, LoadFacts, NewCampaign, RewardPolicy, Transition,
};
use crate::events::publishes;
use crate::storage::campaigns::{
    self as store, Campaign, CampaignCreation, Enrolment, EnrolmentUpdate, NewEnrolment,
    TransitionRow,
};
use chrono::{DateTime, Duration, Utc};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use uuid::Uuid;

/// How campaigns run: the clock, the reward's retries and the window-ending notice.
#[derive(Clone)]
pub struct CampaignRuntime {
    pub clock: SharedClock,
    pub reward: RewardPolicy,
    /// How long before a window ends a member short of the goal is told (once).
    pub window_notice: Duration,
}

impl CampaignRuntime {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// When a member short of the goal is told the window ends soon; none for a window shorter
    /// than the notice (they were told its length when they enrolled).
    fn notice_at(
        &self,
        enrolled_at: DateTime<Utc>,
        window_ends_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        Some(window_ends_at - self.window_notice).filter(|at| *at > enrolled_at)
    }
}

/// At most this many timers per sweep, so one sweep cannot run forever.
pub(crate) const TIMERS_PER_SWEEP: usize = 1_000;
/// How long a timer that failed waits before it is tried again.
pub(crate) const TIMER_POSTPONE: Duration = Duration::minutes(1);

pub type Runtime = Arc<CampaignRuntime>;

/// A created campaign, and whether the caller's key had created it before.
pub struct Defined {
    pub campaign: Campaign,
    pub replayed: bool,
}

/// Defines a campaign, once per caller and idempotency key.
pub async fn define(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    campaign: &NewCampaign,
    creation: CampaignCreation<'_>,
) -> Result<Defined, ApiError> {
    let mut tx = pool.begin().await?;
    let creation = CampaignCreation {
        published_at: campaign.publish.then(|| runtime.now()),
        ..creation
    };
    if let Some(created) = store::insert_campaign(&mut tx, campaign, &creation).await? {
        if created.published_at.is_some() {
            announce_bonus_window(&mut tx, &created, BonusRevision::Published).await?;
        }
        tx.commit().await?;
        tracing::info!(campaign_id = %created.id, kind = created.kind, "campaign defined");
        return Ok(Defined {
            campaign: created,
            replayed: false,
        });
    }
    let campaign = store::campaign_by_key(&mut tx, creation.created_by, creation.idempotency_key)
        .await?
        .filter(|c| c.request_fingerprint == creation.request_fingerprint)
        .ok_or_else(|| ApiError::Unprocessable {
            slug: "idempotency-key-reused",
            detail: "this Idempotency-Key was used for a different request".into(),
        })?;
    Ok(Defined {
        campaign,
        replayed: true,
    })
}

/// The changes of a bonus window the point service hears of, in order: a newer revision
/// replaces an older one there whatever order they arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BonusRevision {
    Published = 1,
    Ended = 2,
}

/// Tells the point service what a bonus-window campaign now gives (nothing for other kinds).
async fn announce_bonus_window(
    conn: &mut PgConnection,
    campaign: &Campaign,
    revision: BonusRevision,
) -> anyhow::Result<()> {
    let Some(bonus) = campaign.bonus_terms() else {
        return Ok(());
    };
    let ends_at = campaign.ended_at.map_or(campaign.enrol_until, |ended| {
        ended.min(campaign.enrol_until)
    });
    events::outbox::enqueue(
        conn,
        &publishes::bonus_window_changed(campaign, &bonus, ends_at, revision as i64),
    )
    .await?;
    Ok(())
}

/// One campaign, if `visible` to the caller.
pub async fn get(
    pool: &PgPool,
    id: Uuid,
    visible: impl FnOnce(&Campaign) -> bool,
) -> Result<Campaign, ApiError> {
    let mut conn = pool.acquire().await?;
    store::campaign(&mut conn, id, false)
        .await?
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such campaign".into()))
}

/// A page of a business's campaigns (one more than asked, for the caller to see a next page).
pub async fn list(
    pool: &PgPool,
    business_id: Uuid,
    include_drafts: bool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Campaign>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(store::campaigns_of_business(&mut conn, business_id, include_drafts, after, limit).await?)
}

/// What an admin does to a campaign's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// draft -> scheduled (or running, if enrolment has opened).
    Publish,
    /// scheduled or running -> ended: no new enrolments; those made run to their end.
    End,
}

pub async fn change_lifecycle(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    id: Uuid,
    change: Lifecycle,
    may_manage: impl FnOnce(&Campaign) -> bool,
) -> Result<Campaign, ApiError> {
    let mut tx = pool.begin().await?;
    let campaign = store::campaign(&mut tx, id, true)
        .await?
        .filter(may_manage)
        .ok_or_else(|| ApiError::NotFound("no such campaign".into()))?;
    let now = runtime.now();
    let status = status_of(&campaign, now);
    match (change, status) {
        (Lifecycle::Publish, CampaignStatus::Draft) => {
            store::set_published(&mut tx, id, now).await?;
            let published = store::campaign(&mut tx, id, false).await?;
            if let Some(published) = published {
                announce_bonus_window(&mut tx, &published, BonusRevision::Published).await?;
            }
        }
        (Lifecycle::End, CampaignStatus::Scheduled | CampaignStatus::Running) => {
            store::set_ended(&mut tx, id, now).await?;
            let ended = store::campaign(&mut tx, id, false).await?;
            if let Some(ended) = ended {
                announce_bonus_window(&mut tx, &ended, BonusRevision::Ended).await?;
            }
        }
        // Asking again for what is already so is harmless.
        (Lifecycle::Publish, CampaignStatus::Scheduled | CampaignStatus::Running)
        | (Lifecycle::End, CampaignStatus::Ended) => {}
        (_, status) => {
            return Err(ApiError::Conflict {
                slug: "campaign-state",
                detail: format!(
                    "a {} campaign cannot be {}",
                    status.as_str(),
                    if change == Lifecycle::Publish {
                        "published"
                    } else {
                        "ended"
                    }
                ),
            })
        }
    }
    let campaign = store::campaign(&mut tx, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such campaign".into()))?;
    tx.commit().await?;
    Ok(campaign)
}

pub fn status_of(campaign: &Campaign, now: DateTime<Utc>) -> CampaignStatus {
    campaign_status(
        campaign.published_at,
        campaign.ended_at,
        campaign.enrol_from,
        campaign.enrol_until,
        now,
    )
}

/// An enrolment and whether this request made it.
pub struct Enrolled {
    pub enrolment: Enrolment,
    pub created: bool,
}

/// Enrols a member in a running campaign they are eligible for; enrolling again returns the
/// enrolment they have.
pub async fn enrol(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    campaign_id: Uuid,
    member_id: Uuid,
    actor: &str,
    visible: impl FnOnce(&Campaign) -> bool,
) -> Result<Enrolled, ApiError> {
    let mut tx = pool.begin().await?;
    let campaign = store::campaign(&mut tx, campaign_id, false)
        .await?
        .filter(|c| c.published_at.is_some())
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such campaign".into()))?;
    if campaign.kind() != CampaignKind::LoadGoal {
        return Err(ApiError::Conflict {
            slug: "campaign-has-no-enrolment",
            detail: match campaign.kind() {
                CampaignKind::Referral => {
                    "members join a referral campaign by claiming a code (POST /api/v1/campaigns/{id}/referrals)".into()
                }
                _ => "every member's matching purchases earn this campaign's bonus; nobody enrols".into(),
            },
        });
    }
    if let Some(existing) = store::enrolment_of_member(&mut tx, campaign_id, member_id).await? {
        let enrolment = store::enrolment(&mut tx, existing, false)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such enrolment".into()))?;
        return Ok(Enrolled {
            enrolment,
            created: false,
        });
    }
    let now = runtime.now();
    if status_of(&campaign, now) != CampaignStatus::Running {
        return Err(ApiError::Conflict {
            slug: "campaign-not-running",
            detail: "enrolment in this campaign is not open".into(),
        });
    }
    if campaign.eligibility() == Eligibility::NewMembers {
        let registered = store::member_registered_at(&mut tx, member_id).await?;
        if registered.is_none_or(|at| at < campaign.enrol_from) {
            return Err(ApiError::Denied {
                slug: "not-eligible",
                detail: "this campaign is for cards issued since it opened".into(),
            });
        }
    }
    let id = insert_enrolment(&mut tx, runtime, &campaign, member_id, actor).await?;
    let enrolment = store::enrolment(&mut tx, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such enrolment".into()))?;
    tx.commit().await?;
    tracing::info!(enrolment_id = %id, %campaign_id, "member enrolled in a campaign");
    Ok(Enrolled {
        enrolment,
        created: true,
    })
}

/// Writes a new enrolment (the caller checked the campaign is open and the member eligible).
async fn insert_enrolment(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    campaign: &Campaign,
    member_id: Uuid,
    actor: &str,
) -> anyhow::Result<Uuid> {
    let (Some((window_seconds, grace_seconds)), Some(target)) =
        (campaign.load_goal_timing(), campaign.target_amount)
    else {
        anyhow::bail!("campaign {} is not a load goal", campaign.id);
    };
    let now = runtime.now();
    let window_ends_at = now + Duration::seconds(window_seconds);
    let grace_ends_at = window_ends_at + Duration::seconds(grace_seconds);
    let id = Uuid::now_v7();
    let standing = campaigns::Standing {
        state: EnrolmentState::Enrolled,
        enrolled_at: now,
        window_ends_at,
        grace_ends_at,
        target,
    };
    let notice_at = runtime.notice_at(now, window_ends_at);
    let inserted = store::insert_enrolment(
        conn,
        &NewEnrolment {
            id,
            campaign_id: campaign.id,
            business_id: campaign.business_id,
            member_id,
            enrolled_at: now,
            window_ends_at,
            grace_ends_at,
            next_due_at: next_due(EnrolmentState::Enrolled, &standing, notice_at, None)
                .unwrap_or(window_ends_at),
        },
    )
    .await?;
    if !inserted {
        anyhow::bail!("the member was enrolled in the campaign meanwhile");
    }
    store::insert_transition(
        conn,
        id,
        &TransitionRow {
            from_state: None,
            to_state: EnrolmentState::Enrolled.as_str().into(),
            cause: Cause::Enrolled.as_str().into(),
            detail: None,
            actor: Some(actor.to_owned()),
            occurred_at: now,
        },
    )
    .await?;
    Ok(id)
}

/// A member registered: remembered for eligibility, and enrolled in the business's open
/// campaigns that enrol automatically.
pub async fn member_registered(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    business_id: Uuid,
    member_id: Uuid,
    registered_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    store::member_registered(conn, member_id, business_id, registered_at).await?;
    let now = runtime.now();
    for campaign_id in store::automatic_campaigns_open(conn, business_id, now).await? {
        if store::enrolment_of_member(conn, campaign_id, member_id)
            .await?
            .is_some()
        {
            continue;
        }
        let Some(campaign) = store::campaign(conn, campaign_id, false).await? else {
            continue;
        };
        let eligible = match campaign.eligibility() {
            Eligibility::AllMembers => true,
            Eligibility::NewMembers => registered_at >= campaign.enrol_from,
        };
        if eligible {
            insert_enrolment(conn, runtime, &campaign, member_id, "rule:automatic").await?;
        }
    }
    Ok(())
}

/// An enrolment with its derived totals, as its member and staff see it.
pub struct Progress {
    pub enrolment: Enrolment,
    pub facts: LoadFacts,
    pub transitions: Vec<TransitionRow>,
}

/// The enrolment `find` picks, if `visible`, with its totals and history.
pub async fn progress(
    pool: &PgPool,
    id: Uuid,
    visible: impl FnOnce(&Enrolment) -> bool,
) -> Result<Progress, ApiError> {
    let mut conn = pool.acquire().await?;
    let enrolment = store::enrolment(&mut conn, id, false)
        .await?
        .filter(visible)
        .ok_or_else(|| ApiError::NotFound("no such enrolment".into()))?;
    let facts = facts_of(&mut conn, &enrolment).await?;
    let transitions = store::transitions(&mut conn, id).await?;
    Ok(Progress {
        enrolment,
        facts,
        transitions,
    })
}

/// The member's enrolment in a campaign.
pub async fn enrolment_of(
    pool: &PgPool,
    campaign_id: Uuid,
    member_id: Uuid,
) -> Result<Uuid, ApiError> {
    let mut conn = pool.acquire().await?;
    store::enrolment_of_member(&mut conn, campaign_id, member_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the member is not enrolled in this campaign".into()))
}

/// A page of a campaign's enrolments.
pub async fn enrolments(
    pool: &PgPool,
    campaign_id: Uuid,
    state: Option<EnrolmentState>,
    reason: Option<DisqualifiedReason>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Enrolment>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(store::enrolments_of_campaign(&mut conn, campaign_id, state, reason, after, limit).await?)
}

async fn facts_of(conn: &mut PgConnection, e: &Enrolment) -> Result<LoadFacts, sqlx::Error> {
    store::load_facts(
        conn,
        e.business_id,
        e.member_id,
        &e.currency,
        e.enrolled_at,
        e.window_ends_at,
    )
    .await
}

/// Brings a locked enrolment up to date with its facts and the time: the state machine's
/// moves, the reward's requests and retries, and the window-ending notice.
async fn advance(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    mut e: Enrolment,
    actor: Option<&str>,
) -> anyhow::Result<Enrolment> {
    let now = runtime.now();
    let facts = facts_of(conn, &e).await?;
    let detail = totals_detail(&e, &facts);
    let mut retry_at = (e.state() == EnrolmentState::PendingReward)
        .then_some(e.next_due_at)
        .flatten();
    for step in campaigns::decide(e.standing(), facts, now) {
        move_to(conn, &mut e, step, Some(detail.clone()), actor, now).await?;
        match step.to {
            EnrolmentState::GoalAchieved => {
                events::outbox::enqueue(
                    conn,
                    &publishes::goal_achieved(&e, facts.cumulative_total, now),
                )
                .await?
            }
            EnrolmentState::PendingReward => {
                retry_at = Some(request_reward(conn, runtime, &mut e, 1, now).await?)
            }
            EnrolmentState::Disqualified => {
                let reason = step.reason.unwrap_or(DisqualifiedReason::WindowEndedShort);
                events::outbox::enqueue(
                    conn,
                    &publishes::disqualified(&e, reason, facts.cumulative_total, now),
                )
                .await?
            }
            _ => {}
        }
    }
    // The reward's retries: no confirmation by the time the last request's wait is over.
    if e.state() == EnrolmentState::PendingReward && retry_at.is_some_and(|at| at <= now) {
        if runtime.reward.may_retry(e.reward_attempts) {
            let attempt = e.reward_attempts + 1;
            tracing::warn!(enrolment_id = %e.id, attempt, "campaign reward not confirmed; asking again");
            retry_at = Some(request_reward(conn, runtime, &mut e, attempt, now).await?);
        } else {
            let step = Transition {
                to: EnrolmentState::Disqualified,
                cause: Cause::RewardRetriesExhausted,
                reason: Some(DisqualifiedReason::RewardFailed),
            };
            let detail = format!("{} requests unanswered", e.reward_attempts);
            move_to(conn, &mut e, step, Some(detail), actor, now).await?;
            tracing::error!(enrolment_id = %e.id, "campaign reward failed after every retry; an admin may retry it");
            events::outbox::enqueue(
                conn,
                &publishes::disqualified(
                    &e,
                    DisqualifiedReason::RewardFailed,
                    facts.cumulative_total,
                    now,
                ),
            )
            .await?;
            retry_at = None;
        }
    }
    let state = e.state();
    let notice_at = runtime
        .notice_at(e.enrolled_at, e.window_ends_at)
        .filter(|_| e.window_notice_sent_at.is_none());
    if matches!(state, EnrolmentState::Enrolled | EnrolmentState::Active)
        && notice_at.is_some_and(|at| now >= at)
    {
        events::outbox::enqueue(conn, &publishes::window_ending(&e, facts.cumulative_total))
            .await?;
        e.window_notice_sent_at = Some(now);
    }
    let pending_notice = notice_at.filter(|_| e.window_notice_sent_at.is_none());
    e.next_due_at = next_due(state, &e.standing(), pending_notice, retry_at);
    save(conn, &e).await?;
    Ok(e)
}

/// Records one move of the state machine (refusing an illegal one).
async fn move_to(
    conn: &mut PgConnection,
    e: &mut Enrolment,
    step: Transition,
    detail: Option<String>,
    actor: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let from = e.state();
    from.may_become(step.to, e.reason())?;
    store::insert_transition(
        conn,
        e.id,
        &TransitionRow {
            from_state: Some(from.as_str().into()),
            to_state: step.to.as_str().into(),
            cause: step.cause.as_str().into(),
            detail,
            actor: actor.map(str::to_owned),
            occurred_at: now,
        },
    )
    .await?;
    tracing::info!(enrolment_id = %e.id, from = from.as_str(), to = step.to.as_str(), cause = step.cause.as_str(), "campaign enrolment moved");
    e.state = step.to.as_str().into();
    e.disqualified_reason = step.reason.map(|r| r.as_str().into());
    Ok(())
}

/// Asks the point service to pay (request `attempt` of this round); returns when to look again.
async fn request_reward(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    e: &mut Enrolment,
    attempt: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<DateTime<Utc>> {
    e.reward_attempts = attempt;
    e.reward_requests = e
        .reward_requests
        .checked_add(1)
        .ok_or_else(|| anyhow::anyhow!("too many reward requests"))?;
    events::outbox::enqueue(conn, &publishes::reward_due(e, e.reward_requests)).await?;
    Ok(runtime.reward.retry_at(attempt, now))
}

async fn save(conn: &mut PgConnection, e: &Enrolment) -> Result<(), sqlx::Error> {
    store::update_enrolment(
        conn,
        e.id,
        &EnrolmentUpdate {
            state: e.state(),
            disqualified_reason: e.reason(),
            window_notice_sent_at: e.window_notice_sent_at,
            reward_attempts: e.reward_attempts,
            reward_requests: e.reward_requests,
            reward_paid_at: e.reward_paid_at,
            reward_transaction_id: e.reward_transaction_id.as_deref(),
            next_due_at: e.next_due_at,
        },
    )
    .await
}

fn totals_detail(e: &Enrolment, facts: &LoadFacts) -> String {
    format!(
        "total {} of {} {} (instant {}, settled {})",
        facts.cumulative_total,
        e.target_amount,
        e.currency,
        facts.instant_total,
        facts.settled_total
    )
}

/// Re-evaluates every open enrolment of the member in the business (after a load or a
/// withdrawal was recorded), in the caller's transaction.
pub async fn reevaluate_member(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    business_id: Uuid,
    member_id: Uuid,
) -> anyhow::Result<()> {
    for id in store::lock_open_enrolments(conn, business_id, member_id).await? {
        if let Some(e) = store::enrolment(conn, id, false).await? {
            advance(conn, runtime, e, None).await?;
        }
    }
    Ok(())
}

/// A load seen instantly (`charge.succeeded`, kind load).
pub async fn instant_load(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    load: &store::InstantLoad<'_>,
) -> anyhow::Result<()> {
    store::record_instant_load(conn, load).await?;
    reevaluate_member(conn, runtime, load.business_id, load.member_id).await
}

/// Money left the card (`withdrawal.recorded`).
pub async fn withdrawal(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    row: &store::WithdrawalRow<'_>,
) -> anyhow::Result<()> {
    store::record_withdrawal(conn, row).await?;
    reevaluate_member(conn, runtime, row.business_id, row.member_id).await
}

/// The point service paid a campaign's points (`points.earned`, source campaign).
pub async fn reward_paid(
    conn: &mut PgConnection,
    runtime: &CampaignRuntime,
    enrolment_id: Uuid,
    member_id: Uuid,
    transaction_id: &str,
) -> anyhow::Result<()> {
    let Some(mut e) = store::enrolment(conn, enrolment_id, true).await? else {
        // The enrolment was erased with its member.
        return Ok(());
    };
    if e.member_id != member_id || e.reward_paid_at.is_some() {
        return Ok(());
    }
    let now = runtime.now();
    e.reward_paid_at = Some(now);
    e.reward_transaction_id = Some(transaction_id.to_owned());
    let state = e.state();
    let paid_late = state == EnrolmentState::Disqualified
        && e.reason() == Some(DisqualifiedReason::RewardFailed);
    if state == EnrolmentState::PendingReward || paid_late {
        let step = Transition {
            to: EnrolmentState::Completed,
            cause: Cause::RewardPaid,
            reason: None,
        };
        move_to(
            conn,
            &mut e,
            step,
            Some(format!("point transaction {transaction_id}")),
            None,
            now,
        )
        .await?;
        e.next_due_at = None;
        events::outbox::enqueue(conn, &publishes::completed(&e, transaction_id, now)).await?;
    } else {
        // Paid although the enrolment moved on (a withdrawal arrived after the request went
        // out): the payment is recorded for staff to see; the state stays.
        tracing::warn!(enrolment_id = %e.id, state = state.as_str(), "campaign points paid to an enrolment that is not waiting for them");
    }
    save(conn, &e).await?;
    Ok(())
}

/// An admin retries a reward that failed: the enrolment waits for its points again.
pub async fn retry_reward(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    enrolment_id: Uuid,
    actor: &str,
    may_manage: impl FnOnce(&Enrolment) -> bool,
) -> Result<Enrolment, ApiError> {
    let mut tx = pool.begin().await?;
    let mut e = store::enrolment(&mut tx, enrolment_id, true)
        .await?
        .filter(may_manage)
        .ok_or_else(|| ApiError::NotFound("no such enrolment".into()))?;
    if e.state() != EnrolmentState::Disqualified
        || e.reason() != Some(DisqualifiedReason::RewardFailed)
    {
        return Err(ApiError::Conflict {
            slug: "reward-not-failed",
            detail: format!(
                "only an enrolment whose reward failed can be retried; this one is {}",
                e.state().as_str()
            ),
        });
    }
    let now = runtime.now();
    let step = Transition {
        to: EnrolmentState::PendingReward,
        cause: Cause::AdminRetry,
        reason: None,
    };
    move_to(&mut tx, &mut e, step, None, Some(actor), now).await?;
    e.next_due_at = Some(request_reward(&mut tx, runtime, &mut e, 1, now).await?);
    save(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(e)
}

/// Runs every enrolment timer due now, one enrolment per transaction; each row is taken with
/// SKIP LOCKED, so instances running this side by side never handle the same one. Returns how
/// many ran.
pub async fn run_due_timers(pool: &PgPool, runtime: &CampaignRuntime) -> anyhow::Result<usize> {
    let mut ran = 0;
    while ran < TIMERS_PER_SWEEP {
        let mut tx = pool.begin().await?;
        let Some(id) = store::lock_due_enrolment(&mut tx, runtime.now()).await? else {
            return Ok(ran);
        };
        let e = store::enrolment(&mut tx, id, false)
            .await?
            .ok_or_else(|| anyhow::anyhow!("enrolment {id} vanished under its lock"))?;
        match advance(&mut tx, runtime, e, None).await {
            Ok(_) => tx.commit().await?,
            Err(error) => {
                // One enrolment that cannot move must not hold up the others: it is looked at
                // again later, and the error is logged for staff.
                drop(tx);
                tracing::error!(enrolment_id = %id, error = %error, "campaign timer failed; postponed");
                let mut conn = pool.acquire().await?;
                store::postpone(&mut conn, id, runtime.now() + TIMER_POSTPONE).await?;
            }
        }
        ran += 1;
    }
    Ok(ran)
}

/// The timer loop: every `interval` until shutdown.
pub async fn run_timers(
    pool: PgPool,
    runtime: Runtime,
    interval: std::time::Duration,
    shutdown: platform::CancellationToken,
) -> anyhow::Result<()> {
    loop {
        if let Err(e) = run_due_timers(&pool, &runtime).await {
            tracing::error!(error = %e, "campaign timers failed; trying again");
        }
        if let Err(e) = super::referrals::run_due_timers(&pool, &runtime).await {
            tracing::error!(error = %e, "referral timers failed; trying again");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Forgets an erased member's enrolments, loads and withdrawals, and their referral codes,
/// purchases and the referrals that brought them.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> anyhow::Result<()> {
    store::forget_member(conn, member_id).await?;
    super::referrals::forget_member(conn, member_id).await
}
