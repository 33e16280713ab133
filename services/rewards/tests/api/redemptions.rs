//! Redemptions in the rewards service, with the point service's answers played on the broker.

use crate::helpers::*;
use auth::Role;
use events::proto::{RedemptionRequested, UserErased};
use events::topics;
use futures::future::join_all;
use kernel::DEMO_BUSINESS_ID;
use serde_json::{json, Value};
use testkit::assert_problem;
use uuid::Uuid;

fn voucher(stock: Option<i64>) -> Value {
    json!({"name": "Coffee voucher", "points_cost": 500, "inventory": stock, "category": "Drinks"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_sets_stock_aside_asks_for_the_points_and_issues_a_code_once_they_are_held() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 100).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(3))).await;
    let member = app.member();

    let pending = redeem(&app, &member.token, reward, "k1").await;
    assert_eq!(
        pending.status(),
        202,
        "no answer from the point service yet"
    );
    let location = pending.headers()["location"].to_str().unwrap().to_owned();
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["code"], Value::Null);
    let redemption: Uuid = pending["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        location,
        format!("/api/v1/rewards/redemptions/{redemption}")
    );
    assert_eq!(
        stock(&app.pool, reward).await,
        Some(2),
        "one unit set aside"
    );
    let asked: Vec<RedemptionRequested> = app
        .infra
        .published(topics::REWARD_REDEMPTION_REQUESTED, 1)
        .await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].redemption_id, redemption.to_string());
    assert_eq!(asked[0].member_id, member.id.to_string());
    assert_eq!(asked[0].points, 500);

    let hold = points_held(&app, member.id, redemption, 500).await;
    let issued =
        redemption_when(&app, &member.token, redemption, |r| r["status"] == "issued").await;
    let code = issued["code"].as_str().unwrap();
    assert_eq!(code.len(), 24, "five groups of four: {code}");
    assert!(issued["code_expires_at"].is_string() && issued["cancel_until"].is_string());
    let steps: Vec<&str> = issued["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["pending", "issued"]);

    // The point service answering twice changes nothing.
    points_held(&app, member.id, redemption, 500).await;
    let redeemed: Vec<events::proto::RewardRedeemed> =
        app.infra.published(topics::REWARD_REDEEMED, 1).await;
    assert_eq!(redeemed.len(), 1, "one capture asked for");
    assert_eq!(redeemed[0].hold_id, hold.to_string());
    assert_eq!(redeemed[0].code, code);
    let again = redemption_when(&app, &member.token, redemption, |r| r["status"] == "issued").await;
    assert_eq!(again["code"], code, "the code stays");

    // A retry of the request gets the same redemption, and takes no more stock.
    let retry = redeem(&app, &member.token, reward, "k1").await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], redemption.to_string());
    assert_eq!(stock(&app.pool, reward).await, Some(2));
    let listed: Value = app
        .api
        .get(&member.token, "/api/v1/rewards/redemptions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["code"], code);

    // Nobody else sees it.
    let other = app.member();
    assert_problem(app.api.get(&other.token, &location).await, 404, "not-found").await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_points_fails_the_redemption_names_the_shortfall_and_returns_the_stock() {
    // Long enough for the consumer's first group join on a fresh broker.
    let app = spawn_app_with(|s| s.redemption_wait_ms = 15_000).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(1))).await;
    let member = app.member();
    let request = {
        let api = app.api.clone();
        let token = member.token.clone();
        tokio::spawn(async move {
            api.post(
                &token,
                &format!("/api/v1/rewards/{reward}/redemptions"),
                Some("k"),
                &json!({}),
            )
            .await
        })
    };
    let redemption = pending_redemption(&app.pool, member.id).await;
    too_few_points(&app, member.id, redemption, 500, 120).await;
    let problem = assert_problem(request.await.unwrap(), 422, "insufficient-points").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("380 short"),
        "{problem}"
    );
    assert_eq!(
        stock(&app.pool, reward).await,
        Some(1),
        "the unit came back"
    );
    let failed =
        redemption_when(&app, &member.token, redemption, |r| r["status"] == "failed").await;
    assert_eq!(failed["failure_reason"], "insufficient_points");
    // Someone else can have the unit now.
    let next = app.member();
    assert_eq!(redeem(&app, &next.token, reward, "k").await.status(), 202);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_members_racing_for_ten_units_get_exactly_ten_redemptions() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(10))).await;
    let members: Vec<_> = (0..100).map(|_| app.member()).collect();
    let answers = join_all(
        members
            .iter()
            .map(|m| redeem(&app, &m.token, reward, "race")),
    )
    .await;
    let mut accepted = 0;
    for answer in answers {
        match answer.status().as_u16() {
            202 => accepted += 1,
            409 => {
                assert_problem(answer, 409, "reward-out-of-stock").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(stock(&app.pool, reward).await, Some(0));
    assert_eq!(
        outbox(&app.pool, topics::REWARD_REDEMPTION_REQUESTED).await,
        10,
        "only ten members' points are asked for"
    );
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_member_limit_holds_under_concurrency_and_failed_redemptions_do_not_count() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(
        &app,
        &admin,
        json!({"name": "Daily pastry", "points_cost": 50, "member_limit": 2, "member_limit_period": "day"}),
    )
    .await;
    let member = app.member();
    let keys: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
    let answers = join_all(keys.iter().map(|k| redeem(&app, &member.token, reward, k))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        6,
        "{statuses:?}"
    );
    let refused = answers.into_iter().find(|a| a.status() == 409).unwrap();
    let problem = assert_problem(refused, 409, "redemption-limit-reached").await;
    assert!(problem["detail"].as_str().unwrap().contains("per day"));

    // One of the two fails for want of points: the member may try again.
    let first: Uuid = sqlx::query_scalar(
        "SELECT id FROM redemptions WHERE member_id = $1 ORDER BY created_at LIMIT 1",
    )
    .bind(member.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    too_few_points(&app, member.id, first, 50, 0).await;
    redemption_when(&app, &member.token, first, |r| r["status"] == "failed").await;
    assert_eq!(
        redeem(&app, &member.token, reward, "k9").await.status(),
        202
    );
    assert_problem(
        redeem(&app, &member.token, reward, "k10").await,
        409,
        "redemption-limit-reached",
    )
    .await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_the_steps_ends_where_an_uninterrupted_redemption_ends() {
    let mut app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(5))).await;
    let member = app.member();
    assert_eq!(redeem(&app, &member.token, reward, "k").await.status(), 202);
    let redemption = pending_redemption(&app.pool, member.id).await;

    // The service stops after step 1; the point service answers while it is away.
    app.halt().await.unwrap();
    points_held(&app, member.id, redemption, 500).await;
    resume(&mut app, 0).await;

    let issued =
        redemption_when(&app, &member.token, redemption, |r| r["status"] == "issued").await;
    assert!(issued["code"].is_string());
    assert_eq!(stock(&app.pool, reward).await, Some(4));
    assert_eq!(
        outbox(&app.pool, topics::REWARD_REDEMPTION_REQUESTED).await,
        1
    );
    assert_eq!(outbox(&app.pool, topics::REWARD_REDEEMED).await, 1);
    let steps: i64 =
        sqlx::query_scalar("SELECT count(*) FROM redemption_steps WHERE redemption_id = $1")
            .bind(redemption)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(steps, 2);
    app.stop().await.unwrap();
}

/// Issues a redemption of `reward` for `member` and returns (its id, its code).
async fn issued(
    app: &testkit::ServiceHost,
    member: &testkit::Member,
    reward: Uuid,
) -> (Uuid, String) {
    let key = Uuid::now_v7().to_string();
    let answer = redeem(app, &member.token, reward, &key).await;
    assert_eq!(answer.status(), 202);
    let body: Value = answer.json().await.unwrap();
    let redemption: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    points_held(app, member.id, redemption, body["points"].as_i64().unwrap()).await;
    let issued = redemption_when(app, &member.token, redemption, |r| r["status"] == "issued").await;
    (redemption, issued["code"].as_str().unwrap().to_owned())
}

async fn use_code(
    app: &testkit::ServiceHost,
    token: &str,
    code: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.api
        .post(
            token,
            &format!("/api/v1/rewards/codes/{code}/use"),
            Some(key),
            &body,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_used_once_at_a_store_and_a_second_use_says_when_and_where() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(
        &app,
        &admin,
        json!({"name": "Cake", "points_cost": 300, "inventory": 5, "fulfilment": "store_code"}),
    )
    .await;
    let member = app.member();
    let (redemption, code) = issued(&app, &member, reward).await;
    let store = Uuid::now_v7();
    let cashier = app.tokens.staff_in(
        Uuid::now_v7(),
        Role::Cashier,
        Some(DEMO_BUSINESS_ID),
        vec![store],
    );
    let at_store = json!({"store_id": store});

    // A typo is caught by the check symbol.
    let mut typo: Vec<char> = code.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    assert_problem(
        use_code(&app, &cashier, &typo, "u0", at_store.clone()).await,
        422,
        "code-mistyped",
    )
    .await;
    // Store-code rewards are taken at a store; a cashier elsewhere may not take it.
    assert_problem(
        use_code(&app, &admin, &code, "u0", json!({})).await,
        422,
        "validation-error",
    )
    .await;
    let elsewhere = json!({"store_id": Uuid::now_v7()});
    assert_problem(
        use_code(&app, &cashier, &code, "u0", elsewhere).await,
        403,
        "forbidden",
    )
    .await;
    // Another business's staff do not find it; members may not use codes.
    let stranger = app
        .tokens
        .staff_in(Uuid::now_v7(), Role::Admin, Some(Uuid::now_v7()), vec![]);
    assert_problem(
        use_code(&app, &stranger, &code, "u0", at_store.clone()).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        use_code(&app, &member.token, &code, "u0", at_store.clone()).await,
        404,
        "not-found",
    )
    .await;

    let used = use_code(
        &app,
        &cashier,
        &code.to_lowercase().replace('-', ""),
        "u1",
        at_store.clone(),
    )
    .await;
    assert_eq!(used.status(), 200);
    let used: Value = used.json().await.unwrap();
    assert_eq!(used["status"], "used");
    assert_eq!(used["used_store_id"], store.to_string());
    // The same request again is answered the same; any other use is refused.
    assert_eq!(
        use_code(&app, &cashier, &code, "u1", at_store.clone())
            .await
            .status(),
        200
    );
    let second = assert_problem(
        use_code(&app, &cashier, &code, "u2", at_store.clone()).await,
        409,
        "code-already-used",
    )
    .await;
    assert!(
        second["detail"]
            .as_str()
            .unwrap()
            .contains(&store.to_string()),
        "{second}"
    );
    assert_eq!(outbox(&app.pool, topics::REWARD_USED).await, 1);
    // A used redemption cannot be cancelled.
    let cancel = app
        .api
        .post(
            &member.token,
            &format!("/api/v1/rewards/redemptions/{redemption}/cancel"),
            None,
            &json!({}),
        )
        .await;
    assert_problem(cancel, 409, "redemption-not-cancellable").await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_codes_are_refused_and_partners_need_the_fulfil_scope() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(
        &app,
        &admin,
        json!({"name": "Ticket", "points_cost": 100, "fulfilment": "partner"}),
    )
    .await;
    let member = app.member();
    let (first, first_code) = issued(&app, &member, reward).await;
    let (_, second_code) = issued(&app, &member, reward).await;
    let reader = app.partner(&["rewards:read"]);
    assert_problem(
        use_code(&app, &reader, &second_code, "p", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        use_code(&app, &admin, &second_code, "p", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let fulfiller = app.partner(&["rewards:fulfil"]);
    assert_eq!(
        use_code(&app, &fulfiller, &second_code, "p", json!({}))
            .await
            .status(),
        200
    );

    sqlx::query(
        "UPDATE redemptions SET code_expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(first)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_problem(
        use_code(&app, &fulfiller, &first_code, "p2", json!({})).await,
        409,
        "code-expired",
    )
    .await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cancels_inside_the_window_and_gets_stock_and_points_back() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(2))).await;
    let final_sale = reward_id(
        &app,
        &admin,
        json!({"name": "Final sale", "points_cost": 10, "cancel_window_secs": 0}),
    )
    .await;
    let member = app.member();
    let (redemption, code) = issued(&app, &member, reward).await;
    assert_eq!(stock(&app.pool, reward).await, Some(1));

    let path = format!("/api/v1/rewards/redemptions/{redemption}/cancel");
    let other = app.member();
    assert_problem(
        app.api.post(&other.token, &path, None, &json!({})).await,
        404,
        "not-found",
    )
    .await;
    let cancelled = app.api.post(&member.token, &path, None, &json!({})).await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock(&app.pool, reward).await, Some(2));
    let told: Vec<events::proto::RewardCancelled> =
        app.infra.published(topics::REWARD_CANCELLED, 1).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].points, 500);
    assert!(
        !told[0].hold_id.is_empty(),
        "the point service gives the hold back"
    );
    // Twice is harmless; the code is void.
    assert_eq!(
        app.api
            .post(&member.token, &path, None, &json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(outbox(&app.pool, topics::REWARD_CANCELLED).await, 1);
    let fulfiller = app.partner(&["rewards:fulfil"]);
    assert_problem(
        use_code(&app, &fulfiller, &code, "x", json!({})).await,
        409,
        "redemption-cancelled",
    )
    .await;

    let (no_cancel, _) = issued(&app, &member, final_sale).await;
    let refused = app
        .api
        .post(
            &member.token,
            &format!("/api/v1/rewards/redemptions/{no_cancel}/cancel"),
            None,
            &json!({}),
        )
        .await;
    assert_problem(refused, 409, "cancel-window-closed").await;
    // Staff of the business may still cancel it.
    let by_staff = app
        .api
        .post(
            &admin,
            &format!("/api/v1/rewards/redemptions/{no_cancel}/cancel"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(by_staff.status(), 200);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_archived_and_out_of_window_rewards_are_refused_with_their_reason() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let member = app.member();
    assert_problem(
        redeem(&app, &member.token, Uuid::now_v7(), "a").await,
        404,
        "not-found",
    )
    .await;
    let later = reward_id(
        &app,
        &admin,
        json!({"name": "Summer", "points_cost": 10, "valid_from": "2999-06-01T00:00:00Z"}),
    )
    .await;
    let problem = assert_problem(
        redeem(&app, &member.token, later, "b").await,
        409,
        "reward-not-in-window",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("2999-06-01"));
    let gone = reward_id(&app, &admin, mug(10)).await;
    let archived = app
        .api
        .post(
            &admin,
            &format!("/api/v1/rewards/{gone}/archive"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(archived.status(), 200);
    assert_problem(
        redeem(&app, &member.token, gone, "c").await,
        409,
        "reward-inactive",
    )
    .await;
    let sold_out = reward_id(&app, &admin, voucher(Some(0))).await;
    assert_problem(
        redeem(&app, &member.token, sold_out, "d").await,
        409,
        "reward-out-of-stock",
    )
    .await;
    // Partners do not redeem, staff name the member; the key is required and means one request.
    let partner = app.partner(&["rewards:read", "rewards:fulfil", "points:redeem"]);
    assert_problem(
        redeem(&app, &partner, sold_out, "e").await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        redeem(&app, &admin, sold_out, "e").await,
        422,
        "validation-error",
    )
    .await;
    let open = reward_id(&app, &admin, mug(10)).await;
    let no_key = app
        .api
        .post(
            &member.token,
            &format!("/api/v1/rewards/{open}/redemptions"),
            None,
            &json!({}),
        )
        .await;
    assert_problem(no_key, 422, "validation-error").await;
    assert_eq!(redeem(&app, &member.token, open, "f").await.status(), 202);
    assert_problem(
        redeem(&app, &member.token, later, "f").await,
        422,
        "idempotency-key-reused",
    )
    .await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM redemptions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "nothing but the one good redemption was written");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_member_s_redemptions_stay_without_them() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(5))).await;
    let member = app.member();
    let (redemption, _) = issued(&app, &member, reward).await;
    app.infra
        .publish(
            topics::USER_ERASED,
            member.id,
            &UserErased {
                user_id: member.id.to_string(),
                ..Default::default()
            },
        )
        .await;
    testkit::eventually(std::time::Duration::from_secs(15), || async {
        let member_id: Option<Uuid> =
            sqlx::query_scalar("SELECT member_id FROM redemptions WHERE id = $1")
                .bind(redemption)
                .fetch_one(&app.pool)
                .await?;
        Ok(member_id.is_none().then_some(()))
    })
    .await
    .expect("the redemption forgets its member");
    assert_problem(
        app.api
            .get(
                &member.token,
                &format!("/api/v1/rewards/redemptions/{redemption}"),
            )
            .await,
        404,
        "not-found",
    )
    .await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_redeems_for_an_identified_member_at_their_store_only() {
    let app = spawn_app_with(|s| s.redemption_wait_ms = 0).await;
    let admin = app.staff(Role::Admin);
    let reward = reward_id(&app, &admin, voucher(Some(3))).await;
    let store = Uuid::now_v7();
    let cashier = app.tokens.staff_in(
        Uuid::now_v7(),
        Role::Cashier,
        Some(DEMO_BUSINESS_ID),
        vec![store],
    );
    let member = app.member();
    let path = format!("/api/v1/rewards/{reward}/redemptions");
    let at_counter = |body: Value, key: &'static str, token: String| {
        let api = app.api.clone();
        let path = path.clone();
        async move { api.post(&token, &path, Some(key), &body).await }
    };
    assert_problem(
        at_counter(json!({"store_id": store}), "c0", cashier.clone()).await,
        422,
        "validation-error",
    )
    .await;
    let elsewhere = json!({"member_id": member.id, "store_id": Uuid::now_v7()});
    assert_problem(
        at_counter(elsewhere, "c0", cashier.clone()).await,
        403,
        "forbidden",
    )
    .await;
    let stranger = app
        .tokens
        .staff_in(Uuid::now_v7(), Role::Admin, Some(Uuid::now_v7()), vec![]);
    assert_problem(
        at_counter(json!({"member_id": member.id}), "c0", stranger).await,
        404,
        "not-found",
    )
    .await;
    let someone_else = app.member();
    assert_problem(
        at_counter(
            json!({"member_id": someone_else.id}),
            "c0",
            member.token.clone(),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        stock(&app.pool, reward).await,
        Some(3),
        "nothing was set aside"
    );

    let redeemed = at_counter(
        json!({"member_id": member.id, "store_id": store}),
        "c1",
        cashier.clone(),
    )
    .await;
    assert_eq!(redeemed.status(), 202);
    let redeemed: Value = redeemed.json().await.unwrap();
    let redemption: Uuid = redeemed["id"].as_str().unwrap().parse().unwrap();
    points_held(&app, member.id, redemption, 500).await;
    // The cashier follows it to the code; the member sees it as theirs.
    let issued = redemption_when(&app, &cashier, redemption, |r| r["status"] == "issued").await;
    assert!(issued["code"].is_string());
    let mine: Value = app
        .api
        .get(&member.token, "/api/v1/rewards/redemptions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["id"], redemption.to_string());
    app.stop().await.unwrap();
}
