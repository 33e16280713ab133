use fleet::{Fleet, FleetConfig, Ports};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use testkit::TestInfra;
use uuid::Uuid;

pub struct TestFleet {
    pub infra: TestInfra,
    /// The user service's key for contact details, to seed demo accounts with.
    pub pii_key: String,
    pub fleet: Option<Fleet>,
    pub http: reqwest::Client,
    pub edge: String,
}

/// The password of every member `TestFleet::member` registers.
pub const MEMBER_PASSWORD: &str = "a long enough password";

pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

impl TestFleet {
    pub async fn start() -> TestFleet {
        Self::start_on(None).await
    }

    /// The fleet on the given broker (a real one, which creates its topics) instead of the
    /// test's in-process mock cluster.
    pub async fn start_on(broker: Option<&str>) -> TestFleet {
        let infra = TestInfra::start().await.expect("test infrastructure");
        let pii_key = user_service::domain::PiiCipher::generate_key();
        let config = FleetConfig {
            host: "127.0.0.1".into(),
            ports: Ports::any(),
            database_url: infra.database_url.clone(),
            redis_url: infra.redis_url.clone(),
            kafka_brokers: broker.map_or_else(|| infra.brokers(), str::to_owned),
            kafka_create_topics: broker.is_some(),
            http_workers: 1,
            pii_key: pii_key.clone().into(),
            message_console: false,
        };
        let fleet = Fleet::start(config).await.expect("the fleet starts");
        let edge = fleet.urls.edge.clone();
        TestFleet {
            infra,
            pii_key,
            fleet: Some(fleet),
            http: reqwest::Client::new(),
            edge,
        }
    }

    pub fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().expect("running")
    }

    pub async fn stop(mut self) {
        if let Some(fleet) = self.fleet.take() {
            fleet.stop().await.expect("the fleet stops cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.edge)
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.http
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({ "email": email, "password": password, "first_name": "Ada", "last_name": "Lovelace" }))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// The access token of a login that must succeed.
    pub async fn access_token(&self, email: &str, password: &str) -> String {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), StatusCode::OK, "signing in as {email}");
        let body: Value = response.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// A newly registered and logged-in member.
    pub async fn member(&self) -> Member {
        let email = format!("member-{}@example.com", Uuid::new_v4().simple());
        let password = MEMBER_PASSWORD;
        let registered = self.register(&email, password).await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let body: Value = registered.json().await.unwrap();
        let login: Value = self.login(&email, password).await.json().await.unwrap();
        Member {
            id: body["user_id"].as_str().unwrap().parse().unwrap(),
            email,
            token: login["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A logged-in staff user (the demo admin) after seeding the demo accounts.
    pub async fn admin_token(&self) -> String {
        let pool = self.infra.pool("users").await.unwrap();
        let pii = user_service::domain::PiiCipher::from_base64(&self.pii_key).unwrap();
        user_service::seed::demo_accounts(&pool, &pii)
            .await
            .unwrap();
        let login: Value = self
            .login("admin@example.com", "demo-admin-password")
            .await
            .json()
            .await
            .unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    /// A partner client created by `admin` with `scopes`: its id and a token from its key.
    pub async fn partner_client(&self, admin: &str, scopes: &[&str]) -> (String, String) {
        let created: Value = self
            .http
            .post(self.url("/api/v1/auth/clients"))
            .bearer_auth(admin)
            .json(&json!({ "name": "Corner Shop", "scopes": scopes }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let client_id = created["client_id"]
            .as_str()
            .expect("a client id")
            .to_owned();
        let token: Value = self
            .http
            .post(self.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", created["client_secret"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"]
            .as_str()
            .expect("a partner token")
            .to_owned();
        (client_id, token)
    }

    /// The member erases their own account.
    pub async fn erase(&self, member: &Member) -> Response {
        self.http
            .delete(self.url("/api/v1/users/me"))
            .bearer_auth(&member.token)
            .json(&json!({ "password": MEMBER_PASSWORD }))
            .send()
            .await
            .unwrap()
    }

    pub async fn charge(&self, token: &str, key: Option<&str>, body: &Value) -> Response {
        let mut request = self
            .http
            .post(self.url("/api/v1/payments/charges"))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn balance(&self, token: &str, member: Uuid) -> Response {
        self.get(Some(token), &format!("/api/v1/points/{member}/balance"))
            .await
    }

    /// Waits until the member's balance shows `points`.
    pub async fn wait_for_points(&self, member: &Member, points: i64) -> Value {
        testkit::eventually(Duration::from_secs(30), || async {
            let response = self.balance(&member.token, member.id).await;
            if response.status() != StatusCode::OK {
                return Ok(None);
            }
            let body: Value = response.json().await?;
            Ok((body["total_points"] == points).then_some(body))
        })
        .await
        .unwrap_or_else(|_| panic!("the balance never reached {points}"))
    }
}

/// Asserts an RFC 9457 problem with `status` and `type`, and returns it.
pub use testkit::assert_problem;

pub use testkit::field_errors;

pub fn visa(amount: i64) -> Value {
    json!({ "amount": amount, "currency": "AUD", "payment_method": "pm_card_visa" })
}
