//! Events in and out of the point service.

use crate::ledger::{self, Earned};
use crate::storage::accounts;
use events::proto::{ChargeSucceeded, PointsEarned, UserRegistered};
use events::{topics, EventHandler, HandlerError, OutgoingEvent, ReceivedEvent};
use platform::money::{Currency, Money};
use sqlx::PgConnection;
use uuid::Uuid;

pub const PUBLISHES: &[&str] = &[
    topics::POINTS_EARNED,
    topics::POINTS_REDEEMED,
    topics::POINTS_REVERSED,
    topics::POINTS_EXPIRED,
    topics::POINTS_ADJUSTED,
    topics::TIER_UPGRADED,
    topics::TIER_DOWNGRADED,
];

pub const CONSUMES: &[&str] = &[topics::USER_REGISTERED, topics::CHARGE_SUCCEEDED];

pub fn points_earned(
    member_id: Uuid,
    earned: &Earned,
    source: &str,
    reference_id: &str,
) -> OutgoingEvent {
    OutgoingEvent::new(
        "point",
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
            pending: false,
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
            topics::CHARGE_SUCCEEDED => {
                let charge: ChargeSucceeded = event.decode()?;
                // Card loads (seed 000) move money onto the card; they are not purchases.
                if charge.kind == "load" {
                    return Ok(());
                }
                let member_id = parse_member(&charge.member_id)?;
                let currency = Currency::parse(&charge.currency)
                    .map_err(|e| permanent(format!("currency: {e}")))?;
                let amount = Money::positive(charge.amount, currency)
                    .map_err(|e| permanent(format!("amount: {e}")))?;
                ledger::earn_for_purchase(
                    conn,
                    member_id,
                    amount,
                    "charge",
                    &charge.charge_id,
                    Some("Card payment"),
                )
                .await?;
                Ok(())
            }
            other => Err(permanent(format!(
                "the point service does not handle {other}"
            ))),
        }
    }
}

fn parse_member(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| permanent(format!("member id {id:?} is not a UUID")))
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}
