//! What the point service does with the events it consumes: each one calls a use case in the
//! consumer's transaction, next to its inbox record.

use crate::core;
use crate::core::earn::EarnRequest;
use crate::core::program::CampaignRuleChange;
use crate::core::program::ProgramCache;
use crate::domain::earning::ChargeRefund;
use crate::domain::program::{BonusWindow, CampaignRevision};
use crate::domain::{EarnBasis, LedgerError, Points};
use chrono::DateTime;
use events::proto::{
    CampaignBonusWindowChanged, CampaignRewardDue, ChargeRefunded, ChargeSucceeded, OrderCompleted,
    RedemptionRequested, RewardCancelled, RewardRedeemed, StoreCreated, UserErased, UserRegistered,
};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use kernel::money::{Currency, Money};
use sqlx::PgConnection;
use uuid::Uuid;

pub const CONSUMES: &[&str] = &[
    topics::USER_REGISTERED,
    topics::USER_ERASED,
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_REFUNDED,
    topics::ORDER_COMPLETED,
    topics::CAMPAIGN_REWARD_DUE,
    topics::CAMPAIGN_BONUS_WINDOW_CHANGED,
    topics::STORE_CREATED,
    topics::REWARD_REDEMPTION_REQUESTED,
    topics::REWARD_REDEEMED,
    topics::REWARD_CANCELLED,
];

pub struct PointEvents {
    pub program: std::sync::Arc<core::program::ProgramCache>,
}

#[async_trait::async_trait]
impl EventHandler for PointEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            topics::USER_REGISTERED => user_registered(conn, event.decode()?).await,
            topics::USER_ERASED => user_erased(conn, event.decode()?).await,
            topics::CHARGE_SUCCEEDED => {
                charge_succeeded(conn, &self.program, event, event.decode()?).await
            }
            topics::CHARGE_REFUNDED => charge_refunded(conn, event.decode()?).await,
            topics::ORDER_COMPLETED => {
                order_completed(conn, &self.program, event, event.decode()?).await
            }
            topics::CAMPAIGN_REWARD_DUE => {
                campaign_reward_due(conn, &self.program, event, event.decode()?).await
            }
            topics::CAMPAIGN_BONUS_WINDOW_CHANGED => {
                bonus_window_changed(conn, event, event.decode()?).await
            }
            topics::STORE_CREATED => store_created(conn, event, event.decode()?).await,
            topics::REWARD_REDEMPTION_REQUESTED => {
                redemption_requested(conn, event, event.decode()?).await
            }
            topics::REWARD_REDEEMED => reward_redeemed(conn, event.decode()?).await,
            topics::REWARD_CANCELLED => reward_cancelled(conn, event.decode()?).await,
            other => Err(permanent(format!(
                "the point service does not handle {other}"
            ))),
        }
    }
}

/// The redemption saga asks for the points of a reward: hold them, or say why not. Only the demo
/// business runs a points program so far; a reward of another business finds no account.
async fn redemption_requested(
    conn: &mut PgConnection,
    event: &ReceivedEvent,
    requested: RedemptionRequested,
) -> Result<(), HandlerError> {
    let redemption_id = parse_id("redemption_id", &requested.redemption_id)?;
    let member_id = parse_member(&requested.member_id)?;
    let points = Points::parse(requested.points)
        .map_err(|e| permanent(format!("points {}: {e}", requested.points)))?;
    let min_tier = Some(requested.min_tier.as_str()).filter(|t| !t.is_empty());
    let request = core::holds::RedemptionHold {
        redemption_id,
        member_id,
        points,
        min_tier,
        reward_name: &requested.reward_name,
    };
    let result = if event.business_id == kernel::DEMO_BUSINESS_ID {
        core::holds::hold_for_redemption(conn, &request).await
    } else {
        core::holds::refuse_redemption(conn, &request, core::holds::RedemptionRefusal::NoAccount)
            .await
    };
    result.map_err(handler_error)
}

/// The redemption's code is issued: spend its hold.
async fn reward_redeemed(
    conn: &mut PgConnection,
    redeemed: RewardRedeemed,
) -> Result<(), HandlerError> {
    let member_id = parse_member(&redeemed.member_id)?;
    let hold_id = parse_id("hold_id", &redeemed.hold_id)?;
    match core::holds::capture_for_redemption(conn, member_id, hold_id).await {
        Ok(()) | Err(core::Error::Refused(LedgerError::Erased)) => Ok(()),
        Err(e) => Err(handler_error(e)),
    }
}

/// A redemption was cancelled: its points come back (if a hold was ever placed).
async fn reward_cancelled(
    conn: &mut PgConnection,
    cancelled: RewardCancelled,
) -> Result<(), HandlerError> {
    if cancelled.hold_id.is_empty() {
        return Ok(());
    }
    let member_id = parse_member(&cancelled.member_id)?;
    let hold_id = parse_id("hold_id", &cancelled.hold_id)?;
    let redemption_id = parse_id("redemption_id", &cancelled.redemption_id)?;
    match core::holds::give_back_redemption(conn, member_id, hold_id, redemption_id).await {
        Ok(()) | Err(core::Error::Refused(LedgerError::Erased)) => Ok(()),
        Err(e) => Err(handler_error(e)),
    }
}

/// A new customer gets an account; staff do not.
async fn user_registered(
    conn: &mut PgConnection,
    registered: UserRegistered,
) -> Result<(), HandlerError> {
    if registered.role == auth::Role::Customer.as_str() {
        core::members::open_account(conn, parse_member(&registered.user_id)?)
            .await
            .map_err(handler_error)?;
    }
    Ok(())
}

async fn user_erased(conn: &mut PgConnection, erased: UserErased) -> Result<(), HandlerError> {
    core::members::erase(conn, parse_member(&erased.user_id)?)
        .await
        .map_err(handler_error)
}

async fn charge_succeeded(
    conn: &mut PgConnection,
    program: &ProgramCache,
    event: &ReceivedEvent,
    charge: ChargeSucceeded,
) -> Result<(), HandlerError> {
    // Card loads (seed 000) move money onto the card; they are not purchases.
    if charge.kind == "load" {
        return Ok(());
    }
    let amount = money(charge.amount, &charge.currency)?;
    earn_event(
        conn,
        program,
        EarnRequest {
            member_id: parse_member(&charge.member_id)?,
            basis: EarnBasis::Purchase {
                amount,
                store_id: None,
                category: None,
            },
            source: "charge",
            reference_id: &charge.charge_id,
            description: Some("Card payment"),
            occurred_at: event.occurred_at,
            actor: None,
        },
    )
    .await
}

async fn charge_refunded(
    conn: &mut PgConnection,
    refund: ChargeRefunded,
) -> Result<(), HandlerError> {
    let result = core::refunds::refund_in(
        conn,
        parse_member(&refund.member_id)?,
        &refund.charge_id,
        ChargeRefund {
            total_refunded: refund.total_refunded,
            charge_amount: refund.charge_amount,
        },
    )
    .await;
    match result {
        Ok(()) | Err(core::Error::Refused(LedgerError::Erased)) => Ok(()),
        Err(e) => Err(handler_error(e)),
    }
}

async fn order_completed(
    conn: &mut PgConnection,
    program: &ProgramCache,
    event: &ReceivedEvent,
    order: OrderCompleted,
) -> Result<(), HandlerError> {
    let amount = money(order.amount, &order.currency)?;
    earn_event(
        conn,
        program,
        EarnRequest {
            member_id: parse_member(&order.member_id)?,
            basis: EarnBasis::Purchase {
                amount,
                store_id: Some(order.store_id.as_str()).filter(|s| !s.is_empty()),
                category: Some(order.category.as_str()).filter(|s| !s.is_empty()),
            },
            source: "order",
            reference_id: &order.order_id,
            description: Some("Partner order"),
            occurred_at: event.occurred_at,
            actor: Some(order.partner_id.as_str()).filter(|s| !s.is_empty()),
        },
    )
    .await
}

async fn campaign_reward_due(
    conn: &mut PgConnection,
    program: &ProgramCache,
    event: &ReceivedEvent,
    due: CampaignRewardDue,
) -> Result<(), HandlerError> {
    let points = Points::parse(due.points)
        .map_err(|_| permanent(format!("campaign bonus of {} points", due.points)))?;
    // One bonus per member and campaign window, however often the event comes.
    let reference = format!("{}/{}", due.window_id, due.member_id);
    earn_event(
        conn,
        program,
        EarnRequest {
            member_id: parse_member(&due.member_id)?,
            basis: EarnBasis::Points(points),
            source: "campaign",
            reference_id: &reference,
            description: Some(due.reason.as_str()).filter(|s| !s.is_empty()),
            occurred_at: event.occurred_at,
            actor: Some(due.campaign_id.as_str()),
        },
    )
    .await
}

/// A bonus-window campaign was published or ended early: its earn rule. Only the demo business
/// runs a points program so far; another business's window has no program to change.
async fn bonus_window_changed(
    conn: &mut PgConnection,
    event: &ReceivedEvent,
    window: CampaignBonusWindowChanged,
) -> Result<(), HandlerError> {
    if event.business_id != kernel::DEMO_BUSINESS_ID {
        tracing::info!(business_id = %event.business_id, campaign_id = %window.campaign_id,
            "bonus window of a business with no points program; nothing to change");
        return Ok(());
    }
    let announced = BonusWindow {
        campaign_id: &window.campaign_id,
        campaign_name: &window.campaign_name,
        multiplier_bp: window.multiplier_bp,
        bonus_points: window.bonus_points,
        store_id: &window.store_id,
        category: &window.category,
        // A missing or out-of-range time is `None`, which the window refuses.
        starts_at: window
            .starts_at
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)),
        ends_at: window
            .ends_at
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)),
        revision: window.revision,
    };
    if announced.never_opens() {
        let campaign_id = parse_id("campaign_id", &window.campaign_id)?;
        let revision = CampaignRevision {
            campaign_id,
            revision: window.revision,
        };
        let change = core::program::withdraw_campaign_rule(conn, revision).await?;
        tracing::info!(%campaign_id, revision = window.revision, ?change,
            "bonus window ended before it began");
        return Ok(());
    }
    let rule = announced.rule().map_err(|invalid| {
        let fields: Vec<String> = invalid
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        permanent(format!(
            "bonus window of campaign {:?}: {}",
            window.campaign_id,
            fields.join("; ")
        ))
    })?;
    match core::program::apply_campaign_rule(conn, &rule).await? {
        CampaignRuleChange::Applied { rule_id, replaces } => {
            tracing::info!(campaign_id = %rule.campaign.campaign_id, revision = rule.campaign.revision,
                %rule_id, replaces = ?replaces, "campaign earn rule applied");
        }
        CampaignRuleChange::Outdated { latest } => {
            tracing::info!(campaign_id = %rule.campaign.campaign_id, revision = rule.campaign.revision,
                latest, "campaign revision applied already or outdated; nothing changed");
        }
        CampaignRuleChange::Withdrawn { .. } => {}
    }
    Ok(())
}

/// A store the admin service opened: stamps may be given there from now on. The envelope names
/// the business; a payload naming another is refused rather than trusted.
async fn store_created(
    conn: &mut PgConnection,
    event: &ReceivedEvent,
    store: StoreCreated,
) -> Result<(), HandlerError> {
    let store_id = Uuid::parse_str(&store.store_id)
        .map_err(|_| permanent(format!("store id {:?} is not a UUID", store.store_id)))?;
    let named = Some(store.business_id.as_str())
        .filter(|b| !b.is_empty())
        .map(Uuid::parse_str);
    if named.is_some_and(|named| named.ok() != Some(event.business_id)) {
        return Err(permanent(format!(
            "store {store_id} names business {:?} but its event belongs to {}",
            store.business_id, event.business_id
        )));
    }
    core::stamps::record_store(conn, store_id, event.business_id, &store.name)
        .await
        .map_err(|e| match e {
            core::stamps::Error::Database(e) => e.into(),
            refused => HandlerError::Permanent(anyhow::anyhow!(refused)),
        })
}

/// Earns for an event. An erased member's events are dropped; other refusals (a currency the
/// program does not accept) are dead-lettered for someone to look at.
async fn earn_event(
    conn: &mut PgConnection,
    program: &ProgramCache,
    request: EarnRequest<'_>,
) -> Result<(), HandlerError> {
    match core::earn::earn_in(conn, program, &request).await {
        Ok(_) | Err(core::Error::Refused(LedgerError::Erased)) => Ok(()),
        Err(e) => Err(handler_error(e)),
    }
}

fn money(amount: i64, currency: &str) -> Result<Money, HandlerError> {
    let currency = Currency::parse(currency).map_err(|e| permanent(format!("currency: {e}")))?;
    Money::positive(amount, currency).map_err(|e| permanent(format!("amount: {e}")))
}

fn parse_member(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| permanent(format!("member id {id:?} is not a UUID")))
}

fn parse_id(field: &str, id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| permanent(format!("{field} {id:?} is not a UUID")))
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}

/// A database failure is retried; a refusal by the ledger's rules is dead-lettered.
fn handler_error(e: core::Error) -> HandlerError {
    match e {
        core::Error::Database(e) => e.into(),
        core::Error::Refused(refusal) => HandlerError::Permanent(anyhow::anyhow!(refusal)),
    }
}
