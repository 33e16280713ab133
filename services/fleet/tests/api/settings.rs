//! The fleet runner honours each service's `<PREFIX>__*` variables, as the services do.

use crate::helpers::TestFleet;
use reqwest::StatusCode;

/// nextest runs every test in a process of its own, so setting a variable here reaches only
/// this test's fleet.
#[tokio::test]
async fn a_prefixed_variable_changes_the_fleets_service() {
    let registrations_from_one_address = |fleet: &TestFleet, prefix: &'static str| {
        let fleet_edge = fleet.url("");
        let http = fleet.http.clone();
        async move {
            let mut statuses = Vec::new();
            for n in 0..30 {
                let response = http
                    .post(format!("{fleet_edge}/api/v1/auth/register"))
                    .json(&serde_json::json!({
                        "email": format!("{prefix}-{n}@example.com"),
                        "password": "a long enough password",
                        "first_name": "Ada",
                        "last_name": "Lovelace"
                    }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status());
            }
            statuses
        }
    };

    // The default budget is 10 a minute per address.
    let fleet = TestFleet::start().await;
    let statuses = registrations_from_one_address(&fleet, "default").await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        10,
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    fleet.stop().await;

    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let fleet = TestFleet::start().await;
    let statuses = registrations_from_one_address(&fleet, "raised").await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    fleet.stop().await;
}
