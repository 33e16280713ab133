use crate::helpers::{member_when, spawn_app};
use auth::Role;
use events::proto::{ChargeSucceeded, PointsEarned, UserErased, UserRegistered};
use events::topics;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::assert_problem;

fn registered(member: uuid::Uuid) -> UserRegistered {
    UserRegistered {
        user_id: member.to_string(),
        role: "customer".into(),
        registered_at: Some(events::proto_timestamp(chrono::Utc::now())),
        marketing_consent: false,
    }
}

fn earned(member: uuid::Uuid, points: i64) -> PointsEarned {
    PointsEarned {
        member_id: member.to_string(),
        points,
        ..Default::default()
    }
}

fn charged(member: uuid::Uuid, amount: i64, currency: &str) -> ChargeSucceeded {
    ChargeSucceeded {
        member_id: member.to_string(),
        amount,
        currency: currency.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn staff_see_a_members_activity_projected_from_the_events() {
    let app = spawn_app().await;
    let member = app.member();
    app.infra
        .publish(topics::USER_REGISTERED, member.id, &registered(member.id))
        .await;
    app.infra
        .publish(topics::POINTS_EARNED, member.id, &earned(member.id, 120))
        .await;
    app.infra
        .publish(topics::POINTS_EARNED, member.id, &earned(member.id, 30))
        .await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            member.id,
            &charged(member.id, 12_345, "AUD"),
        )
        .await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            member.id,
            &charged(member.id, 500, "USD"),
        )
        .await;

    let support = app.staff(Role::Support);
    let activity = member_when(&app, &support, member.id, |a| {
        a["charges_succeeded"] == 2 && a["points_events"] == 2
    })
    .await;
    assert_eq!(activity["role"], "customer");
    assert_eq!(activity["points_earned_total"], 150);
    assert_eq!(
        activity["charge_volume"],
        json!([{"currency": "AUD", "amount": 12_345}, {"currency": "USD", "amount": 500}])
    );
    let stats: Value = app
        .api
        .get(&app.staff(Role::Admin), "/api/v1/admin/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        json!({"members": 1, "points_earned_total": 150, "charges_succeeded": 2})
    );
}

#[tokio::test]
async fn the_back_office_is_for_staff_only() {
    let app = spawn_app().await;
    let member = app.member();
    let path = format!("/api/v1/admin/members/{}", member.id);
    for token in [
        member.token.clone(),
        app.partner(&["points:read", "admin:read"]),
    ] {
        assert_problem(app.api.get(&token, &path).await, 403, "forbidden").await;
        assert_problem(
            app.api.get(&token, "/api/v1/admin/stats").await,
            403,
            "forbidden",
        )
        .await;
    }
    let anonymous = app.api.http.get(app.api.url(&path)).send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    let unknown = app.api.get(&app.staff(Role::Support), &path).await;
    assert_problem(unknown, 404, "not-found").await;
    let not_an_id = app
        .api
        .get(&app.staff(Role::Support), "/api/v1/admin/members/42")
        .await;
    assert_eq!(not_an_id.status(), 404);
}

#[tokio::test]
async fn an_erased_member_is_forgotten_and_late_events_do_not_bring_them_back() {
    let app = spawn_app().await;
    let member = app.member();
    let support = app.staff(Role::Support);
    app.infra
        .publish(topics::USER_REGISTERED, member.id, &registered(member.id))
        .await;
    app.infra
        .publish(topics::POINTS_EARNED, member.id, &earned(member.id, 75))
        .await;
    member_when(&app, &support, member.id, |a| {
        a["points_earned_total"] == 75
    })
    .await;

    let erased = UserErased {
        user_id: member.id.to_string(),
        erased_at: Some(events::proto_timestamp(chrono::Utc::now())),
    };
    app.infra
        .publish(topics::USER_ERASED, member.id, &erased)
        .await;
    // An event that was in flight when the member was erased.
    app.infra
        .publish(topics::POINTS_EARNED, member.id, &earned(member.id, 10))
        .await;
    // All four events have been handled once the inbox holds them.
    testkit::eventually(Duration::from_secs(15), || async {
        let handled: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
            .fetch_one(&app.pool)
            .await?;
        Ok((handled == 4).then_some(()))
    })
    .await
    .unwrap();

    let path = format!("/api/v1/admin/members/{}", member.id);
    assert_problem(app.api.get(&support, &path).await, 404, "not-found").await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM member_activity WHERE member_id = $1")
        .bind(member.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn staff_accounts_of_every_business_role_are_projected() {
    let app = spawn_app().await;
    let support = app.staff(Role::Support);
    for role in ["owner", "store_manager", "cashier"] {
        let account = uuid::Uuid::now_v7();
        let registered = UserRegistered {
            role: role.into(),
            ..registered(account)
        };
        app.infra
            .publish(topics::USER_REGISTERED, account, &registered)
            .await;
        let activity = member_when(&app, &support, account, |a| !a["role"].is_null()).await;
        assert_eq!(activity["role"], role);
    }
}
