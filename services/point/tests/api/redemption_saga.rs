//! The point service's side of the redemption saga: holding a reward's points when the rewards
//! service asks, spending them when the code is issued, giving them back on cancellation.

use crate::helpers::TestApp;
use events::proto::{
    PointsHeld, PointsHoldRefused, PointsRedeemed, RedemptionRequested, RewardCancelled,
    RewardRedeemed,
};
use events::topics;
use uuid::Uuid;

fn ask(member: Uuid, redemption: Uuid, points: i64, min_tier: &str) -> RedemptionRequested {
    RedemptionRequested {
        redemption_id: redemption.to_string(),
        member_id: member.to_string(),
        reward_id: Uuid::now_v7().to_string(),
        reward_name: "Coffee voucher".into(),
        points,
        min_tier: min_tier.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_is_held_once_spent_when_issued_and_credited_back_when_cancelled() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 1000, "o-1").await.status(), 201);
    let redemption = Uuid::now_v7();
    // Asked twice (a redelivery with a new event id): one hold, the same answer twice.
    for _ in 0..2 {
        app.infra
            .publish(
                topics::REWARD_REDEMPTION_REQUESTED,
                member.id,
                &ask(member.id, redemption, 400, ""),
            )
            .await;
    }
    let held: Vec<PointsHeld> = app.infra.published(topics::POINTS_HELD, 1).await;
    assert!(held
        .iter()
        .all(|h| h.redemption_id == redemption.to_string()));
    assert_eq!(
        held.iter()
            .map(|h| &h.hold_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1,
        "one hold"
    );
    assert_eq!(held[0].available_after, 600);
    let balance = app
        .wait_for(member.id, |b| b["on_hold_points"] == 400)
        .await;
    assert_eq!(balance["available_points"], 600);

    let hold_id = held[0].hold_id.clone();
    let redeemed = RewardRedeemed {
        redemption_id: redemption.to_string(),
        member_id: member.id.to_string(),
        hold_id: hold_id.clone(),
        points: 400,
        ..Default::default()
    };
    app.infra
        .publish(topics::REWARD_REDEEMED, member.id, &redeemed)
        .await;
    let balance = app
        .wait_for(member.id, |b| {
            b["total_points"] == 600 && b["on_hold_points"] == 0
        })
        .await;
    assert_eq!(balance["available_points"], 600);
    let spent: Vec<PointsRedeemed> = app.infra.published(topics::POINTS_REDEEMED, 1).await;
    assert_eq!(spent[0].points, 400);
    assert_eq!(spent[0].reference_id, redemption.to_string());

    let cancelled = RewardCancelled {
        redemption_id: redemption.to_string(),
        member_id: member.id.to_string(),
        hold_id,
        points: 400,
        reason: "cancelled".into(),
        ..Default::default()
    };
    for _ in 0..2 {
        app.infra
            .publish(topics::REWARD_CANCELLED, member.id, &cancelled)
            .await;
    }
    app.wait_for(member.id, |b| b["total_points"] == 1000).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.balance(member.id).await["total_points"],
        1000,
        "credited back once"
    );
    app.assert_ledger_consistent(member.id).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_points_a_low_tier_or_no_account_is_refused_and_nothing_changes() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 300, "o-1").await.status(), 201);
    let (short, gold, unknown_tier, stranger) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    app.infra
        .publish(
            topics::REWARD_REDEMPTION_REQUESTED,
            member.id,
            &ask(member.id, short, 500, ""),
        )
        .await;
    app.infra
        .publish(
            topics::REWARD_REDEMPTION_REQUESTED,
            member.id,
            &ask(member.id, gold, 100, "GOLD"),
        )
        .await;
    app.infra
        .publish(
            topics::REWARD_REDEMPTION_REQUESTED,
            member.id,
            &ask(member.id, unknown_tier, 100, "PLATINUM_PLUS"),
        )
        .await;
    let nobody = Uuid::now_v7();
    app.infra
        .publish(
            topics::REWARD_REDEMPTION_REQUESTED,
            nobody,
            &ask(nobody, stranger, 100, ""),
        )
        .await;
    let refused: Vec<PointsHoldRefused> = app.infra.published(topics::POINTS_HOLD_REFUSED, 4).await;
    let by_id = |id: Uuid| {
        refused
            .iter()
            .find(|r| r.redemption_id == id.to_string())
            .unwrap_or_else(|| panic!("an answer for {id}"))
    };
    let short = by_id(short);
    assert_eq!(
        (short.reason.as_str(), short.available, short.points),
        ("insufficient_points", 300, 500)
    );
    let gold = by_id(gold);
    assert_eq!(
        (
            gold.reason.as_str(),
            gold.member_tier.as_str(),
            gold.needed_tier.as_str()
        ),
        ("tier_too_low", "BRONZE", "GOLD")
    );
    assert_eq!(
        by_id(unknown_tier).reason,
        "tier_too_low",
        "a tier the program lacks is out of reach"
    );
    assert_eq!(by_id(stranger).reason, "no_account");
    let balance = app.balance(member.id).await;
    assert_eq!(
        (
            balance["available_points"].as_i64(),
            balance["on_hold_points"].as_i64()
        ),
        (Some(300), Some(0))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_before_the_capture_releases_the_hold() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 200, "o-1").await.status(), 201);
    let redemption = Uuid::now_v7();
    app.infra
        .publish(
            topics::REWARD_REDEMPTION_REQUESTED,
            member.id,
            &ask(member.id, redemption, 150, ""),
        )
        .await;
    let held: Vec<PointsHeld> = app.infra.published(topics::POINTS_HELD, 1).await;
    app.wait_for(member.id, |b| b["on_hold_points"] == 150)
        .await;
    let cancelled = RewardCancelled {
        redemption_id: redemption.to_string(),
        member_id: member.id.to_string(),
        hold_id: held[0].hold_id.clone(),
        points: 150,
        ..Default::default()
    };
    app.infra
        .publish(topics::REWARD_CANCELLED, member.id, &cancelled)
        .await;
    let balance = app.wait_for(member.id, |b| b["on_hold_points"] == 0).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["available_points"].as_i64()
        ),
        (Some(200), Some(200))
    );
    app.assert_ledger_consistent(member.id).await;
    app.stop().await;
}
