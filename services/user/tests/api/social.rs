//! Signing in with Google and Apple through the OpenID Connect sandbox, over real HTTP: the
//! sandbox plays the providers, the service is configured with its issuers as it would be with
//! the real ones. Test users sign in at once by `login_hint`; the sandbox's magic addresses
//! (`+wrong-nonce`, `+expired`, ...) make it send deliberately wrong ID tokens.

use crate::helpers::{assert_problem, TestApp, PASSWORD};
use events::proto::UserRegistered;
use events::topics;
use oidc_sandbox::{Provider, Sandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::net::TcpListener;
use user_service::configuration::OidcProviderSettings;

/// The member app's page the providers send the member back to.
fn redirect_url(provider: Provider) -> String {
    format!("http://member.example/auth/callback/{}", provider.slug())
}

/// The service with Google and Apple played by a sandbox of its own.
async fn start() -> TestApp {
    start_with_secret(oidc_sandbox::GOOGLE_CLIENT_SECRET).await
}

async fn start_with_secret(google_secret: &str) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sandbox = Sandbox::build(
        listener,
        SandboxConfig::default().with_redirect(redirect_url),
    )
    .expect("the sandbox starts");
    let base = sandbox.base_url();
    tokio::spawn(sandbox.run_until_stopped());
    let provider = |provider: Provider, client_id: &str, secret: &str| OidcProviderSettings {
        issuer_url: Some(oidc_sandbox::issuer(&base, provider)),
        client_id: Some(client_id.to_owned()),
        client_secret: Some(SecretString::from(secret.to_owned())),
        redirect_url: Some(redirect_url(provider)),
    };
    TestApp::start_with(|settings| {
        // Every sign-in is two requests to the authentication endpoints from one address.
        settings.auth_requests_per_minute = 1000;
        settings.google = provider(
            Provider::Google,
            oidc_sandbox::GOOGLE_CLIENT_ID,
            google_secret,
        );
        settings.apple = provider(
            Provider::Apple,
            oidc_sandbox::APPLE_CLIENT_ID,
            oidc_sandbox::APPLE_CLIENT_SECRET,
        );
    })
    .await
}

/// What the provider sent back to the member app: a code and the state.
struct Returned {
    code: String,
    state: String,
}

/// Starts a sign-in and lets `email` sign in at the provider; returns what the provider sent
/// back to the redirect page (by query for Google, by form post for Apple).
async fn at_provider(app: &TestApp, provider: Provider, email: &str) -> Returned {
    let started = app
        .public(
            &format!("/api/v1/auth/social/{}/start", provider.slug()),
            &json!({}),
        )
        .await;
    assert_eq!(started.status(), 200);
    let started: Value = started.json().await.unwrap();
    let mut url = url::Url::parse(started["authorization_url"].as_str().unwrap()).unwrap();
    url.query_pairs_mut().append_pair("login_hint", email);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(url).send().await.unwrap();
    let (code, state) = match provider {
        Provider::Google => {
            assert_eq!(response.status(), 302);
            let location =
                url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
            assert!(location.as_str().starts_with(&redirect_url(provider)));
            let param = |name: &str| {
                location
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| panic!("no {name} in {location}"))
            };
            (param("code"), param("state"))
        }
        Provider::Apple => {
            assert_eq!(response.status(), 200);
            let page = response.text().await.unwrap();
            let field = |name: &str| {
                page.split(&format!(r#"name="{name}" value=""#))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_else(|| panic!("no {name} in {page}"))
                    .to_owned()
            };
            (field("code"), field("state"))
        }
    };
    assert_eq!(state, started["state"], "the provider echoes the state");
    Returned { code, state }
}

async fn callback(app: &TestApp, provider: Provider, returned: &Returned) -> reqwest::Response {
    app.public(
        &format!("/api/v1/auth/social/{}/callback", provider.slug()),
        &json!({"code": returned.code, "state": returned.state}),
    )
    .await
}

/// Signs `email` in with `provider` all the way; returns the callback's answer.
async fn sign_in(app: &TestApp, provider: Provider, email: &str) -> reqwest::Response {
    let returned = at_provider(app, provider, email).await;
    callback(app, provider, &returned).await
}

async fn accounts(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM users").await
}

async fn links(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM external_identities").await
}

#[tokio::test]
async fn a_new_member_signs_in_with_google_and_comes_back_to_the_same_account() {
    let app = start().await;
    let providers: Value = app
        .api
        .http
        .get(app.api.url("/api/v1/auth/social"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(providers["providers"], json!(["google", "apple"]));

    let response = sign_in(&app, Provider::Google, "ada.lovelace@example.com").await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["user"]["email"], "ada.lovelace@example.com");
    assert_eq!(login["user"]["email_verified"], true);
    assert_eq!(login["user"]["role"], "customer");
    assert_eq!(login["user"]["first_name"], "Ada");
    assert_eq!(login["user"]["last_name"], "Lovelace");
    // The tokens are the service's own, as after a password login.
    let me = app.me(login["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), 200);
    let refreshed = app
        .public(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": login["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);

    // Signing in again finds the same account; nothing new is created.
    let again: Value = sign_in(&app, Provider::Google, "ada.lovelace@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["user"]["id"], login["user"]["id"]);
    assert_eq!(accounts(&app).await, 1);
    assert_eq!(links(&app).await, 1);
    // The account has no password anyone knows.
    assert_eq!(
        app.login("ada.lovelace@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    let registered: Vec<UserRegistered> = app.infra.published(topics::USER_REGISTERED, 1).await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].user_id, login["user"]["id"].as_str().unwrap());
    assert_eq!(registered[0].role, "customer");
    app.stop().await;
}

#[tokio::test]
async fn a_new_member_signs_in_with_apple() {
    let app = start().await;
    // Apple posts the code back, takes the client secret in the body and sends
    // `email_verified` as a string; it shares no name.
    let response = sign_in(&app, Provider::Apple, "tim@example.com").await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["email"], "tim@example.com");
    assert_eq!(login["user"]["email_verified"], true);
    assert_eq!(login["user"]["first_name"], "");
    assert_eq!(accounts(&app).await, 1);
}

#[tokio::test]
async fn an_existing_member_is_linked_by_the_verified_email_and_keeps_their_password() {
    let app = start().await;
    let id = app.register("grace@example.com").await;
    let code = app.mailbox.code("grace@example.com", 0).await;
    assert_eq!(app.verify("grace@example.com", &code).await.status(), 200);

    let response = sign_in(&app, Provider::Google, "grace@example.com").await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], id.to_string());
    assert_eq!(accounts(&app).await, 1);
    assert_eq!(links(&app).await, 1);
    assert_eq!(app.login("grace@example.com", PASSWORD).await.status(), 200);
    // Apple with the same address reaches the same account too.
    let apple: Value = sign_in(&app, Provider::Apple, "grace@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(apple["user"]["id"], id.to_string());
    assert_eq!(links(&app).await, 2);
}

#[tokio::test]
async fn linking_an_account_whose_address_was_never_confirmed_takes_its_password_away() {
    // Someone registered the address first (perhaps not its owner) and never confirmed it; the
    // provider proves who owns it: the account is theirs, the registrant's password and
    // sessions stop working.
    let app = start().await;
    let squatter = app.member("linus@example.com").await;
    let response = sign_in(&app, Provider::Google, "linus@example.com").await;
    assert_eq!(response.status(), 200);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], squatter["user"]["id"]);
    assert_eq!(login["user"]["email_verified"], true);
    assert_eq!(app.login("linus@example.com", PASSWORD).await.status(), 401);
    let old_refresh = app
        .public(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": squatter["refresh_token"]}),
        )
        .await;
    assert_problem(old_refresh, 401, "unauthorized").await;
}

/// Each deliberately wrong ID token is refused with the check it failed, and nothing is
/// created or linked, for a new address and for an existing member's.
#[tokio::test]
async fn wrong_id_tokens_are_refused_and_create_or_link_nothing() {
    let app = start().await;
    let existing = "mary+expired@example.com";
    app.register(existing).await;
    let before = accounts(&app).await;
    for (email, why) in [
        ("ann+wrong-nonce@example.com", "nonce"),
        ("ann+wrong-audience@example.com", "another application"),
        ("ann+expired@example.com", "expired"),
        ("ann+bad-signature@example.com", "signature"),
        ("ann+wrong-issuer@example.com", "someone else"),
        (existing, "expired"),
    ] {
        let response = sign_in(&app, Provider::Google, email).await;
        let problem = assert_problem(response, 422, "social-login-token-invalid").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{email}: {problem}"
        );
    }
    assert_eq!(accounts(&app).await, before);
    assert_eq!(links(&app).await, 0);
}

#[tokio::test]
async fn a_wrong_nonce_wrong_audience_or_expired_token_from_apple_is_refused_too() {
    let app = start().await;
    for email in [
        "ann+wrong-nonce@example.com",
        "ann+wrong-audience@example.com",
        "ann+expired@example.com",
    ] {
        let response = sign_in(&app, Provider::Apple, email).await;
        assert_problem(response, 422, "social-login-token-invalid").await;
    }
    assert_eq!(accounts(&app).await, 0);
}

#[tokio::test]
async fn an_unverified_address_neither_links_to_an_account_nor_creates_one() {
    let app = start().await;
    app.register("eve@example.com").await;
    let code = app.mailbox.code("eve@example.com", 0).await;
    assert_eq!(app.verify("eve@example.com", &code).await.status(), 200);
    // The provider vouches for the address without having verified it.
    let response = sign_in(&app, Provider::Google, "eve+unverified@example.com").await;
    assert_problem(response, 422, "social-login-email-unverified").await;
    assert_eq!(accounts(&app).await, 1);
    assert_eq!(links(&app).await, 0);
    assert_eq!(app.login("eve@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_state_works_once_and_only_for_its_own_sign_in() {
    let app = start().await;
    let returned = at_provider(&app, Provider::Google, "ada@example.com").await;
    // A state we never issued.
    let forged = Returned {
        code: returned.code.clone(),
        state: "AAAAAAAAAAAAAAAAAAAAAA".into(),
    };
    let response = callback(&app, Provider::Google, &forged).await;
    assert_problem(response, 422, "social-login-state-invalid").await;
    // Another provider's callback with this state.
    let response = callback(&app, Provider::Apple, &returned).await;
    assert_problem(response, 422, "social-login-state-invalid").await;
    // The state was taken by that attempt: its own callback now fails too.
    let response = callback(&app, Provider::Google, &returned).await;
    assert_problem(response, 422, "social-login-state-invalid").await;
    assert_eq!(accounts(&app).await, 0);

    // A successful sign-in's state cannot be replayed.
    let returned = at_provider(&app, Provider::Google, "ada@example.com").await;
    assert_eq!(
        callback(&app, Provider::Google, &returned).await.status(),
        200
    );
    let response = callback(&app, Provider::Google, &returned).await;
    assert_problem(response, 422, "social-login-state-invalid").await;
}

#[tokio::test]
async fn a_used_code_is_refused_by_the_provider() {
    let app = start().await;
    let first = at_provider(&app, Provider::Google, "ada@example.com").await;
    assert_eq!(callback(&app, Provider::Google, &first).await.status(), 200);
    // The same code under a fresh sign-in's state: the provider has spent it.
    let second = at_provider(&app, Provider::Google, "bob@example.com").await;
    let replay = Returned {
        code: first.code,
        state: second.state,
    };
    let response = callback(&app, Provider::Google, &replay).await;
    assert_problem(response, 422, "social-login-code-rejected").await;
    assert_eq!(accounts(&app).await, 1);
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_by_the_provider() {
    let app = start_with_secret("not-the-secret").await;
    let response = sign_in(&app, Provider::Google, "ada@example.com").await;
    assert_problem(response, 422, "social-login-code-rejected").await;
    assert_eq!(accounts(&app).await, 0);
}

#[tokio::test]
async fn staff_sign_in_with_their_password_only() {
    let app = start().await;
    app.staff("sam@example.com", auth::Role::Admin).await;
    let response = sign_in(&app, Provider::Google, "sam@example.com").await;
    assert_problem(response, 403, "forbidden").await;
    assert_eq!(links(&app).await, 0);
}

#[tokio::test]
async fn a_provider_that_is_not_configured_is_not_found() {
    let app = TestApp::start().await;
    let response = app
        .public("/api/v1/auth/social/google/start", &json!({}))
        .await;
    assert_problem(response, 404, "not-found").await;
    let response = app
        .public("/api/v1/auth/social/myspace/start", &json!({}))
        .await;
    assert_problem(response, 404, "not-found").await;
}
