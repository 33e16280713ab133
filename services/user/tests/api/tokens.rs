use crate::helpers::TestApp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::time::Duration;

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(i).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.me(token).await.status().as_u16()
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let app = TestApp::start().await;
    let login = app.member("tamper@example.com").await;
    let token = login["access_token"].as_str().unwrap();
    assert_eq!(status_with(&app, token).await, 200);
    let signature = token.split('.').nth(2).unwrap();

    // A changed payload (promoting oneself) with the original signature.
    let mut claims = part(token, 1);
    claims["role"] = json!("super_admin");
    let header = token.split('.').next().unwrap();
    let changed = format!("{header}.{}.{signature}", encode(&claims));
    assert_eq!(status_with(&app, &changed).await, 401);

    // alg: none.
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(&claims)
    );
    assert_eq!(status_with(&app, &none).await, 401);

    // HS256 "signed" with the public key, the classic key-confusion attack.
    let jwks = app.jwks().await;
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let mut hs_header = part(token, 0);
    hs_header["alg"] = json!("HS256");
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            kid: hs_header["kid"].as_str().map(str::to_owned),
            ..Default::default()
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert_eq!(status_with(&app, &confused).await, 401);

    // Garbage and expired tokens.
    assert_eq!(status_with(&app, "not.a.token").await, 401);
    let mut expired = part(token, 1);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    assert_eq!(
        status_with(&app, &format!("{header}.{}.{signature}", encode(&expired))).await,
        401
    );
}

#[tokio::test]
async fn a_key_rotation_logs_nobody_out() {
    let app = TestApp::start().await;
    let before = app.member("rotate@example.com").await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = part(&old_token, 0)["kid"].as_str().unwrap().to_owned();

    let new_kid = app.rotate_keys(0).await;

    // Within a reload interval the service publishes both keys and signs with the new one.
    let kids = testkit::eventually(Duration::from_secs(10), || async {
        let jwks = app.jwks().await;
        let kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        Ok(kids.contains(&new_kid).then_some(kids))
    })
    .await
    .unwrap();
    assert!(kids.contains(&old_kid), "{kids:?}");
    let login: Value = app
        .login("rotate@example.com", crate::helpers::PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        part(login["access_token"].as_str().unwrap(), 0)["kid"],
        new_kid.as_str()
    );
    assert_eq!(
        status_with(&app, &old_token).await,
        200,
        "tokens signed before the rotation still work"
    );
    assert_eq!(
        status_with(&app, login["access_token"].as_str().unwrap()).await,
        200
    );
}
