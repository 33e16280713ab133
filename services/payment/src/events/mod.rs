//! Events in and out of the payment service: it publishes every final state of a charge, refunds
//! and withdrawals, and consumes `user.erased`.

use crate::storage::charges::{self, ChargeRecord};
use crate::storage::refunds::RefundRecord;
use crate::storage::withdrawals::WithdrawalRecord;
use events::proto::{
    ChargeFailed, ChargeRefunded, ChargeSucceeded, UserErased, WithdrawalRecorded,
};
use events::{topics, EventHandler, HandlerError, OutgoingEvent, ReceivedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

pub const PUBLISHES: &[&str] = &[
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_FAILED,
    topics::CHARGE_REFUNDED,
    topics::WITHDRAWAL_RECORDED,
];

pub const CONSUMES: &[&str] = &[topics::USER_ERASED];

/// The event for a charge that reached a final state, if that state has one.
pub fn for_final_state(charge: &ChargeRecord) -> Option<OutgoingEvent> {
    match charge.status.as_str() {
        "succeeded" => Some(OutgoingEvent::new(
            "payment",
            topics::CHARGE_SUCCEEDED,
            charge.member_id,
            &ChargeSucceeded {
                charge_id: charge.id.to_string(),
                member_id: charge.member_id.to_string(),
                amount: charge.amount,
                currency: charge.currency.clone(),
                kind: charge.kind.clone(),
                psp: charge.psp.clone(),
                psp_reference: charge.psp_reference.clone().unwrap_or_default(),
                merchant_id: charge
                    .created_by
                    .strip_prefix("partner:")
                    .unwrap_or_default()
                    .to_owned(),
            },
        )),
        "failed" => Some(OutgoingEvent::new(
            "payment",
            topics::CHARGE_FAILED,
            charge.member_id,
            &ChargeFailed {
                charge_id: charge.id.to_string(),
                member_id: charge.member_id.to_string(),
                amount: charge.amount,
                currency: charge.currency.clone(),
                failure_code: charge.failure_code.clone().unwrap_or_default(),
                failure_message: charge.failure_message.clone().unwrap_or_default(),
            },
        )),
        _ => None,
    }
}

pub fn charge_refunded(
    charge: &ChargeRecord,
    refund: &RefundRecord,
    total_refunded: i64,
) -> OutgoingEvent {
    OutgoingEvent::new(
        "payment",
        topics::CHARGE_REFUNDED,
        charge.member_id,
        &ChargeRefunded {
            charge_id: charge.id.to_string(),
            refund_id: refund.id.to_string(),
            member_id: charge.member_id.to_string(),
            refund_amount: refund.amount,
            charge_amount: charge.amount,
            total_refunded,
            currency: charge.currency.clone(),
        },
    )
}

pub fn withdrawal_recorded(withdrawal: &WithdrawalRecord) -> OutgoingEvent {
    OutgoingEvent::new(
        "payment",
        topics::WITHDRAWAL_RECORDED,
        withdrawal.member_id,
        &WithdrawalRecorded {
            withdrawal_id: withdrawal.id.to_string(),
            member_id: withdrawal.member_id.to_string(),
            amount: withdrawal.amount,
            currency: withdrawal.currency.clone(),
        },
    )
}

/// Erased members keep their payment records (the law requires them) without the free text
/// they wrote.
pub struct PaymentEvents;

#[async_trait::async_trait]
impl EventHandler for PaymentEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        if event.event_type != topics::USER_ERASED {
            return Ok(());
        }
        let erased: UserErased = event.decode()?;
        let member_id = Uuid::parse_str(&erased.user_id).map_err(|e| {
            HandlerError::Permanent(anyhow::anyhow!(
                "user_id {:?} is not a UUID: {e}",
                erased.user_id
            ))
        })?;
        charges::erase_member(conn, member_id).await?;
        Ok(())
    }
}
