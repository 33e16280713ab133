//! The events the user service publishes, built for the outbox.

use events::proto::{UserErased, UserRegistered};
use events::{topics, OutgoingEvent};
use uuid::Uuid;

pub fn user_registered(user_id: Uuid, role: auth::Role, marketing_consent: bool) -> OutgoingEvent {
    let now = chrono::Utc::now();
    OutgoingEvent::new(
        "user",
        topics::USER_REGISTERED,
        user_id,
        &UserRegistered {
            user_id: user_id.to_string(),
            role: role.as_str().to_owned(),
            registered_at: Some(events::proto_timestamp(now)),
            marketing_consent,
        },
    )
}

/// Carries the member id only: the event itself must not spread the data being erased.
pub fn user_erased(user_id: Uuid) -> OutgoingEvent {
    OutgoingEvent::new(
        "user",
        topics::USER_ERASED,
        user_id,
        &UserErased {
            user_id: user_id.to_string(),
            erased_at: Some(events::proto_timestamp(chrono::Utc::now())),
        },
    )
}
