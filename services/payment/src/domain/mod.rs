//! Charges: what a valid request is and how a charge's status may move. No I/O.

mod card;
mod charge;
mod checkout;

pub use card::CardCharge;
pub use charge::{CardSummary, ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge};
pub use checkout::{CreateCheckoutSessionRequest, NewCheckout, HOSTED_CHECKOUT_METHOD};
