use auth::{scopes, Role};
use payment_service::configuration::JobSettings;
use payment_service::{Application, Settings};
use reqwest::Response;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::ops::Deref;
use std::time::Duration;
use testkit::ServiceHost;
use uuid::Uuid;

pub use testkit::{assert_problem, Member};

/// The payment service's schema.
pub const SCHEMA: &str = "payments";
pub const CHARGES: &str = "/api/v1/payments/charges";
pub const WITHDRAWALS: &str = "/api/v1/payments/withdrawals";
pub const DEAD_JOBS: &str = "/api/v1/payments/jobs/dead";
/// The secret key of the sandbox's test account.
const PSP_KEY: &str = "sk_test_sandbox";

/// The payment service on testkit's host (`app.api`, `app.pool`, `app.member()`, ...), in front
/// of its own PSP sandbox.
pub struct TestApp {
    host: ServiceHost,
    /// The PSP sandbox's base URL: Stripe and PayPal both answer there.
    pub sandbox: String,
    /// A merchant backend with payments:write and payments:read.
    pub merchant: String,
    pub admin: String,
    pub support: String,
}

impl Deref for TestApp {
    type Target = ServiceHost;

    fn deref(&self) -> &ServiceHost {
        &self.host
    }
}

/// Retries come quickly in tests; everything else is as in production.
pub fn fast_jobs() -> JobSettings {
    JobSettings {
        max_attempts: 3,
        backoff_base_ms: 100,
        backoff_max_ms: 400,
        poll_ms: 50,
        lease_secs: 30,
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts the PSP sandbox and the payment service, with `adjust` applied to its settings.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let sandbox = psp_sandbox::Sandbox::build(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            psp_sandbox::SandboxConfig::default(),
        )
        .unwrap();
        let sandbox_url = sandbox.base_url();
        tokio::spawn(sandbox.run_until_stopped());

        let host = ServiceHost::start(SCHEMA, |service, shutdown| {
            let mut settings = Settings::new(service, &sandbox_url);
            settings.jobs = fast_jobs();
            adjust(&mut settings);
            Application::build(settings, shutdown)
        })
        .await
        .expect("the payment service starts");
        let app = TestApp {
            merchant: host.partner(&[scopes::PAYMENTS_WRITE, scopes::PAYMENTS_READ]),
            admin: host.staff(Role::Admin),
            support: host.staff(Role::Support),
            host,
            sandbox: sandbox_url,
        };
        app.point_webhooks_at(&app.api.base).await;
        app
    }

    /// Stops the service and waits until it has drained, while the mock broker still runs. A test
    /// whose service consumed events ends with this: merely dropping the app takes the broker
    /// away while the consumer still commits its offsets, and that commit then never returns.
    pub async fn stop(self) {
        self.host
            .stop()
            .await
            .expect("the payment service stops cleanly");
    }

    /// Where the sandbox's PSPs send their events from now on: `{base}/api/v1/payments/webhooks/{psp}`.
    pub async fn point_webhooks_at(&self, base: &str) {
        psp_sandbox::register_webhooks(
            &self.sandbox,
            &psp_sandbox::SandboxConfig::default(),
            &format!("{base}/api/v1/payments/webhooks/stripe"),
            &format!("{base}/api/v1/payments/webhooks/paypal"),
        )
        .await
        .unwrap();
    }

    /// A member paying for themself with `payment_method`.
    pub async fn charge(&self, member: &Member, amount: i64, payment_method: &str) -> Response {
        self.api
            .post(
                &member.token,
                CHARGES,
                Some(&Uuid::new_v4().to_string()),
                &json!({"amount": amount, "currency": "AUD", "payment_method": payment_method}),
            )
            .await
    }

    /// A charge that succeeded, as its JSON.
    pub async fn paid_charge(&self, member: &Member, amount: i64) -> Value {
        let response = self.charge(member, amount, "pm_card_visa").await;
        assert_eq!(response.status(), 201);
        let charge: Value = response.json().await.unwrap();
        assert_eq!(charge["status"], "succeeded");
        charge
    }

    /// The charge as an admin sees it.
    pub async fn charge_status(&self, id: &str) -> Value {
        let response = self.api.get(&self.admin, &charge_path(id)).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Waits until the charge reaches `status`.
    pub async fn wait_for_status(&self, id: &str, status: &str) -> Value {
        testkit::eventually(Duration::from_secs(20), || async {
            let charge = self.charge_status(id).await;
            Ok((charge["status"] == status).then_some(charge))
        })
        .await
        .unwrap_or_else(|_| panic!("charge {id} never became {status}"))
    }

    /// Asks, as `token`, to run a dead job again.
    pub async fn retry_job(&self, token: &str, job_id: &str) -> Response {
        self.api
            .post(
                token,
                &format!("/api/v1/payments/jobs/{job_id}/retry"),
                None,
                &Value::Null,
            )
            .await
    }

    /// How many PaymentIntents the sandbox holds for our charge (a double charge shows as 2).
    pub async fn intents_at_psp(&self, charge_id: &str) -> usize {
        let found: Value = self
            .api
            .http
            .get(format!("{}/v1/payment_intents/search", self.sandbox))
            .bearer_auth(PSP_KEY)
            .query(&[("query", format!("metadata['charge_id']:'{charge_id}'"))])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found["data"].as_array().unwrap().len()
    }

    /// Expires a Stripe checkout page at the PSP, as its 24 hours running out would.
    pub async fn expire_checkout_at_psp(&self, session_id: &str) -> Response {
        self.api
            .http
            .post(format!(
                "{}/v1/checkout/sessions/{session_id}/expire",
                self.sandbox
            ))
            .bearer_auth(PSP_KEY)
            .send()
            .await
            .unwrap()
    }

    /// The payloads published to `topic` so far (waits for at least `expected`, then a moment
    /// longer to catch any extra).
    pub async fn published<M: prost::Message + Default>(
        &self,
        topic: &'static str,
        expected: usize,
    ) -> Vec<M> {
        self.infra.published(topic, expected).await
    }
}

/// How old a claim without a response must be before a retry takes it over.
pub const LEASE_SECS: i64 = platform::idempotency::IN_FLIGHT_LEASE_SECS;

impl TestApp {
    /// Puts the key back in the state a `kill -9` between committing the work and recording the
    /// response leaves: claimed `age_secs` ago, no response, nothing in the response cache.
    pub async fn strand_key(&self, key: &str, age_secs: i64) {
        let stranded = sqlx::query(
            "UPDATE idempotency_keys
                SET response_status = NULL, response_body = NULL,
                    created_at = now() - make_interval(secs => $2)
              WHERE key = $1",
        )
        .bind(key)
        .bind(age_secs as f64)
        .execute(&self.pool)
        .await
        .unwrap();
        assert_eq!(stranded.rows_affected(), 1, "no key {key}");
        self.forget_cached_responses().await;
    }

    /// A claim of `key` for the same caller and request as `like` (an earlier key), made
    /// `age_secs` ago and never answered: a process killed before it stored any work.
    pub async fn abandoned_claim_like(&self, like: &str, key: &str, age_secs: i64) {
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
             SELECT scope, $2, request_hash, now() - make_interval(secs => $3)
               FROM idempotency_keys WHERE key = $1",
        )
        .bind(like)
        .bind(key)
        .bind(age_secs as f64)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Empties the Redis mirror of stored responses, as if they had never been stored.
    pub async fn forget_cached_responses(&self) {
        use deadpool_redis::redis::AsyncCommands;
        let namespace = self
            .infra
            .service_settings(SCHEMA, "")
            .redis_namespace(SCHEMA);
        let redis = platform::redis::connect(&self.infra.redis_url).unwrap();
        let mut conn = redis.get().await.unwrap();
        let keys: Vec<String> = conn
            .keys(format!("{namespace}:idempotency:*"))
            .await
            .unwrap();
        for key in keys {
            let _: () = conn.del(&key).await.unwrap();
        }
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// One charge.
pub fn charge_path(id: &str) -> String {
    format!("{CHARGES}/{id}")
}

/// The refunds of a charge, given as its JSON.
pub fn refunds_path(charge: &Value) -> String {
    format!("{}/refunds", charge_path(charge["id"].as_str().unwrap()))
}

pub use testkit::field_errors;
