//! Charges: what a valid request is and how a charge's status may move. No I/O.

mod card;
mod charge;

pub use card::CardCharge;
pub use charge::{CardSummary, ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge};
