use crate::proto::Envelope;
use opentelemetry::trace::TraceContextExt;
use prost::Message;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

pub const SCHEMA_VERSION: u32 = 1;

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
        let event_id = Uuid::now_v7();
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
    let context = tracing::Span::current().context();
    let span = context.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}
