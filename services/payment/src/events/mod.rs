//! Events in and out of the payment service: it publishes every final state of a charge, refunds
//! and withdrawals, and consumes `user.erased`.

pub mod consumes;
pub mod counted;
pub mod publishes;

use events::topics;

pub const PUBLISHES: &[&str] = &[
    topics::CHARGE_SUCCEEDED,
    topics::CHARGE_FAILED,
    topics::CHARGE_REFUNDED,
    topics::WITHDRAWAL_RECORDED,
];

pub const CONSUMES: &[&str] = &[topics::USER_ERASED];
