use auth::{scopes, Role};
use point_service::{Application, Settings};
use reqwest::Response;
use serde_json::{json, Value};
use std::ops::Deref;
use std::time::Duration;
use testkit::ServiceHost;
use uuid::Uuid;

pub use testkit::{assert_problem, Member};

/// The point service's schema.
pub const SCHEMA: &str = "points";
/// Where a partner's till reports a store transaction.
pub const POS: &str = "/api/v1/pos/transaction";

/// The point service on testkit's host (`app.api`, `app.pool`, `app.infra`, ...).
pub struct TestApp {
    host: ServiceHost,
    /// A partner with points:earn, points:read and points:redeem.
    pub partner: String,
    pub admin: String,
    pub support: String,
}

impl Deref for TestApp {
    type Target = ServiceHost;

    fn deref(&self) -> &ServiceHost {
        &self.host
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts the service with changed settings.
    pub async fn start_with(change: impl FnOnce(&mut Settings)) -> TestApp {
        let host = ServiceHost::start(SCHEMA, |service, shutdown| {
            let mut settings = Settings::new(service);
            // The tests run the jobs themselves, at chosen times.
            settings.jobs_interval_secs = 3600;
            change(&mut settings);
            Application::build(settings, shutdown)
        })
        .await
        .expect("the point service starts");
        TestApp {
            partner: host.partner(&[
                scopes::POINTS_EARN,
                scopes::POINTS_READ,
                scopes::POINTS_REDEEM,
            ]),
            admin: host.staff(Role::Admin),
            support: host.staff(Role::Support),
            host,
        }
    }

    /// Stops the service and waits until it has drained, while the mock broker still runs. A test
    /// whose service consumed events ends with this: merely dropping the app takes the broker
    /// away while the consumer still commits its offsets.
    pub async fn stop(self) {
        self.host
            .stop()
            .await
            .expect("the point service stops cleanly");
    }

    /// A member with an open account (as after their user.registered). The host's own
    /// `member()` gives a member the service has not heard of.
    pub async fn member(&self) -> Member {
        let member = self.host.member();
        let mut conn = self.pool.acquire().await.unwrap();
        point_service::storage::accounts::open(&mut conn, member.id)
            .await
            .unwrap();
        member
    }

    pub async fn earn_points(&self, member: Uuid, points: i64, reference: &str) -> Response {
        self.api
            .post(
                &self.partner,
                &earn_path(member),
                None,
                &json!({"points": points, "source": "shop", "reference_id": reference}),
            )
            .await
    }

    pub async fn earn_amount(&self, member: Uuid, amount: i64, reference: &str) -> Response {
        self.api
            .post(
                &self.partner,
                &earn_path(member),
                None,
                &json!({"amount": amount, "currency": "AUD", "source": "shop", "reference_id": reference}),
            )
            .await
    }

    /// The member redeeming `points` of their own, with `key` as the Idempotency-Key.
    pub async fn redeem(&self, member: &Member, key: &str, points: i64) -> Response {
        self.api
            .post(
                &member.token,
                &format!("/api/v1/points/{}/redeem", member.id),
                Some(key),
                &json!({"points": points}),
            )
            .await
    }

    /// `body` PUT to `path` as `token`.
    pub async fn put(&self, token: &str, path: &str, body: &Value) -> Response {
        self.api
            .send(reqwest::Method::PUT, Some(token), path, Some(body))
            .await
    }

    /// The member's balance as an admin sees it.
    pub async fn balance(&self, member: Uuid) -> Value {
        let response = self.api.get(&self.admin, &balance_path(member)).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Waits until the member's balance satisfies `check`.
    pub async fn wait_for(&self, member: Uuid, check: impl Fn(&Value) -> bool) -> Value {
        testkit::eventually(Duration::from_secs(15), || async {
            let response = self.api.get(&self.admin, &balance_path(member)).await;
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
        let (kept, summed): (Option<i64>, i64) = sqlx::query_as(
            "SELECT CASE WHEN a.spend_valid_until > now() THEN a.spend_12m END,
                    (SELECT COALESCE(sum(amount_minor), 0)::bigint FROM qualifying_spend s
                      WHERE s.member_id = a.member_id AND s.occurred_at > now() - interval '12 months')
               FROM accounts a WHERE a.member_id = $1",
        )
        .bind(member)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        if let Some(kept) = kept {
            assert_eq!(
                kept, summed,
                "the running qualifying spend = the purchases in the window"
            );
        }
        (balance, pending, held)
    }
}

/// Where partners earn for a member.
pub fn earn_path(member: Uuid) -> String {
    format!("/api/v1/points/{member}/earn")
}

pub fn balance_path(member: Uuid) -> String {
    format!("/api/v1/points/{member}/balance")
}
