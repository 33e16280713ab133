//! The sandbox over real HTTP, as a relying party uses it: each test starts its own sandbox on
//! port 0 and signs a test user in with `login_hint`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oidc_sandbox::{Provider, Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::time::Duration;

const REDIRECT: &str = "http://app.example/auth/callback";
const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-to-be-valid-0123456789";

struct TestSandbox {
    http: reqwest::Client,
    sandbox_url: String,
}

impl TestSandbox {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let config = SandboxConfig::default().with_redirect(|_| REDIRECT.to_owned());
        let sandbox = Sandbox::build(listener, config).unwrap();
        let sandbox_url = sandbox.base_url();
        tokio::spawn(sandbox.run_until_stopped());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Self { http, sandbox_url }
    }

    fn issuer(&self, provider: Provider) -> String {
        oidc_sandbox::issuer(&self.sandbox_url, provider)
    }

    async fn authorize(&self, provider: Provider, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.issuer(provider)))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Signs `email` in at Google and returns the code sent to the redirect address.
    async fn code(&self, email: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER));
        let response = self
            .authorize(
                Provider::Google,
                &[
                    ("response_type", "code"),
                    ("client_id", oidc_sandbox::GOOGLE_CLIENT_ID),
                    ("redirect_uri", REDIRECT),
                    ("scope", "openid email"),
                    ("state", "st-1"),
                    ("nonce", "n-1"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("login_hint", email),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert!(location.as_str().starts_with(REDIRECT));
        let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        assert!(query.contains(&("state".into(), "st-1".into())));
        query
            .into_iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v)
            .expect("a code")
    }

    async fn token(
        &self,
        code: &str,
        secret: &str,
        redirect: &str,
        verifier: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.issuer(Provider::Google)))
            .basic_auth(oidc_sandbox::GOOGLE_CLIENT_ID, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn each_provider_publishes_its_discovery_document_and_keys() {
    let sandbox = TestSandbox::start().await;
    for provider in Provider::ALL {
        let issuer = sandbox.issuer(provider);
        let doc: Value = sandbox
            .http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], issuer.as_str());
        let jwks: Value = sandbox
            .http
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
    }
}

#[tokio::test]
async fn a_code_becomes_a_signed_id_token_once() {
    let sandbox = TestSandbox::start().await;
    let code = sandbox.code("ada.lovelace@example.com").await;
    let (status, body) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            REDIRECT,
            VERIFIER,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], sandbox.issuer(Provider::Google).as_str());
    assert_eq!(claims["aud"], oidc_sandbox::GOOGLE_CLIENT_ID);
    assert_eq!(claims["email"], "ada.lovelace@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["given_name"], "Ada");
    assert!(claims["exp"].as_i64() > claims["iat"].as_i64());

    // The same code again: spent.
    let (status, body) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            REDIRECT,
            VERIFIER,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_token_endpoint_refuses_what_a_provider_refuses() {
    let sandbox = TestSandbox::start().await;
    // A wrong client secret.
    let code = sandbox.code("ada@example.com").await;
    let (status, body) = sandbox.token(&code, "guess", REDIRECT, VERIFIER).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    // A wrong PKCE verifier (and the code is spent by trying).
    let code = sandbox.code("ada@example.com").await;
    let (status, body) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            REDIRECT,
            "another-verifier-that-is-long-enough-to-be-valid-0123456789",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            REDIRECT,
            VERIFIER,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A redirect_uri other than the authorization request's.
    let code = sandbox.code("ada@example.com").await;
    let (status, body) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            "http://app.example/elsewhere",
            VERIFIER,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_unregistered_redirect_or_client_gets_an_error_page_not_a_redirect() {
    let sandbox = TestSandbox::start().await;
    for (client, redirect) in [
        (
            oidc_sandbox::GOOGLE_CLIENT_ID,
            "http://attacker.example/steal",
        ),
        ("unknown-client", REDIRECT),
    ] {
        let response = sandbox
            .authorize(
                Provider::Google,
                &[
                    ("response_type", "code"),
                    ("client_id", client),
                    ("redirect_uri", redirect),
                    ("scope", "openid email"),
                    ("login_hint", "ada@example.com"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
    }
    // Without the openid scope the error goes back to the client.
    let response = sandbox
        .authorize(
            Provider::Google,
            &[
                ("response_type", "code"),
                ("client_id", oidc_sandbox::GOOGLE_CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("scope", "email"),
                ("state", "s"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=invalid_scope"), "{location}");
}

#[tokio::test]
async fn apple_posts_the_code_back_and_takes_its_secret_in_the_body_only() {
    let sandbox = TestSandbox::start().await;
    let response = sandbox
        .authorize(
            Provider::Apple,
            &[
                ("response_type", "code"),
                ("client_id", oidc_sandbox::APPLE_CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email name"),
                ("response_mode", "form_post"),
                ("state", "st"),
                ("nonce", "n"),
                ("login_hint", "tim+unverified@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!(r#"action="{REDIRECT}""#)), "{page}");
    let code = page
        .split(r#"name="code" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a code field")
        .to_owned();
    let token = format!("{}/token", sandbox.issuer(Provider::Apple));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let basic = sandbox
        .http
        .post(&token)
        .basic_auth(
            oidc_sandbox::APPLE_CLIENT_ID,
            Some(oidc_sandbox::APPLE_CLIENT_SECRET),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let mut posted = form.to_vec();
    posted.push(("client_id", oidc_sandbox::APPLE_CLIENT_ID));
    posted.push(("client_secret", oidc_sandbox::APPLE_CLIENT_SECRET));
    let response = sandbox
        .http
        .post(&token)
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        claims["email_verified"], "false",
        "Apple's booleans are strings"
    );
    assert_eq!(claims["nonce"], "n");
}

#[tokio::test]
async fn magic_test_users_get_deliberately_wrong_tokens() {
    let sandbox = TestSandbox::start().await;
    assert_ne!(
        token_for(&sandbox, "a+wrong-nonce@example.com").await["nonce"],
        "n-1"
    );
    assert_ne!(
        token_for(&sandbox, "a+wrong-audience@example.com").await["aud"],
        oidc_sandbox::GOOGLE_CLIENT_ID
    );
    let expired = token_for(&sandbox, "a+expired@example.com").await;
    assert!(expired["exp"].as_i64().unwrap() < chrono::Utc::now().timestamp());
}

async fn token_for(sandbox: &TestSandbox, email: &str) -> Value {
    let code = sandbox.code(email).await;
    let (status, body) = sandbox
        .token(
            &code,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
            REDIRECT,
            VERIFIER,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    claims(body["id_token"].as_str().unwrap())
}
