//! The demo shop of local runs: a merchant's web server serving the example checkout page of
//! `web/sdk` and charging, through the edge and with its own partner key, the tokens the page
//! sends it. It shows the tokenisation SDK end to end: the card goes from the customer's browser
//! to the PSP's fields, the page and this server only ever see a token.
//!
//! Routes: `/` (the page), `/checkout.js`, `/tessera.js`, `/config.json`, `POST /pay`
//! (`{payment_method, amount, currency, return_url}` plus `Idempotency-Key`) and
//! `GET /charges/{id}`.

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use uuid::Uuid;

const PAGE: &str = include_str!("../../../web/sdk/examples/checkout/index.html");
const PAGE_SCRIPT: &str = include_str!("../../../web/sdk/examples/checkout/checkout.js");
const SDK: &str = include_str!("../../../web/sdk/tessera.js");

/// What every demo purchase costs: 49.00 AUD.
const PRICE_MINOR: i64 = 4900;
const CURRENCY: &str = "AUD";
const PUBLISHABLE_KEY: &str = "pk_test_sandbox";
/// The shop's partner client, as staff see it in the client list.
const CLIENT_NAME: &str = "Demo shop";

/// Who the shop is and whom it charges.
pub struct ShopSettings {
    /// The fleet's edge, where the shop calls the API as any partner would.
    pub edge_url: String,
    /// The PSP whose card fields the page frames.
    pub psp_url: String,
    /// The shop's partner credentials (`payments:write`, `payments:read`).
    pub client_id: String,
    pub client_secret: SecretString,
    /// The member every purchase is charged to (a real shop knows its logged-in customer).
    pub member_id: Uuid,
}

struct Shop {
    settings: ShopSettings,
    http: reqwest::Client,
    /// The current partner token and when to fetch a new one (the token endpoint is
    /// rate-limited, as it should be).
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

pub struct DemoShop {
    pub url: String,
    handle: ServerHandle,
}

impl DemoShop {
    /// The shop's partner client, signing in as the staff account `admin`: the one registered
    /// by an earlier run gets a new key at once (its secret was shown only then), else one is
    /// registered. Returns its id and secret.
    pub async fn register_client(
        edge_url: &str,
        admin_email: &str,
        admin_password: &str,
    ) -> anyhow::Result<(String, SecretString)> {
        let http = reqwest::Client::new();
        let admin_token = login(&http, edge_url, admin_email, admin_password).await?;
        let clients: Vec<Value> = http
            .get(format!("{edge_url}/api/v1/auth/clients"))
            .bearer_auth(&admin_token)
            .send()
            .await?
            .error_for_status()
            .context("listing partner clients")?
            .json()
            .await?;
        let earlier = clients
            .iter()
            .find(|c| c["name"] == CLIENT_NAME && c["revoked_at"].is_null())
            .and_then(|c| c["id"].as_str());
        let request = match earlier {
            Some(id) => http
                .post(format!("{edge_url}/api/v1/auth/clients/{id}/rotate"))
                .json(&json!({ "overlap_secs": 0 })),
            None => http.post(format!("{edge_url}/api/v1/auth/clients")).json(
                &json!({ "name": CLIENT_NAME, "scopes": ["payments:write", "payments:read"] }),
            ),
        };
        let client: Value = request
            .bearer_auth(&admin_token)
            .send()
            .await?
            .error_for_status()
            .context("getting the demo shop's partner key")?
            .json()
            .await?;
        let id = client["client_id"]
            .as_str()
            .context("a client without an id")?;
        let secret = client["client_secret"]
            .as_str()
            .context("a client without a secret")?;
        Ok((id.to_owned(), SecretString::from(secret.to_owned())))
    }

    /// The id of the member account `email` (the shop's customer), by signing in as it.
    pub async fn member_id(edge_url: &str, email: &str, password: &str) -> anyhow::Result<Uuid> {
        let http = reqwest::Client::new();
        let token = login(&http, edge_url, email, password).await?;
        let me: Value = http
            .get(format!("{edge_url}/api/v1/users/me"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()
            .context("reading the demo member's account")?
            .json()
            .await?;
        me["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .context("an account without an id")
    }

    /// The shop of local runs: registered as a partner client by the demo admin, charging the
    /// demo member (both from the demo accounts, which must exist).
    pub async fn for_demo_accounts(
        fleet: &crate::Fleet,
        listener: TcpListener,
    ) -> anyhow::Result<(DemoShop, Server)> {
        let account = |email: &str| {
            user_service::seed::DEMO_ACCOUNTS
                .iter()
                .find(|a| a.email == email)
                .context("a demo account is missing")
        };
        let admin = account("admin@example.com")?;
        let member = account("member@example.com")?;
        let edge = &fleet.urls.edge;
        let (client_id, client_secret) =
            Self::register_client(edge, admin.email, admin.password).await?;
        let member_id = Self::member_id(edge, member.email, member.password).await?;
        Self::start(
            listener,
            ShopSettings {
                edge_url: edge.clone(),
                psp_url: fleet.urls.psp_sandbox.clone(),
                client_id,
                client_secret,
                member_id,
            },
        )
    }

    /// Serves the shop on `listener` until [`DemoShop::stop`].
    pub fn start(
        listener: TcpListener,
        settings: ShopSettings,
    ) -> anyhow::Result<(DemoShop, Server)> {
        let url = format!("http://{}", listener.local_addr()?);
        let shop = web::Data::new(Shop {
            settings,
            http: reqwest::Client::new(),
            token: tokio::sync::Mutex::new(None),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shop.clone())
                .route(
                    "/",
                    web::get().to(|| async { text(PAGE, "text/html; charset=utf-8") }),
                )
                .route(
                    "/checkout.js",
                    web::get().to(|| async { text(PAGE_SCRIPT, "text/javascript") }),
                )
                .route(
                    "/tessera.js",
                    web::get().to(|| async { text(SDK, "text/javascript") }),
                )
                .route("/config.json", web::get().to(config))
                .route("/pay", web::post().to(pay))
                .route("/charges/{id}", web::get().to(charge))
        })
        .workers(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        Ok((DemoShop { url, handle }, server))
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Signs in; a 429 (a restart right after heavy use of the login from this machine) is waited
/// out as its `Retry-After` says, once.
pub(crate) async fn login(
    http: &reqwest::Client,
    edge_url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let send = || {
        http.post(format!("{edge_url}/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    let mut response = send().await?;
    if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(60)
            .min(60);
        tracing::info!(
            wait_secs = wait,
            "the login is rate-limited; waiting before signing in"
        );
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        response = send().await?;
    }
    let answer: Value = response
        .error_for_status()
        .with_context(|| format!("signing in as {email}"))?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("a login answer without an access token")
}

fn text(body: &'static str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).body(body)
}

async fn config(shop: web::Data<Shop>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "pspUrl": shop.settings.psp_url,
        "publishableKey": PUBLISHABLE_KEY,
        "amount": PRICE_MINOR,
        "currency": CURRENCY,
    }))
}

impl Shop {
    /// The shop's partner token (client credentials), fetched again a minute before it expires.
    async fn token(&self) -> Result<String, HttpResponse> {
        let mut cached = self.token.lock().await;
        if let Some((token, renew_at)) = cached.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let answer = self
            .http
            .post(format!("{}/api/v1/auth/token", self.settings.edge_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.settings.client_id.as_str()),
                ("client_secret", self.settings.client_secret.expose_secret()),
            ])
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let body = match answer {
            Ok(response) => response.json::<Value>().await.ok(),
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "the demo shop could not get a partner token");
                None
            }
        };
        let Some(token) = body
            .as_ref()
            .and_then(|b| b["access_token"].as_str())
            .map(str::to_owned)
        else {
            return Err(
                HttpResponse::BadGateway().json(json!({"detail": "the shop could not sign in"}))
            );
        };
        let lifetime = body
            .as_ref()
            .and_then(|b| b["expires_in"].as_u64())
            .unwrap_or(0);
        let renew_at = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60));
        *cached = Some((token.clone(), renew_at));
        Ok(token)
    }

    /// Relays the payment service's answer, status and body, to the page.
    async fn relay(response: reqwest::Result<reqwest::Response>) -> HttpResponse {
        let Ok(response) = response else {
            return HttpResponse::BadGateway()
                .json(json!({"detail": "the payment service did not answer"}));
        };
        let status =
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        HttpResponse::build(status).json(body)
    }
}

/// The page's token becomes a charge for the shop's member. The page chooses only the token,
/// where the customer comes back to, and its idempotency key; the price is the shop's.
async fn pay(req: HttpRequest, body: web::Json<Value>, shop: web::Data<Shop>) -> HttpResponse {
    let Some(token) = body["payment_method"].as_str() else {
        return HttpResponse::BadRequest().json(json!({"detail": "payment_method is required"}));
    };
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let partner = match shop.token().await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let charge = json!({
        "amount": PRICE_MINOR,
        "currency": CURRENCY,
        "payment_method": token,
        "member_id": shop.settings.member_id,
        "description": "Demo shop: annual membership",
        "return_url": body["return_url"],
    });
    Shop::relay(
        shop.http
            .post(format!(
                "{}/api/v1/payments/charges",
                shop.settings.edge_url
            ))
            .bearer_auth(partner)
            .header("Idempotency-Key", key)
            .json(&charge)
            .send()
            .await,
    )
    .await
}

async fn charge(id: web::Path<Uuid>, shop: web::Data<Shop>) -> HttpResponse {
    let partner = match shop.token().await {
        Ok(token) => token,
        Err(response) => return response,
    };
    Shop::relay(
        shop.http
            .get(format!(
                "{}/api/v1/payments/charges/{id}",
                shop.settings.edge_url
            ))
            .bearer_auth(partner)
            .send()
            .await,
    )
    .await
}
