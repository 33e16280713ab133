//! Redemptions and earns are limited per caller and minute, answered with 429 and Retry-After.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_and_earns_over_the_limit_are_refused_per_caller() {
    let app = TestApp::start_with(|settings| {
        settings.rate_limit.member_per_minute = 2;
        settings.rate_limit.partner_per_minute = 4;
    })
    .await;
    let member = app.member().await;
    assert_eq!(
        app.earn_points(member.id, 1_000, "order-1").await.status(),
        201
    );
    let redeem = |key: &'static str| app.redeem(&member, key, 10);
    assert_eq!(redeem("r1").await.status(), 201);
    assert_eq!(redeem("r2").await.status(), 201);
    let refused = redeem("r3").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 429, "rate-limited").await;

    // The partner has its own, larger budget: three more earns pass, the fifth is refused.
    for n in 2..=4 {
        let reference = format!("order-{n}");
        assert_eq!(
            app.earn_points(member.id, 5, &reference).await.status(),
            201
        );
    }
    let refused = app.earn_points(member.id, 5, "order-5").await;
    assert_problem(refused, 429, "rate-limited").await;

    let balance = app.balance(member.id).await;
    assert_eq!(balance["total_points"], 1_000 + 3 * 5 - 2 * 10, "{balance}");
}
