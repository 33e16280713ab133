//! The payment service's metrics: charges by PSP and outcome once their events are published,
//! every PSP call timed, and the depth of the PSP job queue.

use crate::helpers::TestApp;
use std::time::Duration;
use testkit::metric_samples as samples;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_psp_calls_and_the_job_queue_are_measured() {
    let app = TestApp::start().await;
    let member = app.member();
    app.paid_charge(&member, 2500).await;
    app.paid_charge(&member, 2600).await;
    let declined = app.charge(&member, 400, "pm_card_chargeDeclined").await;
    assert_eq!(declined.status(), 201);

    let page = testkit::eventually(Duration::from_secs(20), || async {
        let page = app
            .api
            .http
            .get(app.api.url("/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let succeeded = samples(
            &page,
            "charges_total",
            &[("psp", "stripe"), ("status", "succeeded")],
        );
        let failed = samples(
            &page,
            "charges_total",
            &[("psp", "stripe"), ("status", "failed")],
        );
        Ok((succeeded == [2.0] && failed == [1.0]).then_some(page))
    })
    .await
    .expect("two charges succeeded and one failed at stripe, counted once published");

    let authorizations = samples(
        &page,
        "psp_request_duration_seconds_count",
        &[("psp", "stripe"), ("operation", "authorize")],
    );
    assert_eq!(
        authorizations,
        [3.0],
        "each authorization is timed; a decline is an answer"
    );
    assert!(
        samples(&page, "psp_errors_total", &[]).is_empty(),
        "no PSP call failed"
    );
    for kind in ["authorize", "refund", "capture"] {
        assert_eq!(samples(&page, "jobs_pending", &[("queue", kind)]), [0.0]);
        assert_eq!(samples(&page, "jobs_dead", &[("queue", kind)]), [0.0]);
    }
    app.stop().await;
}
