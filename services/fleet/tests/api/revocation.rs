//! Tokens are verified locally by every service, yet an erased member's or a revoked partner's
//! access token stops working everywhere within seconds, not when it expires.

use crate::helpers::*;
use std::time::Duration;

/// Waits until `attempt` answers 401 (each service copies revocations once a second), then
/// checks that it stays refused.
async fn refused_within_seconds<F, Fut>(what: &str, attempt: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    testkit::eventually(Duration::from_secs(5), || async {
        Ok((attempt().await.status() == 401).then_some(()))
    })
    .await
    .unwrap_or_else(|_| panic!("{what} was not refused within seconds"));
    assert_eq!(attempt().await.status(), 401, "{what} stays refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_members_token_can_no_longer_pay_or_read() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    assert_eq!(
        app.charge(&member.token, Some("before-erasure"), &visa(1500))
            .await
            .status(),
        201
    );
    assert_eq!(app.erase(&member).await.status(), 204);

    let attempt = std::sync::atomic::AtomicU32::new(0);
    let (fleet, token) = (&app, &member.token);
    refused_within_seconds("a charge with the erased member's token", || {
        let n = attempt.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let key = format!("after-erasure-{n}");
        async move { fleet.charge(token, Some(&key), &visa(1500)).await }
    })
    .await;
    refused_within_seconds("a balance read with the erased member's token", || {
        app.balance(&member.token, member.id)
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_partner_clients_token_stops_working_everywhere() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    let admin = app.admin_token().await;
    let (client_id, partner) = app.partner_client(&admin, &["points:read"]).await;
    // Authorized: the new member simply has no points account yet.
    assert_eq!(app.balance(&partner, member.id).await.status(), 404);

    let revoked = app
        .http
        .delete(app.url(&format!("/api/v1/auth/clients/{client_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    refused_within_seconds("the revoked partner's token", || {
        app.balance(&partner, member.id)
    })
    .await;
    app.stop().await;
}
