//! Referral and bonus-window campaigns in the rewards service, on a clock the tests move. The
//! user, payment and point services are played on the broker: registrations, purchases,
//! refunds and the points' payment.

use crate::campaigns::{causes, clock_now, create_campaign, let_timers_run, test_clock};
use crate::helpers::*;
use auth::Role;
use chrono::{DateTime, Duration, Utc};
use events::proto::{
    CampaignBonusWindowChanged, CampaignRewardDue, ChargeRefunded, ChargeSucceeded, PointsEarned,
    UserRegistered,
};
use events::topics;
use serde_json::{json, Value};
use testkit::{assert_problem, eventually, Member, ServiceHost};
use uuid::Uuid;

const WITHIN: i64 = 30 * 86_400;
const SETTLE: i64 = 48 * 3_600;

/// Refer a friend: 500 points for the referrer, 250 for the friend, once the friend's first
/// purchase of $20 or more has stood unrefunded for 48 hours; at most `per_referrer` friends
/// each and `total` in all.
fn referral_campaign(now: DateTime<Utc>, per_referrer: i32, total: Option<i32>) -> Value {
    json!({
        "name": "Bring a friend",
        "kind": "referral",
        "referral": {
            "referrer_points": 500,
            "referee_points": 250,
            "min_purchase_amount": 2_000,
            "currency": "AUD",
            "purchase_within_seconds": WITHIN,
            "settle_seconds": SETTLE,
            "max_per_referrer": per_referrer,
            "max_referrals": total,
        },
        "enrol_from": now - Duration::hours(1),
        "enrol_until": now + Duration::days(60),
        "publish": true,
    })
}

/// A member the user service announced as registered at `at`, once the rewards service knows.
async fn registered_at(app: &ServiceHost, at: DateTime<Utc>) -> Member {
    let member = app.member();
    app.infra
        .publish(
            topics::USER_REGISTERED,
            member.id,
            &UserRegistered {
                user_id: member.id.to_string(),
                role: "customer".into(),
                registered_at: Some(events::proto_timestamp(at)),
                marketing_consent: false,
            },
        )
        .await;
    eventually(std::time::Duration::from_secs(15), || async {
        let known: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM campaign_members WHERE member_id = $1")
                .bind(member.id)
                .fetch_optional(&app.pool)
                .await?;
        Ok(known.map(|_| ()))
    })
    .await
    .expect("the rewards service hears of the registration");
    member
}

async fn code_of(app: &ServiceHost, member: &Member, campaign: Uuid) -> String {
    let response = app
        .api
        .post(
            &member.token,
            &format!("/api/v1/campaigns/{campaign}/referral-code"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

async fn claim(
    app: &ServiceHost,
    member: &Member,
    campaign: Uuid,
    code: &str,
) -> reqwest::Response {
    app.api
        .post(
            &member.token,
            &format!("/api/v1/campaigns/{campaign}/referrals"),
            None,
            &json!({ "code": code }),
        )
        .await
}

async fn claimed(app: &ServiceHost, member: &Member, campaign: Uuid, code: &str) -> Value {
    let response = claim(app, member, campaign, code).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn referral_when(
    app: &ServiceHost,
    token: &str,
    campaign: Uuid,
    referral: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(std::time::Duration::from_secs(15), || async {
        let response = app
            .api
            .get(
                token,
                &format!("/api/v1/campaigns/{campaign}/referrals/{referral}"),
            )
            .await;
        if response.status() != 200 {
            return Ok(None);
        }
        let r: Value = response.json().await?;
        Ok(check(&r).then_some(r))
    })
    .await
    .unwrap_or_else(|_| panic!("the referral gets to: {what}"))
}

async fn referral_in(
    app: &ServiceHost,
    token: &str,
    campaign: Uuid,
    referral: &str,
    state: &str,
) -> Value {
    referral_when(app, token, campaign, referral, state, |r| {
        r["state"] == state
    })
    .await
}

/// A purchase the payment service charged at `at`.
async fn purchase_at(app: &ServiceHost, member: Uuid, amount: i64, at: DateTime<Utc>) -> String {
    let charge = Uuid::now_v7().to_string();
    app.infra
        .publish_at(
            topics::CHARGE_SUCCEEDED,
            member,
            &ChargeSucceeded {
                charge_id: charge.clone(),
                member_id: member.to_string(),
                amount,
                currency: "AUD".into(),
                kind: "purchase".into(),
                psp: "stripe".into(),
                ..Default::default()
            },
            at,
        )
        .await;
    charge
}

async fn refund(app: &ServiceHost, member: Uuid, charge: &str, amount: i64, total: i64) {
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            member,
            &ChargeRefunded {
                charge_id: charge.to_owned(),
                refund_id: Uuid::now_v7().to_string(),
                member_id: member.to_string(),
                refund_amount: amount,
                charge_amount: 0,
                total_refunded: total,
                currency: "AUD".into(),
                psp: "stripe".into(),
            },
        )
        .await;
}

/// The point service's confirmation that it paid one side of the referral.
async fn points_paid(app: &ServiceHost, member: Uuid, referral: &str, points: i64) {
    app.infra
        .publish(
            topics::POINTS_EARNED,
            member,
            &PointsEarned {
                transaction_id: Uuid::now_v7().to_string(),
                member_id: member.to_string(),
                points,
                source: "campaign".into(),
                reference_id: format!("{referral}/{member}"),
                ..Default::default()
            },
        )
        .await;
}

fn at(r: &Value, field: &str) -> DateTime<Utc> {
    r[field].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_pays_both_members_once_the_first_qualifying_purchase_has_settled() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let campaign = create_campaign(&app, &admin, referral_campaign(now, 5, None)).await;
    let referrer = registered_at(&app, now - Duration::days(400)).await;
    let friend = registered_at(&app, now).await;

    let code = code_of(&app, &referrer, campaign).await;
    assert_eq!(
        code_of(&app, &referrer, campaign).await,
        code,
        "one code each"
    );
    // Codes are typed by people: lower case and dashes are forgiven.
    let typed = code.to_lowercase();
    let referral = claimed(&app, &friend, campaign, &typed).await;
    assert_eq!(referral["state"], "claimed");
    assert_eq!(referral["referrer_id"], referrer.id.to_string());
    let id = referral["referral_id"].as_str().unwrap().to_owned();
    let again = claim(&app, &friend, campaign, &code).await;
    assert_eq!(again.status(), 200, "claiming again is harmless");
    assert_eq!(
        again.json::<Value>().await.unwrap()["referral_id"],
        id.as_str()
    );

    // A purchase below the minimum does not qualify; the next one does.
    purchase_at(&app, friend.id, 1_999, now + Duration::seconds(5)).await;
    let bought = now + Duration::seconds(10);
    let charge = purchase_at(&app, friend.id, 2_500, bought).await;
    let settling = referral_in(&app, &friend.token, campaign, &id, "settling").await;
    assert_eq!(settling["charge_id"], charge.as_str());
    assert_eq!(
        at(&settling, "settles_at"),
        bought + Duration::seconds(SETTLE)
    );

    // It settles at its second, not before; then both sides are asked for, once each.
    clock.set(bought + Duration::seconds(SETTLE - 1));
    let_timers_run().await;
    let waiting = referral_in(&app, &referrer.token, campaign, &id, "settling").await;
    assert_eq!(waiting["referee_paid_at"], Value::Null);
    clock.set(bought + Duration::seconds(SETTLE));
    referral_in(&app, &referrer.token, campaign, &id, "rewarding").await;
    let mut due: Vec<CampaignRewardDue> = app.infra.published(topics::CAMPAIGN_REWARD_DUE, 2).await;
    assert_eq!(
        due.len(),
        2,
        "one request per side, not one per timer sweep"
    );
    due.sort_by_key(|d| d.points);
    assert_eq!(
        (due[0].member_id.as_str(), due[0].points),
        (friend.id.to_string().as_str(), 250)
    );
    assert_eq!(
        (due[1].member_id.as_str(), due[1].points),
        (referrer.id.to_string().as_str(), 500)
    );
    assert!(due.iter().all(|d| d.window_id == id));

    // One side paid is not done; both are. A confirmation delivered again changes nothing, nor
    // does a refund of the settled purchase.
    points_paid(&app, referrer.id, &id, 500).await;
    referral_when(&app, &admin, campaign, &id, "the referrer paid", |r| {
        !r["referrer_paid_at"].is_null()
    })
    .await;
    assert_eq!(
        referral_in(&app, &admin, campaign, &id, "rewarding").await["referee_paid_at"],
        Value::Null
    );
    points_paid(&app, friend.id, &id, 250).await;
    referral_in(&app, &friend.token, campaign, &id, "completed").await;
    points_paid(&app, friend.id, &id, 250).await;
    refund(&app, friend.id, &charge, 2_500, 2_500).await;
    let_timers_run().await;
    let done = referral_in(&app, &friend.token, campaign, &id, "completed").await;
    assert_eq!(
        causes(&done),
        [
            "claimed:claimed",
            "settling:purchase",
            "rewarding:settled",
            "completed:reward_paid"
        ]
    );

    // Both members see it among their referrals; another member sees none of it.
    let theirs: Value = app
        .api
        .get(
            &referrer.token,
            &format!("/api/v1/campaigns/{campaign}/referrals"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    let stranger = app.member();
    let none: Value = app
        .api
        .get(
            &stranger.token,
            &format!("/api/v1/campaigns/{campaign}/referrals"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    let peek = app
        .api
        .get(
            &stranger.token,
            &format!("/api/v1/campaigns/{campaign}/referrals/{id}"),
        )
        .await;
    assert_eq!(peek.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_referral_mutual_referral_old_members_and_a_second_referrer_are_refused() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let campaign = create_campaign(&app, &admin, referral_campaign(now, 5, None)).await;
    let ann = registered_at(&app, now).await;
    let bob = registered_at(&app, now).await;
    let cat = registered_at(&app, now).await;
    let old = registered_at(&app, now - Duration::days(90)).await;
    let ann_code = code_of(&app, &ann, campaign).await;
    let bob_code = code_of(&app, &bob, campaign).await;
    let cat_code = code_of(&app, &cat, campaign).await;

    assert_problem(
        claim(&app, &ann, campaign, &ann_code).await,
        422,
        "self-referral",
    )
    .await;
    assert_problem(
        claim(&app, &old, campaign, &ann_code).await,
        403,
        "not-eligible",
    )
    .await;
    claimed(&app, &bob, campaign, &ann_code).await;
    assert_problem(
        claim(&app, &ann, campaign, &bob_code).await,
        422,
        "self-referral",
    )
    .await;
    assert_problem(
        claim(&app, &bob, campaign, &cat_code).await,
        409,
        "already-referred",
    )
    .await;
    // A well-formed code nobody has, and a typo.
    let nobody = rewards_service::domain::codes::Code::generate().to_string();
    assert_problem(
        claim(&app, &cat, campaign, &nobody).await,
        422,
        "unknown-referral-code",
    )
    .await;
    let mut typo = ann_code.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    assert_problem(
        claim(&app, &cat, campaign, &typo).await,
        422,
        "validation-error",
    )
    .await;
    // Nobody enrols in a referral campaign; staff do not claim codes.
    assert_problem(
        app.api
            .post(
                &cat.token,
                &format!("/api/v1/campaigns/{campaign}/enrolments"),
                None,
                &json!({}),
            )
            .await,
        409,
        "campaign-has-no-enrolment",
    )
    .await;
    let staff = app
        .api
        .post(
            &admin,
            &format!("/api/v1/campaigns/{campaign}/referrals"),
            None,
            &json!({ "code": ann_code }),
        )
        .await;
    assert_eq!(staff.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_caps_hold_under_concurrent_claims_and_an_expired_referral_frees_its_place() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let campaign = create_campaign(&app, &admin, referral_campaign(now, 2, Some(3))).await;
    let ann = registered_at(&app, now - Duration::days(400)).await;
    let dan = registered_at(&app, now - Duration::days(400)).await;
    let ann_code = code_of(&app, &ann, campaign).await;
    let dan_code = code_of(&app, &dan, campaign).await;
    let mut friends = Vec::new();
    for _ in 0..6 {
        friends.push(registered_at(&app, now).await);
    }

    // Five friends claim Ann's code at once: her cap of two holds.
    let claims = futures::future::join_all(
        friends[..5]
            .iter()
            .map(|friend| claim(&app, friend, campaign, &ann_code)),
    )
    .await;
    let mut turned_away = Vec::new();
    let mut taken = 0;
    for (friend, response) in friends[..5].iter().zip(claims) {
        match response.status().as_u16() {
            201 => taken += 1,
            409 => {
                assert_problem(response, 409, "referral-cap-reached").await;
                turned_away.push(friend);
            }
            other => panic!("a claim answered {other}"),
        }
    }
    assert_eq!((taken, turned_away.len()), (2, 3));

    // A friend Ann's cap turned away takes Dan's code: the campaign's third and last place.
    // The next finds the campaign full.
    claimed(&app, turned_away[0], campaign, &dan_code).await;
    assert_problem(
        claim(&app, turned_away[1], campaign, &dan_code).await,
        409,
        "referral-campaign-full",
    )
    .await;
    assert_problem(
        claim(&app, &friends[5], campaign, &dan_code).await,
        409,
        "referral-campaign-full",
    )
    .await;

    // Ann's friends never buy: their referrals expire, and their places are free again.
    let referrals: Value = app
        .api
        .get(
            &admin,
            &format!(
                "/api/v1/campaigns/{campaign}/referrals?member_id={}",
                ann.id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    let items = referrals["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    clock.set(at(&items[0], "purchase_by") + Duration::seconds(1));
    for item in items {
        let id = item["referral_id"].as_str().unwrap();
        let expired = referral_in(&app, &admin, campaign, id, "expired").await;
        assert_eq!(causes(&expired).last().unwrap(), "expired:no_purchase");
    }
    let late = registered_at(&app, now).await;
    let response = claim(&app, &late, campaign, &ann_code).await;
    assert_eq!(
        response.status(),
        201,
        "an expired referral frees its place"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_sends_a_settling_referral_back_and_events_out_of_order_end_the_same() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let campaign = create_campaign(&app, &admin, referral_campaign(now, 5, None)).await;
    let referrer = registered_at(&app, now - Duration::days(400)).await;
    let code = code_of(&app, &referrer, campaign).await;

    // In order: the purchase settles... until most of it is refunded; a later purchase takes over.
    let friend = registered_at(&app, now).await;
    let id = claimed(&app, &friend, campaign, &code).await["referral_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = purchase_at(&app, friend.id, 3_000, now + Duration::seconds(1)).await;
    referral_in(&app, &friend.token, campaign, &id, "settling").await;
    refund(&app, friend.id, &first, 1_500, 1_500).await;
    referral_in(&app, &friend.token, campaign, &id, "claimed").await;
    let second = purchase_at(&app, friend.id, 2_000, now + Duration::seconds(2)).await;
    let settling = referral_in(&app, &friend.token, campaign, &id, "settling").await;
    assert_eq!(settling["charge_id"], second.as_str());

    // Out of order: the refund arrives before its charge; the charge never qualifies.
    let other = registered_at(&app, now).await;
    let other_id = claimed(&app, &other, campaign, &code).await["referral_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let charge = Uuid::now_v7().to_string();
    refund(&app, other.id, &charge, 3_000, 3_000).await;
    let_timers_run().await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            other.id,
            &ChargeSucceeded {
                charge_id: charge.clone(),
                member_id: other.id.to_string(),
                amount: 3_000,
                currency: "AUD".into(),
                kind: "purchase".into(),
                ..Default::default()
            },
        )
        .await;
    // Once the charge is stored, the timers have had their chance to move the referral.
    eventually(std::time::Duration::from_secs(15), || async {
        let amount: Option<Option<i64>> =
            sqlx::query_scalar("SELECT amount FROM member_purchases WHERE charge_id = $1")
                .bind(&charge)
                .fetch_optional(&app.pool)
                .await?;
        Ok(amount.flatten())
    })
    .await
    .expect("the charge is recorded");
    let_timers_run().await;
    referral_in(&app, &other.token, campaign, &other_id, "claimed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_reward_never_confirmed_fails_and_an_admin_retry_pays_it() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |s| {
        s.campaign_reward_attempts = 2;
        s.campaign_reward_retry_secs = 60;
    })
    .await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);
    let mut body = referral_campaign(now, 5, None);
    body["referral"]["settle_seconds"] = json!(0);
    let campaign = create_campaign(&app, &admin, body).await;
    let referrer = registered_at(&app, now - Duration::days(400)).await;
    let friend = registered_at(&app, now).await;
    let code = code_of(&app, &referrer, campaign).await;
    let id = claimed(&app, &friend, campaign, &code).await["referral_id"]
        .as_str()
        .unwrap()
        .to_owned();
    purchase_at(&app, friend.id, 2_000, now).await;
    referral_in(&app, &admin, campaign, &id, "rewarding").await;

    // Only the friend's side is confirmed; the referrer's requests go unanswered.
    points_paid(&app, friend.id, &id, 250).await;
    referral_when(&app, &admin, campaign, &id, "the friend paid", |r| {
        !r["referee_paid_at"].is_null()
    })
    .await;
    clock.advance(Duration::seconds(61));
    referral_when(&app, &admin, campaign, &id, "a second request", |r| {
        r["reward_attempts"] == 2
    })
    .await;
    clock.advance(Duration::seconds(121));
    let failed = referral_in(&app, &admin, campaign, &id, "reward_failed").await;
    assert_eq!(
        causes(&failed).last().unwrap(),
        "reward_failed:reward_retries_exhausted"
    );
    let due: Vec<CampaignRewardDue> = app.infra.published(topics::CAMPAIGN_REWARD_DUE, 3).await;
    let for_friend = due
        .iter()
        .filter(|d| d.member_id == friend.id.to_string())
        .count();
    assert_eq!(
        (due.len(), for_friend),
        (3, 1),
        "the paid side is not asked for again"
    );

    // Members cannot retry; the business's admin can, and the point service's answer ends it.
    let path = format!("/api/v1/campaigns/{campaign}/referrals/{id}/retry-reward");
    let refused = app.api.post(&friend.token, &path, None, &json!({})).await;
    assert_eq!(refused.status(), 404);
    let retried = app.api.post(&admin, &path, None, &json!({})).await;
    assert_eq!(retried.status(), 200);
    assert_eq!(retried.json::<Value>().await.unwrap()["state"], "rewarding");
    points_paid(&app, referrer.id, &id, 500).await;
    let done = referral_in(&app, &admin, campaign, &id, "completed").await;
    assert_eq!(causes(&done).last().unwrap(), "completed:reward_paid");
    assert_problem(
        app.api.post(&admin, &path, None, &json!({})).await,
        409,
        "reward-not-failed",
    )
    .await;
}

/// Double points on coffee this weekend.
fn bonus_campaign(now: DateTime<Utc>, publish: bool) -> Value {
    json!({
        "name": "Double points on coffee",
        "kind": "bonus_window",
        "bonus": { "multiplier_bp": 200, "category": "coffee" },
        "enrol_from": now - Duration::hours(1),
        "enrol_until": now + Duration::days(2),
        "publish": publish,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bonus_window_is_announced_to_the_point_service_when_published_and_when_ended_early() {
    let clock = test_clock();
    let app = spawn_with_clock(&clock, |_| {}).await;
    let admin = app.staff(Role::Admin);
    let now = clock_now(&clock);

    // A draft is not announced; publishing it is.
    let campaign = create_campaign(&app, &admin, bonus_campaign(now, false)).await;
    let_timers_run().await;
    assert_eq!(
        outbox(&app.pool, topics::CAMPAIGN_BONUS_WINDOW_CHANGED).await,
        0
    );
    let published = app
        .api
        .post(
            &admin,
            &format!("/api/v1/campaigns/{campaign}/publish"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(published.status(), 200);
    let view: Value = published.json().await.unwrap();
    assert_eq!(view["kind"], "bonus_window");
    assert_eq!(view["bonus"]["multiplier_bp"], 200);
    assert_eq!(view["bonus"]["category"], "coffee");
    assert!(view.get("target_amount").is_none(), "no load-goal terms");
    let announced: Vec<CampaignBonusWindowChanged> = app
        .infra
        .published(topics::CAMPAIGN_BONUS_WINDOW_CHANGED, 1)
        .await;
    assert_eq!(announced.len(), 1);
    let first = &announced[0];
    assert_eq!(first.campaign_id, campaign.to_string());
    assert_eq!((first.multiplier_bp, first.bonus_points), (200, 0));
    assert_eq!(
        (first.category.as_str(), first.store_id.as_str()),
        ("coffee", "")
    );
    assert_eq!(first.revision, 1);
    assert_eq!(
        first.ends_at.as_ref().unwrap().seconds,
        (now + Duration::days(2)).timestamp()
    );

    // Ended early: a newer revision with the new end.
    clock.advance(Duration::hours(5));
    let ended = app
        .api
        .post(
            &admin,
            &format!("/api/v1/campaigns/{campaign}/end"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(ended.status(), 200);
    let announced: Vec<CampaignBonusWindowChanged> = app
        .infra
        .published(topics::CAMPAIGN_BONUS_WINDOW_CHANGED, 2)
        .await;
    assert_eq!(announced.len(), 2);
    assert_eq!(announced[1].revision, 2);
    assert_eq!(
        announced[1].ends_at.as_ref().unwrap().seconds,
        (now + Duration::hours(5)).timestamp()
    );
    // Nobody enrols in a bonus window.
    let member = app.member();
    assert_problem(
        app.api
            .post(
                &member.token,
                &format!("/api/v1/campaigns/{campaign}/enrolments"),
                None,
                &json!({}),
            )
            .await,
        409,
        "campaign-has-no-enrolment",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_campaign_needs_its_own_terms_and_refuses_another_kinds() {
    let app = spawn_app().await;
    let admin = app.staff(Role::Admin);
    let now = Utc::now();
    let refused = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let key = Uuid::now_v7().to_string();
            let response = app
                .api
                .post(&admin, "/api/v1/campaigns", Some(&key), &body)
                .await;
            assert_eq!(response.status(), 422, "{body}");
            let problem: Value = response.json().await.unwrap();
            let mut fields: Vec<String> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect();
            fields.sort();
            fields
        }
    };
    let mut no_bonus = bonus_campaign(now, true);
    no_bonus.as_object_mut().unwrap().remove("bonus");
    assert_eq!(refused(no_bonus).await, ["bonus"]);
    let mut nothing_extra = bonus_campaign(now, true);
    nothing_extra["bonus"] = json!({ "multiplier_bp": 100 });
    assert_eq!(refused(nothing_extra).await, ["bonus"]);
    let mut mixed = bonus_campaign(now, true);
    mixed["target_amount"] = json!(100_000);
    mixed["bonus"]["multiplier_bp"] = json!(10_001);
    assert_eq!(
        refused(mixed).await,
        ["bonus.multiplier_bp", "target_amount"]
    );
    let mut referral = referral_campaign(now, 0, Some(0));
    referral["referral"]["referrer_points"] = json!(-1);
    assert_eq!(
        refused(referral).await,
        [
            "referral.max_per_referrer",
            "referral.max_referrals",
            "referral.referrer_points"
        ]
    );
    let load_goal_without_terms = json!({
        "name": "Load", "enrol_from": now, "enrol_until": now + Duration::days(1),
    });
    assert_eq!(
        refused(load_goal_without_terms).await,
        [
            "currency",
            "grace_seconds",
            "reward_points",
            "target_amount",
            "window_seconds"
        ]
    );
}
