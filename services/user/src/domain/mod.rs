//! Rules about users, free of I/O: what a valid email, password, name or phone number is, how
//! personal data is encrypted, what codes, sessions and partner keys look like, and when an
//! account is locked.

pub mod clients;
pub mod codes;
pub mod counter_token;
pub mod credentials;
pub mod limits;
pub mod messages;
pub mod notifications;
pub mod pii;
pub mod registration;
pub mod sessions;
pub mod social;
pub mod templates;
pub mod users;

pub use codes::{generate_code, Channel, Code, CodeCheck, CodePurpose};
pub use credentials::Password;
pub use pii::PiiCipher;
pub use registration::{Email, InvalidField, NewUser, PersonName, PhoneNumber, Registration};
pub use users::{ProfileChange, StaffPosition, StaffRole, User};
