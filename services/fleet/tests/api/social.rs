//! The fleet runner starts the OIDC sandbox and points the user service's Google and Apple
//! sign-in at it: a member signs in through the edge, as the member app would.

use crate::helpers::TestFleet;
use serde_json::{json, Value};

#[tokio::test]
async fn a_member_signs_in_with_google_through_the_fleets_oidc_sandbox() {
    let fleet = TestFleet::start().await;
    let sandbox = fleet.fleet().urls.oidc_sandbox.clone();
    let providers: Value = fleet
        .http
        .get(fleet.url("/api/v1/auth/social"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(providers["providers"], json!(["google", "apple"]));

    let started: Value = fleet
        .http
        .post(fleet.url("/api/v1/auth/social/google/start"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut url = url::Url::parse(started["authorization_url"].as_str().unwrap()).unwrap();
    assert!(
        url.as_str().starts_with(&format!("{sandbox}/google/")),
        "{url}"
    );
    url.query_pairs_mut()
        .append_pair("login_hint", "ada.lovelace@example.com");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = browser.get(url).send().await.unwrap();
    assert_eq!(back.status(), 302);
    // Back to the sandbox's own page, which shows what to post to the callback.
    let location = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location
        .as_str()
        .starts_with(&format!("{sandbox}/callback")));
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let page = browser.get(location.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&param("code")));

    let login = fleet
        .http
        .post(fleet.url("/api/v1/auth/social/google/callback"))
        .json(&json!({"code": param("code"), "state": param("state")}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["user"]["email"], "ada.lovelace@example.com");
    fleet.stop().await;
}
