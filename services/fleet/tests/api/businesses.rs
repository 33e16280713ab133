//! The demo businesses as `scripts/run` sets them up, and a purchase at the cafe's counter: the
//! member shows the QR code from their app, the cashier identifies them and gives stamps, and the
//! member's wallet shows the card beside their points at the retailer.

use crate::helpers::*;
use fleet::demo_businesses;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cafe_cashier_identifies_a_member_by_qr_code_and_stamps_their_card() {
    // The test signs in from one address more often than the default limit allows a minute.
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    app.admin_token().await;
    let businesses = demo_businesses::seed(&app.edge)
        .await
        .expect("the demo businesses");
    // A second run (a restarted `scripts/run`) finds everything and creates nothing new.
    let again = demo_businesses::seed(&app.edge)
        .await
        .expect("seeding again");
    for (first, second) in businesses.iter().zip(&again) {
        assert_eq!(first.id, second.id);
        assert_eq!(first.stores, second.stores);
    }
    let (cafe, retail) = (&businesses[0], &businesses[1]);
    assert_eq!(cafe.stores.len(), 2);
    assert_eq!(retail.id, kernel::DEMO_BUSINESS_ID);

    let [admin, cashier] = [&cafe.logins[0], &cafe.logins[1]];
    let admin = app.access_token(admin.email, admin.password).await;
    let cashier = app.access_token(cashier.email, cashier.password).await;
    let programs: Value = app
        .get(
            Some(&admin),
            &format!("/api/v1/points/businesses/{}/stamp-programs", cafe.id),
        )
        .await
        .json()
        .await
        .unwrap();
    let program = programs[0]["id"]
        .as_str()
        .expect("the coffee card")
        .to_owned();

    // At the counter: the member's app shows a QR code for the cafe.
    let member = app.member().await;
    let qr: Value = app
        .get(
            Some(&member.token),
            &format!("/api/v1/users/me/counter-token?business_id={}", cafe.id),
        )
        .await
        .json()
        .await
        .unwrap();
    let identified = app
        .http
        .post(app.url("/api/v1/users/identify"))
        .bearer_auth(&cashier)
        .json(&json!({"counter_token": qr["token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(identified.status(), 200);
    let identified: Value = identified.json().await.unwrap();
    assert_eq!(identified["member_id"], member.id.to_string());

    // Three coffees at the cashier's store. The point service learns of the store from
    // store.created, so the first attempt may come before that event does.
    let store = cafe.stores[0].1;
    let member_id = member.id;
    let stamp = |transaction: &'static str, items: i64, store: uuid::Uuid| {
        let cashier = cashier.clone();
        let program = program.clone();
        let url = app.url(&format!(
            "/api/v1/points/businesses/{}/stores/{store}/stamps",
            cafe.id
        ));
        let http = app.http.clone();
        async move {
            http.post(url)
                .bearer_auth(cashier)
                .header("Idempotency-Key", transaction)
                .json(&json!({"member_id": member_id, "program_id": program,
                              "transaction_id": transaction, "items": items}))
                .send()
                .await
                .unwrap()
        }
    };
    let issued = testkit::eventually(Duration::from_secs(20), || async {
        let response = stamp("till-1-0001", 3, store).await;
        Ok((response.status() == 201).then_some(response))
    })
    .await
    .expect("the store reaches the point service and the stamps are given");
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["card"]["stamps"], 3);

    // The till sends it again after a timeout: the same issue, no more stamps.
    let replay = stamp("till-1-0001", 3, store).await;
    assert_eq!(replay.status(), 200);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["card"]["stamps"], 3);

    // The cashier works at the first store only.
    let elsewhere = stamp("till-2-0001", 1, cafe.stores[1].1).await;
    assert!(
        [403, 404].contains(&elsewhere.status().as_u16()),
        "{}",
        elsewhere.status()
    );

    // The wallet: the cafe's card with its three stamps.
    let wallet: Value = app
        .get(Some(&member.token), "/api/v1/points/me/cards")
        .await
        .json()
        .await
        .unwrap();
    let cafe_card = wallet["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["business_id"] == cafe.id.to_string())
        .expect("a card at the cafe");
    assert_eq!(cafe_card["stamp_cards"][0]["stamps"], 3);
    assert_eq!(cafe_card["stamp_cards"][0]["stamps_required"], 9);
    app.stop().await;
}
