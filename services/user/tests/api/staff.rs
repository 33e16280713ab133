use crate::helpers::{assert_problem, TestApp, PASSWORD};
use auth::Role;
use serde_json::{json, Value};

fn staff_body(email: &str, role: &str) -> Value {
    json!({"email": email, "password": PASSWORD, "first_name": "New", "last_name": "Staff", "role": role})
}

#[tokio::test]
async fn admins_create_support_staff_and_only_super_admins_create_admins() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let root = app.staff("root@example.com", Role::SuperAdmin).await;
    let member = app.member("m@example.com").await;
    let member = member["access_token"].as_str().unwrap();

    let support = app
        .post(
            "/api/v1/users/staff",
            Some(&admin),
            &staff_body("s@example.com", "support"),
        )
        .await;
    assert_eq!(support.status(), 201);
    let created: Value = support.json().await.unwrap();
    assert_eq!(created["role"], "support");
    let login: Value = app
        .login("s@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["user"]["role"], "support");

    let refused = app
        .post(
            "/api/v1/users/staff",
            Some(&admin),
            &staff_body("a2@example.com", "admin"),
        )
        .await;
    assert_problem(refused, 403, "forbidden").await;
    let by_member = app
        .post(
            "/api/v1/users/staff",
            Some(member),
            &staff_body("x@example.com", "support"),
        )
        .await;
    assert_problem(by_member, 403, "forbidden").await;
    let customer = app
        .post(
            "/api/v1/users/staff",
            Some(&root),
            &staff_body("c@example.com", "customer"),
        )
        .await;
    assert_problem(customer, 422, "validation-error").await;
    let by_root = app
        .post(
            "/api/v1/users/staff",
            Some(&root),
            &staff_body("a2@example.com", "admin"),
        )
        .await;
    assert_eq!(by_root.status(), 201);
}

#[tokio::test]
async fn members_read_only_themselves_and_support_reads_anyone() {
    let app = TestApp::start().await;
    let support = app.staff("support@example.com", Role::Support).await;
    let ada = app.member("ada@example.com").await;
    let bob = app.member("bob@example.com").await;
    let ada_id = ada["user"]["id"].as_str().unwrap();
    let bob_token = bob["access_token"].as_str().unwrap();

    assert_eq!(
        app.get(
            &format!("/api/v1/users/{ada_id}"),
            ada["access_token"].as_str().unwrap()
        )
        .await
        .status(),
        200
    );
    assert_problem(
        app.get(&format!("/api/v1/users/{ada_id}"), bob_token).await,
        403,
        "forbidden",
    )
    .await;
    let read: Value = app
        .get(&format!("/api/v1/users/{ada_id}"), &support)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["email"], "ada@example.com");
}
