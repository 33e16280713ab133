//! What an operator watches: traces exported over OTLP that follow one charge through every
//! service it touches, and the metrics each service serves.

use crate::helpers::*;
use actix_web::{web, App, HttpResponse, HttpServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An OTLP/HTTP collector: keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

impl Collector {
    /// Serves `POST /v1/traces` on a free port; returns its base URL.
    fn start(&self) -> String {
        let spans = self.clone();
        let server = HttpServer::new(move || {
            let spans = spans.clone();
            App::new()
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route(
                    "/v1/traces",
                    web::post().to(move |body: web::Bytes| {
                        let spans = spans.clone();
                        async move {
                            let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref())
                            else {
                                return HttpResponse::BadRequest().finish();
                            };
                            let mut kept = spans.0.lock().unwrap();
                            for resource in request.resource_spans {
                                for scope in resource.scope_spans {
                                    kept.extend(scope.spans);
                                }
                            }
                            HttpResponse::Ok()
                                .content_type("application/x-protobuf")
                                .body(Vec::<u8>::new())
                        }
                    }),
                )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("a free port");
        let url = format!("http://{}", server.addrs()[0]);
        tokio::spawn(server.run());
        url
    }

    fn in_trace(&self, trace_id: &[u8]) -> Vec<Span> {
        let spans = self.0.lock().unwrap();
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Whether `ancestor` is `span` or one of its ancestors among `spans`.
fn descends_from(span: &Span, ancestor: &Span, spans: &[Span]) -> bool {
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let mut current = Some(span);
    while let Some(s) = current {
        if s.span_id == ancestor.span_id {
            return true;
        }
        current = by_id.get(s.parent_span_id.as_slice()).copied();
    }
    false
}

fn consume_span<'a>(spans: &'a [Span], consumer: &str, event_type: &str) -> Option<&'a Span> {
    spans.iter().find(|s| {
        attribute(s, "consumer").as_deref() == Some(consumer)
            && attribute(s, "event_type").as_deref() == Some(event_type)
    })
}

/// A charge made with a `traceparent` is one trace: the request's span in the payment service
/// continues the caller's trace; the point service's consumption of `charge.succeeded` is a
/// child of that request; the admin service's consumption of the `points.earned` the point
/// service wrote is a child of the point service's. Spans leave over OTLP/HTTP, as with a real
/// collector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_charge_through_payment_point_and_admin() {
    let collector = Collector::default();
    let endpoint = collector.start();
    // Each test runs in a process of its own, so the process-wide telemetry is this test's.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    std::env::set_var("RUST_LOG", "info");
    let telemetry = platform::telemetry::init("fleet").expect("telemetry starts");

    let app = TestFleet::start().await;
    let member = app.member().await;
    let trace_id = *uuid::Uuid::new_v4().as_bytes();
    let caller_span = [0x42u8; 8];
    let traceparent = format!("00-{}-{}-01", lower_hex(&trace_id), lower_hex(&caller_span));
    let response = app
        .http
        .post(app.url("/api/v1/payments/charges"))
        .bearer_auth(&member.token)
        .header("Idempotency-Key", "traced-1")
        .header("traceparent", &traceparent)
        .json(&visa(4200))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    app.wait_for_points(&member, 42).await;
    // The admin service has applied the points.earned (its consumer may still be joining its
    // group on a busy machine): only then must its span be there.
    let admin_token = app.admin_token().await;
    testkit::eventually(Duration::from_secs(60), || async {
        let response = app
            .get(
                Some(&admin_token),
                &format!("/api/v1/admin/members/{}", member.id),
            )
            .await;
        if response.status() != 200 {
            return Ok(None);
        }
        let body: serde_json::Value = response.json().await?;
        Ok((body["points_earned_total"] == 42).then_some(()))
    })
    .await
    .expect("the admin read model counts the points");

    let spans =
        testkit::eventually(Duration::from_secs(30), || {
            telemetry.flush();
            let spans = collector.in_trace(&trace_id);
            async move {
                Ok((consume_span(&spans, "admin", "points.earned").is_some()).then_some(spans))
            }
        })
        .await
        .unwrap_or_else(|_| {
            let seen: Vec<String> = collector
                .in_trace(&trace_id)
                .iter()
                .map(|s| format!("{} {:?}", s.name, attribute(s, "consumer")))
                .collect();
            panic!(
                "the admin service's consumption of points.earned is not in the charge's trace; \
             the trace has {seen:?} of {} spans received",
                collector.0.lock().unwrap().len()
            )
        });

    let request = spans
        .iter()
        .find(|s| {
            attribute(s, "http.route").as_deref() == Some("/api/v1/payments/charges")
                && s.parent_span_id == caller_span
        })
        .unwrap_or_else(|| panic!("no payment request span continues the caller's: {spans:#?}"));
    let point = consume_span(&spans, "point", "charge.succeeded")
        .expect("the point service's consumption of charge.succeeded is in the trace");
    let admin = consume_span(&spans, "admin", "points.earned").unwrap();
    assert!(
        descends_from(point, request, &spans),
        "the point service's span descends from the payment request"
    );
    assert!(
        descends_from(admin, point, &spans),
        "the admin service's span descends from the point service's"
    );
    app.stop().await;
}

#[path = "../../../../libs/deploy-checks/tests/deploy/exported_metrics.rs"]
mod exported_metrics;

/// Metrics with labels whose first series appears with the first occurrence of what they count:
/// a fleet that has seen no PSP failure serves no `psp_errors_total` series yet.
const SERIES_ONLY_ONCE_SEEN: &[&str] = &["psp_errors_total"];

/// The families a `/metrics` page serves: name, type, and the label names of its series.
fn families(page: &str) -> HashMap<String, (String, std::collections::BTreeSet<String>)> {
    let mut families: HashMap<String, (String, std::collections::BTreeSet<String>)> =
        HashMap::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                families.entry(name.to_owned()).or_default().0 = kind.to_owned();
            }
            continue;
        }
        let Some((series, _)) = line.split_once('{') else {
            continue;
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                series
                    .strip_suffix(suffix)
                    .filter(|f| families.contains_key(*f))
            })
            .unwrap_or(series);
        let labels = line[series.len() + 1..]
            .split(',')
            .filter_map(|pair| pair.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .filter(|k| k != "le");
        families
            .entry(family.to_owned())
            .or_default()
            .1
            .extend(labels);
    }
    families
}

/// Every metric the alerts and dashboards read (the list `libs/deploy-checks` checks them
/// against) is served by the running services, with its type and its labels, once a charge has
/// gone through: a renamed metric or label fails here instead of leaving an alert silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_serve_every_metric_the_alerts_and_dashboards_read() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    assert_eq!(
        app.charge(&member.token, Some("metrics-1"), &visa(2000))
            .await
            .status(),
        201
    );
    app.wait_for_points(&member, 20).await;

    let urls = {
        let u = &app.fleet().urls;
        [&u.user, &u.point, &u.rewards, &u.admin, &u.payment].map(|u| u.clone())
    };
    let served = testkit::eventually(Duration::from_secs(30), || {
        let urls = urls.clone();
        let http = app.http.clone();
        async move {
            let mut served: HashMap<String, (String, std::collections::BTreeSet<String>)> =
                HashMap::new();
            for url in &urls {
                let page = http
                    .get(format!("{url}/metrics"))
                    .send()
                    .await?
                    .text()
                    .await?;
                for (name, (kind, labels)) in families(&page) {
                    let entry = served.entry(name).or_default();
                    entry.0 = kind;
                    entry.1.extend(labels);
                }
            }
            // The lag arrives with librdkafka's first statistics, five seconds in.
            Ok(served
                .get("consumer_lag_messages")
                .is_some_and(|(_, labels)| !labels.is_empty())
                .then_some(served))
        }
    })
    .await
    .expect("the consumers report their lag");

    for metric in exported_metrics::EXPORTED_METRICS {
        if SERIES_ONLY_ONCE_SEEN.contains(&metric.name) {
            continue;
        }
        let (kind, labels) = served
            .get(metric.name)
            .unwrap_or_else(|| panic!("no service serves {}", metric.name));
        assert_eq!(kind, metric.kind, "{} is a {kind}", metric.name);
        let expected: std::collections::BTreeSet<String> =
            metric.labels.iter().map(|l| l.to_string()).collect();
        assert_eq!(labels, &expected, "the labels of {}", metric.name);
    }
    app.stop().await;
}
