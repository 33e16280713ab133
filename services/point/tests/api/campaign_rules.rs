//! Bonus windows of the rewards service's campaigns (`campaign.bonus_window_changed`) as earn
//! rules: purchases inside a window at its store and category earn the bonus, later revisions
//! move its end, and staff cannot change a campaign's rule.

use crate::helpers::{assert_problem, TestApp};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use events::proto::{CampaignBonusWindowChanged, OrderCompleted};
use events::{topics, OutgoingEvent};
use prost::Message;
use serde_json::{json, Value};
use uuid::Uuid;

const STORE: &str = "store-7";
const CATEGORY: &str = "coffee";

/// A double-points window for coffee at store 7.
fn window(
    campaign: Uuid,
    revision: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> CampaignBonusWindowChanged {
    CampaignBonusWindowChanged {
        campaign_id: campaign.to_string(),
        campaign_name: "Double points on coffee at store 7".into(),
        multiplier_bp: 200,
        bonus_points: 0,
        store_id: STORE.into(),
        category: CATEGORY.into(),
        starts_at: Some(events::proto_timestamp(starts_at)),
        ends_at: Some(events::proto_timestamp(ends_at)),
        revision,
    }
}

/// A window of another campaign, at a store no purchase here is made at: sent after others on
/// the same key, it is live once they were handled.
fn marker(campaign: Uuid) -> CampaignBonusWindowChanged {
    CampaignBonusWindowChanged {
        store_id: "marker-store".into(),
        ..window(campaign, 1, now(), now() + Duration::days(1))
    }
}

/// Publishes a window of `business` as the rewards service's relay does, in a new envelope
/// each time. Every window of a test goes under one key, so onto one partition: the point
/// service applies them in the order they were sent.
async fn publish(app: &TestApp, business: Uuid, key: Uuid, window: &CampaignBonusWindowChanged) {
    let event = OutgoingEvent::new(
        "rewards",
        topics::CAMPAIGN_BONUS_WINDOW_CHANGED,
        key,
        window,
    )
    .in_business(business);
    app.infra
        .kafka_settings()
        .producer("test")
        .unwrap()
        .send(
            rdkafka::producer::FutureRecord::to(topics::CAMPAIGN_BONUS_WINDOW_CHANGED)
                .key(&key.to_string())
                .payload(&event.envelope.encode_to_vec()),
            std::time::Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the mock broker takes the event");
}

/// Every version of the campaign's rule, as staff list them.
async fn versions(app: &TestApp, campaign: Uuid) -> Vec<Value> {
    let all: Vec<Value> = app
        .api
        .get(&app.admin, "/api/v1/points/rules?include_retired=true")
        .await
        .json()
        .await
        .unwrap();
    all.into_iter()
        .filter(|rule| rule["campaign_id"] == campaign.to_string())
        .collect()
}

/// Waits until the campaign's live rule satisfies `check`, and returns it.
async fn wait_for_rule(app: &TestApp, campaign: Uuid, check: impl Fn(&Value) -> bool) -> Value {
    testkit::eventually(std::time::Duration::from_secs(15), || async {
        let live = versions(app, campaign)
            .await
            .into_iter()
            .find(|rule| rule["retired_at"].is_null());
        Ok(live.filter(|rule| check(rule)))
    })
    .await
    .expect("the campaign's rule reached the expected state")
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// What a member earns for a $100 partner order (100 points at the base rate) placed at
/// `occurred_at` in `store`, in `category`.
async fn order_points(
    app: &TestApp,
    store: &str,
    category: &str,
    occurred_at: DateTime<Utc>,
) -> i64 {
    let member = app.member().await.id;
    let order = OrderCompleted {
        order_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        amount: 10000,
        currency: "AUD".into(),
        partner_id: "partner-1".into(),
        store_id: store.into(),
        category: category.into(),
    };
    app.infra
        .publish_at(topics::ORDER_COMPLETED, member, &order, occurred_at)
        .await;
    let balance = app
        .wait_for(member, |b| b["total_points"].as_i64() > Some(0))
        .await;
    balance["total_points"].as_i64().unwrap()
}

/// Now, to the second: what Postgres keeps of a time is then exactly what was sent.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bonus_window_doubles_purchases_at_its_store_and_category_inside_it() {
    let app = TestApp::start().await;
    let campaign = Uuid::now_v7();
    let (starts, ends) = (now() - Duration::days(10), now() + Duration::days(10));
    let published = window(campaign, 1, starts, ends);
    // The same window twice, in two envelopes: the inbox cannot tell them apart, the revision can.
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    let handled = Uuid::now_v7();
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &marker(handled)).await;
    wait_for_rule(&app, handled, |_| true).await;
    let versions = versions(&app, campaign).await;
    assert_eq!(versions.len(), 1, "one rule for the campaign: {versions:?}");
    let rule = &versions[0];
    assert_eq!(rule["retired_at"], Value::Null);
    assert_eq!(rule["name"], "Double points on coffee at store 7");
    assert_eq!(rule["multiplier_bp"], 200);
    assert_eq!(
        (rule["store_id"].as_str(), rule["category"].as_str()),
        (Some(STORE), Some(CATEGORY))
    );
    assert_eq!(
        (at(&rule["starts_at"]), at(&rule["ends_at"])),
        (starts, ends)
    );

    let inside = now() - Duration::days(1);
    assert_eq!(order_points(&app, STORE, CATEGORY, inside).await, 200);
    assert_eq!(
        order_points(&app, "store-8", CATEGORY, inside).await,
        100,
        "another store"
    );
    assert_eq!(
        order_points(&app, STORE, "tea", inside).await,
        100,
        "another category"
    );
    assert_eq!(
        order_points(&app, STORE, CATEGORY, starts - Duration::days(1)).await,
        100,
        "before the window"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_window_early_stops_the_bonus_and_an_older_revision_changes_nothing() {
    let app = TestApp::start().await;
    let campaign = Uuid::now_v7();
    let starts = now() - Duration::days(10);
    let (planned_end, early_end) = (now() + Duration::days(10), now() - Duration::days(5));
    let published = window(campaign, 1, starts, planned_end);
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    let first = wait_for_rule(&app, campaign, |_| true).await;

    let ended = window(campaign, 2, starts, early_end);
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &ended).await;
    let second = wait_for_rule(&app, campaign, |r| at(&r["ends_at"]) == early_end).await;
    assert_eq!(second["replaces"], first["id"]);

    // Revision 1 once more, late (a redelivery after the end moved).
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    let handled = Uuid::now_v7();
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &marker(handled)).await;
    wait_for_rule(&app, handled, |_| true).await;
    let live = wait_for_rule(&app, campaign, |_| true).await;
    assert_eq!(
        live["id"], second["id"],
        "the older revision changed nothing"
    );
    assert_eq!(at(&live["ends_at"]), early_end);
    assert_eq!(versions(&app, campaign).await.len(), 2);

    assert_eq!(
        order_points(&app, STORE, CATEGORY, early_end - Duration::days(2)).await,
        200,
        "before the new end"
    );
    assert_eq!(
        order_points(&app, STORE, CATEGORY, early_end + Duration::days(2)).await,
        100,
        "after the new end, before the planned one"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_of_businesses_without_points_and_invalid_windows_make_no_rule() {
    let app = TestApp::start().await;
    let (starts, ends) = (now() - Duration::days(1), now() + Duration::days(1));
    let key = Uuid::now_v7();
    let elsewhere = Uuid::now_v7();
    publish(
        &app,
        Uuid::now_v7(),
        key,
        &window(elsewhere, 1, starts, ends),
    )
    .await;
    let invalid = Uuid::now_v7();
    let less_than_nothing = CampaignBonusWindowChanged {
        multiplier_bp: 50,
        ..window(invalid, 1, starts, ends)
    };
    publish(&app, kernel::DEMO_BUSINESS_ID, key, &less_than_nothing).await;
    let handled = Uuid::now_v7();
    publish(&app, kernel::DEMO_BUSINESS_ID, key, &marker(handled)).await;
    wait_for_rule(&app, handled, |_| true).await;

    let campaigns: Vec<Option<Uuid>> =
        sqlx::query_scalar("SELECT campaign_id FROM earn_rules WHERE campaign_id IS NOT NULL")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(campaigns, vec![Some(handled)]);
    let parked = testkit::read_topic(
        &app.infra.brokers(),
        &topics::dead_letter(
            topics::CAMPAIGN_BONUS_WINDOW_CHANGED,
            point_service::SERVICE,
        ),
        1,
        std::time::Duration::from_secs(15),
    )
    .unwrap();
    assert_eq!(parked.len(), 1, "the invalid window was dead-lettered");
    let envelope = events::proto::Envelope::decode(parked[0].payload.as_deref().unwrap()).unwrap();
    let parked_window = CampaignBonusWindowChanged::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(parked_window.campaign_id, invalid.to_string());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_a_campaigns_rule_but_cannot_change_or_retire_it() {
    let app = TestApp::start().await;
    let campaign = Uuid::now_v7();
    let published = window(campaign, 1, now(), now() + Duration::days(7));
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    let rule = wait_for_rule(&app, campaign, |_| true).await;
    let staff_rule: Value = app
        .api
        .post(
            &app.admin,
            "/api/v1/points/rules",
            None,
            &json!({"name": "Bonus at store 9", "bonus_points": 10, "store_id": "store-9"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_rule["campaign_id"], Value::Null);

    let path = format!("/api/v1/points/rules/{}", rule["id"].as_str().unwrap());
    let triple = json!({"name": "Triple points", "multiplier_bp": 300});
    assert_problem(
        app.put(&app.admin, &path, &triple).await,
        409,
        "rule-owned-by-campaign",
    )
    .await;
    assert_problem(
        app.api.delete(&app.admin, &path).await,
        409,
        "rule-owned-by-campaign",
    )
    .await;

    let listed: Vec<Value> = app
        .api
        .get(&app.admin, "/api/v1/points/rules")
        .await
        .json()
        .await
        .unwrap();
    let by_campaign: Vec<(&Value, &Value)> = listed
        .iter()
        .map(|r| (&r["id"], &r["campaign_id"]))
        .collect();
    assert_eq!(
        by_campaign,
        vec![
            (&rule["id"], &json!(campaign.to_string())),
            (&staff_rule["id"], &Value::Null)
        ],
        "the campaign's rule, unchanged and still live, and the staff rule"
    );
    assert_eq!(rule["created_by"], Uuid::nil().to_string());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_ended_before_it_began_withdraws_the_campaigns_rule() {
    let app = TestApp::start().await;
    let campaign = Uuid::now_v7();
    let starts = now() + Duration::days(3);
    let published = window(campaign, 1, starts, starts + Duration::days(2));
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &published).await;
    wait_for_rule(&app, campaign, |_| true).await;

    // Ended while still scheduled: its end is before its start.
    let ended = window(campaign, 2, starts, now());
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &ended).await;
    let handled = Uuid::now_v7();
    publish(&app, kernel::DEMO_BUSINESS_ID, campaign, &marker(handled)).await;
    wait_for_rule(&app, handled, |_| true).await;
    let all = versions(&app, campaign).await;
    assert_eq!(all.len(), 1, "no replacement");
    assert!(!all[0]["retired_at"].is_null(), "the rule is retired");
    assert_eq!(
        order_points(&app, STORE, CATEGORY, starts + Duration::days(1)).await,
        100,
        "no bonus inside the window that never opened"
    );
    app.stop().await;
}
