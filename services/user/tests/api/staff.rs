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
        .api
        .post(
            &admin,
            "/api/v1/users/staff",
            None,
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
        .api
        .post(
            &admin,
            "/api/v1/users/staff",
            None,
            &staff_body("a2@example.com", "admin"),
        )
        .await;
    assert_problem(refused, 403, "forbidden").await;
    let by_member = app
        .api
        .post(
            member,
            "/api/v1/users/staff",
            None,
            &staff_body("x@example.com", "support"),
        )
        .await;
    assert_problem(by_member, 403, "forbidden").await;
    let customer = app
        .api
        .post(
            &root,
            "/api/v1/users/staff",
            None,
            &staff_body("c@example.com", "customer"),
        )
        .await;
    assert_problem(customer, 422, "validation-error").await;
    let by_root = app
        .api
        .post(
            &root,
            "/api/v1/users/staff",
            None,
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

    let ada_path = format!("/api/v1/users/{ada_id}");
    assert_eq!(
        app.api
            .get(ada["access_token"].as_str().unwrap(), &ada_path)
            .await
            .status(),
        200
    );
    assert_problem(app.api.get(bob_token, &ada_path).await, 403, "forbidden").await;
    let read: Value = app.api.get(&support, &ada_path).await.json().await.unwrap();
    assert_eq!(read["email"], "ada@example.com");
}
