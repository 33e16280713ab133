use crate::helpers::TestApp;
use futures::future::join_all;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dozens_of_concurrent_earns_and_spends_never_overspend() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(
        app.earn_points(member.id, 300, "opening").await.status(),
        201
    );

    // All requests in flight at once: the service handles them in parallel.
    let app = &app;
    let tasks = (0..48).map(|i| {
        let (id, token) = (member.id, member.token.clone());
        async move {
            match i % 4 {
                0 => (
                    "earn",
                    app.earn_amount(id, 1_000, &format!("earn-{i}"))
                        .await
                        .status()
                        .as_u16(),
                ),
                1 => {
                    let r = app
                        .api
                        .post(
                            &token,
                            &format!("/api/v1/points/{id}/redeem"),
                            Some(&format!("redeem-{i}")),
                            &json!({"points": 40}),
                        )
                        .await;
                    ("redeem", r.status().as_u16())
                }
                2 => {
                    let r = app
                        .api
                        .post(
                            &token,
                            &format!("/api/v1/points/{id}/holds"),
                            Some(&format!("hold-{i}")),
                            &json!({"points": 25}),
                        )
                        .await;
                    let status = r.status().as_u16();
                    if status == 201 {
                        let hold: Value = r.json().await.unwrap();
                        let capture = format!(
                            "/api/v1/points/{id}/holds/{}/capture",
                            hold["id"].as_str().unwrap()
                        );
                        let c = app
                            .api
                            .post(&token, &capture, None, &json!({}))
                            .await
                            .status()
                            .as_u16();
                        return ("hold+capture", c);
                    }
                    ("hold+capture", status)
                }
                _ => {
                    // A duplicate of an earlier earn: must never count twice.
                    (
                        "repeat",
                        app.earn_amount(id, 1_000, &format!("earn-{}", i - 3))
                            .await
                            .status()
                            .as_u16(),
                    )
                }
            }
        }
    });
    let results: Vec<(&str, u16)> = join_all(tasks).await;
    let ok = |kind: &str, status: u16| {
        results
            .iter()
            .filter(|(k, s)| *k == kind && *s == status)
            .count() as i64
    };
    for (kind, status) in &results {
        assert!([200, 201, 422].contains(status), "{kind}: {status}");
    }
    let earned = ok("earn", 201)
        + results
            .iter()
            .filter(|(k, s)| *k == "repeat" && *s == 201)
            .count() as i64;
    let redeemed = ok("redeem", 201) * 40 + ok("hold+capture", 200) * 25;
    assert_eq!(earned, 12, "each distinct reference earned exactly once");
    assert_eq!(
        app.balance(member.id).await["qualifying_spend"],
        12_000,
        "each purchase counts towards tiers once"
    );
    let (balance, _, held) = app.assert_ledger_consistent(member.id).await;
    assert_eq!(balance, 300 + earned * 10 - redeemed);
    assert_eq!(held, 0);
    assert!(
        ok("redeem", 422) + ok("hold+capture", 422) > 0,
        "the member ran out, so some spends were refused"
    );

    let liability: Value = app
        .api
        .get(&app.admin, "/api/v1/points/liability")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(liability["active_points"], balance);
    assert_eq!(
        liability["ledger_active_points"],
        liability["active_points"]
    );
    assert_eq!(liability["members"], 1);
}
