//! A partner client created by an admin, exchanging its key for a scoped token through the
//! edge, and every service enforcing those scopes on its own.

use crate::helpers::*;
use serde_json::json;

async fn partner_token(app: &TestFleet, admin: &str, scopes: &[&str]) -> String {
    app.partner_client(admin, scopes).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_enforces_the_partner_token_scopes() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    let admin = app.admin_token().await;
    let catalog_only = partner_token(&app, &admin, &["rewards:read"]).await;
    let balance_reader = partner_token(&app, &admin, &["points:read"]).await;

    // rewards:read opens the catalog and nothing else.
    assert_eq!(
        app.get(Some(&catalog_only), "/api/v1/rewards")
            .await
            .status(),
        200
    );
    assert_problem(
        app.balance(&catalog_only, member.id).await,
        403,
        "forbidden",
    )
    .await;
    let charge = app
        .charge(&catalog_only, Some("partner-1"), &visa(1000))
        .await;
    assert_problem(charge, 403, "forbidden").await;

    // points:read reads balances, not the catalog.
    // (The member's account opens when user.registered reaches the point service.)
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        Ok((app.balance(&balance_reader, member.id).await.status() == 200).then_some(()))
    })
    .await
    .expect("a points:read partner reads the balance");
    assert_problem(
        app.get(Some(&balance_reader), "/api/v1/rewards").await,
        403,
        "forbidden",
    )
    .await;

    // A partner token is not a staff token.
    let staff_only = app
        .http
        .post(app.url("/api/v1/auth/clients"))
        .bearer_auth(&balance_reader)
        .json(&json!({ "name": "Escalation", "scopes": ["payments:write"] }))
        .send()
        .await
        .unwrap();
    assert_problem(staff_only, 403, "forbidden").await;
    app.stop().await;
}
