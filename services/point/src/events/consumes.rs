//! Events in and out of the point service.

use crate::ledger::{self, EarnBasis, EarnRequest, Earned};
use crate::storage::accounts;
use chrono::{DateTime, Utc};
use events::proto::{
    CampaignRewardDue, ChargeRefunded, ChargeSucceeded, OrderCompleted, PointsAdjusted,
    PointsEarned, PointsExpired, PointsExpiring, PointsRedeemed, PointsReversed, TierChanged,
    UserErased, UserRegistered,
};
use events::{topics, EventHandler, HandlerError, OutgoingEvent, ReceivedEvent};
use kernel::money::{Currency, Money};
use sqlx::PgConnection;
use uuid::Uuid;

pub const PUBLISHES: &[&str] = &[
    topics::POINTS_EARNED,
    topics::POINTS_REDEEMED,
    topics::POINTS_REVERSED,
    topics::POINTS_EXPIRED,
    topics::POINTS_EXPIRING,
    topics::POINTS_ADJUSTED,
    topics::TIER_UPGRADED,
    topics::TIER_DOWNGRADED,
    topics::TIER_DOWNGRADE_WARNING,
];

pub const CONSUMES: &[&str] = &[
    topics::USER_REGISTERED,
    topics::USER_ERASED,
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_REFUNDED,
    topics::ORDER_COMPLETED,
    topics::CAMPAIGN_REWARD_DUE,
];

fn event(topic: &'static str, member_id: Uuid, payload: &impl prost::Message) -> OutgoingEvent {
    OutgoingEvent::new("point", topic, member_id, payload)
}

pub fn points_earned(
    member_id: Uuid,
    earned: &Earned,
    source: &str,
    reference_id: &str,
) -> OutgoingEvent {
    event(
        topics::POINTS_EARNED,
        member_id,
        &PointsEarned {
            transaction_id: earned.transaction_id.to_string(),
            member_id: member_id.to_string(),
            points: earned.points,
            source: source.to_owned(),
            reference_id: reference_id.to_owned(),
            balance_after: earned.balance_after,
            tier: earned.tier.clone(),
            pending: earned.pending,
        },
    )
}

pub fn points_redeemed(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reference_id: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_REDEEMED,
        member_id,
        &PointsRedeemed {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reference_id: reference_id.to_owned(),
            balance_after,
        },
    )
}

pub fn points_reversed(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reference_id: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_REVERSED,
        member_id,
        &PointsReversed {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reference_id: reference_id.to_owned(),
            balance_after,
        },
    )
}

pub fn points_expired(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_EXPIRED,
        member_id,
        &PointsExpired {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            balance_after,
        },
    )
}

pub fn points_expiring(
    member_id: Uuid,
    lot_id: Uuid,
    points: i64,
    expires_at: DateTime<Utc>,
) -> OutgoingEvent {
    event(
        topics::POINTS_EXPIRING,
        member_id,
        &PointsExpiring {
            member_id: member_id.to_string(),
            points,
            expires_on: expires_at.date_naive().to_string(),
            lot_id: lot_id.to_string(),
        },
    )
}

pub fn points_adjusted(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reason: &str,
    actor: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_ADJUSTED,
        member_id,
        &PointsAdjusted {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reason: reason.to_owned(),
            adjusted_by: actor.to_owned(),
            balance_after,
        },
    )
}

pub fn tier_changed(
    member_id: Uuid,
    from: &str,
    to: &str,
    reason: &str,
    upgrade: bool,
) -> OutgoingEvent {
    let topic = if upgrade {
        topics::TIER_UPGRADED
    } else {
        topics::TIER_DOWNGRADED
    };
    event(
        topic,
        member_id,
        &TierChanged {
            member_id: member_id.to_string(),
            from_tier: from.to_owned(),
            to_tier: to.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

/// Notice, ahead of the period's end, that the member's spend so far qualifies for a lower tier.
pub fn tier_downgrade_warning(
    member_id: Uuid,
    from: &str,
    to: &str,
    period_ends_at: DateTime<Utc>,
) -> OutgoingEvent {
    event(
        topics::TIER_DOWNGRADE_WARNING,
        member_id,
        &TierChanged {
            member_id: member_id.to_string(),
            from_tier: from.to_owned(),
            to_tier: to.to_owned(),
            reason: format!(
                "qualification period ends on {}",
                period_ends_at.date_naive()
            ),
        },
    )
}

pub struct PointEvents;

#[async_trait::async_trait]
impl EventHandler for PointEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            topics::USER_REGISTERED => {
                let registered: UserRegistered = event.decode()?;
                if registered.role == auth::Role::Customer.as_str() {
                    accounts::open(conn, parse_member(&registered.user_id)?).await?;
                }
                Ok(())
            }
            topics::USER_ERASED => {
                let erased: UserErased = event.decode()?;
                ledger::erase(conn, parse_member(&erased.user_id)?).await?;
                Ok(())
            }
            topics::CHARGE_SUCCEEDED => {
                let charge: ChargeSucceeded = event.decode()?;
                // Card loads (seed 000) move money onto the card; they are not purchases.
                if charge.kind == "load" {
                    return Ok(());
                }
                let amount = money(charge.amount, &charge.currency)?;
                earn_event(
                    conn,
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
            topics::CHARGE_REFUNDED => {
                let refund: ChargeRefunded = event.decode()?;
                let result = ledger::refund(
                    conn,
                    parse_member(&refund.member_id)?,
                    &refund.charge_id,
                    refund.total_refunded,
                    refund.charge_amount,
                )
                .await;
                match result {
                    Ok(()) | Err(ledger::LedgerError::Erased) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            topics::ORDER_COMPLETED => {
                let order: OrderCompleted = event.decode()?;
                let amount = money(order.amount, &order.currency)?;
                earn_event(
                    conn,
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
            topics::CAMPAIGN_REWARD_DUE => {
                let due: CampaignRewardDue = event.decode()?;
                if due.points <= 0 || due.points > crate::domain::MAX_POINTS {
                    return Err(permanent(format!(
                        "campaign bonus of {} points",
                        due.points
                    )));
                }
                // One bonus per member and campaign window, however often the event comes.
                let reference = format!("{}/{}", due.window_id, due.member_id);
                earn_event(
                    conn,
                    EarnRequest {
                        member_id: parse_member(&due.member_id)?,
                        basis: EarnBasis::Points(due.points),
                        source: "campaign",
                        reference_id: &reference,
                        description: Some(due.reason.as_str()).filter(|s| !s.is_empty()),
                        occurred_at: event.occurred_at,
                        actor: Some(due.campaign_id.as_str()),
                    },
                )
                .await
            }
            other => Err(permanent(format!(
                "the point service does not handle {other}"
            ))),
        }
    }
}

/// Earns for an event. An erased member's events are dropped; other refusals (a currency the
/// program does not accept) are dead-lettered for someone to look at.
async fn earn_event(conn: &mut PgConnection, request: EarnRequest<'_>) -> Result<(), HandlerError> {
    match ledger::earn(conn, &request).await {
        Ok(_) | Err(ledger::LedgerError::Erased) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn money(amount: i64, currency: &str) -> Result<Money, HandlerError> {
    let currency = Currency::parse(currency).map_err(|e| permanent(format!("currency: {e}")))?;
    Money::positive(amount, currency).map_err(|e| permanent(format!("amount: {e}")))
}

fn parse_member(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| permanent(format!("member id {id:?} is not a UUID")))
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}
