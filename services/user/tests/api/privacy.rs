use crate::helpers::{assert_problem, TestApp, PASSWORD};
use auth::Role;
use prost::Message;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_member_exports_everything_held_about_them() {
    let app = TestApp::start().await;
    let login = app.member("export@example.com").await;
    let token = login["access_token"].as_str().unwrap();
    let patched = app
        .api
        .http
        .patch(app.api.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&json!({"first_name": "Augusta", "marketing_consent": true, "phone_number": "+447700900123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let export = app.api.get(token, "/api/v1/users/me/export").await;
    assert_eq!(export.status(), 200);
    let export: Value = export.json().await.unwrap();
    assert_eq!(export["profile"]["email"], "export@example.com");
    assert_eq!(export["profile"]["first_name"], "Augusta");
    assert_eq!(export["profile"]["phone_number"], "+447700900123");
    assert_eq!(export["marketing_consent"], true);
    assert!(export["marketing_consent_updated_at"].is_string());
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn erasing_removes_personal_data_and_announces_it() {
    let app = TestApp::start().await;
    let login = app.member("erase.me@example.com").await;
    let token = login["access_token"].as_str().unwrap();
    let id = login["user"]["id"].as_str().unwrap().to_owned();

    let erase = |password: &'static str| {
        app.api
            .http
            .delete(app.api.url("/api/v1/users/me"))
            .bearer_auth(token)
            .json(&json!({"password": password}))
            .send()
    };
    assert_problem(erase("not my password").await.unwrap(), 401, "unauthorized").await;
    assert_eq!(erase(PASSWORD).await.unwrap().status(), 204);

    assert_eq!(
        app.login("erase.me@example.com", PASSWORD).await.status(),
        401
    );
    // The account is gone at once (404); within seconds the token itself is refused everywhere.
    crate::helpers::until_revoked(&app, token, &[404]).await;
    let row: String =
        sqlx::query_scalar("SELECT row_to_json(u)::text FROM users u WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!row.contains("Ada") && !row.contains("Lovelace"), "{row}");
    let (hash, cipher): (Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT email_hash, email_ciphertext FROM users WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(hash.is_none() && cipher.is_none());
    // The address is free again.
    app.register("erase.me@example.com").await;

    let brokers = app.infra.brokers();
    let messages = tokio::task::spawn_blocking(move || {
        testkit::read_topic(&brokers, "user.erased", 1, Duration::from_secs(15))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(messages.len(), 1);
    let envelope =
        events::proto::Envelope::decode(messages[0].payload.as_deref().unwrap()).unwrap();
    let erased = events::proto::UserErased::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(erased.user_id, id);
    app.stop().await;
}

#[tokio::test]
async fn admins_erase_members_but_staff_only_by_a_super_admin() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let member = app.member("gone@example.com").await;
    let member_id = member["user"]["id"].as_str().unwrap();
    let support = app.staff("support@example.com", Role::Support).await;
    let support_id: Value = app.me(&support).await.json().await.unwrap();
    let support_id = support_id["id"].as_str().unwrap();

    let by_support = app
        .delete(&support, &format!("/api/v1/users/{member_id}"))
        .await;
    assert_problem(by_support, 403, "forbidden").await;
    let by_admin = app
        .delete(&admin, &format!("/api/v1/users/{member_id}"))
        .await;
    assert_eq!(by_admin.status(), 204);
    assert_eq!(app.login("gone@example.com", PASSWORD).await.status(), 401);
    let staff = app
        .delete(&admin, &format!("/api/v1/users/{support_id}"))
        .await;
    assert_problem(staff, 403, "forbidden").await;
}
