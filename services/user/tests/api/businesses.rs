//! Staff and partner clients of many businesses: each acts only inside its own.

use crate::helpers::{assert_problem, TestApp, PASSWORD};
use auth::Role;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use uuid::Uuid;

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn staff_body(email: &str, role: &str, extra: Value) -> Value {
    let mut body = json!({"email": email, "password": PASSWORD, "first_name": "New",
                          "last_name": "Staff", "role": role});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn login_token(app: &TestApp, email: &str) -> Option<String> {
    let response = app.login(email, PASSWORD).await;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(body["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_owner_staffs_their_business_and_each_token_carries_where_its_holder_works() {
    let app = TestApp::start().await;
    let (cafe, store) = (Uuid::now_v7(), Uuid::now_v7());
    let owner = app
        .staff_at("owner@cafe.example", Role::Owner, Some(cafe), &[])
        .await;
    assert_eq!(claims(&owner)["biz"], cafe.to_string());

    // A cashier at one store: the business defaults to the owner's own.
    let cashier = app
        .api
        .post(
            &owner,
            "/api/v1/users/staff",
            None,
            &staff_body(
                "till@cafe.example",
                "cashier",
                json!({"store_ids": [store]}),
            ),
        )
        .await;
    assert_eq!(cashier.status(), 201);
    let token = login_token(&app, "till@cafe.example").await.unwrap();
    let claims = claims(&token);
    assert_eq!(claims["role"], "cashier");
    assert_eq!(claims["biz"], cafe.to_string());
    assert_eq!(claims["stores"], json!([store]));

    // An owner makes admins; an admin makes support and store staff but not admins.
    let admin = app
        .api
        .post(
            &owner,
            "/api/v1/users/staff",
            None,
            &staff_body("boss@cafe.example", "admin", json!({})),
        )
        .await;
    assert_eq!(admin.status(), 201);
    let admin = login_token(&app, "boss@cafe.example").await.unwrap();
    let refused = app
        .api
        .post(
            &admin,
            "/api/v1/users/staff",
            None,
            &staff_body("boss2@cafe.example", "admin", json!({})),
        )
        .await;
    assert_problem(refused, 403, "forbidden").await;

    // Roles and stores must go together.
    for (role, stores) in [("cashier", json!([])), ("support", json!([store]))] {
        let mismatched = app
            .api
            .post(
                &owner,
                "/api/v1/users/staff",
                None,
                &staff_body("odd@cafe.example", role, json!({"store_ids": stores})),
            )
            .await;
        assert_problem(mismatched, 422, "validation-error").await;
    }
    assert!(login_token(&app, "odd@cafe.example").await.is_none());
}

#[tokio::test]
async fn staff_of_one_business_create_nothing_in_another() {
    let app = TestApp::start().await;
    let (cafe, shop) = (Uuid::now_v7(), Uuid::now_v7());
    let cafe_owner = app
        .staff_at("owner@cafe.example", Role::Owner, Some(cafe), &[])
        .await;
    let cafe_cashier = app
        .staff_at(
            "till@cafe.example",
            Role::Cashier,
            Some(cafe),
            &[Uuid::now_v7()],
        )
        .await;

    let elsewhere = app
        .api
        .post(
            &cafe_owner,
            "/api/v1/users/staff",
            None,
            &staff_body("spy@shop.example", "support", json!({"business_id": shop})),
        )
        .await;
    assert_problem(elsewhere, 403, "forbidden").await;
    assert!(login_token(&app, "spy@shop.example").await.is_none());

    // A cashier manages nobody.
    let by_cashier = app
        .api
        .post(
            &cafe_cashier,
            "/api/v1/users/staff",
            None,
            &staff_body(
                "friend@cafe.example",
                "cashier",
                json!({"store_ids": [Uuid::now_v7()]}),
            ),
        )
        .await;
    assert_problem(by_cashier, 403, "forbidden").await;

    // A super admin staffs any business; super admins belong to none.
    let root = app.staff("root@example.com", Role::SuperAdmin).await;
    assert!(claims(&root).get("biz").is_none());
    let for_shop = app
        .api
        .post(
            &root,
            "/api/v1/users/staff",
            None,
            &staff_body("owner@shop.example", "owner", json!({"business_id": shop})),
        )
        .await;
    assert_eq!(for_shop.status(), 201);
    let shop_owner = login_token(&app, "owner@shop.example").await.unwrap();
    assert_eq!(claims(&shop_owner)["biz"], shop.to_string());
    let misplaced_root = app
        .api
        .post(
            &root,
            "/api/v1/users/staff",
            None,
            &staff_body(
                "root2@example.com",
                "super_admin",
                json!({"business_id": shop}),
            ),
        )
        .await;
    assert_problem(misplaced_root, 422, "validation-error").await;
}

#[tokio::test]
async fn a_partner_client_acts_in_its_business_and_other_businesses_cannot_see_or_touch_it() {
    let app = TestApp::start().await;
    let (cafe, shop) = (Uuid::now_v7(), Uuid::now_v7());
    let cafe_admin = app
        .staff_at("admin@cafe.example", Role::Admin, Some(cafe), &[])
        .await;
    let shop_admin = app
        .staff_at("admin@shop.example", Role::Admin, Some(shop), &[])
        .await;

    let created = app
        .api
        .post(
            &cafe_admin,
            "/api/v1/auth/clients",
            None,
            &json!({"name": "Cafe POS", "scopes": ["stamps:issue"]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let client: Value = created.json().await.unwrap();
    assert_eq!(client["business_id"], cafe.to_string());
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let token: Value = app
        .api
        .http
        .post(app.api.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["biz"],
        cafe.to_string()
    );

    // The shop's admin neither sees the cafe's client nor rotates or revokes it.
    let listed: Value = app
        .api
        .get(&shop_admin, "/api/v1/auth/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    let rotate = app
        .api
        .post(
            &shop_admin,
            &format!("/api/v1/auth/clients/{id}/rotate"),
            None,
            &json!({}),
        )
        .await;
    assert_problem(rotate, 404, "not-found").await;
    let revoke = app
        .delete(&shop_admin, &format!("/api/v1/auth/clients/{id}"))
        .await;
    assert_problem(revoke, 404, "not-found").await;
    let into_cafe = app
        .api
        .post(
            &shop_admin,
            "/api/v1/auth/clients",
            None,
            &json!({"name": "Spy", "scopes": ["points:read"], "business_id": cafe}),
        )
        .await;
    assert_problem(into_cafe, 403, "forbidden").await;

    // The cafe's own admin still sees it, live.
    let listed: Value = app
        .api
        .get(&cafe_admin, "/api/v1/auth/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["revoked_at"], Value::Null);
}
