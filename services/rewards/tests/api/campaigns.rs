//! Goal campaigns (seed 000) in the rewards service, on a clock the tests move. The payment and
//! point services are played on the broker: card loads, withdrawals and the points' payment.

use crate::helpers::*;
use auth::Role;
use chrono::{DateTime, Duration, Utc};
use events::proto::{
    CampaignCompleted, CampaignDisqualified, CampaignGoalAchieved, CampaignRewardDue,
    ChargeSucceeded, PointsEarned, UserRegistered, WithdrawalRecorded,
};
use events::topics;
use rewards_service::core::clock::ManualClock;
use serde_json::{json, Value};
use testkit::{assert_problem, eventually, ServiceHost};
use uuid::Uuid;

const WINDOW: i64 = 30 * 86_400;
const GRACE: i64 = 48 * 3_600;
const HEADER: &str = "transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on";

/// Seed 000's campaign: $1,000 in 30 days, 48 hours of grace, 2,000 points; running now.
fn seed_campaign(now: DateTime<Utc>) -> Value {
    json!({
        "name": "Load $1,000, get 2,000 points",
        "target_amount": 100_000,
        "currency": "AUD",
        "window_seconds": WINDOW,
        "grace_seconds": GRACE,
        "reward_points": 2_000,
        "enrol_from": now - Duration::hours(1),
        "enrol_until": now + Duration::days(60),
        "publish": true,
    })
}

pub(crate) async fn create_campaign(app: &ServiceHost, admin: &str, body: Value) -> Uuid {
    let key = Uuid::now_v7().to_string();
    let created = app
        .api
        .post(admin, "/api/v1/campaigns", Some(&key), &body)
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn enrol(app: &ServiceHost, token: &str, campaign: Uuid) -> Value {
    let enrolled = app
        .api
        .post(
            token,
            &format!("/api/v1/campaigns/{campaign}/enrolments"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(enrolled.status(), 201);
    enrolled.json().await.unwrap()
}

async fn progress(app: &ServiceHost, token: &str, campaign: Uuid) -> Value {
    let response = app
        .api
        .get(token, &format!("/api/v1/campaigns/{campaign}/progress"))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The member's progress once `check` holds.
async fn progress_when(
    app: &ServiceHost,
    token: &str,
    campaign: Uuid,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(std::time::Duration::from_secs(15), || async {
        let response = app
            .api
            .get(token, &format!("/api/v1/campaigns/{campaign}/progress"))
            .await;
        if response.status() != 200 {
            return Ok(None);
        }
        let p: Value = response.json().await?;
        Ok(check(&p).then_some(p))
    })
    .await
    .unwrap_or_else(|_| panic!("the enrolment gets to: {what}"))
}

async fn in_state(app: &ServiceHost, token: &str, campaign: Uuid, state: &str) -> Value {
    progress_when(app, token, campaign, state, |p| p["state"] == state).await
}

/// Several timer sweeps pass (they run every 50 ms), for asserting that nothing moved.
pub(crate) async fn let_timers_run() {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

/// A card load the payment service charged now.
async fn load(app: &ServiceHost, member: Uuid, amount: i64) -> Uuid {
    load_at(app, member, amount, Utc::now()).await
}

/// A card load that happened at `at` (its event may arrive later).
async fn load_at(app: &ServiceHost, member: Uuid, amount: i64, at: DateTime<Utc>) -> Uuid {
    let charge = Uuid::now_v7();
    app.infra
        .publish_at(
            topics::CHARGE_SUCCEEDED,
            member,
            &ChargeSucceeded {
                charge_id: charge.to_string(),
                member_id: member.to_string(),
                amount,
                currency: "AUD".into(),
                kind: "load".into(),
                psp: "stripe".into(),
                ..Default::default()
            },
            at,
        )
        .await;
    charge
}

async fn withdraw_at(app: &ServiceHost, member: Uuid, amount: i64, at: DateTime<Utc>) {
    app.infra
        .publish_at(
            topics::WITHDRAWAL_RECORDED,
            member,
            &WithdrawalRecorded {
                withdrawal_id: Uuid::now_v7().to_string(),
                member_id: member.to_string(),
                amount,
                currency: "AUD".into(),
            },
            at,
        )
        .await;
}

/// The point service's confirmation that it paid the enrolment's points.
async fn points_paid(app: &ServiceHost, member: Uuid, enrolment: &str) -> String {
    let transaction = Uuid::now_v7().to_string();
    app.infra
        .publish(
            topics::POINTS_EARNED,
            member,
            &PointsEarned {
                transaction_id: transaction.clone(),
                member_id: member.to_string(),
                points: 2_000,
                source: "campaign".into(),
                reference_id: format!("{enrolment}/{member}"),
                ..Default::default()
            },
        )
        .await;
    transaction
}

async fn upload(app: &ServiceHost, token: &str, csv: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.api.url("/api/v1/campaigns/settlements?name=night.csv"))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

fn line(transaction: &str, member: Uuid, kind: &str, amount: i64, at: DateTime<Utc>) -> String {
    format!(
        "{transaction},{member},{kind},{amount},AUD,{},{}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (at + Duration::days(1)).date_naive()
    )
}

fn window_end(p: &Value) -> DateTime<Utc> {
    p["window_ends_at"].as_str().unwrap().parse().unwrap()
}

fn grace_end(p: &Value) -> DateTime<Utc> {
    p["grace_ends_at"].as_str().unwrap().parse().unwrap()
}

pub(crate) fn causes(p: &Value) -> Vec<String> {
    p["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["to"].as_str().unwrap(),
                t["cause"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_from_enrolment_through_settlement_and_grace_to_points_paid_once() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();

    let enrolled = enrol(&app, &member.token, campaign).await;
    assert_eq!(enrolled["state"], "enrolled");
    assert_eq!(enrolled["days_left"], 30);
    assert_eq!(enrolled["remaining"], 100_000);

    let first = load(&app, member.id, 60_000).await;
    let active = progress_when(&app, &member.token, campaign, "the first load", |p| {
        p["instant_total"] == 60_000
    })
    .await;
    assert_eq!(active["state"], "active");
    assert_eq!(active["remaining"], 40_000);
    let second = load(&app, member.id, 40_000).await;
    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;
    assert_eq!(achieved["cumulative_total"], 100_000);
    assert_eq!(achieved["settled_total"], 0);
    let goal: Vec<CampaignGoalAchieved> =
        app.infra.published(topics::CAMPAIGN_GOAL_ACHIEVED, 1).await;
    assert_eq!(goal.len(), 1);
    assert_eq!((goal[0].total, goal[0].target), (100_000, 100_000));

    // The nightly file settles both instant loads: no amount changes, both count as settled.
    let now = clock_now(&clock);
    let file = format!(
        "{HEADER}\n{}{}",
        line(&first.to_string(), member.id, "instant", 60_000, now),
        line(&second.to_string(), member.id, "instant", 40_000, now)
    );
    let report: Value = upload(&app, &admin, &file).await.json().await.unwrap();
    assert_eq!(report["settled_instant"], 2);
    assert_eq!(report["added_delayed"], 0);
    let settled = progress(&app, &member.token, campaign).await;
    assert_eq!(settled["settled_total"], 100_000);
    assert_eq!(
        settled["cumulative_total"], 100_000,
        "settling adds nothing"
    );

    // The window ends at its second, not before.
    let window_ends = window_end(&settled);
    clock.set(window_ends - Duration::seconds(1));
    let_timers_run().await;
    assert_eq!(
        progress(&app, &member.token, campaign).await["state"],
        "goal_achieved"
    );
    clock.set(window_ends + Duration::seconds(1));
    let confirming = in_state(&app, &member.token, campaign, "confirming").await;
    assert_eq!(confirming["days_left"], 0);

    // So does the grace period; then the points are asked for, once.
    let grace_ends = grace_end(&confirming);
    assert_eq!(grace_ends - window_ends, Duration::seconds(GRACE));
    clock.set(grace_ends - Duration::seconds(1));
    let_timers_run().await;
    assert_eq!(
        progress(&app, &member.token, campaign).await["state"],
        "confirming"
    );
    clock.set(grace_ends + Duration::seconds(1));
    let pending = in_state(&app, &member.token, campaign, "pending_reward").await;
    let enrolment = pending["enrolment_id"].as_str().unwrap().to_owned();
    let due: Vec<CampaignRewardDue> = app.infra.published(topics::CAMPAIGN_REWARD_DUE, 1).await;
    assert_eq!(due.len(), 1, "one request, not one per timer sweep");
    assert_eq!(due[0].window_id, enrolment);
    assert_eq!(due[0].points, 2_000);
    assert_eq!(due[0].campaign_id, campaign.to_string());

    let transaction = points_paid(&app, member.id, &enrolment).await;
    let completed = in_state(&app, &member.token, campaign, "completed").await;
    assert_eq!(completed["reward_transaction_id"], transaction.as_str());
    // The confirmation delivered again changes nothing.
    points_paid(&app, member.id, &enrolment).await;
    let paid: Vec<CampaignCompleted> = app.infra.published(topics::CAMPAIGN_COMPLETED, 1).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].transaction_id, transaction);

    // A withdrawal after the reward was paid changes nothing.
    withdraw_at(&app, member.id, 50_000, Utc::now()).await;
    let_timers_run().await;
    let after = progress(&app, &member.token, campaign).await;
    assert_eq!(after["state"], "completed");
    assert_eq!(
        causes(&after),
        [
            "enrolled:enrolled",
            "active:first_load",
            "goal_achieved:goal_reached",
            "confirming:window_ended",
            "pending_reward:grace_ended",
            "completed:reward_paid"
        ]
    );
}

/// A clock on a whole second, as settlement files write times, so a load written at the
/// clock's "now" is not a fraction of a second before the enrolment made at that "now".
pub(crate) fn test_clock() -> ManualClock {
    use chrono::SubsecRound;
    ManualClock::starting_at(Utc::now().trunc_subsecs(0))
}

pub(crate) fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use rewards_service::core::clock::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_without_a_load_or_short_of_the_goal_disqualify_at_their_end() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let idle = app.member();
    let short = app.member();
    let idle_enrolment = enrol(&app, &idle.token, campaign).await;
    enrol(&app, &short.token, campaign).await;
    load(&app, short.id, 99_999).await;
    progress_when(&app, &short.token, campaign, "the load", |p| {
        p["state"] == "active" && p["instant_total"] == 99_999
    })
    .await;

    clock.set(window_end(&idle_enrolment) + Duration::seconds(1));
    let idle_out = in_state(&app, &idle.token, campaign, "disqualified").await;
    assert_eq!(idle_out["disqualified_reason"], "no_load");
    let short_out = in_state(&app, &short.token, campaign, "disqualified").await;
    assert_eq!(short_out["disqualified_reason"], "window_ended_short");
    let out: Vec<CampaignDisqualified> =
        app.infra.published(topics::CAMPAIGN_DISQUALIFIED, 2).await;
    let mut reasons: Vec<&str> = out.iter().map(|d| d.reason.as_str()).collect();
    reasons.sort();
    assert_eq!(reasons, ["no_load", "window_ended_short"]);
    // A load after the window is over counts for nothing.
    load(&app, short.id, 10).await;
    let_timers_run().await;
    assert_eq!(
        progress(&app, &short.token, campaign).await["state"],
        "disqualified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_loads_never_settled_are_short_at_the_grace_end_and_reported() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    enrol(&app, &member.token, campaign).await;
    let charge = load(&app, member.id, 100_000).await;
    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;

    clock.set(grace_end(&achieved) + Duration::seconds(1));
    let out = in_state(&app, &member.token, campaign, "disqualified").await;
    assert_eq!(out["disqualified_reason"], "settled_funds_short");
    assert_eq!(out["instant_total"], 100_000);
    assert_eq!(out["settled_total"], 0);

    // The next file lists the load the grace period waited for in vain.
    let unrelated = format!(
        "{HEADER}\n{}",
        line(
            "bt_other",
            app.member().id,
            "bank_transfer",
            500,
            clock_now(&clock)
        )
    );
    let report: Value = upload(&app, &admin, &unrelated).await.json().await.unwrap();
    let unsettled = report["unsettled_after_grace"].as_array().unwrap();
    assert_eq!(unsettled.len(), 1);
    assert_eq!(unsettled[0]["transaction_id"], charge.to_string().as_str());
    assert_eq!(unsettled[0]["amount"], 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_disqualifies_in_any_order_until_the_reward_is_paid() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;

    // After the goal was reached: disqualified.
    let reached = app.member();
    enrol(&app, &reached.token, campaign).await;
    load(&app, reached.id, 100_000).await;
    in_state(&app, &reached.token, campaign, "goal_achieved").await;
    withdraw_at(&app, reached.id, 1_000, Utc::now()).await;
    let out = in_state(&app, &reached.token, campaign, "disqualified").await;
    assert_eq!(out["disqualified_reason"], "withdrawal");
    assert_eq!(causes(&out).last().unwrap(), "disqualified:withdrawal");

    // The withdrawal happened after the load but its event arrives first: the same end.
    let reversed = app.member();
    enrol(&app, &reversed.token, campaign).await;
    let loaded_at = Utc::now() + Duration::seconds(1);
    withdraw_at(&app, reversed.id, 1_000, loaded_at + Duration::seconds(1)).await;
    let_timers_run().await;
    assert_eq!(
        progress(&app, &reversed.token, campaign).await["state"],
        "enrolled",
        "a withdrawal before any load moves nothing yet"
    );
    load_at(&app, reversed.id, 100_000, loaded_at).await;
    let out = in_state(&app, &reversed.token, campaign, "disqualified").await;
    assert_eq!(out["disqualified_reason"], "withdrawal");
    assert_eq!(
        causes(&out)[1..],
        ["active:first_load", "disqualified:withdrawal"]
    );

    // Money withdrawn before the first load is not a withdrawal from the campaign's loads.
    let earlier = app.member();
    enrol(&app, &earlier.token, campaign).await;
    withdraw_at(&app, earlier.id, 1_000, Utc::now()).await;
    let later = Utc::now() + Duration::seconds(2);
    load_at(&app, earlier.id, 100_000, later).await;
    in_state(&app, &earlier.token, campaign, "goal_achieved").await;

    // Late, in the grace period, it still disqualifies.
    let late = app.member();
    enrol(&app, &late.token, campaign).await;
    load(&app, late.id, 100_000).await;
    let achieved = in_state(&app, &late.token, campaign, "goal_achieved").await;
    clock.set(window_end(&achieved) + Duration::seconds(1));
    in_state(&app, &late.token, campaign, "confirming").await;
    withdraw_at(&app, late.id, 1, Utc::now()).await;
    let out = in_state(&app, &late.token, campaign, "disqualified").await;
    assert_eq!(out["disqualified_reason"], "withdrawal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_files_settle_add_delayed_loads_skip_bad_lines_and_apply_once() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    let enrolled = enrol(&app, &member.token, campaign).await;
    let instant = load(&app, member.id, 30_000).await;
    progress_when(&app, &member.token, campaign, "the load", |p| {
        p["instant_total"] == 30_000
    })
    .await;

    let now = clock_now(&clock);
    let window_ends = window_end(&enrolled);
    let file = format!(
        "{HEADER}\n{}{}{}{}{}{}{}",
        line(&instant.to_string(), member.id, "instant", 30_000, now),
        line("bt_0001", member.id, "bank_transfer", 50_000, now),
        line("bt_0001", member.id, "bank_transfer", 50_000, now),
        format_args!(
            "bt_0002,{},bank_transfer,abc,AUD,{},2030-01-01\n",
            member.id,
            now.to_rfc3339()
        ),
        line(
            &instant.to_string(),
            app.member().id,
            "instant",
            30_000,
            now
        ),
        // The window's edges: one second before its end counts, its end does not.
        line(
            "bt_edge_in",
            member.id,
            "bank_transfer",
            20_000,
            window_ends - Duration::seconds(1)
        ),
        line(
            "bt_edge_out",
            member.id,
            "bank_transfer",
            7_000,
            window_ends
        ),
    );
    let first = upload(&app, &admin, &file).await;
    assert_eq!(first.status(), 201);
    let report: Value = first.json().await.unwrap();
    assert_eq!(report["lines"], 7);
    assert_eq!(report["settled_instant"], 1);
    assert_eq!(report["added_delayed"], 3);
    assert_eq!(report["duplicates"], 1);
    let malformed: Vec<u64> = report["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        malformed,
        [5, 6],
        "the bad amount and the load of another member"
    );
    assert_eq!(report["settled_without_instant_count"], 3);

    let p = progress(&app, &member.token, campaign).await;
    assert_eq!(p["instant_total"], 30_000);
    assert_eq!(
        p["settled_total"], 100_000,
        "30,000 + 50,000 + 20,000 inside the window"
    );
    assert_eq!(p["cumulative_total"], 100_000);
    assert_eq!(p["state"], "goal_achieved");

    // The same file again: nothing applied twice, the first report answered.
    let again = upload(&app, &admin, &file).await;
    assert_eq!(again.status(), 200);
    let replay: Value = again.json().await.unwrap();
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["file_id"], report["file_id"]);
    assert_eq!(
        progress(&app, &member.token, campaign).await["settled_total"],
        100_000
    );
    let stored = app
        .api
        .get(
            &admin,
            &format!(
                "/api/v1/campaigns/settlements/{}",
                report["file_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(stored.status(), 200);

    // A file without its header is refused whole; a partner needs settlements:write.
    assert_problem(
        upload(&app, &admin, "bt_1,x\n").await,
        422,
        "settlement-file-invalid",
    )
    .await;
    let reader = app.partner(&["rewards:read"]);
    assert_eq!(upload(&app, &reader, &file).await.status(), 403);
    let processor = app.partner(&["settlements:write"]);
    let more = format!(
        "{HEADER}\n{}",
        line("bt_0003", member.id, "bank_transfer", 1, now)
    );
    assert_eq!(upload(&app, &processor, &more).await.status(), 201);
    assert_eq!(upload(&app, &member.token, &more).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_dropped_in_the_watched_directory_is_ingested_and_moved_aside() {
    let dir = std::env::temp_dir().join(format!("settlements-{}", Uuid::now_v7()));
    let clock = test_clock();
    let watched = dir.to_string_lossy().into_owned();
    let app = spawn_with_clock(&clock, |s| {
        s.settlement_dir = Some(watched);
        s.settlement_scan_interval_ms = 50;
    })
    .await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    enrol(&app, &member.token, campaign).await;
    let file = format!(
        "{HEADER}\n{}",
        line(
            "bt_dropped",
            member.id,
            "bank_transfer",
            100_000,
            clock_now(&clock)
        )
    );
    std::fs::write(dir.join("2026-12-07.csv"), file).unwrap();
    std::fs::write(dir.join("broken.csv"), "no header\n").unwrap();

    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;
    assert_eq!(achieved["settled_total"], 100_000);
    assert_eq!(achieved["instant_total"], 0, "known only from the file");
    eventually(std::time::Duration::from_secs(10), || async {
        Ok((dir.join("rejected/broken.csv").exists()
            && dir.join("processed/2026-12-07.csv.report.json").exists())
        .then_some(()))
    })
    .await
    .expect("both files are moved aside with their reports");
    assert!(!dir.join("2026-12-07.csv").exists());
    let report: Value = serde_json::from_slice(
        &std::fs::read(dir.join("processed/2026-12-07.csv.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["added_delayed"], 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reward_the_point_service_never_confirms_fails_after_its_retries_and_an_admin_retry_pays_it(
) {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |s| {
        s.campaign_reward_attempts = 2;
        s.campaign_reward_retry_secs = 60;
    })
    .await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    enrol(&app, &member.token, campaign).await;
    load(&app, member.id, 100_000).await;
    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;
    let file = format!(
        "{HEADER}\n{}",
        line(
            "bt_top_up",
            member.id,
            "bank_transfer",
            100_000,
            clock_now(&clock)
        )
    );
    assert_eq!(upload(&app, &admin, &file).await.status(), 201);
    clock.set(grace_end(&achieved) + Duration::seconds(1));
    let pending = in_state(&app, &member.token, campaign, "pending_reward").await;
    let enrolment = pending["enrolment_id"].as_str().unwrap().to_owned();

    // No confirmation: asked again after 60 s, then given up after the second wait (120 s).
    clock.advance(Duration::seconds(61));
    progress_when(&app, &member.token, campaign, "a second request", |p| {
        p["reward_attempts"] == 2
    })
    .await;
    clock.advance(Duration::seconds(121));
    let failed = in_state(&app, &member.token, campaign, "disqualified").await;
    assert_eq!(failed["disqualified_reason"], "reward_failed");
    let asked: Vec<CampaignRewardDue> = app.infra.published(topics::CAMPAIGN_REWARD_DUE, 2).await;
    assert_eq!(asked.len(), 2);
    assert!(
        asked.iter().all(|d| d.window_id == enrolment),
        "one window: paid once"
    );

    // Admins find it among the failed rewards and retry it.
    let path = format!("/api/v1/campaigns/{campaign}/enrolments?reason=reward_failed");
    let listed: Value = app.api.get(&admin, &path).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["enrolment_id"], enrolment.as_str());
    let retry = format!("/api/v1/campaigns/{campaign}/enrolments/{enrolment}/retry-reward");
    let support = app.staff(Role::Support);
    assert_eq!(
        app.api
            .post(&support, &retry, None, &json!({}))
            .await
            .status(),
        404
    );
    let retried = app.api.post(&admin, &retry, None, &json!({})).await;
    assert_eq!(retried.status(), 200);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["state"], "pending_reward");
    assert_eq!(retried["reward_attempts"], 1);
    let asked: Vec<CampaignRewardDue> = app.infra.published(topics::CAMPAIGN_REWARD_DUE, 3).await;
    assert_eq!(asked.len(), 3);

    points_paid(&app, member.id, &enrolment).await;
    let done = in_state(&app, &member.token, campaign, "completed").await;
    assert_eq!(
        causes(&done)[4..],
        [
            "pending_reward:grace_ended",
            "disqualified:reward_retries_exhausted",
            "pending_reward:admin_retry",
            "completed:reward_paid"
        ]
    );
    assert_problem(
        app.api.post(&admin, &retry, None, &json!({})).await,
        409,
        "reward-not-failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_have_a_lifecycle_eligibility_and_belong_to_their_business() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let mut draft_body = seed_campaign(now);
    draft_body["publish"] = json!(false);
    draft_body["enrol_from"] = json!(now + Duration::days(1));
    let draft = create_campaign(&app, &admin, draft_body).await;
    let member = app.member();
    let path = format!("/api/v1/campaigns/{draft}");
    assert_eq!(
        app.api.get(&member.token, &path).await.status(),
        404,
        "drafts are staff's"
    );
    let staff_view: Value = app.api.get(&admin, &path).await.json().await.unwrap();
    assert_eq!(staff_view["status"], "draft");

    let published: Value = app
        .api
        .post(&admin, &format!("{path}/publish"), None, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(published["status"], "scheduled");
    assert_problem(
        app.api
            .post(
                &member.token,
                &format!("{path}/enrolments"),
                None,
                &json!({}),
            )
            .await,
        409,
        "campaign-not-running",
    )
    .await;
    clock.advance(Duration::days(2));
    assert_eq!(
        app.api
            .get(&member.token, &path)
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "running"
    );
    enrol(&app, &member.token, draft).await;
    let ended: Value = app
        .api
        .post(&admin, &format!("{path}/end"), None, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ended["status"], "ended");
    assert_problem(
        app.api
            .post(
                &app.member().token,
                &format!("{path}/enrolments"),
                None,
                &json!({}),
            )
            .await,
        409,
        "campaign-not-running",
    )
    .await;
    assert_eq!(
        progress(&app, &member.token, draft).await["state"],
        "enrolled",
        "enrolments run on"
    );

    // New cards only: members registered before it opened are not eligible; new ones are
    // enrolled as they register when the campaign enrols automatically.
    let mut body = seed_campaign(clock_now(&clock));
    body["eligibility"] = json!("new_members");
    body["enrolment"] = json!("automatic");
    let for_new = create_campaign(&app, &admin, body).await;
    let old = app.member();
    app.infra
        .publish(
            topics::USER_REGISTERED,
            old.id,
            &UserRegistered {
                user_id: old.id.to_string(),
                role: "customer".into(),
                registered_at: Some(events::proto_timestamp(
                    clock_now(&clock) - Duration::days(90),
                )),
                marketing_consent: false,
            },
        )
        .await;
    let newcomer = app.member();
    app.infra
        .publish(
            topics::USER_REGISTERED,
            newcomer.id,
            &UserRegistered {
                user_id: newcomer.id.to_string(),
                role: "customer".into(),
                registered_at: Some(events::proto_timestamp(clock_now(&clock))),
                marketing_consent: false,
            },
        )
        .await;
    let auto = in_state(&app, &newcomer.token, for_new, "enrolled").await;
    assert_eq!(auto["transitions"][0]["actor"], "rule:automatic");
    assert_problem(
        app.api
            .post(
                &old.token,
                &format!("/api/v1/campaigns/{for_new}/enrolments"),
                None,
                &json!({}),
            )
            .await,
        403,
        "not-eligible",
    )
    .await;

    // Another business's staff see none of it; a member sees no one else's progress.
    let stranger = app
        .tokens
        .staff_in(Uuid::now_v7(), Role::Admin, Some(Uuid::now_v7()), vec![]);
    assert_eq!(app.api.get(&stranger, &path).await.status(), 404);
    assert_eq!(
        app.api
            .get(
                &stranger,
                &format!("/api/v1/campaigns/{for_new}/enrolments")
            )
            .await
            .status(),
        404
    );
    let snoop = app
        .api
        .get(
            &app.member().token,
            &format!("/api/v1/campaigns/{draft}/progress?member_id={}", member.id),
        )
        .await;
    assert_eq!(snoop.status(), 403);

    // Bad definitions name every bad field.
    let bad = app
        .api
        .post(
            &admin,
            "/api/v1/campaigns",
            Some("bad"),
            &json!({"name": "", "target_amount": -1, "currency": "XXX", "window_seconds": 0,
                    "grace_seconds": -5, "reward_points": i64::MAX,
                    "enrol_from": now, "enrol_until": now}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation-error").await;
    let mut fields = testkit::field_errors(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "currency",
            "enrol_until",
            "grace_seconds",
            "name",
            "reward_points",
            "target_amount",
            "window_seconds"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_are_rows_a_window_that_ends_while_the_service_is_down_ends_when_it_is_back() {
    let clock = test_clock();
    let mut app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    enrol(&app, &member.token, campaign).await;
    load(&app, member.id, 100_000).await;
    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;

    app.halt().await.unwrap();
    clock.set(window_end(&achieved) + Duration::hours(1));
    resume_with_clock(&mut app, &clock).await;
    let confirming = in_state(&app, &member.token, campaign, "confirming").await;
    let moved = &confirming["transitions"].as_array().unwrap()[3];
    assert_eq!(moved["cause"], "window_ended");
    assert_eq!(
        moved["at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        window_end(&achieved) + Duration::hours(1),
        "recorded when it ran, an hour late"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_short_of_the_goal_hear_once_that_the_window_ends_soon() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |s| s.campaign_window_notice_hours = 72).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let short = app.member();
    let reached = app.member();
    let enrolled = enrol(&app, &short.token, campaign).await;
    enrol(&app, &reached.token, campaign).await;
    load(&app, short.id, 25_000).await;
    load(&app, reached.id, 100_000).await;
    in_state(&app, &reached.token, campaign, "goal_achieved").await;
    progress_when(&app, &short.token, campaign, "the load", |p| {
        p["instant_total"] == 25_000
    })
    .await;

    let notice_at = window_end(&enrolled) - Duration::hours(72);
    clock.set(notice_at - Duration::seconds(1));
    let_timers_run().await;
    assert_eq!(
        outbox(&app.pool, "campaign.window_ending").await,
        0,
        "not a second early"
    );
    clock.set(notice_at + Duration::seconds(1));
    let_timers_run().await;
    clock.advance(Duration::hours(1));
    let_timers_run().await;
    let told: Vec<events::proto::CampaignWindowEnding> =
        app.infra.published(topics::CAMPAIGN_WINDOW_ENDING, 1).await;
    assert_eq!(
        told.len(),
        1,
        "once, and not to the member who reached the goal"
    );
    assert_eq!(told[0].member_id, short.id.to_string());
    assert_eq!((told[0].total, told[0].target), (25_000, 100_000));
    assert_eq!(
        progress(&app, &short.token, campaign).await["state"],
        "active"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_no_card_can_carry_is_dead_lettered_and_the_loads_after_it_still_count() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let campaign = create_campaign(&app, &admin, seed_campaign(clock_now(&clock))).await;
    let member = app.member();
    enrol(&app, &member.token, campaign).await;
    // Two of these would overflow any sum of the member's loads.
    load(&app, member.id, i64::MAX).await;
    load(&app, member.id, i64::MAX).await;
    load(&app, member.id, 100_000).await;
    let achieved = in_state(&app, &member.token, campaign, "goal_achieved").await;
    assert_eq!(achieved["instant_total"], 100_000);
    let parked = testkit::read_topic(
        &app.infra.brokers(),
        &topics::dead_letter(topics::CHARGE_SUCCEEDED, "rewards"),
        2,
        std::time::Duration::from_secs(15),
    )
    .unwrap();
    assert_eq!(parked.len(), 2, "both parked, none lost");
}
