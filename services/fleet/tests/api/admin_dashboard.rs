//! The staff back office (`web/admin`) and the typed client it is built on (`web/client`).
//!
//! The client's types are generated from `docs/openapi.json`, so they must match it, and the
//! dashboard must type-check against them. Then the dashboard itself in a real browser, served
//! by the edge at `/admin/`: the demo admin signs in, checks the overview's figures against the
//! API, finds a member by email, adjusts their points and sees the API's new balance; the demo
//! support login sees the member but is offered none of the admins' changes, which the API
//! refuses it too; and the admin retries a dead payment job and sees it leave the dead list.

use crate::helpers::*;
use auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use user_service::seed::{DemoAccount, DEMO_ACCOUNTS};
use uuid::Uuid;

/// What the browser adjusts the member's points by.
const ADJUSTMENT: i64 = 250;

fn web_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../web")
        .join(name)
}

/// `npm ci` has run in `dir` (scripts/test does it).
fn assert_installed(dir: &Path) {
    assert!(
        dir.join("node_modules").exists(),
        "the npm dependencies of {} are not installed: run `npm ci --prefix {}` (scripts/test does)",
        dir.display(),
        dir.display()
    );
}

/// Chromium, and playwright-core for Node.
fn chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium not found at {chromium}: install it with `apt-get install chromium` or set CHROMIUM"
    );
    assert!(
        web_dir("admin")
            .join("node_modules/playwright-core")
            .exists(),
        "playwright-core is not installed: run `npm ci --prefix web/admin` (scripts/test does)"
    );
    chromium
}

async fn npm(dir: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .expect("npm runs (apt-get install nodejs npm)")
}

fn assert_succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn demo_account(role: Role) -> &'static DemoAccount {
    DEMO_ACCOUNTS
        .iter()
        .find(|account| account.role == role)
        .unwrap_or_else(|| panic!("a demo account with the role {}", role.as_str()))
}

async fn get_json(app: &TestFleet, token: &str, path: &str) -> Value {
    let response = app.get(Some(token), path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

async fn post(
    app: &TestFleet,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The member redeems a reward the admin adds, and the redemption settles.
async fn redeem_a_reward(app: &TestFleet, admin: &str, member: &Member) -> String {
    let created = post(
        app,
        admin,
        "/api/v1/rewards",
        &Uuid::now_v7().to_string(),
        &json!({"name": "Dashboard mug", "points_cost": 23, "inventory": 10}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let reward: Value = created.json().await.unwrap();
    let reward_id = reward["id"].as_str().unwrap().to_owned();

    let answer = post(
        app,
        &member.token,
        &format!("/api/v1/rewards/{reward_id}/redemptions"),
        &Uuid::now_v7().to_string(),
        &json!({}),
    )
    .await;
    let status = answer.status().as_u16();
    let redemption: Value = answer.json().await.unwrap();
    assert!([200, 201, 202].contains(&status), "{status}: {redemption}");
    let path = format!(
        "/api/v1/rewards/redemptions/{}",
        redemption["id"].as_str().unwrap()
    );
    let settled = testkit::eventually(Duration::from_secs(30), || async {
        let now: Value = app.get(Some(&member.token), &path).await.json().await?;
        Ok((now["status"] != "pending").then_some(now))
    })
    .await
    .expect("the redemption settles");
    assert_eq!(settled["status"], "issued", "{settled}");
    reward_id
}

/// A payment job that ran out of attempts: a charge the PSP keeps answering with a 500, whose
/// job is left one attempt, then given its attempts back once dead so that the retry keeps it
/// out of the dead list for the rest of the test.
async fn a_dead_job(app: &TestFleet, admin: &str, member: &Member) -> String {
    let key = format!("dashboard-dead-{}", Uuid::now_v7());
    let charge = app
        .charge(
            &member.token,
            Some(key.as_str()),
            &json!({"amount": 800, "currency": "AUD", "payment_method": "pm_card_error500"}),
        )
        .await;
    assert_eq!(
        charge.status(),
        StatusCode::ACCEPTED,
        "the PSP's answer is not known"
    );
    let charge: Value = charge.json().await.unwrap();
    let charge_id: Uuid = charge["id"].as_str().unwrap().parse().unwrap();

    let payments = app.infra.pool("payments").await.unwrap();
    sqlx::query("UPDATE payment_jobs SET max_attempts = 1 WHERE charge_id = $1")
        .bind(charge_id)
        .execute(&payments)
        .await
        .unwrap();
    let job = testkit::eventually(Duration::from_secs(60), || async {
        let dead: Value = app
            .get(Some(admin), "/api/v1/payments/jobs/dead?limit=200")
            .await
            .json()
            .await?;
        Ok(dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|job| job["charge_id"] == charge_id.to_string())
            .cloned())
    })
    .await
    .expect("the job reaches the dead-letter queue");
    let job_id: Uuid = job["id"].as_str().unwrap().parse().unwrap();
    let revived =
        sqlx::query("UPDATE payment_jobs SET max_attempts = 6 WHERE id = $1 AND status = 'dead'")
            .bind(job_id)
            .execute(&payments)
            .await
            .unwrap();
    assert_eq!(revived.rows_affected(), 1, "the job is still dead");
    job_id.to_string()
}

/// The overview's figures once the back office has projected everything done so far (two reads
/// in a row agree), so that the browser and the API are compared on figures at rest.
async fn settled_overview(app: &TestFleet, admin: &str, reward_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut previous: Option<Value> = None;
    loop {
        let stats = get_json(app, admin, "/api/v1/admin/stats").await;
        let rewards = get_json(app, admin, "/api/v1/admin/rewards/stats?days=30&top=10").await;
        let ready = stats["members"].as_i64().unwrap_or(0) >= 1
            && stats["charges_succeeded"].as_i64().unwrap_or(0) >= 1
            && stats["points_earned_total"].as_i64().unwrap_or(0) >= 123
            && rewards["top_rewards"].as_array().is_some_and(|top| {
                top.iter()
                    .any(|r| r["reward_id"] == reward_id && r["redeemed"] == 1)
            });
        let now = json!({"stats": stats, "rewards": rewards});
        if ready && previous.as_ref() == Some(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the back office's figures never settled: {now}"
        );
        previous = Some(now);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_client_is_fresh_and_the_dashboard_type_checks() {
    let client = web_dir("client");
    let dashboard = web_dir("admin");
    assert_installed(&client);
    assert_installed(&dashboard);

    let check = npm(&client, &["run", "--silent", "check"]).await;
    assert_succeeded(
        "`npm run check` in web/client (its types must be generated from docs/openapi.json)",
        &check,
    );
    assert_succeeded(
        "`npm run typecheck` in web/client",
        &npm(&client, &["run", "typecheck"]).await,
    );
    assert_succeeded("`npm test` in web/client", &npm(&client, &["test"]).await);
    assert_succeeded(
        "`npm run typecheck` in web/admin",
        &npm(&dashboard, &["run", "typecheck"]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_from_the_dashboard() {
    let chromium = chromium();
    let dashboard = web_dir("admin");
    assert_installed(&web_dir("client"));
    assert_installed(&dashboard);
    assert_succeeded(
        "`npm run build` in web/admin",
        &npm(&dashboard, &["run", "build"]).await,
    );
    assert!(
        dashboard.join("dist/index.html").exists(),
        "the build wrote dist/index.html"
    );

    let app = TestFleet::start().await;
    let served = app.get(None, "/admin/").await;
    assert_eq!(
        served.status(),
        StatusCode::OK,
        "the edge serves the dashboard at /admin/"
    );
    assert!(
        served.text().await.unwrap().contains("Tessera back office"),
        "the edge's /admin/ is web/admin/dist"
    );

    let admin = app.admin_token().await; // also creates the demo accounts
    let admin_login = demo_account(Role::Admin);
    let support_login = demo_account(Role::Support);

    // A member with points: a purchase earns 123, a reward spends 23 of them.
    let member = app.member().await;
    let key = format!("dashboard-{}", Uuid::now_v7());
    let paid = app
        .charge(&member.token, Some(key.as_str()), &visa(12345))
        .await;
    assert_eq!(paid.status(), StatusCode::CREATED);
    app.wait_for_points(&member, 123).await;
    let reward_id = redeem_a_reward(&app, &admin, &member).await;
    app.wait_for_points(&member, 100).await;

    let dead_job = a_dead_job(&app, &admin, &member).await;
    let overview = settled_overview(&app, &admin, &reward_id).await;

    let run = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("node")
            .arg(dashboard.join("test/dashboard.browser.mjs"))
            .env("EDGE_URL", &app.edge)
            .env("CHROMIUM", &chromium)
            .env("ADMIN_EMAIL", admin_login.email)
            .env("ADMIN_PASSWORD", admin_login.password)
            .env("SUPPORT_EMAIL", support_login.email)
            .env("SUPPORT_PASSWORD", support_login.password)
            .env("MEMBER_EMAIL", &member.email)
            .env("DEAD_JOB_ID", &dead_job)
            .env("ADJUST_POINTS", ADJUSTMENT.to_string())
            .output(),
    )
    .await
    .expect("the browser run finishes within 5 minutes")
    .expect("node runs (apt-get install nodejs)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim().lines().last().unwrap())
        .unwrap_or_else(|e| panic!("the browser run's last line is its JSON ({e}):\n{stdout}"));
    assert_eq!(seen["ok"], true, "{seen}");

    // The overview showed the API's figures, and they are those the back office had at rest.
    assert_eq!(seen["overview"]["equal"], true, "{seen}");
    assert_eq!(seen["overview"]["ui"], seen["overview"]["api"], "{seen}");
    for figure in ["members", "points_earned_total", "charges_succeeded"] {
        assert_eq!(
            seen["overview"]["ui"]["stats"][figure], overview["stats"][figure],
            "{figure}: {seen}"
        );
    }
    let top = seen["overview"]["ui"]["rewards"]["top_rewards"]
        .as_array()
        .unwrap();
    assert!(
        top.iter().any(|r| r["reward_name"] == "Dashboard mug"
            && r["redeemed"] == 1
            && r["points"] == 23),
        "the top rewards show the redemption: {seen}"
    );

    // The adjustment: the page showed the balance the API has.
    let balance = get_json(
        &app,
        &admin,
        &format!("/api/v1/points/{}/balance", member.id),
    )
    .await;
    assert_eq!(balance["total_points"], 100 + ADJUSTMENT, "{balance}");
    assert_eq!(seen["member"]["id"], member.id.to_string());
    assert_eq!(seen["member"]["balanceBefore"], 100);
    assert_eq!(
        seen["member"]["uiBalance"], balance["total_points"],
        "{seen}"
    );
    assert_eq!(
        seen["member"]["apiBalance"], balance["total_points"],
        "{seen}"
    );
    let adjustments = get_json(
        &app,
        &admin,
        &format!("/api/v1/points/{}/transactions?type=adjust", member.id),
    )
    .await;
    let adjustments = adjustments["items"].as_array().unwrap();
    assert_eq!(
        adjustments.len(),
        1,
        "one adjustment, made once: {adjustments:?}"
    );
    assert_eq!(adjustments[0]["points"], ADJUSTMENT);

    // Support: offered no tier override, erase or retry, and the API refuses them the same.
    // Adjusting points is support's (the point service allows it), so it stays offered.
    let support = &seen["support"];
    assert_eq!(support["balanceSeen"], balance["total_points"], "{seen}");
    assert_eq!(support["adjustControlEnabled"], true, "{seen}");
    assert_eq!(support["tierOverrideControlEnabled"], false, "{seen}");
    assert_eq!(support["eraseControlEnabled"], false, "{seen}");
    assert_eq!(support["tierOverrideStatus"], 403, "{seen}");
    assert_eq!(support["retryControlEnabled"], false, "{seen}");
    assert_eq!(support["retryStatus"], 403, "{seen}");
    let tier = get_json(
        &app,
        &admin,
        &format!("/api/v1/points/{}/balance", member.id),
    )
    .await;
    assert!(
        tier["tier_override_reason"].is_null(),
        "support changed nothing: {tier}"
    );

    // The dead job was retried: out of the dead list, running its fresh attempts.
    assert_eq!(seen["deadJob"]["id"], dead_job.as_str(), "{seen}");
    assert_eq!(seen["deadJob"]["leftDeadList"], true, "{seen}");
    let dead = get_json(&app, &admin, "/api/v1/payments/jobs/dead?limit=200").await;
    assert!(
        !dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|job| job["id"] == dead_job.as_str()),
        "{dead}"
    );

    assert!(
        seen["screenshots"].as_array().unwrap().len() >= 10,
        "a screenshot of each page: {seen}"
    );
    assert_eq!(seen["pageErrors"], json!([]), "{seen}");
    app.stop().await;
}
