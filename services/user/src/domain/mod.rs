//! Rules about users, free of I/O: what a valid email, password, name or phone number is.

mod credentials;
mod registration;

pub use credentials::{hash_password, verify_password, Password};
pub use registration::{Email, NewUser, PersonName, PhoneNumber, RegistrationRequest};
