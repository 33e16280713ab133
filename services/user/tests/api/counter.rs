//! At the counter: a member shows a QR code (a counter token) or says their email address or
//! phone number, and the cashier finds them, only inside the cashier's own business.

use crate::helpers::{assert_problem, TestApp, PASSWORD};
use auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

async fn counter_token(app: &TestApp, member: &str, business: Uuid) -> reqwest::Response {
    app.api
        .get(
            member,
            &format!("/api/v1/users/me/counter-token?business_id={business}"),
        )
        .await
}

async fn identify(app: &TestApp, staff: &str, body: Value) -> reqwest::Response {
    app.api
        .post(staff, "/api/v1/users/identify", None, &body)
        .await
}

async fn partner_token(app: &TestApp, admin: &str, scopes: &[&str]) -> String {
    let client: Value = app
        .api
        .post(
            admin,
            "/api/v1/auth/clients",
            None,
            &json!({"name": "Till", "scopes": scopes}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token: Value = app
        .api
        .http
        .post(app.api.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_cashier_identifies_a_member_by_the_qr_code_once_and_only_at_its_business() {
    let app = TestApp::start().await;
    let (cafe, shop, store) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let login = app.member("ada@example.com").await;
    let member = login["access_token"].as_str().unwrap();
    let member_id = login["user"]["id"].as_str().unwrap();
    let cashier = app
        .staff_at("till@cafe.example", Role::Cashier, Some(cafe), &[store])
        .await;
    let shop_cashier = app
        .staff_at(
            "till@shop.example",
            Role::Cashier,
            Some(shop),
            &[Uuid::now_v7()],
        )
        .await;

    let issued = counter_token(&app, member, cafe).await;
    assert_eq!(issued.status(), 200);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["business_id"], cafe.to_string());
    let token = issued["token"].as_str().unwrap();

    // Shown at another business's counter: refused there, and not used up by the attempt.
    let elsewhere = identify(&app, &shop_cashier, json!({"counter_token": token})).await;
    assert_problem(elsewhere, 422, "counter-token-other-business").await;

    let found = identify(&app, &cashier, json!({"counter_token": token})).await;
    assert_eq!(found.status(), 200);
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["member_id"], member_id);
    assert_eq!(found["first_name"], "Ada");
    assert_eq!(found["last_initial"], "L");

    // The same code again (a photo of the member's screen): refused.
    let again = identify(&app, &cashier, json!({"counter_token": token})).await;
    assert_problem(again, 409, "counter-token-used").await;

    // Altered: another member's id cannot be slipped in without the key.
    let fresh: Value = counter_token(&app, member, cafe)
        .await
        .json()
        .await
        .unwrap();
    let fresh = fresh["token"].as_str().unwrap();
    let mut tampered = fresh.to_owned().into_bytes();
    let at = fresh.find('.').unwrap() + 30;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = identify(&app, &cashier, json!({"counter_token": tampered})).await;
    assert_problem(refused, 422, "counter-token-invalid").await;
    // The untouched fresh token still works: the refusal used nothing up.
    let found = identify(&app, &cashier, json!({"counter_token": fresh})).await;
    assert_eq!(found.status(), 200);

    // A cashier cannot say they act for another business.
    let other: Value = counter_token(&app, member, shop)
        .await
        .json()
        .await
        .unwrap();
    let claimed = identify(
        &app,
        &cashier,
        json!({"business_id": shop, "counter_token": other["token"]}),
    )
    .await;
    assert_problem(claimed, 403, "forbidden").await;
    app.stop().await;
}

#[tokio::test]
async fn an_expired_counter_token_is_refused() {
    let app = TestApp::start().await;
    let cafe = Uuid::now_v7();
    let member_id = app.register("late@example.com").await;
    let cashier = app
        .staff_at(
            "till@cafe.example",
            Role::Cashier,
            Some(cafe),
            &[Uuid::now_v7()],
        )
        .await;
    // A token made two minutes ago with the service's own key: genuine, but expired.
    let issued_at = chrono::Utc::now() - chrono::Duration::minutes(2);
    let token = user_service::domain::counter_token::CounterToken::new(member_id, cafe, issued_at)
        .unwrap()
        .encode(&app.pii);
    let refused = identify(&app, &cashier, json!({"counter_token": token})).await;
    assert_problem(refused, 422, "counter-token-expired").await;
    app.stop().await;
}

#[tokio::test]
async fn staff_find_members_by_email_or_confirmed_phone_but_members_and_other_callers_cannot() {
    let app = TestApp::start().await;
    let cafe = Uuid::now_v7();
    let response = app
        .register_with(&json!({"email": "grace@example.com", "password": PASSWORD,
                               "first_name": "Grace", "last_name": "Hopper",
                               "phone_number": "+61 412 000 111"}))
        .await;
    assert_eq!(response.status(), 201);
    let grace: Value = response.json().await.unwrap();
    let cashier = app
        .staff_at(
            "till@cafe.example",
            Role::Cashier,
            Some(cafe),
            &[Uuid::now_v7()],
        )
        .await;

    let by_email = identify(&app, &cashier, json!({"email": "  Grace@Example.com "})).await;
    assert_eq!(by_email.status(), 200);
    let by_email: Value = by_email.json().await.unwrap();
    assert_eq!(by_email["member_id"], grace["user_id"]);

    // An unconfirmed number finds nobody: anyone can type any number into their profile.
    let unconfirmed = identify(&app, &cashier, json!({"phone_number": "+61412000111"})).await;
    assert_problem(unconfirmed, 404, "not-found").await;
    let sms = app.mailbox.code("+61412000111", 0).await;
    let confirmed = app
        .public(
            "/api/v1/auth/verify",
            &json!({"email": "grace@example.com", "channel": "phone", "code": sms}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let by_phone = identify(&app, &cashier, json!({"phone_number": "+61 412 000 111"})).await;
    assert_eq!(by_phone.status(), 200);
    let by_phone: Value = by_phone.json().await.unwrap();
    assert_eq!(by_phone["member_id"], grace["user_id"]);

    // Staff accounts are not members to be found.
    let staff = identify(&app, &cashier, json!({"email": "till@cafe.example"})).await;
    assert_problem(staff, 404, "not-found").await;
    let nobody = identify(&app, &cashier, json!({"email": "nobody@example.com"})).await;
    assert_problem(nobody, 404, "not-found").await;

    // Exactly one way of naming the member.
    let two = identify(
        &app,
        &cashier,
        json!({"email": "grace@example.com", "phone_number": "+61412000111"}),
    )
    .await;
    assert_problem(two, 422, "validation-error").await;

    // A member cannot look others up, nor ask for a token on a staff account's behalf.
    let member = app.member("ada@example.com").await;
    let member = member["access_token"].as_str().unwrap();
    let refused = identify(&app, member, json!({"email": "grace@example.com"})).await;
    assert_problem(refused, 403, "forbidden").await;
    assert_problem(counter_token(&app, &cashier, cafe).await, 403, "forbidden").await;

    // The business's POS finds members with members:read, and only that scope lets it.
    let admin = app
        .staff_at("boss@cafe.example", Role::Admin, Some(cafe), &[])
        .await;
    let pos = partner_token(&app, &admin, &["members:read"]).await;
    let found = identify(&app, &pos, json!({"email": "grace@example.com"})).await;
    assert_eq!(found.status(), 200);
    let stamps_only = partner_token(&app, &admin, &["stamps:issue"]).await;
    let refused = identify(&app, &stamps_only, json!({"email": "grace@example.com"})).await;
    assert_problem(refused, 403, "forbidden").await;
    app.stop().await;
}
