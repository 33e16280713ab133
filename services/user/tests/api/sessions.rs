use crate::helpers::{assert_problem, random_ip, TestApp, PASSWORD};
use serde_json::{json, Value};

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.public("/api/v1/auth/refresh", &json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn refresh_rotates_and_reusing_an_old_token_revokes_the_whole_login() {
    let app = TestApp::start().await;
    let login = app.member("rot@example.com").await;
    let first = login["refresh_token"].as_str().unwrap().to_owned();

    let rotated: Value = refresh(&app, &first).await.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let me = app.me(rotated["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), 200);

    // The first token comes back (stolen): refused, and the family is gone with it.
    assert_problem(refresh(&app, &first).await, 401, "unauthorized").await;
    assert_problem(refresh(&app, &second).await, 401, "unauthorized").await;

    // Another login is unaffected.
    let other = app
        .login("rot@example.com", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::start().await;
    let login = app.member("out@example.com").await;
    let token = login["refresh_token"].as_str().unwrap();
    let out = app
        .public("/api/v1/auth/logout", &json!({"refresh_token": token}))
        .await;
    assert_eq!(out.status(), 204);
    assert_problem(refresh(&app, token).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn logging_out_revokes_that_logins_access_tokens_within_seconds() {
    let app = TestApp::start().await;
    let phone = app.member("two.devices@example.com").await;
    let laptop: Value = app
        .login("two.devices@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let out = app
        .public(
            "/api/v1/auth/logout",
            &json!({"refresh_token": phone["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status(), 204);
    let phone_access = phone["access_token"].as_str().unwrap();
    crate::helpers::until_revoked(&app, phone_access, &[200]).await;
    let laptop_access = laptop["access_token"].as_str().unwrap();
    assert_eq!(app.me(laptop_access).await.status(), 200);
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() {
    let app = TestApp::start().await;
    let phone = app.member("pw@example.com").await;
    let laptop: Value = app
        .login("pw@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = laptop["access_token"].as_str().unwrap();

    let wrong = app
        .api
        .post(
            access,
            "/api/v1/users/me/password",
            None,
            &json!({"current_password": "not the password", "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_problem(wrong, 401, "unauthorized").await;
    let weak = app
        .api
        .post(
            access,
            "/api/v1/users/me/password",
            None,
            &json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_problem(weak, 422, "validation-error").await;

    let changed = app
        .api
        .post(
            access,
            "/api/v1/users/me/password",
            None,
            &json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let fresh: Value = changed.json().await.unwrap();

    assert_eq!(
        refresh(&app, phone["refresh_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        refresh(&app, laptop["refresh_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        refresh(&app, fresh["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // The other logins' access tokens stop working too; the new session's keeps working.
    crate::helpers::until_revoked(&app, phone["access_token"].as_str().unwrap(), &[200]).await;
    let fresh_access = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.me(fresh_access).await.status(), 200);
    assert_eq!(app.login("pw@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("pw@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_emailed_code() {
    let app = TestApp::start().await;
    let session = app.member("forgot@example.com").await;
    let unknown = app
        .public(
            "/api/v1/auth/password-reset",
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(
        unknown.status(),
        202,
        "the same answer whether or not the account exists"
    );
    let asked = app
        .public(
            "/api/v1/auth/password-reset",
            &json!({"email": "forgot@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), 202);
    // Message 0 is the email confirmation sent at registration.
    let code = app.mailbox.code("forgot@example.com", 1).await;
    assert!(app.mailbox.sent_to("forgot@example.com")[1]["subject"]
        .as_str()
        .unwrap()
        .contains("Reset"));
    assert!(app.mailbox.sent_to("nobody@example.com").is_empty());

    let confirmed = app
        .public(
            "/api/v1/auth/password-reset/confirm",
            &json!({"email": "forgot@example.com", "code": code, "new_password": "remembered at last"}),
        )
        .await;
    assert_eq!(confirmed.status(), 204);
    assert_eq!(
        app.login("forgot@example.com", "remembered at last")
            .await
            .status(),
        200
    );
    assert_eq!(
        refresh(&app, session["refresh_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    let reused = app
        .public(
            "/api/v1/auth/password-reset/confirm",
            &json!({"email": "forgot@example.com", "code": code, "new_password": "and another one again"}),
        )
        .await;
    assert_problem(reused, 422, "code-invalid").await;
}

#[tokio::test]
async fn login_failures_look_the_same_for_unknown_and_known_emails() {
    let app = TestApp::start().await;
    app.register("known@example.com").await;
    let wrong_password = app.login("known@example.com", "not the password").await;
    let unknown_email = app.login("unknown@example.com", "not the password").await;
    let a = assert_problem(wrong_password, 401, "unauthorized").await;
    let b = assert_problem(unknown_email, 401, "unauthorized").await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = TestApp::start().await;
    app.register("locked@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("locked@example.com", "not the password")
                .await
                .status(),
            401
        );
    }
    // Even the right password waits now, and so does an unknown account after as many failures.
    let locked = app.login("locked@example.com", PASSWORD).await;
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_problem(locked, 429, "rate-limited").await;
}

#[tokio::test]
async fn more_than_ten_authentication_requests_a_minute_from_one_ip_are_refused() {
    let app = TestApp::start().await;
    well_inside_a_minute().await;
    // The service sits behind a proxy: the client's address comes as X-Forwarded-For.
    let ip = random_ip();
    for i in 0..10 {
        // Different accounts, so only the per-IP limit applies.
        let r = app
            .login_from(&ip, &format!("user{i}@example.com"), "whatever it is")
            .await;
        assert_eq!(r.status(), 401, "request {i}");
    }
    let refused = app
        .login_from(&ip, "user10@example.com", "whatever it is")
        .await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 429, "rate-limited").await;
    // Another client behind the same proxy has its own allowance.
    let other = app
        .login_from(&random_ip(), "user11@example.com", "whatever it is")
        .await;
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn addresses_a_client_writes_before_the_proxy_s_own_do_not_escape_the_limit() {
    let app = TestApp::start().await;
    well_inside_a_minute().await;
    // The proxy appends the address it saw; whatever the client sent stays to its left.
    let real = random_ip();
    for i in 0..10 {
        let r = app
            .login_from(
                &format!("{}, {real}", random_ip()),
                &format!("user{i}@example.com"),
                "whatever it is",
            )
            .await;
        assert_eq!(r.status(), 401, "request {i}");
    }
    let refused = app
        .login_from(
            &format!("{}, {real}", random_ip()),
            "user10@example.com",
            "x",
        )
        .await;
    assert_problem(refused, 429, "rate-limited").await;
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_does_not_escape_the_limit() {
    let app =
        TestApp::start_with(|settings| settings.service.trusted_proxies = Default::default()).await;
    well_inside_a_minute().await;
    for i in 0..10 {
        // A client claims a new address each time; the service counts the connection's.
        let r = app
            .login_from(
                &random_ip(),
                &format!("user{i}@example.com"),
                "whatever it is",
            )
            .await;
        assert_eq!(r.status(), 401, "request {i}");
    }
    let refused = app
        .login_from(&random_ip(), "user10@example.com", "whatever it is")
        .await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 429, "rate-limited").await;
}

/// The limits count per calendar minute: waits, if need be, until one has just begun.
async fn well_inside_a_minute() {
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}
