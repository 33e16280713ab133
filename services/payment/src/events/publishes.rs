//! The events the payment service publishes, built from what it stored.

use crate::domain::{Charge, ChargeStatus, Refund, Withdrawal};
use events::proto::{ChargeFailed, ChargeRefunded, ChargeSucceeded, WithdrawalRecorded};
use events::{topics, OutgoingEvent};

const PRODUCER: &str = "payment";

/// The event for a charge that reached a final state, if that state has one. A charge reaches
/// its final state once, so the event's id comes from the charge's: publishing it again (see
/// `core::reconciliation`) reuses the id every consumer's inbox knows.
pub fn charge_final_state(charge: &Charge) -> Option<OutgoingEvent> {
    let fact = charge.id.to_string();
    match charge.status {
        ChargeStatus::Succeeded => Some(OutgoingEvent::of_fact(
            PRODUCER,
            topics::CHARGE_SUCCEEDED,
            &fact,
            charge.member_id,
            &ChargeSucceeded {
                charge_id: charge.id.to_string(),
                member_id: charge.member_id.to_string(),
                amount: charge.amount,
                currency: charge.currency.clone(),
                kind: charge.kind.as_str().to_owned(),
                psp: charge.psp.clone(),
                psp_reference: charge.psp_reference.clone().unwrap_or_default(),
                merchant_id: charge
                    .created_by
                    .strip_prefix("partner:")
                    .unwrap_or_default()
                    .to_owned(),
            },
        )),
        ChargeStatus::Failed => Some(OutgoingEvent::of_fact(
            PRODUCER,
            topics::CHARGE_FAILED,
            &fact,
            charge.member_id,
            &ChargeFailed {
                charge_id: charge.id.to_string(),
                member_id: charge.member_id.to_string(),
                amount: charge.amount,
                currency: charge.currency.clone(),
                failure_code: charge.failure_code.clone().unwrap_or_default(),
                failure_message: charge.failure_message.clone().unwrap_or_default(),
                psp: charge.psp.clone(),
            },
        )),
        _ => None,
    }
}

pub fn charge_refunded(charge: &Charge, refund: &Refund, total_refunded: i64) -> OutgoingEvent {
    OutgoingEvent::new(
        PRODUCER,
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
            psp: charge.psp.clone(),
        },
    )
}

pub fn withdrawal_recorded(withdrawal: &Withdrawal) -> OutgoingEvent {
    OutgoingEvent::new(
        PRODUCER,
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
