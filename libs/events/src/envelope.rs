use crate::proto::Envelope;
use prost::Message;
use uuid::Uuid;

pub const SCHEMA_VERSION: u32 = 1;

/// The id of the event stating `fact` (see [`OutgoingEvent::of_fact`]): a name-based UUID
/// (version 8, from SHA-256 of the event type and the fact), the same every time.
pub fn fact_event_id(event_type: &str, fact: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("tessera-event/{event_type}/{fact}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// An event about to be written to the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingEvent {
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub subject_id: String,
    pub envelope: Envelope,
}

impl OutgoingEvent {
    /// `event_type` is also the topic; `subject_id` (the member) is the partition key.
    pub fn new(
        producer: &str,
        event_type: &'static str,
        subject_id: impl ToString,
        payload: &impl Message,
    ) -> Self {
        Self::with_id(Uuid::now_v7(), producer, event_type, subject_id, payload)
    }

    /// An event that states a fact which happens once (charge X succeeded): its id is derived
    /// from `fact` (`event_type` and the fact's own id), so publishing it again, e.g. when a
    /// reconciliation finds a consumer that never applied it, reuses the id every consumer's
    /// inbox already knows, and nobody applies it twice.
    pub fn of_fact(
        producer: &str,
        event_type: &'static str,
        fact: &str,
        subject_id: impl ToString,
        payload: &impl Message,
    ) -> Self {
        let event_id = fact_event_id(event_type, fact);
        Self::with_id(event_id, producer, event_type, subject_id, payload)
    }

    /// The event belongs to `business` (without this: the demo business, which owns everything
    /// not yet stored with its business).
    pub fn in_business(mut self, business: Uuid) -> Self {
        self.envelope.business_id = business.to_string();
        self
    }

    fn with_id(
        event_id: Uuid,
        producer: &str,
        event_type: &'static str,
        subject_id: impl ToString,
        payload: &impl Message,
    ) -> Self {
        let subject_id = subject_id.to_string();
        let now = chrono::Utc::now();
        let envelope = Envelope {
            event_id: event_id.to_string(),
            event_type: event_type.to_owned(),
            occurred_at: Some(crate::proto_timestamp(now)),
            producer: producer.to_owned(),
            schema_version: SCHEMA_VERSION,
            subject_id: subject_id.clone(),
            payload: payload.encode_to_vec(),
            traceparent: current_traceparent().unwrap_or_default(),
            business_id: kernel::DEMO_BUSINESS_ID.to_string(),
        };
        Self {
            event_id,
            event_type,
            subject_id,
            envelope,
        }
    }
}

/// The W3C traceparent of the current span, when tracing is exported.
fn current_traceparent() -> Option<String> {
    platform::telemetry::current_traceparent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_keeps_its_event_id_and_other_facts_get_others() {
        let charge = Uuid::now_v7().to_string();
        let id = fact_event_id("charge.succeeded", &charge);
        assert_eq!(id, fact_event_id("charge.succeeded", &charge));
        assert_ne!(id, fact_event_id("charge.failed", &charge));
        assert_ne!(
            id,
            fact_event_id("charge.succeeded", &Uuid::now_v7().to_string())
        );
        assert_eq!(id.get_version_num(), 8);
        let event = OutgoingEvent::of_fact(
            "payment",
            "charge.succeeded",
            &charge,
            "member",
            &prost_types::Timestamp::default(),
        );
        assert_eq!(event.event_id, id);
        assert_eq!(event.envelope.event_id, id.to_string());
    }
}
