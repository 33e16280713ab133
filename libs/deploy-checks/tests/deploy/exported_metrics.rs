//! The metrics the services export, shared by the checks of the alerts and dashboards (this
//! crate) and by the fleet's test that reads them from live services
//! (`services/fleet/tests/api/observability.rs`, which includes this file).

/// A metric family as a service's `/metrics` shows it: `# TYPE <name> <kind>`, and the labels of
/// its series (a histogram's `_bucket` series also have `le`).
pub struct ExportedMetric {
    pub name: &'static str,
    /// `counter`, `gauge` or `histogram`.
    pub kind: &'static str,
    pub labels: &'static [&'static str],
}

/// The metrics the services export: everything the alerts and the dashboards may query. Every
/// series has the `service` label (`user`, `point`, `rewards`, `admin`, `payment`). The
/// services' own tests check this same list against a live `/metrics`; a metric renamed there
/// must be renamed here, in `alerts.yaml`, in the dashboards and in docs/operations.md.
pub const EXPORTED_METRICS: &[ExportedMetric] = &[
    ExportedMetric {
        name: "http_requests_total",
        kind: "counter",
        labels: &["service", "route", "method", "status"],
    },
    ExportedMetric {
        name: "http_request_duration_seconds",
        kind: "histogram",
        labels: &["service", "route", "method"],
    },
    ExportedMetric {
        name: "outbox_pending_events",
        kind: "gauge",
        labels: &["service"],
    },
    ExportedMetric {
        name: "outbox_oldest_pending_age_seconds",
        kind: "gauge",
        labels: &["service"],
    },
    ExportedMetric {
        name: "events_published_total",
        kind: "counter",
        labels: &["service", "topic"],
    },
    ExportedMetric {
        name: "events_consumed_total",
        kind: "counter",
        labels: &["service", "group", "topic", "outcome"],
    },
    ExportedMetric {
        name: "consumer_lag_messages",
        kind: "gauge",
        labels: &["service", "group", "topic", "partition"],
    },
    ExportedMetric {
        name: "points_earned_total",
        kind: "counter",
        labels: &["service", "source"],
    },
    ExportedMetric {
        name: "points_redeemed_total",
        kind: "counter",
        labels: &["service"],
    },
    ExportedMetric {
        name: "charges_total",
        kind: "counter",
        labels: &["service", "psp", "status"],
    },
    ExportedMetric {
        name: "psp_request_duration_seconds",
        kind: "histogram",
        labels: &["service", "psp", "operation"],
    },
    ExportedMetric {
        name: "psp_errors_total",
        kind: "counter",
        labels: &["service", "psp", "operation", "kind"],
    },
    ExportedMetric {
        name: "jobs_pending",
        kind: "gauge",
        labels: &["service", "queue"],
    },
    ExportedMetric {
        name: "jobs_dead",
        kind: "gauge",
        labels: &["service", "queue"],
    },
    ExportedMetric {
        name: "db_pool_connections",
        kind: "gauge",
        labels: &["service", "state"],
    },
    ExportedMetric {
        name: "db_pool_max_connections",
        kind: "gauge",
        labels: &["service"],
    },
    ExportedMetric {
        name: "dependency_up",
        kind: "gauge",
        labels: &["service", "dependency"],
    },
];
