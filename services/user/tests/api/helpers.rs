use actix_web::{web, App, HttpResponse, HttpServer};
use reqwest::Response;
use serde_json::{json, Value};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::ServiceHost;
use user_service::domain::PiiCipher;
use user_service::{Application, Settings};
use uuid::Uuid;

pub use testkit::assert_problem;

/// The user service's schema.
pub const SCHEMA: &str = "users";
pub const PASSWORD: &str = "correct horse battery";

/// What the message webhook received: the mail and SMS the service sent.
#[derive(Clone, Default)]
pub struct Mailbox(Arc<Mutex<Vec<Value>>>);

impl Mailbox {
    /// Starts an HTTP endpoint that accepts messages as the provider's webhook would.
    async fn serve(&self) -> String {
        let inbox = self.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let inbox = inbox.clone();
            App::new().route(
                "/messages",
                web::post().to(move |body: web::Json<Value>| {
                    let inbox = inbox.clone();
                    async move {
                        inbox.0.lock().unwrap().push(body.into_inner());
                        HttpResponse::Accepted().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        format!("http://127.0.0.1:{port}/messages")
    }

    pub fn sent_to(&self, recipient: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == recipient)
            .cloned()
            .collect()
    }

    /// Waits for the `nth` (0-based) message to `recipient` and returns the code in it.
    pub async fn code(&self, recipient: &str, nth: usize) -> String {
        let message = testkit::eventually(Duration::from_secs(10), || async {
            Ok(self.sent_to(recipient).get(nth).cloned())
        })
        .await
        .unwrap_or_else(|_| panic!("message {nth} to {recipient} never arrived"));
        let text = message["text"].as_str().unwrap();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|word| word.len() == 6)
            .unwrap_or_else(|| panic!("no code in {text:?}"))
            .to_owned()
    }
}

/// The user service on testkit's host (`app.api`, `app.pool`, `app.infra`, `app.stop()`), with
/// the mailbox its messages are delivered to. The service signs its own tokens: tests get them by
/// registering and logging in (`member`, `staff`), not from the host's token fixtures.
pub struct TestApp {
    host: ServiceHost,
    pub mailbox: Mailbox,
    /// The key contact details are encrypted with, for seeding accounts straight into storage.
    pub pii: PiiCipher,
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

    /// Starts the service, delivering its messages to the mailbox, trusting `X-Forwarded-For` from this host
    /// and reloading its signing keys every second, with `adjust` applied to its settings.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mailbox = Mailbox::default();
        let webhook = mailbox.serve().await;
        let key = PiiCipher::generate_key();
        let host = ServiceHost::start(SCHEMA, |service, shutdown| {
            let mut settings = Settings::new(service, key.clone().into());
            settings.message_webhook_url = Some(webhook);
            // Requests come from this host, as through a proxy on it.
            settings.service.trusted_proxies = platform::client_ip::TrustedProxies::loopback();
            settings.key_reload_secs = 1;
            adjust(&mut settings);
            Application::build(settings, shutdown)
        })
        .await
        .expect("the user service starts");
        TestApp {
            host,
            mailbox,
            pii: PiiCipher::from_base64(&key).unwrap(),
        }
    }

    /// Stops the service and waits until it has drained, while the mock broker still runs. A test
    /// that reads what the service published ends with this, so its outbox relay is not cut off
    /// mid-send by the broker going away.
    pub async fn stop(self) {
        self.host
            .stop()
            .await
            .expect("the user service stops cleanly");
    }

    /// POSTs `body` as JSON with no token, as a caller who is not logged in (registration, login,
    /// codes, refresh, logout).
    pub async fn public(&self, path: &str, body: &Value) -> Response {
        self.api
            .http
            .post(self.api.url(path))
            .json(body)
            .send()
            .await
            .expect("the service answers")
    }

    /// DELETE without a body, as `token`.
    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.api
            .http
            .delete(self.api.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the service answers")
    }

    /// Registers `body` as it is; returns the answer.
    pub async fn register_with(&self, body: &Value) -> Response {
        self.public("/api/v1/auth/register", body).await
    }

    /// Registers Ada Lovelace at `email` with [`PASSWORD`]; returns her id.
    pub async fn register(&self, email: &str) -> Uuid {
        let response = self
            .register_with(
                &json!({"email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}),
            )
            .await;
        assert_eq!(response.status(), 201, "registering {email}");
        let body: Value = response.json().await.unwrap();
        body["user_id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.public(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in through a proxy that forwards the client's address `ip` as `X-Forwarded-For`.
    pub async fn login_from(&self, ip: &str, email: &str, password: &str) -> Response {
        self.api
            .http
            .post(self.api.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", ip)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("the service answers")
    }

    /// Registers and logs in; returns the login answer.
    pub async fn member(&self, email: &str) -> Value {
        self.register(email).await;
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A logged-in staff user with `role` (of the demo business, unless a super admin), created
    /// straight in storage as an operator would seed the first super admin.
    pub async fn staff(&self, email: &str, role: auth::Role) -> String {
        let business = (role != auth::Role::SuperAdmin).then_some(kernel::DEMO_BUSINESS_ID);
        self.staff_at(email, role, business, &[]).await
    }

    /// A logged-in staff user with `role` at `business` (and `stores`), seeded in storage.
    pub async fn staff_at(
        &self,
        email: &str,
        role: auth::Role,
        business: Option<Uuid>,
        stores: &[Uuid],
    ) -> String {
        use user_service::domain::{NewUser, Registration, StaffPosition};
        let user = NewUser::parse(Registration {
            email,
            password: PASSWORD,
            first_name: "Sam",
            last_name: "Staff",
            phone_number: None,
            marketing_consent: false,
        })
        .unwrap();
        let position = business.map(|business_id| StaffPosition {
            business_id,
            store_ids: stores.to_vec(),
        });
        let created =
            user_service::core::staff::seed_account(&self.pool, &self.pii, user, role, position)
                .await
                .unwrap();
        assert!(created, "{email} is new");
        let login: Value = self.login(email, PASSWORD).await.json().await.unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    /// The caller's own account, as `token`.
    pub async fn me(&self, token: &str) -> Response {
        self.api.get(token, "/api/v1/users/me").await
    }

    /// Offers `code` to confirm the email address of the account at `email`.
    pub async fn verify(&self, email: &str, code: &str) -> Response {
        self.public(
            "/api/v1/auth/verify",
            &json!({"email": email, "code": code}),
        )
        .await
    }

    /// The public keys the service's tokens are signed with.
    pub async fn jwks(&self) -> Value {
        self.api
            .http
            .get(self.api.url("/api/v1/auth/jwks.json"))
            .send()
            .await
            .expect("the service answers")
            .json()
            .await
            .expect("a JWKS")
    }

    /// Adds a signing key that takes over after `activate_after_secs`, as the `rotate-keys`
    /// command does; returns its key id.
    pub async fn rotate_keys(&self, activate_after_secs: i64) -> String {
        let settings = Settings::new(
            self.infra.service_settings(SCHEMA, ""),
            PiiCipher::generate_key().into(),
        );
        Application::rotate_keys(&settings, activate_after_secs)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

/// A client address from the private range, different each call.
pub fn random_ip() -> String {
    let octet = || (Uuid::new_v4().as_u128() % 250) as u8 + 1;
    format!("10.{}.{}.{}", octet(), octet(), octet())
}

/// Waits (a few seconds at most) until `token` is refused as revoked; every answer before that
/// must be one that shows no data of the account: `allowed_meanwhile`.
pub async fn until_revoked(app: &TestApp, token: &str, allowed_meanwhile: &[u16]) {
    testkit::eventually(Duration::from_secs(5), || async {
        let response = app.me(token).await;
        let status = response.status().as_u16();
        if status == 401 {
            let body: Value = response.json().await?;
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("revoked"),
                "{body}"
            );
            return Ok(Some(()));
        }
        assert!(
            allowed_meanwhile.contains(&status),
            "answered {status} before the revocation"
        );
        Ok(None)
    })
    .await
    .expect("the token is revoked within seconds");
}
