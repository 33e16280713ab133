//! Every call to a PSP, timed and its failures counted: `psp_request_duration_seconds{psp,
//! operation}` and `psp_errors_total{psp, operation, kind}`, where kind is `transport` (the PSP
//! could not be reached), `timeout` or `server` (no usable answer: the outcome is unknown) or
//! `refused` (the PSP refused our request). A decline is an answer, not an error.

use super::{
    AuthorizeOutcome, AuthorizeRequest, CardDetails, CardToken, CheckoutRequest, CheckoutState,
    Connector, ConnectorError, Headers, HostedCheckout, RefundOutcome, RefundRequest, WebhookError,
    WebhookEvent,
};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// The PSP series of one service, shared by its connectors.
#[derive(Clone)]
pub struct PspMetrics {
    latency: HistogramVec,
    errors: IntCounterVec,
}

impl PspMetrics {
    pub fn register(registry: &Registry) -> anyhow::Result<Self> {
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "psp_request_duration_seconds",
                "Calls to a PSP, by PSP and operation",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0]),
            &["psp", "operation"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "psp_errors_total",
                "Calls to a PSP that failed, by PSP, operation and kind (transport, timeout, server, refused)",
            ),
            &["psp", "operation", "kind"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        Ok(Self { latency, errors })
    }

    /// Wraps `connector` so that each of its calls is measured.
    pub fn meter(&self, connector: Arc<dyn Connector>) -> Arc<dyn Connector> {
        Arc::new(Metered {
            inner: connector,
            metrics: self.clone(),
        })
    }
}

fn error_kind(error: &ConnectorError) -> &'static str {
    match error {
        ConnectorError::Unavailable(_) => "transport",
        ConnectorError::Unknown(message) if message.contains("timed out") => "timeout",
        ConnectorError::Unknown(_) => "server",
        ConnectorError::Refused(_) => "refused",
    }
}

struct Metered {
    inner: Arc<dyn Connector>,
    metrics: PspMetrics,
}

impl Metered {
    async fn measure<T>(
        &self,
        operation: &str,
        call: impl Future<Output = Result<T, ConnectorError>>,
    ) -> Result<T, ConnectorError> {
        let started = Instant::now();
        let result = call.await;
        let psp = self.inner.name();
        self.metrics
            .latency
            .with_label_values(&[psp, operation])
            .observe(started.elapsed().as_secs_f64());
        if let Err(error) = &result {
            self.metrics
                .errors
                .with_label_values(&[psp, operation, error_kind(error)])
                .inc();
        }
        result
    }
}

#[async_trait::async_trait]
impl Connector for Metered {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn authorize(
        &self,
        request: &AuthorizeRequest<'_>,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        self.measure("authorize", self.inner.authorize(request))
            .await
    }

    async fn lookup(&self, charge_id: Uuid) -> Result<Option<AuthorizeOutcome>, ConnectorError> {
        self.measure("lookup", self.inner.lookup(charge_id)).await
    }

    async fn capture(
        &self,
        psp_reference: &str,
        charge_id: Uuid,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        self.measure("capture", self.inner.capture(psp_reference, charge_id))
            .await
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ConnectorError> {
        self.measure("refund", self.inner.refund(request)).await
    }

    async fn tokenize_card(&self, card: &CardDetails) -> Result<CardToken, ConnectorError> {
        self.measure("tokenize_card", self.inner.tokenize_card(card))
            .await
    }

    fn hosted_checkout(&self) -> bool {
        self.inner.hosted_checkout()
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest<'_>,
    ) -> Result<HostedCheckout, ConnectorError> {
        self.measure("create_checkout", self.inner.create_checkout(request))
            .await
    }

    async fn checkout_state(&self, psp_reference: &str) -> Result<CheckoutState, ConnectorError> {
        self.measure("checkout_state", self.inner.checkout_state(psp_reference))
            .await
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        // Verifying may fetch the PSP's certificate or call its verification API; it is
        // timed, and its refusals are the sender's problem, not the PSP's.
        let started = Instant::now();
        let result = self.inner.verify_webhook(headers, body).await;
        self.metrics
            .latency
            .with_label_values(&[self.inner.name(), "verify_webhook"])
            .observe(started.elapsed().as_secs_f64());
        result
    }
}
