//! A member's erasure flows from the user service through Kafka to every service holding data
//! about them.

use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_member_disappears_from_the_admin_read_model() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    assert_eq!(
        app.charge(&member.token, Some("erase-1"), &visa(2000))
            .await
            .status(),
        201
    );
    app.wait_for_points(&member, 20).await;
    let admin = app.admin_token().await;
    let path = format!("/api/v1/admin/members/{}", member.id);
    testkit::eventually(Duration::from_secs(10), || async {
        let body: Value = app.get(Some(&admin), &path).await.json().await?;
        Ok((body["charges_succeeded"] == 1).then_some(()))
    })
    .await
    .expect("the admin read model has the member");

    assert_eq!(app.erase(&member).await.status(), 204);

    testkit::eventually(Duration::from_secs(10), || async {
        Ok((app.get(Some(&admin), &path).await.status() == 404).then_some(()))
    })
    .await
    .expect("user.erased reached the admin service, which forgot the member");
    app.stop().await;
}
