//! Campaigns across the fleet on the real clock. Seed 000: a member enrols in a load-goal
//! campaign, loads money through the payment service and the PSP sandbox, the sandbox's
//! settlement file is uploaded, and after the window and the grace period the point service pays
//! the bonus. A bonus window becomes the point service's earn rule; a referral pays both members
//! once the friend's first purchase has settled.

use crate::helpers::{visa, Member, TestFleet};
use chrono::{Duration as Span, Utc};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

async fn progress(app: &TestFleet, member: &Member, campaign: &str) -> Option<Value> {
    let response = app
        .get(
            Some(&member.token),
            &format!("/api/v1/campaigns/{campaign}/progress"),
        )
        .await;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

async fn progress_when(
    app: &TestFleet,
    member: &Member,
    campaign: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    testkit::eventually(within, || async {
        Ok(progress(app, member, campaign).await.filter(|p| check(p)))
    })
    .await
    .expect("the enrolment gets where it should")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_through_the_psp_settled_by_the_sandbox_file_earns_the_campaign_bonus_once() {
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    // Seed 000 in seconds: the window and grace period run out during the test.
    let now = Utc::now();
    let created = app
        .http
        .post(app.url("/api/v1/campaigns"))
        .bearer_auth(&admin)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&json!({
            "name": "Load $500, get 2,000 points",
            "target_amount": 50_000, "currency": "AUD",
            "window_seconds": 8, "grace_seconds": 8, "reward_points": 2_000,
            "enrol_from": now - Span::hours(1), "enrol_until": now + Span::days(1),
            "publish": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let campaign: Value = created.json().await.unwrap();
    let campaign = campaign["id"].as_str().unwrap().to_owned();
    let member = app.member().await;
    let before = app.wait_for_points(&member, 0).await;
    assert_eq!(before["total_points"], 0);

    let enrolled = app
        .http
        .post(app.url(&format!("/api/v1/campaigns/{campaign}/enrolments")))
        .bearer_auth(&member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 201);

    // The load: a card payment through the PSP sandbox, seen instantly by the campaign.
    let charged = app
        .charge(
            &member.token,
            Some(&Uuid::now_v7().to_string()),
            &json!({"amount": 50_000, "currency": "AUD", "payment_method": "pm_card_visa",
                    "kind": "load"}),
        )
        .await;
    assert_eq!(charged.status(), 201);
    let charge: Value = charged.json().await.unwrap();
    let achieved = progress_when(&app, &member, &campaign, Duration::from_secs(5), |p| {
        p["state"] == "goal_achieved"
    })
    .await;
    assert_eq!(achieved["instant_total"], 50_000);
    assert_eq!(achieved["settled_total"], 0);

    // The processor's nightly file, as the sandbox writes it, uploaded by the admin.
    let file = app
        .http
        .get(format!(
            "{}/sandbox/settlements/file",
            app.fleet().urls.psp_sandbox
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(file.contains(charge["id"].as_str().unwrap()), "{file}");
    let uploaded = app
        .http
        .post(app.url("/api/v1/campaigns/settlements"))
        .bearer_auth(&admin)
        .header("Content-Type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let report: Value = uploaded.json().await.unwrap();
    assert!(report["settled_instant"].as_u64().unwrap() >= 1, "{report}");
    let settled = progress(&app, &member, &campaign).await.unwrap();
    assert_eq!(settled["settled_total"], 50_000);

    // Window and grace run out; the point service pays the bonus once.
    let completed = progress_when(&app, &member, &campaign, Duration::from_secs(40), |p| {
        p["state"] == "completed"
    })
    .await;
    assert!(completed["reward_transaction_id"].is_string());
    let after = app.wait_for_points(&member, 2_000).await;
    assert_eq!(after["total_points"], 2_000);
    let history: Value = app
        .get(
            Some(&member.token),
            &format!("/api/v1/points/{}/transactions", member.id),
        )
        .await
        .json()
        .await
        .unwrap();
    let bonuses = history["items"]
        .as_array()
        .map(|items| items.iter().filter(|e| e["source"] == "campaign").count());
    assert_eq!(bonuses, Some(1), "{history}");
    app.stop().await;
}

async fn create(app: &TestFleet, admin: &str, body: Value) -> String {
    let created = app
        .http
        .post(app.url("/api/v1/campaigns"))
        .bearer_auth(admin)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let campaign: Value = created.json().await.unwrap();
    campaign["id"].as_str().unwrap().to_owned()
}

/// A $100 card purchase: 100 points at the base tier.
async fn buy_for_100(app: &TestFleet, member: &Member) {
    let charged = app
        .charge(
            &member.token,
            Some(&Uuid::now_v7().to_string()),
            &visa(10_000),
        )
        .await;
    assert_eq!(charged.status(), 201);
}

/// The point service's earn rule made from the campaign, once `check` holds.
async fn campaign_rule(
    app: &TestFleet,
    admin: &str,
    campaign: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    testkit::eventually(Duration::from_secs(10), || async {
        let rules: Value = app
            .get(Some(admin), "/api/v1/points/rules")
            .await
            .json()
            .await?;
        Ok(rules
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["campaign_id"] == campaign))
            .filter(|r| check(r))
            .cloned())
    })
    .await
    .expect("the point service applies the campaign as an earn rule")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bonus_window_doubles_purchase_points_until_an_admin_ends_it() {
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let now = Utc::now();
    let campaign = create(
        &app,
        &admin,
        json!({
            "name": "Double points week", "kind": "bonus_window",
            "bonus": { "multiplier_bp": 200 },
            "enrol_from": now - Span::minutes(1), "enrol_until": now + Span::days(7),
            "publish": true,
        }),
    )
    .await;
    let rule = campaign_rule(&app, &admin, &campaign, |_| true).await;
    assert_eq!(rule["multiplier_bp"], 200);

    let during = app.member().await;
    buy_for_100(&app, &during).await;
    app.wait_for_points(&during, 200).await;

    // Ended early: the rule ends when the campaign did; purchases after that earn the base.
    let ended = app
        .http
        .post(app.url(&format!("/api/v1/campaigns/{campaign}/end")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    campaign_rule(&app, &admin, &campaign, |r| {
        r["ends_at"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok())
            .is_some_and(|t| t <= Utc::now())
    })
    .await;
    let after = app.member().await;
    buy_for_100(&app, &after).await;
    app.wait_for_points(&after, 100).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referred_friends_first_purchase_settles_and_both_members_earn_once() {
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let now = Utc::now();
    let campaign = create(
        &app,
        &admin,
        json!({
            "name": "Bring a friend", "kind": "referral",
            "referral": {
                "referrer_points": 500, "referee_points": 250,
                "min_purchase_amount": 5_000, "currency": "AUD",
                "purchase_within_seconds": 3_600, "settle_seconds": 3,
                "max_per_referrer": 3,
            },
            "enrol_from": now - Span::minutes(1), "enrol_until": now + Span::days(7),
            "publish": true,
        }),
    )
    .await;
    let referrer = app.member().await;
    let friend = app.member().await;
    let code: Value = app
        .http
        .post(app.url(&format!("/api/v1/campaigns/{campaign}/referral-code")))
        .bearer_auth(&referrer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = code["code"].as_str().unwrap().to_owned();
    // The friend's registration reaches the rewards service by event: claim once it has.
    let referral: Value = testkit::eventually(Duration::from_secs(10), || async {
        let response = app
            .http
            .post(app.url(&format!("/api/v1/campaigns/{campaign}/referrals")))
            .bearer_auth(&friend.token)
            .json(&json!({ "code": code }))
            .send()
            .await?;
        Ok(if response.status() == 201 {
            Some(response.json::<Value>().await?)
        } else {
            None
        })
    })
    .await
    .expect("the friend claims the code");
    let referral = referral["referral_id"].as_str().unwrap().to_owned();

    buy_for_100(&app, &friend).await;
    app.wait_for_points(&friend, 100 + 250).await;
    app.wait_for_points(&referrer, 500).await;
    testkit::eventually(Duration::from_secs(10), || async {
        let seen: Value = app
            .get(
                Some(&referrer.token),
                &format!("/api/v1/campaigns/{campaign}/referrals/{referral}"),
            )
            .await
            .json()
            .await?;
        Ok((seen["state"] == "completed").then_some(()))
    })
    .await
    .expect("the referral completes once both are paid");
    app.stop().await;
}
