//! What the admin service publishes: the business directory's news, for the services that act
//! inside businesses and at stores. Each event goes to the outbox in the transaction that stores
//! what it announces, names its business in the envelope, and is keyed by that business (there
//! is no member to key it by), so one business's events stay in order on their partition. Their
//! ids are derived from what they announce ([`OutgoingEvent::of_fact`]), so announcing one again
//! reuses the id consumers already know.

use crate::storage::directory::{Business, Store};
use events::proto::{BusinessCreated, StoreCreated};
use events::{proto_timestamp, topics, OutgoingEvent};

pub const PUBLISHES: &[&str] = &[topics::BUSINESS_CREATED, topics::STORE_CREATED];

const PRODUCER: &str = "admin";

pub fn business_created(business: &Business) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        PRODUCER,
        topics::BUSINESS_CREATED,
        &business.id.to_string(),
        business.id,
        &BusinessCreated {
            business_id: business.id.to_string(),
            name: business.name.clone(),
            currency: business.currency.clone(),
            created_at: Some(proto_timestamp(business.created_at)),
        },
    )
    .in_business(business.id)
}

pub fn store_created(store: &Store) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        PRODUCER,
        topics::STORE_CREATED,
        &store.id.to_string(),
        store.business_id,
        &StoreCreated {
            store_id: store.id.to_string(),
            business_id: store.business_id.to_string(),
            brand_id: store.brand_id.map(|b| b.to_string()).unwrap_or_default(),
            name: store.name.clone(),
            created_at: Some(proto_timestamp(store.created_at)),
        },
    )
    .in_business(store.business_id)
}
