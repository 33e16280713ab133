use crate::helpers::{assert_problem, earn_path, TestApp};
use events::proto::{
    CampaignRewardDue, ChargeRefunded, ChargeSucceeded, OrderCompleted, UserErased, UserRegistered,
};
use events::topics;
use serde_json::json;
use uuid::Uuid;

fn charge(member: Uuid, id: &str, amount: i64) -> ChargeSucceeded {
    ChargeSucceeded {
        charge_id: id.into(),
        member_id: member.to_string(),
        amount,
        currency: "AUD".into(),
        kind: "purchase".into(),
        ..Default::default()
    }
}

fn refund(member: Uuid, id: &str, amount: i64, total: i64) -> ChargeRefunded {
    ChargeRefunded {
        charge_id: id.into(),
        refund_id: Uuid::new_v4().to_string(),
        member_id: member.to_string(),
        refund_amount: total,
        charge_amount: amount,
        total_refunded: total,
        currency: "AUD".into(),
        psp: "stripe".into(),
    }
}

async fn transactions(app: &TestApp, member: Uuid) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT kind, points FROM point_transactions WHERE member_id = $1 ORDER BY created_at, id",
    )
    .bind(member)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_opens_the_account_and_a_charge_earns_once() {
    let app = TestApp::start().await;
    let member = Uuid::now_v7();
    let registered = UserRegistered {
        user_id: member.to_string(),
        role: "customer".into(),
        ..Default::default()
    };
    app.infra
        .publish(topics::USER_REGISTERED, member, &registered)
        .await;
    app.wait_for(member, |b| b["total_points"] == 0).await;
    for _ in 0..2 {
        app.infra
            .publish(
                topics::CHARGE_SUCCEEDED,
                member,
                &charge(member, "ch_1", 20000),
            )
            .await;
    }
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            member,
            &charge(member, "ch_2", 100),
        )
        .await;
    let balance = app.wait_for(member, |b| b["total_points"] == 201).await;
    assert_eq!(
        balance["lifetime_points"], 201,
        "the duplicate earned nothing"
    );
    app.assert_ledger_consistent(member).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_reverse_proportionally_and_a_refund_before_its_charge_ends_the_same() {
    let app = TestApp::start().await;
    let in_order = app.member().await.id;
    let out_of_order = app.member().await.id;

    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            in_order,
            &charge(in_order, "ch_a", 12345),
        )
        .await;
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            in_order,
            &refund(in_order, "ch_a", 12345, 6000),
        )
        .await;
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            in_order,
            &refund(in_order, "ch_a", 12345, 6000),
        )
        .await;

    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            out_of_order,
            &refund(out_of_order, "ch_b", 12345, 6000),
        )
        .await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            out_of_order,
            &charge(out_of_order, "ch_b", 12345),
        )
        .await;

    // 123 points, 6000/12345 of them reversed (59): 64 left, either way.
    let a = app.wait_for(in_order, |b| b["total_points"] == 64).await;
    let b = app
        .wait_for(out_of_order, |b| b["total_points"] == 64)
        .await;
    assert_eq!(a["lifetime_points"], b["lifetime_points"]);
    // Towards tiers the purchase counts for what was not refunded.
    assert_eq!(a["qualifying_spend"], 6345);
    assert_eq!(b["qualifying_spend"], 6345);
    assert_eq!(
        transactions(&app, in_order).await,
        vec![("earn".into(), 123), ("reverse".into(), -59)]
    );
    assert_eq!(
        transactions(&app, out_of_order).await,
        vec![("earn".into(), 123), ("reverse".into(), -59)]
    );

    // The rest of the refund takes back the rest, never more.
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            in_order,
            &refund(in_order, "ch_a", 12345, 12345),
        )
        .await;
    app.wait_for(in_order, |b| b["total_points"] == 0).await;
    app.assert_ledger_consistent(in_order).await;
    app.assert_ledger_consistent(out_of_order).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_after_the_points_were_spent_does_not_go_below_zero() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            member.id,
            &charge(member.id, "ch_s", 10000),
        )
        .await;
    app.wait_for(member.id, |b| b["total_points"] == 100).await;
    let spent = app.redeem(&member, "spend", 80).await;
    assert_eq!(spent.status(), 201);
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            member.id,
            &refund(member.id, "ch_s", 10000, 10000),
        )
        .await;
    app.wait_for(member.id, |b| b["total_points"] == 0).await;
    let shortfall: i64 = sqlx::query_scalar(
        "SELECT shortfall FROM point_transactions WHERE member_id = $1 AND kind = 'reverse'",
    )
    .bind(member.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(shortfall, 80, "what could not be taken back is recorded");
    app.assert_ledger_consistent(member.id).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_orders_stay_pending_through_the_return_window() {
    let app = TestApp::start().await;
    let member = app.member().await.id;
    point_service::seed::demo_program(&app.pool).await.unwrap();
    let order = |id: &str| OrderCompleted {
        order_id: id.into(),
        member_id: member.to_string(),
        amount: 5000,
        currency: "AUD".into(),
        partner_id: "shop-1".into(),
        ..Default::default()
    };
    app.infra
        .publish(topics::ORDER_COMPLETED, member, &order("o-1"))
        .await;
    app.infra
        .publish(topics::ORDER_COMPLETED, member, &order("o-2"))
        .await;
    let balance = app.wait_for(member, |b| b["pending_points"] == 100).await;
    assert_eq!(balance["total_points"], 0);

    // Not yet spendable, and the jobs leave them alone until the window closes.
    let early = point_service::core::scheduler::run_once(
        &app.pool,
        chrono::Utc::now() + chrono::Duration::days(13),
    )
    .await
    .unwrap();
    assert_eq!(early.activated_lots, 0);
    let report = point_service::core::scheduler::run_once(
        &app.pool,
        chrono::Utc::now() + chrono::Duration::days(15),
    )
    .await
    .unwrap();
    assert_eq!(report.activated_lots, 2);
    let balance = app.balance(member).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["pending_points"].as_i64()
        ),
        (Some(100), Some(0))
    );
    app.assert_ledger_consistent(member).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_refunded_inside_its_return_window_cancels_the_pending_points() {
    let app = TestApp::start().await;
    let member = app.member().await.id;
    let set = app
        .put(
            &app.admin,
            "/api/v1/points/sources/charge",
            &json!({"pending_days": 14}),
        )
        .await;
    assert_eq!(set.status(), 204);
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            member,
            &charge(member, "ch_p", 10000),
        )
        .await;
    app.wait_for(member, |b| b["pending_points"] == 100).await;
    app.infra
        .publish(
            topics::CHARGE_REFUNDED,
            member,
            &refund(member, "ch_p", 10000, 2500),
        )
        .await;
    app.wait_for(member, |b| b["pending_points"] == 75).await;
    point_service::core::scheduler::run_once(
        &app.pool,
        chrono::Utc::now() + chrono::Duration::days(15),
    )
    .await
    .unwrap();
    let balance = app.balance(member).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["pending_points"].as_i64()
        ),
        (Some(75), Some(0))
    );
    app.assert_ledger_consistent(member).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_bonus_is_paid_once_per_window() {
    let app = TestApp::start().await;
    let member = app.member().await.id;
    let due = CampaignRewardDue {
        campaign_id: "load-goal".into(),
        window_id: "2026-11".into(),
        member_id: member.to_string(),
        points: 500,
        reason: "Load goal reached".into(),
    };
    for _ in 0..3 {
        app.infra
            .publish(topics::CAMPAIGN_REWARD_DUE, member, &due)
            .await;
    }
    let next = CampaignRewardDue {
        window_id: "2026-12".into(),
        ..due.clone()
    };
    app.infra
        .publish(topics::CAMPAIGN_REWARD_DUE, member, &next)
        .await;
    let balance = app.wait_for(member, |b| b["total_points"] == 1000).await;
    assert_eq!(balance["lifetime_points"], 1000);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_member_keeps_no_descriptions_and_earns_no_more() {
    let app = TestApp::start().await;
    let member = app.member().await.id;
    let earned = app
        .api.post(&app.partner, &earn_path(member), None,
              &json!({"points": 10, "source": "shop", "reference_id": "r1", "description": "Gift for Ada Lovelace, 12 Main St"}))
        .await;
    assert_eq!(earned.status(), 201);
    app.infra
        .publish(
            topics::USER_ERASED,
            member,
            &UserErased {
                user_id: member.to_string(),
                ..Default::default()
            },
        )
        .await;
    testkit::eventually(std::time::Duration::from_secs(15), || async {
        let erased: bool =
            sqlx::query_scalar("SELECT erased_at IS NOT NULL FROM accounts WHERE member_id = $1")
                .bind(member)
                .fetch_one(&app.pool)
                .await?;
        Ok(erased.then_some(()))
    })
    .await
    .unwrap();
    let descriptions: Vec<Option<String>> =
        sqlx::query_scalar("SELECT description FROM point_transactions WHERE member_id = $1")
            .bind(member)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(descriptions, vec![None]);
    let again = app.earn_points(member, 10, "r2").await;
    assert_problem(again, 422, "member-erased").await;
    // The books still balance: amounts are kept.
    app.assert_ledger_consistent(member).await;
    app.stop().await;
}
