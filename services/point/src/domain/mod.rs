//! The point service's rules and types, free of I/O: what points are, what a purchase earns,
//! how holds move between statuses, how tiers are reached, what a program setting may be.

pub mod earning;
pub mod holds;
pub mod lots;
pub mod points;
pub mod program;
pub mod stamps;
pub mod tiers;

pub use earning::{
    BonusRule, EarnBasis, EarnPolicy, EarnQuote, Earned, Multiplier, PartnerSource, Purchase,
    Rounding, TransactionKind,
};
pub use holds::{HoldStatus, HoldTtl};
pub use lots::LotStatus;
pub use points::{AdjustmentPoints, Points, MAX_POINTS};
pub use program::ProgramSettings;
pub use tiers::Tier;

/// Why the ledger refuses a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("this member has no points account")]
    UnknownMember,
    #[error("this member's account was erased")]
    Erased,
    #[error("the program earns in {expected}, not {given}")]
    CurrencyNotAccepted { expected: String, given: String },
    #[error("not enough points: {available} available")]
    Insufficient { available: i64 },
    #[error("reference {0} was already used for a different amount")]
    ReferenceConflict(String),
    #[error("this idempotency key was used for a different request")]
    KeyReused,
    #[error("the hold is {0}")]
    HoldNotActive(HoldStatus),
    #[error("no such hold")]
    UnknownHold,
    #[error("the member's points would leave the range this ledger can hold")]
    OutOfRange,
}
