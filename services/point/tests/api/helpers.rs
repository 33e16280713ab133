use auth::Role;
use events::OutgoingEvent;
use point_service::{Application, Settings};
use prost::Message;
use rdkafka::producer::FutureRecord;
use reqwest::Response;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{TestInfra, TokenIssuer};
use uuid::Uuid;

pub struct TestApp {
    pub infra: TestInfra,
    pub tokens: TokenIssuer,
    pub http: reqwest::Client,
    pub api: testkit::ApiClient,
    pub pool: sqlx::PgPool,
    /// A partner with points:earn, points:read and points:redeem.
    pub partner: String,
    pub admin: String,
    pub support: String,
}

pub struct Member {
    pub id: Uuid,
    pub token: String,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts the service with changed settings.
    pub async fn start_with(change: impl FnOnce(&mut Settings)) -> TestApp {
        let infra = TestInfra::start().await.expect("test infrastructure");
        let tokens = TokenIssuer::start().await.unwrap();
        let mut settings = Settings::new(infra.service_settings("points", tokens.jwks_url()));
        // The tests run the jobs themselves, at chosen times.
        settings.jobs_interval_secs = 3600;
        change(&mut settings);
        let service = Application::build(settings, platform::CancellationToken::new())
            .await
            .expect("the point service starts");
        let base = format!("http://127.0.0.1:{}", service.port);
        tokio::spawn(service.run_until_stopped());
        let pool = infra.pool("points").await.unwrap();
        let partner = tokens.partner(
            Uuid::new_v4(),
            &["points:earn", "points:read", "points:redeem"],
        );
        let admin = tokens.user(Uuid::new_v4(), Role::Admin);
        let support = tokens.user(Uuid::new_v4(), Role::Support);
        TestApp {
            infra,
            tokens,
            http: reqwest::Client::new(),
            api: testkit::ApiClient::new(base),
            pool,
            partner,
            admin,
            support,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.api.url(path)
    }

    /// A member with an open account (as after their user.registered).
    pub async fn member(&self) -> Member {
        let id = Uuid::now_v7();
        let mut conn = self.pool.acquire().await.unwrap();
        point_service::storage::accounts::open(&mut conn, id)
            .await
            .unwrap();
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

    pub async fn earn_points(&self, member: Uuid, points: i64, reference: &str) -> Response {
        self.post(
            &self.partner,
            &format!("/api/v1/points/{member}/earn"),
            None,
            &json!({"points": points, "source": "shop", "reference_id": reference}),
        )
        .await
    }

    pub async fn earn_amount(&self, member: Uuid, amount: i64, reference: &str) -> Response {
        self.post(
            &self.partner,
            &format!("/api/v1/points/{member}/earn"),
            None,
            &json!({"amount": amount, "currency": "AUD", "source": "shop", "reference_id": reference}),
        )
        .await
    }

    pub async fn balance(&self, member: Uuid) -> Value {
        let response = self
            .get(&self.admin, &format!("/api/v1/points/{member}/balance"))
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn publish(&self, topic: &'static str, member: Uuid, payload: &impl Message) {
        let event = OutgoingEvent::new("test", topic, member, payload);
        let producer = self.infra.kafka_settings().producer("test").unwrap();
        producer
            .send(
                FutureRecord::to(topic)
                    .key(&member.to_string())
                    .payload(&event.envelope.encode_to_vec()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    /// Waits until the member's balance satisfies `check`.
    pub async fn wait_for(&self, member: Uuid, check: impl Fn(&Value) -> bool) -> Value {
        testkit::eventually(Duration::from_secs(15), || async {
            let response = self
                .get(&self.admin, &format!("/api/v1/points/{member}/balance"))
                .await;
            if response.status() != 200 {
                return Ok(None);
            }
            let balance: Value = response.json().await?;
            Ok(check(&balance).then_some(balance))
        })
        .await
        .expect("the balance reached the expected state")
    }

    /// Checks every invariant of the member's ledger and returns (active, pending, held).
    pub async fn assert_ledger_consistent(&self, member: Uuid) -> (i64, i64, i64) {
        let (balance, pending, held): (i64, i64, i64) =
            sqlx::query_as("SELECT balance, pending, held FROM accounts WHERE member_id = $1")
                .bind(member)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        let (active_entries, pending_entries, all_entries): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(sum(amount) FILTER (WHERE account = 'member:' || $1::text), 0)::bigint,
                    COALESCE(sum(amount) FILTER (WHERE account = 'pending:' || $1::text), 0)::bigint,
                    (SELECT COALESCE(sum(amount), 0) FROM ledger_entries)::bigint
               FROM ledger_entries",
        )
        .bind(member)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(
            balance, active_entries,
            "balance = the member's active entries"
        );
        assert_eq!(
            pending, pending_entries,
            "pending = the member's pending entries"
        );
        assert_eq!(all_entries, 0, "double entry: everything sums to zero");
        let held_sum: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(points), 0)::bigint FROM holds WHERE member_id = $1 AND status = 'active'",
        )
        .bind(member)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(held, held_sum, "held = the member's active holds");
        assert!(
            balance - held >= 0,
            "never overspent: available {}",
            balance - held
        );
        let (lots_active, lots_pending, negative): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(sum(remaining) FILTER (WHERE status = 'active'), 0)::bigint,
                    COALESCE(sum(remaining) FILTER (WHERE status = 'pending'), 0)::bigint,
                    count(*) FILTER (WHERE remaining < 0)
               FROM point_lots WHERE member_id = $1",
        )
        .bind(member)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(negative, 0, "no lot negative");
        assert_eq!(
            lots_active,
            balance.max(0),
            "the active lots hold the balance"
        );
        assert_eq!(
            lots_pending, pending,
            "the pending lots hold the pending points"
        );
        (balance, pending, held)
    }
}

pub use testkit::assert_problem;
