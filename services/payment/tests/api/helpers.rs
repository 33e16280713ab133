use auth::Role;
use payment_service::configuration::JobSettings;
use payment_service::{Application, Settings};
use reqwest::Response;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::time::Duration;
use testkit::{TestInfra, TokenIssuer};
use uuid::Uuid;

pub use testkit::assert_problem;

pub struct TestApp {
    pub infra: TestInfra,
    pub tokens: TokenIssuer,
    pub base: String,
    pub sandbox: String,
    pub http: reqwest::Client,
    pub api: testkit::ApiClient,
    pub pool: sqlx::PgPool,
    /// A merchant backend with payments:write.
    pub partner: String,
    pub admin: String,
    pub support: String,
}

pub struct Member {
    pub id: Uuid,
    pub token: String,
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
        let infra = TestInfra::start().await.expect("test infrastructure");
        let tokens = TokenIssuer::start().await.unwrap();
        let sandbox = psp_sandbox::Sandbox::build(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            psp_sandbox::SandboxConfig::default(),
        )
        .unwrap();
        let sandbox_url = sandbox.base_url();
        tokio::spawn(sandbox.run_until_stopped());

        let mut settings = Settings::new(
            infra.service_settings("payments", tokens.jwks_url()),
            &sandbox_url,
        );
        settings.jobs = fast_jobs();
        adjust(&mut settings);
        let service = Application::build(settings, platform::CancellationToken::new())
            .await
            .expect("the payment service starts");
        let base = format!("http://127.0.0.1:{}", service.port);
        tokio::spawn(service.run_until_stopped());

        let pool = infra.pool("payments").await.unwrap();
        let partner_id = Uuid::new_v4();
        let app = TestApp {
            partner: tokens.partner(partner_id, &["payments:write", "payments:read"]),
            admin: tokens.user(Uuid::new_v4(), Role::Admin),
            support: tokens.user(Uuid::new_v4(), Role::Support),
            infra,
            tokens,
            base: base.clone(),
            sandbox: sandbox_url,
            http: reqwest::Client::new(),
            api: testkit::ApiClient::new(base),
            pool,
        };
        app.point_webhooks_at(&app.base).await;
        app
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

    pub fn url(&self, path: &str) -> String {
        self.api.url(path)
    }

    pub fn member(&self) -> Member {
        let id = Uuid::now_v7();
        Member {
            id,
            token: self.tokens.member(id),
        }
    }

    pub async fn post(&self, token: &str, path: &str, key: Option<&str>, body: &Value) -> Response {
        self.api.post(token, path, key, body).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.api.get(token, path).await
    }

    /// A member paying for themself with `payment_method`.
    pub async fn charge(&self, member: &Member, amount: i64, payment_method: &str) -> Response {
        self.post(
            &member.token,
            "/api/v1/payments/charges",
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

    pub async fn charge_status(&self, id: &str) -> Value {
        let response = self
            .get(&self.admin, &format!("/api/v1/payments/charges/{id}"))
            .await;
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

    /// How many PaymentIntents the sandbox holds for our charge (a double charge shows as 2).
    pub async fn intents_at_psp(&self, charge_id: &str) -> usize {
        let found: Value = self
            .http
            .get(format!("{}/v1/payment_intents/search", self.sandbox))
            .bearer_auth("sk_test_sandbox")
            .query(&[("query", format!("metadata['charge_id']:'{charge_id}'"))])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found["data"].as_array().unwrap().len()
    }

    /// The payloads published to `topic` so far (waits for at least `expected`, then a moment
    /// longer to catch any extra).
    pub async fn published<M: prost::Message + Default>(
        &self,
        topic: &'static str,
        expected: usize,
    ) -> Vec<M> {
        let brokers = self.infra.brokers();
        let messages = tokio::task::spawn_blocking(move || {
            testkit::read_topic(&brokers, topic, expected, Duration::from_secs(15))
        })
        .await
        .unwrap()
        .unwrap();
        messages
            .into_iter()
            .map(|m| {
                let envelope = <events::proto::Envelope as prost::Message>::decode(
                    m.payload.unwrap().as_slice(),
                )
                .unwrap();
                M::decode(envelope.payload.as_slice()).unwrap()
            })
            .collect()
    }
}

pub fn field_errors(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
