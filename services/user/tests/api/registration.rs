use crate::helpers::{assert_problem, TestApp, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_member_confirms_their_email_with_the_code_sent_to_it() {
    let app = TestApp::start().await;
    let login = app.member("ada@example.com").await;
    let token = login["access_token"].as_str().unwrap();
    assert_eq!(login["user"]["email_verified"], false);

    let code = app.mailbox.code("ada@example.com", 0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = app.verify("ada@example.com", wrong).await;
    assert_problem(refused, 422, "code-invalid").await;

    let verified = app.verify("ada@example.com", &code).await;
    assert_eq!(verified.status(), 200);
    let me: Value = app.me(token).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);

    // Single use.
    let again = app.verify("ada@example.com", &code).await;
    assert_problem(again, 422, "code-invalid").await;
}

#[tokio::test]
async fn a_code_stops_working_after_too_many_wrong_guesses_or_when_it_expires() {
    let app = TestApp::start().await;
    app.register("guess@example.com").await;
    let code = app.mailbox.code("guess@example.com", 0).await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for _ in 0..5 {
        let r = app.verify("guess@example.com", wrong).await;
        assert_eq!(r.status(), 422);
    }
    let right_too_late = app.verify("guess@example.com", &code).await;
    assert_problem(right_too_late, 422, "code-invalid").await;

    // A new code works, until it expires.
    let resend = app
        .public(
            "/api/v1/auth/verify/resend",
            &json!({"email": "guess@example.com"}),
        )
        .await;
    assert_eq!(resend.status(), 202);
    let fresh = app.mailbox.code("guess@example.com", 1).await;
    sqlx::query("UPDATE one_time_codes SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = app.verify("guess@example.com", &fresh).await;
    assert_problem(expired, 422, "code-invalid").await;
}

#[tokio::test]
async fn a_phone_number_is_confirmed_by_sms() {
    let app = TestApp::start().await;
    let response = app
        .register_with(
            &json!({"email": "sms@example.com", "password": PASSWORD, "first_name": "Ada",
                    "last_name": "L", "phone_number": "+61 412 345 678"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let sms = app.mailbox.code("+61412345678", 0).await;
    assert_eq!(app.mailbox.sent_to("+61412345678")[0]["channel"], "sms");
    let verified: Value = app
        .public(
            "/api/v1/auth/verify",
            &json!({"email": "sms@example.com", "channel": "phone", "code": sms}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["phone_verified"], true);
    assert_eq!(verified["email_verified"], false);
}

#[tokio::test]
async fn bad_registrations_are_refused_and_nothing_is_written() {
    let app = TestApp::start().await;
    app.register("taken@example.com").await;
    let cases = [
        (
            json!({"email": "weak@example.com", "password": "short", "first_name": "A", "last_name": "B"}),
            422,
            "validation-error",
        ),
        (
            json!({"email": "common@example.com", "password": "password1234", "first_name": "A", "last_name": "B"}),
            422,
            "validation-error",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "first_name": "A", "last_name": "B"}),
            422,
            "validation-error",
        ),
        (
            json!({"email": "phone@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B", "phone_number": "12"}),
            422,
            "validation-error",
        ),
        (
            json!({"email": "role@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B", "role": "admin"}),
            422,
            "validation-error",
        ),
    ];
    for (body, status, problem) in cases {
        let response = app.register_with(&body).await;
        assert_problem(response, status, problem).await;
    }
    let oversized = app
        .register_with(
            &json!({"email": "big@example.com", "password": PASSWORD, "first_name": "x".repeat(2_000_000), "last_name": "B"}),
        )
        .await;
    assert!(
        oversized.status() == 413 || oversized.status() == 400,
        "{}",
        oversized.status()
    );
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}

#[tokio::test]
async fn registering_a_taken_email_looks_like_a_new_registration_and_only_the_owner_is_told() {
    let app = TestApp::start().await;
    let owner = app.register("taken@example.com").await;
    app.mailbox.code("taken@example.com", 0).await;
    let fresh: Value = app
        .register_with(&json!({"email": "fresh@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B"}))
        .await
        .json()
        .await
        .unwrap();

    let again = app
        .register_with(&json!({"email": "Taken@Example.com", "password": "another long password", "first_name": "Eve", "last_name": "B"}))
        .await;
    assert_eq!(again.status(), 201, "the same answer as for a new address");
    let again: Value = again.json().await.unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&again), keys(&fresh));
    assert_eq!(again["verification_required"], true);
    assert_ne!(again["user_id"].as_str().unwrap(), owner.to_string());

    // Nothing changed for the owner: no second account, the old password still works, and the
    // owner's inbox says someone tried.
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        2,
        "only taken@ and fresh@ exist"
    );
    assert_eq!(app.login("taken@example.com", PASSWORD).await.status(), 200);
    assert_eq!(
        app.login("taken@example.com", "another long password")
            .await
            .status(),
        401
    );
    let notice = testkit::eventually(Duration::from_secs(10), || async {
        Ok(app
            .mailbox
            .sent_to("taken@example.com")
            .into_iter()
            .find(|m| m["subject"] == "Someone tried to register with your email address"))
    })
    .await
    .expect("the owner is told that someone tried to register");
    assert!(
        notice["text"].as_str().unwrap().contains("already exists"),
        "{notice}"
    );
    assert!(
        app.mailbox.sent_to("Taken@Example.com").is_empty(),
        "no code for the second registration"
    );
}

#[tokio::test]
async fn contact_details_are_encrypted_at_rest() {
    let app = TestApp::start().await;
    app.register_with(
        &json!({"email": "secret.person@example.com", "password": PASSWORD, "first_name": "Ada",
                "last_name": "L", "phone_number": "+61412345678", "marketing_consent": true}),
    )
    .await;
    let dump: Vec<String> = sqlx::query_scalar("SELECT row_to_json(u)::text FROM users u")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let dump = dump.join("\n");
    assert!(!dump.contains("secret.person"), "{dump}");
    assert!(!dump.contains("412345678"), "{dump}");
    let consent: (bool, bool) = sqlx::query_as(
        "SELECT marketing_consent, marketing_consent_updated_at IS NOT NULL FROM users",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(consent, (true, true), "consent is recorded with its time");
    // Still usable: the member logs in with the address, and sees it.
    let login: Value = app
        .login("secret.person@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["user"]["email"], "secret.person@example.com");
    assert_eq!(login["user"]["phone_number"], "+61412345678");
}

#[tokio::test]
async fn a_nul_byte_in_a_name_is_a_field_error_not_a_server_error() {
    let app = TestApp::start().await;
    let register = app
        .register_with(
            &json!({"email": "nul@example.com", "password": PASSWORD, "first_name": "A\u{0}da", "last_name": "L"}),
        )
        .await;
    let body = assert_problem(register, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "first_name", "{body}");
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);

    let login = app.member("named@example.com").await;
    let token = login["access_token"].as_str().unwrap();
    let renamed = app
        .api
        .http
        .patch(app.api.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&json!({"last_name": "Love\u{0}lace"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(renamed, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "last_name", "{body}");
}

#[tokio::test]
async fn two_registrations_of_one_email_at_once_end_as_one_account_and_neither_tells() {
    let app = TestApp::start().await;
    let body = json!({"email": "twice@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B"});
    let (a, b) = tokio::join!(app.register_with(&body), app.register_with(&body));
    // The loser of the race is answered like any registration of a taken email: 201, and the
    // owner is mailed; only one account exists.
    assert_eq!([a.status().as_u16(), b.status().as_u16()], [201, 201]);
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}
