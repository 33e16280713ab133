use crate::helpers::{assert_problem, TestApp, POS};
use serde_json::{json, Value};

#[tokio::test]
async fn bonus_rules_apply_from_their_creation_and_changes_never_rewrite_history() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let pos = |tx: &str, store: &str| json!({"store_id": store, "transaction_id": tx, "user_identifier": member.id, "amount": 10000});
    let rule_body =
        json!({"name": "Double points at store 7", "multiplier_bp": 200, "store_id": "store-7"});
    assert_problem(
        app.api
            .post(&app.support, "/api/v1/points/rules", None, &rule_body)
            .await,
        403,
        "forbidden",
    )
    .await;
    let rule: Value = app
        .api
        .post(&app.admin, "/api/v1/points/rules", None, &rule_body)
        .await
        .json()
        .await
        .unwrap();
    let rule_id = rule["id"].as_str().unwrap().to_owned();

    let doubled: Value = app
        .api
        .post(&app.partner, POS, None, &pos("t1", "store-7"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doubled["points"], 200);
    let elsewhere: Value = app
        .api
        .post(&app.partner, POS, None, &pos("t2", "store-8"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(elsewhere["points"], 100);

    // Triple points from now on: the earlier transaction keeps its 200 and its rule.
    let triple =
        json!({"name": "Triple points at store 7", "multiplier_bp": 300, "store_id": "store-7"});
    let replaced = app
        .put(
            &app.admin,
            &format!("/api/v1/points/rules/{rule_id}"),
            &triple,
        )
        .await;
    assert_eq!(replaced.status(), 201);
    let new_rule: Value = replaced.json().await.unwrap();
    let tripled: Value = app
        .api
        .post(&app.partner, POS, None, &pos("t3", "store-7"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tripled["points"], 300);
    let history: Vec<(i64, Vec<uuid::Uuid>)> = sqlx::query_as(
        "SELECT points, rule_ids FROM point_transactions WHERE member_id = $1 ORDER BY created_at",
    )
    .bind(member.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(history[0], (200, vec![rule_id.parse().unwrap()]));
    assert_eq!(
        history[2].1,
        vec![new_rule["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap()]
    );

    let retired = app
        .api
        .delete(
            &app.admin,
            &format!("/api/v1/points/rules/{}", new_rule["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(retired.status(), 204);
    let plain: Value = app
        .api
        .post(&app.partner, POS, None, &pos("t4", "store-7"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain["points"], 100);
    let all: Vec<Value> = app
        .api
        .get(&app.admin, "/api/v1/points/rules?include_retired=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn caps_limit_points_per_transaction_and_per_day() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let mut settings: Value = app
        .api
        .get(&app.admin, "/api/v1/points/program")
        .await
        .json()
        .await
        .unwrap();
    settings["cap_per_transaction"] = json!(150);
    settings["cap_per_day"] = json!(200);
    let saved = app
        .put(&app.admin, "/api/v1/points/program", &settings)
        .await;
    assert_eq!(saved.status(), 200);
    let first: Value = app
        .earn_amount(member.id, 50_000, "big-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["points"], 150);
    assert_eq!(first["earned"]["capped"], 350);
    let second: Value = app
        .earn_amount(member.id, 50_000, "big-2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["points"], 50, "what is left of the day's cap");
    settings["rounding"] = json!("sideways");
    let bad = app
        .put(&app.admin, "/api/v1/points/program", &settings)
        .await;
    assert_problem(bad, 422, "validation-error").await;
}

#[tokio::test]
async fn support_adjusts_points_with_a_reason_audited_and_idempotent() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let path = format!("/api/v1/points/{}/adjustments", member.id);
    let body = json!({"points": 50, "reason": "Goodwill: late delivery"});
    assert_problem(
        app.api
            .post(&member.token, &path, Some("adj-1"), &body)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api
            .post(&app.partner, &path, Some("adj-1"), &body)
            .await,
        403,
        "forbidden",
    )
    .await;
    let made = app
        .api
        .post(&app.support, &path, Some("adj-1"), &body)
        .await;
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let again = app
        .api
        .post(&app.support, &path, Some("adj-1"), &body)
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], made["id"]);
    assert_problem(
        app.api
            .post(
                &app.support,
                &path,
                Some("adj-1"),
                &json!({"points": 60, "reason": "x"}),
            )
            .await,
        422,
        "idempotency-key-reused",
    )
    .await;
    assert_problem(
        app.api
            .post(
                &app.support,
                &path,
                Some("adj-2"),
                &json!({"points": -80, "reason": "Correction"}),
            )
            .await,
        422,
        "insufficient-points",
    )
    .await;
    assert_problem(
        app.api
            .post(
                &app.support,
                &path,
                Some("adj-3"),
                &json!({"points": 0, "reason": "nothing"}),
            )
            .await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(
        app.api
            .post(
                &app.support,
                &path,
                Some("adj-4"),
                &json!({"points": -20, "reason": "Correction"})
            )
            .await
            .status(),
        201
    );
    assert_eq!(app.balance(member.id).await["total_points"], 30);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'points.adjust' AND member_id = $1",
    )
    .bind(member.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    app.assert_ledger_consistent(member.id).await;
}

#[tokio::test]
async fn what_one_purchase_earns_has_a_ceiling_however_many_rules_match() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let settings: Value = app
        .api
        .get(&app.admin, "/api/v1/points/program")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["cap_per_transaction"], 100_000,
        "every program has a cap"
    );
    let mut uncapped = settings.clone();
    uncapped["cap_per_transaction"] = Value::Null;
    let refused = app
        .put(&app.admin, "/api/v1/points/program", &uncapped)
        .await;
    let problem = assert_problem(refused, 422, "validation-error").await;
    assert_eq!(
        problem["errors"][0]["field"], "cap_per_transaction",
        "{problem}"
    );

    // Forty generous rules that all match: only the best multiplier and bonus count.
    for n in 0..40 {
        let rule = json!({"name": format!("Promotion {n}"), "multiplier_bp": 10_000, "bonus_points": 1_000 + n});
        let created = app
            .api
            .post(&app.admin, "/api/v1/points/rules", None, &rule)
            .await;
        assert_eq!(created.status(), 201);
    }
    let earned: Value = app
        .earn_amount(member.id, 1_000, "ten-dollars")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(earned["points"], 10 * 100 + 1_039, "{earned}");

    // And the program's cap bounds even that.
    let mut tight = settings.clone();
    tight["cap_per_transaction"] = json!(500);
    assert_eq!(
        app.put(&app.admin, "/api/v1/points/program", &tight)
            .await
            .status(),
        200
    );
    let capped: Value = app
        .earn_amount(member.id, 1_000, "ten-more-dollars")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(capped["points"], 500, "{capped}");
}

/// Every instance of the service keeps the program in memory; a change made anywhere (another
/// instance, or a migration run by hand) reaches them all through the tables' notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_change_made_elsewhere_reaches_the_running_service() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let earn = |reference: &'static str| {
        let app = &app;
        async move {
            let earned: Value = app
                .earn_amount(member.id, 10_000, reference)
                .await
                .json()
                .await
                .unwrap();
            earned["points"].as_i64().unwrap()
        }
    };
    assert_eq!(earn("before").await, 100);
    sqlx::query("UPDATE program SET points_per_unit = 3")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut attempt = 0;
    let points = loop {
        attempt += 1;
        let points =
            earn(["after-1", "after-2", "after-3", "after-4", "after-5"][attempt - 1]).await;
        if points != 100 || attempt == 5 {
            break points;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(points, 300, "the earn used the changed program");
}
