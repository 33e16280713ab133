//! What the payment service publishes. It consumes nothing.

use crate::storage::charges::ChargeRecord;
use events::proto::{ChargeFailed, ChargeSucceeded};
use events::{topics, OutgoingEvent};

pub const PUBLISHES: &[&str] = &[
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_FAILED,
    topics::CHARGE_REFUNDED,
    topics::WITHDRAWAL_RECORDED,
];

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
