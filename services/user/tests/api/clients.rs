use crate::helpers::{assert_problem, TestApp};
use auth::Role;
use serde_json::{json, Value};

const CLIENTS: &str = "/api/v1/auth/clients";

async fn exchange(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.api
        .http
        .post(app.api.url("/api/v1/auth/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn create(app: &TestApp, admin: &str, scopes: &[&str]) -> Value {
    let response = app
        .api
        .post(
            admin,
            CLIENTS,
            None,
            &json!({"name": "Corner Shop POS", "scopes": scopes}),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_partner_exchanges_its_key_for_a_token_with_exactly_its_scopes() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let client = create(&app, &admin, &["points:earn", "points:read"]).await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("tsk_"));

    let token: Value = exchange(&app, id, secret, None).await.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "points:earn points:read");
    assert!(token["expires_in"].as_i64().unwrap() <= 900);
    let claims = decode_claims(token["access_token"].as_str().unwrap());
    assert_eq!(claims["kind"], "partner");
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["scopes"], json!(["points:earn", "points:read"]));

    // Narrowing works; widening does not.
    let narrow: Value = exchange(&app, id, secret, Some("points:read"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow["scope"], "points:read");
    let wide = exchange(&app, id, secret, Some("payments:write")).await;
    let body = assert_problem(wide, 400, "invalid-scope").await;
    assert_eq!(body["error"], "invalid_scope");

    // HTTP Basic is accepted too.
    let basic = app
        .api
        .http
        .post(app.api.url("/api/v1/auth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);

    // The key is stored only as a digest; listings show a hint.
    let stored = app
        .count(&format!(
            "SELECT count(*) FROM partner_client_secrets WHERE secret_hash LIKE '%{}%'",
            &secret[4..20]
        ))
        .await;
    assert_eq!(stored, 0);
    let listed = app.api.get(&admin, CLIENTS).await.text().await.unwrap();
    assert!(
        !listed.contains(secret) && listed.contains(&secret[..10]),
        "{listed}"
    );
}

fn decode_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn wrong_keys_unknown_scopes_and_non_admins_are_refused() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let support = app.staff("support@example.com", Role::Support).await;
    let member = app.member("m@example.com").await;
    let member = member["access_token"].as_str().unwrap();

    for token in [&support[..], member] {
        let r = app
            .api
            .post(
                token,
                CLIENTS,
                None,
                &json!({"name": "X", "scopes": ["points:earn"]}),
            )
            .await;
        assert_problem(r, 403, "forbidden").await;
    }
    let bad_scope = app
        .api
        .post(
            &admin,
            CLIENTS,
            None,
            &json!({"name": "X", "scopes": ["points:everything"]}),
        )
        .await;
    assert_problem(bad_scope, 422, "validation-error").await;
    let nul_name = app
        .api
        .post(
            &admin,
            CLIENTS,
            None,
            &json!({"name": "Corner\u{0}Shop", "scopes": ["points:earn"]}),
        )
        .await;
    let body = assert_problem(nul_name, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    assert_eq!(app.count("SELECT count(*) FROM partner_clients").await, 0);

    let client = create(&app, &admin, &["orders:write"]).await;
    let id = client["client_id"].as_str().unwrap();
    let wrong = exchange(&app, id, "tsk_not-the-key", None).await;
    let body = assert_problem(wrong, 401, "invalid-client").await;
    assert_eq!(body["error"], "invalid_client");
    let grant = app
        .api
        .http
        .post(app.api.url("/api/v1/auth/token"))
        .form(&[("grant_type", "password"), ("client_id", id)])
        .send()
        .await
        .unwrap();
    assert_problem(grant, 400, "unsupported-grant-type").await;
}

#[tokio::test]
async fn rotation_overlaps_and_revocation_ends_every_key() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let client = create(&app, &admin, &["points:earn"]).await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let old = client["client_secret"].as_str().unwrap().to_owned();

    let rotated: Value = app
        .api
        .post(
            &admin,
            &format!("{CLIENTS}/{id}/rotate"),
            None,
            &json!({"overlap_secs": 3600}),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert_eq!(
        exchange(&app, &id, &old, None).await.status(),
        200,
        "old key works during the overlap"
    );
    assert_eq!(exchange(&app, &id, &new, None).await.status(), 200);

    let immediate: Value = app
        .api
        .post(
            &admin,
            &format!("{CLIENTS}/{id}/rotate"),
            None,
            &json!({"overlap_secs": 0}),
        )
        .await
        .json()
        .await
        .unwrap();
    let newest = immediate["client_secret"].as_str().unwrap();
    assert_eq!(exchange(&app, &id, &old, None).await.status(), 401);
    assert_eq!(exchange(&app, &id, &new, None).await.status(), 401);
    assert_eq!(exchange(&app, &id, newest, None).await.status(), 200);

    let revoked = app.delete(&admin, &format!("{CLIENTS}/{id}")).await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(exchange(&app, &id, newest, None).await.status(), 401);
}

#[tokio::test]
async fn clients_are_listed_newest_first_a_page_at_a_time() {
    let app = TestApp::start().await;
    let admin = app.staff("admin@example.com", Role::Admin).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        let client = create(&app, &admin, &["points:read"]).await;
        created.push(client["client_id"].as_str().unwrap().to_owned());
    }

    let first = app.api.get(&admin, &format!("{CLIENTS}?limit=2")).await;
    assert_eq!(first.status(), 200);
    let cursor = first.headers()["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let first: Value = first.json().await.unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [created[2].clone(), created[1].clone()]);
    assert_eq!(first[0]["secrets"].as_array().unwrap().len(), 1);

    let second = app
        .api
        .get(&admin, &format!("{CLIENTS}?limit=2&cursor={cursor}"))
        .await;
    assert!(!second.headers().contains_key("x-next-cursor"));
    let second: Value = second.json().await.unwrap();
    assert_eq!(ids(&second), [created[0].clone()]);

    let garbage = app
        .api
        .get(&admin, &format!("{CLIENTS}?cursor=not-a-cursor"))
        .await;
    assert_problem(garbage, 422, "validation-error").await;
}
