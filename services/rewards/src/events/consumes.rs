//! What the rewards service does with the events it consumes: the point service's answers in the
//! redemption saga; card loads, withdrawals and campaign payments for goal campaigns; purchases
//! and refunds for referrals;
//! registrations (campaign eligibility); erasures. Each runs in the consumer's transaction, next
//! to its inbox record, so an event delivered twice has its effect once.

use crate::core::campaigns::{self, Runtime};
use crate::core::{redemptions, referrals};
use crate::domain::redemptions::HoldRefusal;
use crate::storage::campaigns::{InstantLoad, WithdrawalRow};
use crate::storage::referrals::PurchaseRow;
use events::proto::{
    ChargeRefunded, ChargeSucceeded, PointsEarned, PointsHeld, PointsHoldRefused, UserErased,
    UserRegistered, WithdrawalRecorded,
};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use kernel::money::{Currency, Money};
use sqlx::PgConnection;
use uuid::Uuid;

pub const CONSUMES: &[&str] = &[
    topics::POINTS_HELD,
    topics::POINTS_HOLD_REFUSED,
    topics::USER_ERASED,
    topics::USER_REGISTERED,
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_REFUNDED,
    topics::WITHDRAWAL_RECORDED,
    topics::POINTS_EARNED,
];

pub struct RewardsEvents {
    pub campaigns: Runtime,
}

fn id(field: &str, raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw)
        .map_err(|_| HandlerError::Permanent(anyhow::anyhow!("{field} {raw:?} is not a UUID")))
}

/// An amount from another service, checked as money: positive, at most 10^12 minor units, in a
/// known currency, so sums over a member's loads cannot overflow.
fn money(amount: i64, currency: &str) -> Result<Money, HandlerError> {
    let currency = Currency::parse(currency)
        .map_err(|e| HandlerError::Permanent(anyhow::anyhow!("currency: {e}")))?;
    Money::positive(amount, currency)
        .map_err(|e| HandlerError::Permanent(anyhow::anyhow!("amount {amount}: {e}")))
}

/// A database error may pass (try again); anything else is about the event itself (dead-letter).
fn classify(e: anyhow::Error) -> HandlerError {
    if e.downcast_ref::<sqlx::Error>().is_some() {
        HandlerError::Transient(e)
    } else {
        HandlerError::Permanent(e)
    }
}

#[async_trait::async_trait]
impl EventHandler for RewardsEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            topics::POINTS_HELD => {
                let held: PointsHeld = event.decode()?;
                let redemption = id("redemption_id", &held.redemption_id)?;
                let hold = id("hold_id", &held.hold_id)?;
                redemptions::points_held(conn, redemption, hold)
                    .await
                    .map_err(classify)
            }
            topics::POINTS_HOLD_REFUSED => {
                let refused: PointsHoldRefused = event.decode()?;
                let redemption = id("redemption_id", &refused.redemption_id)?;
                let refusal = HoldRefusal::from_event(
                    &refused.reason,
                    refused.points,
                    refused.available,
                    &refused.member_tier,
                    &refused.needed_tier,
                );
                redemptions::hold_refused(conn, redemption, &refusal)
                    .await
                    .map_err(classify)
            }
            topics::USER_ERASED => {
                let erased: UserErased = event.decode()?;
                let member = id("user_id", &erased.user_id)?;
                redemptions::forget_member(conn, member)
                    .await
                    .map_err(classify)?;
                campaigns::forget_member(conn, member)
                    .await
                    .map_err(classify)
            }
            topics::USER_REGISTERED => {
                let registered: UserRegistered = event.decode()?;
                if registered.role != "customer" {
                    return Ok(());
                }
                let member = id("user_id", &registered.user_id)?;
                let registered_at = registered
                    .registered_at
                    .and_then(|t| {
                        chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
                    })
                    .unwrap_or(event.occurred_at);
                campaigns::member_registered(
                    conn,
                    &self.campaigns,
                    event.business_id,
                    member,
                    registered_at,
                )
                .await
                .map_err(classify)
            }
            topics::CHARGE_SUCCEEDED => {
                let charge: ChargeSucceeded = event.decode()?;
                let amount = money(charge.amount, &charge.currency)?;
                // Purchases qualify referrals (they earn points in the point service); loads
                // count toward goal campaigns.
                if charge.kind != "load" {
                    let purchase = PurchaseRow {
                        business_id: event.business_id,
                        charge_id: &charge.charge_id,
                        member_id: id("member_id", &charge.member_id)?,
                        amount: amount.amount_minor,
                        currency: amount.currency.code(),
                        purchased_at: event.occurred_at,
                    };
                    return referrals::purchase(conn, &self.campaigns, &purchase)
                        .await
                        .map_err(classify);
                }
                let load = InstantLoad {
                    business_id: event.business_id,
                    transaction_id: &charge.charge_id,
                    member_id: id("member_id", &charge.member_id)?,
                    amount: amount.amount_minor,
                    currency: amount.currency.code(),
                    transacted_at: event.occurred_at,
                    seen_at: self.campaigns.now(),
                };
                campaigns::instant_load(conn, &self.campaigns, &load)
                    .await
                    .map_err(classify)
            }
            topics::CHARGE_REFUNDED => {
                let refunded: ChargeRefunded = event.decode()?;
                // The running total of refunds on the charge, checked as money like amounts.
                let total = money(refunded.total_refunded, &refunded.currency)?;
                referrals::refund(
                    conn,
                    &self.campaigns,
                    event.business_id,
                    &refunded.charge_id,
                    id("member_id", &refunded.member_id)?,
                    total.amount_minor,
                )
                .await
                .map_err(classify)
            }
            topics::WITHDRAWAL_RECORDED => {
                let withdrawal: WithdrawalRecorded = event.decode()?;
                let amount = money(withdrawal.amount, &withdrawal.currency)?;
                let row = WithdrawalRow {
                    business_id: event.business_id,
                    withdrawal_id: &withdrawal.withdrawal_id,
                    member_id: id("member_id", &withdrawal.member_id)?,
                    amount: amount.amount_minor,
                    currency: amount.currency.code(),
                    occurred_at: event.occurred_at,
                };
                campaigns::withdrawal(conn, &self.campaigns, &row)
                    .await
                    .map_err(classify)
            }
            topics::POINTS_EARNED => {
                let earned: PointsEarned = event.decode()?;
                // Only campaign payments concern this service; their reference is
                // `<enrolment or referral>/<member>`.
                if earned.source != "campaign" {
                    return Ok(());
                }
                let Some((enrolment, member)) = earned.reference_id.split_once('/') else {
                    return Ok(());
                };
                let (Ok(enrolment), Ok(member)) =
                    (Uuid::parse_str(enrolment), Uuid::parse_str(member))
                else {
                    return Ok(());
                };
                if referrals::is_referral(conn, enrolment).await? {
                    return referrals::reward_paid(
                        conn,
                        &self.campaigns,
                        enrolment,
                        member,
                        &earned.transaction_id,
                    )
                    .await
                    .map_err(classify);
                }
                campaigns::reward_paid(
                    conn,
                    &self.campaigns,
                    enrolment,
                    member,
                    &earned.transaction_id,
                )
                .await
                .map_err(classify)
            }
            other => Err(HandlerError::Permanent(anyhow::anyhow!(
                "the rewards service does not handle {other}"
            ))),
        }
    }
}
