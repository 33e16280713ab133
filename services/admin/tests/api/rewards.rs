//! The rewards read model: top rewards and redemptions per day, per business.

use crate::helpers::{spawn_app, staff_of};
use auth::Role;
use events::proto::{RewardCancelled, RewardRedeemed, RewardUsed};
use events::topics;
use kernel::DEMO_BUSINESS_ID;
use serde_json::Value;
use std::time::Duration;
use testkit::{assert_problem, eventually};
use uuid::Uuid;

fn redeemed(member: Uuid, reward: Uuid, name: &str, points: i64) -> RewardRedeemed {
    RewardRedeemed {
        redemption_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        reward_id: reward.to_string(),
        reward_name: name.into(),
        points,
        hold_id: Uuid::now_v7().to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_their_business_s_top_rewards_and_redemptions_per_day() {
    let app = spawn_app().await;
    let (mug, cake) = (Uuid::now_v7(), Uuid::now_v7());
    let member = Uuid::now_v7();
    for _ in 0..3 {
        app.infra
            .publish(
                topics::REWARD_REDEEMED,
                member,
                &redeemed(member, mug, "Mug", 300),
            )
            .await;
    }
    app.infra
        .publish(
            topics::REWARD_REDEEMED,
            member,
            &redeemed(member, cake, "Cake", 100),
        )
        .await;
    let used = RewardUsed {
        reward_id: mug.to_string(),
        member_id: member.to_string(),
        ..Default::default()
    };
    app.infra.publish(topics::REWARD_USED, member, &used).await;
    let cancelled = |reason: &str| RewardCancelled {
        reward_id: cake.to_string(),
        member_id: member.to_string(),
        points: 100,
        hold_id: Uuid::now_v7().to_string(),
        reason: reason.into(),
        ..Default::default()
    };
    app.infra
        .publish(topics::REWARD_CANCELLED, member, &cancelled("cancelled"))
        .await;
    // The saga giving back a hold it never issued is not a cancellation of a redemption.
    app.infra
        .publish(
            topics::REWARD_CANCELLED,
            member,
            &cancelled("redemption_failed"),
        )
        .await;

    let support = app.staff(Role::Support);
    let stats: Value = eventually(Duration::from_secs(15), || async {
        let stats: Value = app
            .api
            .get(&support, "/api/v1/admin/rewards/stats")
            .await
            .json()
            .await?;
        let done = stats["per_day"][0]["cancelled"] == 1 && stats["per_day"][0]["used"] == 1;
        Ok(done.then_some(stats))
    })
    .await
    .expect("the events are counted");
    assert_eq!(stats["business_id"], DEMO_BUSINESS_ID.to_string());
    let top = stats["top_rewards"].as_array().unwrap();
    assert_eq!(top[0]["reward_name"], "Mug");
    assert_eq!(
        (
            top[0]["redeemed"].as_i64(),
            top[0]["used"].as_i64(),
            top[0]["points"].as_i64()
        ),
        (Some(3), Some(1), Some(900))
    );
    assert_eq!(top[1]["reward_name"], "Cake");
    assert_eq!(
        (
            top[1]["redeemed"].as_i64(),
            top[1]["cancelled"].as_i64(),
            top[1]["points"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(stats["per_day"].as_array().unwrap().len(), 1);
    assert_eq!(stats["per_day"][0]["redeemed"], 4);
    // The give-back was applied (nothing to count), not dead-lettered: all 7 are in the inbox.
    let applied = |topic: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM inbox WHERE topic = $1")
                .bind(topic)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    eventually(Duration::from_secs(15), || async {
        Ok((applied(topics::REWARD_CANCELLED).await == 2).then_some(()))
    })
    .await
    .expect("both cancellations are applied");
    // Points no redemption can cost are dead-lettered, never summed.
    app.infra
        .publish(
            topics::REWARD_REDEEMED,
            member,
            &redeemed(member, mug, "Mug", i64::MAX),
        )
        .await;
    app.infra
        .publish(
            topics::REWARD_REDEEMED,
            member,
            &redeemed(member, mug, "Mug", 1),
        )
        .await;
    let after: Value = eventually(Duration::from_secs(15), || async {
        let stats: Value = app
            .api
            .get(&support, "/api/v1/admin/rewards/stats")
            .await
            .json()
            .await?;
        Ok((stats["top_rewards"][0]["redeemed"] == 4).then_some(stats))
    })
    .await
    .expect("the good event after the bad one is counted");
    assert_eq!(after["top_rewards"][0]["points"], 901);
    assert_eq!(
        applied(topics::REWARD_REDEEMED).await,
        5,
        "the bad one is not applied"
    );

    // Another business's staff see their own (empty) figures and not these; members see none.
    let elsewhere = Uuid::now_v7();
    let stranger = staff_of(&app, Role::Admin, elsewhere, &[]);
    let theirs: Value = app
        .api
        .get(&stranger, "/api/v1/admin/rewards/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["top_rewards"].as_array().unwrap().len(), 0);
    assert_problem(
        app.api
            .get(
                &stranger,
                &format!("/api/v1/admin/rewards/stats?business_id={DEMO_BUSINESS_ID}"),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    let member_token = app.member().token;
    assert_problem(
        app.api
            .get(&member_token, "/api/v1/admin/rewards/stats")
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api
            .get(&support, "/api/v1/admin/rewards/stats?days=0")
            .await,
        422,
        "validation-error",
    )
    .await;
    app.stop().await.unwrap();
}
