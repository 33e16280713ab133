//! Charges: what a valid request is and how a charge's status may move. No I/O.

mod charge;

pub use charge::{ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge};
