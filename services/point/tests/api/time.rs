//! Expiry, warnings and tiers: the scheduled jobs run at chosen times.

use crate::helpers::{assert_problem, earn_path, TestApp};
use chrono::{Duration, Months, Utc};
use events::proto::{PointsExpiring, TierChanged};
use events::topics;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_expire_oldest_first_after_twelve_months_with_a_warning_before() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 100, "old").await;
    app.earn_points(member.id, 40, "newer").await;
    // The first lot was earned two months before the second.
    sqlx::query("UPDATE point_lots SET earned_at = earned_at - interval '2 months', expires_at = expires_at - interval '2 months' WHERE member_id = $1 AND points = 100")
        .bind(member.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let redeem = app.redeem(&member, "r", 30).await;
    assert_eq!(redeem.status(), 201);

    // 25 days before the old lot expires (in 10 months): a warning, once.
    let warn_at = Utc::now().checked_add_months(Months::new(10)).unwrap() - Duration::days(25);
    let report = point_service::core::scheduler::run_once(&app.pool, warn_at)
        .await
        .unwrap();
    assert_eq!((report.expiry_warnings, report.expired_points), (1, 0));
    assert_eq!(
        point_service::core::scheduler::run_once(&app.pool, warn_at)
            .await
            .unwrap()
            .expiry_warnings,
        0
    );
    let warnings: Vec<PointsExpiring> = app.infra.published(topics::POINTS_EXPIRING, 1).await;
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].member_id, member.id.to_string());

    // After it expires: the 70 left of the old lot go, the newer 40 stay.
    let after = Utc::now().checked_add_months(Months::new(10)).unwrap() + Duration::days(1);
    let report = point_service::core::scheduler::run_once(&app.pool, after)
        .await
        .unwrap();
    assert_eq!(report.expired_points, 70);
    let balance = app.balance(member.id).await;
    assert_eq!(balance["total_points"], 40);
    app.assert_ledger_consistent(member.id).await;
    let again = point_service::core::scheduler::run_once(&app.pool, after)
        .await
        .unwrap();
    assert_eq!(again.expired_points, 0, "expiry runs are idempotent");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_never_takes_held_points() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 100, "r").await;
    let hold = app
        .api
        .post(
            &member.token,
            &format!("/api/v1/points/{}/holds", member.id),
            Some("h"),
            &json!({"points": 60, "expires_in": 86400}),
        )
        .await;
    assert_eq!(hold.status(), 201);
    let later = Utc::now().checked_add_months(Months::new(13)).unwrap();
    sqlx::query("UPDATE holds SET expires_at = $1 + interval '1 hour'")
        .bind(later)
        .execute(&app.pool)
        .await
        .unwrap();
    let report = point_service::core::scheduler::run_once(&app.pool, later)
        .await
        .unwrap();
    assert_eq!(report.expired_points, 40);
    assert_eq!(app.balance(member.id).await["available_points"], 0);
    app.assert_ledger_consistent(member.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_nobody_settles_expires_by_itself() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 100, "r").await;
    app.api
        .post(
            &member.token,
            &format!("/api/v1/points/{}/holds", member.id),
            Some("h"),
            &json!({"points": 60, "expires_in": 60}),
        )
        .await;
    assert_eq!(app.balance(member.id).await["available_points"], 40);
    let report =
        point_service::core::scheduler::run_once(&app.pool, Utc::now() + Duration::minutes(2))
            .await
            .unwrap();
    assert_eq!(report.expired_holds, 1);
    assert_eq!(app.balance(member.id).await["available_points"], 100);
    app.assert_ledger_consistent(member.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_go_up_at_once_and_down_only_at_the_end_of_the_period() {
    let app = TestApp::start().await;
    let member = app.member().await;
    // 1,000.00 AUD in 12 months is SILVER (seed 003's thresholds).
    assert_eq!(
        app.earn_amount(member.id, 100_000, "big").await.status(),
        201
    );
    let balance = app.balance(member.id).await;
    assert_eq!(balance["tier"], "SILVER");
    assert_eq!(balance["tier_multiplier"], 1.25);
    assert_eq!(balance["next_tier"]["tier"], "GOLD");
    assert_eq!(balance["next_tier"]["spend_needed"], 400_000);
    // The next purchase earns at the new multiplier.
    let next: serde_json::Value = app
        .earn_amount(member.id, 10_000, "next")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["points"], 125);
    let upgrades: Vec<TierChanged> = app.infra.published(topics::TIER_UPGRADED, 1).await;
    assert_eq!(upgrades.len(), 1);
    assert_eq!(
        (upgrades[0].member_id.as_str(), upgrades[0].to_tier.as_str()),
        (member.id.to_string().as_str(), "SILVER")
    );

    // Mid-period, nothing moves; after the period, with no spend in the last 12 months, BRONZE.
    point_service::core::scheduler::run_once(&app.pool, Utc::now() + Duration::days(200))
        .await
        .unwrap();
    assert_eq!(app.balance(member.id).await["tier"], "SILVER");
    let report = point_service::core::scheduler::run_once(
        &app.pool,
        Utc::now().checked_add_months(Months::new(13)).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(report.tiers_reviewed, 1);
    assert_eq!(app.balance(member.id).await["tier"], "BRONZE");
    app.stop().await;
}

#[tokio::test]
async fn a_purchase_counts_towards_tiers_for_exactly_twelve_months() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let year_ago = Utc::now().checked_sub_months(Months::new(12)).unwrap();
    let earn_dated = |reference: &'static str, occurred_at: chrono::DateTime<Utc>| {
        let body = json!({"amount": 30_000, "currency": "AUD", "source": "shop",
                          "reference_id": reference, "occurred_at": occurred_at});
        let (app, path) = (&app, earn_path(member.id));
        async move { app.api.post(&app.partner, &path, None, &body).await }
    };
    // A purchase made 12 months ago less 3 seconds, reported late, and one made now.
    let old = earn_dated("last-year", year_ago + Duration::seconds(3)).await;
    assert_eq!(old.status(), 201);
    assert_eq!(
        app.earn_amount(member.id, 20_000, "today").await.status(),
        201
    );
    let balance = app.balance(member.id).await;
    assert_eq!(balance["qualifying_spend"], 50_000);
    assert_eq!(balance["next_tier"]["spend_needed"], 50_000);
    // A few seconds on, the old purchase has left the window.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let balance = app.balance(member.id).await;
    assert_eq!(balance["qualifying_spend"], 20_000);
    assert_eq!(balance["next_tier"]["spend_needed"], 80_000);
    // One older than the window is refused.
    let too_old = earn_dated("too-old", year_ago - Duration::seconds(1)).await;
    assert_problem(too_old, 422, "validation-error").await;
    // Earning again keeps the total right.
    assert_eq!(
        app.earn_amount(member.id, 5_000, "later").await.status(),
        201
    );
    assert_eq!(app.balance(member.id).await["qualifying_spend"], 25_000);
}

#[tokio::test]
async fn an_admin_overrides_a_tier_with_a_reason_and_an_expiry() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let path = format!("/api/v1/points/{}/tier-override", member.id);
    let expires = (Utc::now() + Duration::days(30)).to_rfc3339();
    assert_problem(
        app.put(
            &app.support,
            &path,
            &json!({"tier": "GOLD", "reason": "VIP", "expires_at": expires}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.put(&app.admin, &path, &json!({"tier": "GOLD"})).await,
        422,
        "validation-error",
    )
    .await;
    assert_problem(
        app.put(
            &app.admin,
            &path,
            &json!({"tier": "DIAMOND", "reason": "VIP", "expires_at": expires}),
        )
        .await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(
        app.put(
            &app.admin,
            &path,
            &json!({"tier": "GOLD", "reason": "VIP guest", "expires_at": expires})
        )
        .await
        .status(),
        204
    );
    let balance = app.balance(member.id).await;
    assert_eq!(balance["tier"], "GOLD");
    assert_eq!(balance["tier_override_reason"], "VIP guest");
    let earned: serde_json::Value = app
        .earn_amount(member.id, 10_000, "p")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        earned["points"], 150,
        "GOLD earns 1.5x while the override lasts"
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'tier.override'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    sqlx::query("UPDATE accounts SET override_expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.balance(member.id).await["tier"],
        "BRONZE",
        "an expired override ends by itself"
    );
}
