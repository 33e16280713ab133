//! Logging and tracing, set up once per process.
//!
//! Logs are JSON lines when standard output is not a terminal (containers, files, log
//! shippers) and compact text on a terminal; `LOG_FORMAT=json` or `LOG_FORMAT=text` decides
//! instead. `RUST_LOG` filters as usual.
//!
//! When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans go to that collector over OTLP/HTTP
//! (protobuf), from the batch processor's own thread with a blocking HTTP client (an async client
//! there would have no runtime to run on). The W3C trace context crosses every hop: an inbound
//! `traceparent` header becomes the parent of the request's span, and events carry the
//! `traceparent` of the span that wrote them to the consumer's span ([`current_traceparent`],
//! [`set_parent`]).

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::io::IsTerminal;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keep it alive for the life of the process; dropping it flushes pending spans.
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl TelemetryGuard {
    /// Sends every finished span now (tests, and before a deliberate exit).
    pub fn flush(&self) {
        if let Some(provider) = &self.0 {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(error = %e, "could not flush spans to the collector");
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            let _ = provider.shutdown();
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// `LOG_FORMAT` (`json` or `text`), else JSON unless standard output is a terminal.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::choose(
            std::env::var("LOG_FORMAT").ok().as_deref(),
            std::io::stdout().is_terminal(),
        )
    }

    fn choose(setting: Option<&str>, terminal: bool) -> anyhow::Result<Self> {
        match setting.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.eq_ignore_ascii_case("json") => Ok(Self::Json),
            Some(s) if s.eq_ignore_ascii_case("text") || s.eq_ignore_ascii_case("pretty") => {
                Ok(Self::Text)
            }
            Some(other) => anyhow::bail!("LOG_FORMAT is `{other}`; use `json` or `text`"),
            None if terminal => Ok(Self::Text),
            None => Ok(Self::Json),
        }
    }
}

pub fn init(service_name: &str) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,rdkafka=warn,actix_server=warn,librdkafka=warn")
    });
    let fmt_layer = match LogFormat::from_env()? {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().compact().boxed(),
    };

    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => Some(otlp_provider(service_name)?),
        _ => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name.to_owned())));
    if let Some(p) = &provider {
        opentelemetry::global::set_tracer_provider(p.clone());
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()?;
    Ok(TelemetryGuard(provider))
}

/// The exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables itself (endpoint, headers,
/// timeout); the resource's `service.name` is ours unless `OTEL_SERVICE_NAME` says otherwise.
fn otlp_provider(service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| service_name.to_owned());
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(name)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The W3C `traceparent` of the current span, when spans are exported (else `None`).
pub fn current_traceparent() -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut carrier);
    carrier.remove("traceparent")
}

/// Makes the span whose context `traceparent` names the parent of `span` (a consumer's span
/// continues the trace of the request that wrote the event). A malformed value is ignored.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    // Fails only when the span is disabled or already started its OpenTelemetry span.
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_json_off_a_terminal_unless_told_otherwise() {
        assert_eq!(LogFormat::choose(None, false).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::choose(None, true).unwrap(), LogFormat::Text);
        assert_eq!(
            LogFormat::choose(Some("JSON"), true).unwrap(),
            LogFormat::Json
        );
        assert_eq!(
            LogFormat::choose(Some("text"), false).unwrap(),
            LogFormat::Text
        );
        assert_eq!(LogFormat::choose(Some(""), false).unwrap(), LogFormat::Json);
        assert!(LogFormat::choose(Some("yaml"), false).is_err());
    }
}
