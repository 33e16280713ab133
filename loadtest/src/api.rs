//! The fleet's HTTP API as the scenarios call it: straight to each service, as Kong would route.

use anyhow::{anyhow, Context};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Where the services under test listen.
#[derive(Debug, Clone)]
pub struct Targets {
    pub user: String,
    pub point: String,
    pub payment: String,
    pub psp_sandbox: String,
}

/// A registered, logged-in member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub token: String,
}

/// The password of every member the harness registers.
pub const PASSWORD: &str = "a long enough bench password";

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub targets: Targets,
}

/// Sends `request` and returns its JSON body if the status is one of `expected`; otherwise
/// an error naming the status and the start of the body.
pub async fn expect(request: RequestBuilder, expected: &[u16]) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| {
        // reqwest's message ("error sending request") hides the cause in its sources.
        let mut message = format!("request: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    if !expected.contains(&status.as_u16()) {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "{status}: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{status} with a body that is not JSON: {e}"))
}

impl Api {
    pub fn new(targets: Targets, connections: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections.max(1) * 2)
            // Under the services' keep-alive (actix's 5 s): a connection idle between scenarios
            // is dropped here first, instead of being reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { http, targets })
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let body = expect(
            self.http
                .post(format!("{}/api/v1/auth/login", self.targets.user))
                .json(&json!({ "email": email, "password": password })),
            &[200],
        )
        .await
        .map_err(|e| anyhow!("login as {email}: {e}"))?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("login as {email}: no access_token"))
    }

    /// Registers a member through the user service and logs them in.
    pub async fn new_member(&self, tag: &str) -> anyhow::Result<Member> {
        let email = format!("bench-{tag}-{}@example.com", Uuid::new_v4().simple());
        let body = expect(
            self.http
                .post(format!("{}/api/v1/auth/register", self.targets.user))
                .json(&json!({ "email": email, "password": PASSWORD, "first_name": "Bench", "last_name": "Member" })),
            &[201],
        )
        .await
        .map_err(|e| anyhow!("registering {email}: {e}"))?;
        let id = body["user_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("registering: no user_id")?;
        let token = self.login(&email, PASSWORD).await?;
        Ok(Member { id, token })
    }

    /// A partner client with `scopes`, created by `admin`: a token from its key.
    pub async fn partner_token(&self, admin: &str, scopes: &[&str]) -> anyhow::Result<String> {
        let created = expect(
            self.http
                .post(format!("{}/api/v1/auth/clients", self.targets.user))
                .bearer_auth(admin)
                .json(&json!({ "name": "Bench POS", "scopes": scopes })),
            &[201],
        )
        .await
        .map_err(|e| anyhow!("creating a partner client: {e}"))?;
        let client_id = created["client_id"].as_str().context("no client_id")?;
        let secret = created["client_secret"]
            .as_str()
            .context("no client_secret")?;
        let token = expect(
            self.http
                .post(format!("{}/api/v1/auth/token", self.targets.user))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                ]),
            &[200],
        )
        .await
        .map_err(|e| anyhow!("partner token: {e}"))?;
        token["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no partner access_token")
    }

    pub fn balance(&self, member: &Member) -> RequestBuilder {
        self.http
            .get(format!(
                "{}/api/v1/points/{}/balance",
                self.targets.point, member.id
            ))
            .bearer_auth(&member.token)
    }

    pub fn history(&self, member: &Member) -> RequestBuilder {
        self.http
            .get(format!(
                "{}/api/v1/points/{}/transactions?limit=20",
                self.targets.point, member.id
            ))
            .bearer_auth(&member.token)
    }

    /// A till's purchase reported by the POS partner.
    pub fn pos_purchase(
        &self,
        partner: &str,
        member: Uuid,
        till_id: &str,
        amount: i64,
    ) -> RequestBuilder {
        self.http
            .post(format!("{}/api/v1/pos/transaction", self.targets.point))
            .bearer_auth(partner)
            .json(&json!({
                "store_id": "bench-store",
                "transaction_id": till_id,
                "user_identifier": member.to_string(),
                "amount": amount,
            }))
    }

    /// A fixed number of points from a partner.
    pub fn grant(
        &self,
        partner: &str,
        member: Uuid,
        points: i64,
        reference: &str,
    ) -> RequestBuilder {
        self.http
            .post(format!(
                "{}/api/v1/points/{member}/earn",
                self.targets.point
            ))
            .bearer_auth(partner)
            .json(&json!({ "points": points, "source": "bench", "reference_id": reference }))
    }

    pub fn charge(&self, member: &Member, key: &str, amount: i64) -> RequestBuilder {
        self.http
            .post(format!("{}/api/v1/payments/charges", self.targets.payment))
            .bearer_auth(&member.token)
            .header("Idempotency-Key", key)
            .json(&json!({ "amount": amount, "currency": "AUD", "payment_method": "pm_card_visa" }))
    }

    pub fn redeem(&self, member: &Member, key: &str) -> RequestBuilder {
        self.http
            .post(format!(
                "{}/api/v1/points/{}/redeem",
                self.targets.point, member.id
            ))
            .bearer_auth(&member.token)
            .header("Idempotency-Key", key)
            .json(&json!({ "points": 1, "reference_id": key }))
    }

    /// Waits until the point service has opened the member's account (from `user.registered`).
    pub async fn wait_for_account(&self, member: &Member, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let response = self.balance(member).send().await?;
            if response.status() == StatusCode::OK {
                return Ok(());
            }
            if start.elapsed() > within {
                anyhow::bail!(
                    "member {} has no points account after {within:?} (last answer {})",
                    member.id,
                    response.status()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
