use crate::helpers::{assert_problem, earn_path, TestApp};
use base64::Engine;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn bad_earns_are_refused_and_nothing_is_written() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let path = earn_path(member.id);
    let cases = [
        (
            json!({"amount": -100, "currency": "AUD", "source": "shop", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"amount": 100, "currency": "ZZZ", "source": "shop", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 0, "source": "shop", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 10_000_000_000_i64, "source": "shop", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "amount": 100, "currency": "AUD", "source": "shop", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "source": "charge", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "source": "Shop Name!", "reference_id": "a"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "source": "shop", "reference_id": ""}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "source": "shop", "reference_id": "a", "occurred_at": "2999-01-01T00:00:00Z"}),
            422,
            "validation-error",
        ),
        (
            json!({"points": 5, "source": "shop", "reference_id": "a", "bonus": true}),
            422,
            "validation-error",
        ),
        (
            json!({"amount": 10000, "currency": "USD", "source": "shop", "reference_id": "a"}),
            422,
            "currency-not-accepted",
        ),
    ];
    for (body, status, problem) in cases {
        let response = app.api.post(&app.partner, &path, None, &body).await;
        assert_problem(response, status, problem).await;
    }
    let unknown = earn_path(Uuid::new_v4());
    assert_problem(
        app.api
            .post(
                &app.partner,
                &unknown,
                None,
                &json!({"points": 5, "source": "shop", "reference_id": "a"}),
            )
            .await,
        404,
        "not-found",
    )
    .await;
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM point_transactions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn a_hold_larger_than_the_available_points_names_the_available_amount() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 100, "r").await;
    let path = format!("/api/v1/points/{}/holds", member.id);
    let body = assert_problem(
        app.api
            .post(&member.token, &path, Some("h1"), &json!({"points": 101}))
            .await,
        422,
        "insufficient-points",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("100 available"),
        "{body}"
    );
    assert_problem(
        app.api
            .post(&member.token, &path, None, &json!({"points": 1}))
            .await,
        422,
        "validation-error",
    )
    .await;
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(holds, 0);
}

#[tokio::test]
async fn a_tampered_cursor_is_refused() {
    let app = TestApp::start().await;
    let member = app.member().await;
    for i in 0..3 {
        app.earn_points(member.id, 5, &format!("r{i}")).await;
    }
    let path = format!("/api/v1/points/{}/transactions", member.id);
    let page: serde_json::Value = app
        .api
        .get(&member.token, &format!("{path}?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decoded = String::from_utf8(engine.decode(cursor).unwrap()).unwrap();
    let (micros, id) = decoded.split_once('|').unwrap();
    let shifted: i64 = micros.parse::<i64>().unwrap() + 1;
    let tampered = engine.encode(format!("{shifted}|{id}"));
    for bad in [tampered.as_str(), "garbage", "bm90LWEtY3Vyc29y"] {
        let response = app
            .api
            .get(&member.token, &format!("{path}?cursor={bad}"))
            .await;
        assert_problem(response, 400, "malformed-request").await;
    }
    assert_problem(
        app.api.get(&member.token, &format!("{path}?limit=0")).await,
        422,
        "validation-error",
    )
    .await;
    assert_problem(
        app.api
            .get(&member.token, &format!("{path}?type=gift"))
            .await,
        422,
        "validation-error",
    )
    .await;
}

#[tokio::test]
async fn a_nul_byte_in_free_text_is_a_field_error_not_a_crash() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 100, "r").await.status(), 201);
    let id = member.id;
    let cases = [
        (
            &app.support,
            format!("/api/v1/points/{id}/adjustments"),
            Some("nul-1"),
            json!({"points": 5, "reason": "late\u{0}delivery"}),
            "reason",
        ),
        (
            &member.token,
            format!("/api/v1/points/{id}/holds"),
            Some("nul-2"),
            json!({"points": 5, "description": "gift\u{0}card"}),
            "description",
        ),
        (
            &member.token,
            format!("/api/v1/points/{id}/redeem"),
            Some("nul-3"),
            json!({"points": 5, "reference_id": "r\u{0}1"}),
            "reference_id",
        ),
        (
            &app.partner,
            earn_path(id),
            None,
            json!({"points": 5, "source": "shop", "reference_id": "n", "description": "a\u{0}b"}),
            "description",
        ),
        (
            &app.admin,
            "/api/v1/points/rules".to_owned(),
            None,
            json!({"name": "Double\u{0}", "multiplier_bp": 200}),
            "name",
        ),
    ];
    for (token, path, key, body, field) in cases {
        let problem = assert_problem(
            app.api.post(token, &path, key, &body).await,
            422,
            "validation-error",
        )
        .await;
        assert!(problem.to_string().contains(field), "{path}: {problem}");
    }
    let balance = app.balance(member.id).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["on_hold_points"].as_i64()
        ),
        (Some(100), Some(0))
    );
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(holds, 0);
}

#[tokio::test]
async fn adjustments_at_the_ends_of_i64_are_refused() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 100, "r").await.status(), 201);
    let path = format!("/api/v1/points/{}/adjustments", member.id);
    for (i, points) in [
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        -1_000_000_001,
        1_000_000_001,
    ]
    .into_iter()
    .enumerate()
    {
        let problem = assert_problem(
            app.api
                .post(
                    &app.support,
                    &path,
                    Some(&format!("extreme-{i}")),
                    &json!({"points": points, "reason": "Overflow attempt"}),
                )
                .await,
            422,
            "validation-error",
        )
        .await;
        assert!(
            problem.to_string().contains("points"),
            "{points}: {problem}"
        );
    }
    // The largest allowed debit is refused for want of points, not by an overflow.
    assert_problem(
        app.api
            .post(
                &app.support,
                &path,
                Some("largest-debit"),
                &json!({"points": -1_000_000_000, "reason": "Correction"}),
            )
            .await,
        422,
        "insufficient-points",
    )
    .await;
    assert_eq!(app.balance(member.id).await["total_points"], 100);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'points.adjust'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 0);
    app.assert_ledger_consistent(member.id).await;
}
