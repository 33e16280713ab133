use actix_web::{web, App, HttpResponse, HttpServer};
use reqwest::Response;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::TestInfra;
use user_service::domain::PiiCipher;
use user_service::{Application, Settings};
use uuid::Uuid;

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

pub struct TestApp {
    pub infra: TestInfra,
    pub base: String,
    pub http: reqwest::Client,
    pub mailbox: Mailbox,
    pub pool: sqlx::PgPool,
    pub pii: PiiCipher,
    /// Every request carries this as X-Forwarded-For, so each test counts against its own IP.
    pub ip: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let infra = TestInfra::start().await.expect("test infrastructure");
        let mailbox = Mailbox::default();
        let key = PiiCipher::generate_key();
        let mut settings = Settings::new(infra.service_settings("users", ""), key.clone().into());
        settings.message_webhook_url = Some(mailbox.serve().await);
        settings.trust_forwarded_for = true;
        settings.key_reload_secs = 1;
        adjust(&mut settings);
        let service = Application::build(settings, platform::CancellationToken::new())
            .await
            .expect("the user service starts");
        let base = format!("http://127.0.0.1:{}", service.port);
        tokio::spawn(service.run_until_stopped());
        let pool = infra.pool("users").await.unwrap();
        TestApp {
            infra,
            base,
            http: reqwest::Client::new(),
            mailbox,
            pool,
            pii: PiiCipher::from_base64(&key).unwrap(),
            ip: format!("10.{}.{}.{}", rand_octet(), rand_octet(), rand_octet()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self
            .http
            .post(self.url(path))
            .header("X-Forwarded-For", &self.ip)
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, email: &str) -> Uuid {
        let response = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({"email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}),
            )
            .await;
        assert_eq!(response.status(), 201, "registering {email}");
        let body: Value = response.json().await.unwrap();
        body["user_id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers and logs in; returns the login answer.
    pub async fn member(&self, email: &str) -> Value {
        self.register(email).await;
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A logged-in staff user with `role`, created straight in storage as an operator would
    /// seed the first super admin.
    pub async fn staff(&self, email: &str, role: auth::Role) -> String {
        use user_service::domain::{NewUser, Registration};
        let user = NewUser::parse(Registration {
            email,
            password: PASSWORD,
            first_name: "Sam",
            last_name: "Staff",
            phone_number: None,
            marketing_consent: false,
        })
        .unwrap();
        let created = user_service::core::staff::seed_account(&self.pool, &self.pii, user, role)
            .await
            .unwrap();
        assert!(created, "{email} is new");
        let login: Value = self.login(email, PASSWORD).await.json().await.unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

fn rand_octet() -> u8 {
    (Uuid::new_v4().as_u128() % 250) as u8 + 1
}

/// Asserts a problem+json answer with this status and type suffix; returns the body.
pub use testkit::assert_problem;

/// Waits (a few seconds at most) until `token` is refused as revoked; every answer before that
/// must be one that shows no data of the account: `allowed_meanwhile`.
pub async fn until_revoked(app: &TestApp, token: &str, allowed_meanwhile: &[u16]) {
    testkit::eventually(std::time::Duration::from_secs(5), || async {
        let response = app.get("/api/v1/users/me", token).await;
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
