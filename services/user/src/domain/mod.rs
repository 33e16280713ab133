//! Rules about users, free of I/O: what a valid email, password, name or phone number is, how
//! personal data is encrypted, what codes and partner keys look like.

pub mod clients;
mod codes;
mod credentials;
mod pii;
mod registration;

pub use codes::{generate_code, looks_like_code, Channel, CodePurpose};
pub use credentials::{hash_password, verify_password, Password};
pub use pii::PiiCipher;
pub use registration::{Email, NewUser, PersonName, PhoneNumber, RegistrationRequest};
