//! The edge: kong.yaml routes every documented path to the service that serves it, and every
//! service answers its health, metrics and documentation endpoints.

use crate::helpers::*;
use fleet::edge::{kong_routes, route_for};
use utoipa::OpenApi;

#[test]
fn kong_routes_every_path_of_every_openapi_document() {
    let routes = kong_routes().unwrap();
    let documents = [
        ("user-service", user_service::routes::ApiDoc::openapi()),
        ("point-service", point_service::routes::ApiDoc::openapi()),
        (
            "rewards-service",
            rewards_service::routes::ApiDoc::openapi(),
        ),
        ("admin-service", admin_service::routes::ApiDoc::openapi()),
        (
            "payment-service",
            payment_service::routes::ApiDoc::openapi(),
        ),
    ];
    let mut checked = 0;
    for (service, document) in documents {
        for path in document.paths.paths.keys() {
            let route = route_for(&routes, path)
                .unwrap_or_else(|| panic!("kong.yaml does not route {path}"));
            assert_eq!(
                route.service, service,
                "{path} is routed to {} but served by {service}",
                route.service
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} paths documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_reports_health_metrics_and_its_openapi_document() {
    let app = TestFleet::start().await;
    let urls = app.fleet().urls.clone();
    for base in [
        &urls.user,
        &urls.point,
        &urls.rewards,
        &urls.admin,
        &urls.payment,
    ] {
        let live = app
            .http
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200, "{base}");
        let ready: serde_json::Value = app
            .http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ok", "{base}: {ready}");
        assert_eq!(ready["checks"]["postgres"], "ok");
        assert_eq!(ready["checks"]["redis"], "ok");
        assert_eq!(ready["checks"]["kafka"], "ok");
        let openapi: serde_json::Value = app
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            openapi["openapi"].as_str().unwrap().starts_with("3.1"),
            "{base}"
        );
        assert_eq!(
            app.http
                .get(format!("{base}/docs"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let metrics = app
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("http_requests_total"), "{base}");
    }
    // Unknown paths are problem+json at the edge and in the services.
    assert_problem(
        app.get(None, "/api/v1/nothing-here").await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.http
            .get(format!("{}/api/v1/points", urls.point))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_serves_the_whole_apis_document_merged_from_every_service() {
    let app = TestFleet::start().await;
    let response = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let served: serde_json::Value = response.json().await.unwrap();
    let merged = serde_json::to_value(fleet::openapi::merged().unwrap()).unwrap();
    assert!(
        served == merged,
        "the served document is the merge of what the running services serve"
    );
    let paths = served["paths"].as_object().unwrap();
    // Every operation of every running service is in it.
    let urls = app.fleet().urls.clone();
    for base in [
        &urls.user,
        &urls.point,
        &urls.rewards,
        &urls.admin,
        &urls.payment,
    ] {
        let own: serde_json::Value = app
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, item) in own["paths"].as_object().unwrap() {
            assert_eq!(paths.get(path), Some(item), "{path} from {base}");
        }
    }
    assert!(fleet::openapi::dangling_refs(&served).is_empty());
    app.stop().await;
}
