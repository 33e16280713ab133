//! The development edge: a small reverse proxy on one port that routes `/api/v1/<area>/...` to
//! the services exactly as `gateway/kong.yaml` does, reading its routes from that file.

use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;

/// The production routing table, compiled in so the runner never drifts from it.
pub const KONG_YAML: &str = include_str!("../../../gateway/kong.yaml");

#[derive(Debug, Deserialize)]
struct KongConfig {
    services: Vec<KongService>,
}

#[derive(Debug, Deserialize)]
struct KongService {
    name: String,
    #[serde(default)]
    routes: Vec<KongRoute>,
}

#[derive(Debug, Deserialize)]
struct KongRoute {
    #[serde(default)]
    paths: Vec<String>,
}

/// A path prefix and the service that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub service: String,
}

/// Every path prefix in kong.yaml with its Kong service name (`point-service`).
pub fn kong_routes() -> anyhow::Result<Vec<Route>> {
    let config: KongConfig =
        serde_yaml::from_str(KONG_YAML).context("gateway/kong.yaml is not valid")?;
    let mut routes: Vec<Route> = config
        .services
        .into_iter()
        .flat_map(|s| {
            let service = s.name;
            s.routes.into_iter().flat_map(move |r| {
                let service = service.clone();
                r.paths.into_iter().map(move |prefix| Route {
                    prefix,
                    service: service.clone(),
                })
            })
        })
        .collect();
    // Longest prefix first, as Kong matches.
    routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
    Ok(routes)
}

/// The service a request path goes to (Kong's prefix match: the prefix, then `/` or the end).
pub fn route_for<'a>(routes: &'a [Route], path: &str) -> Option<&'a Route> {
    routes.iter().find(|r| {
        path.strip_prefix(r.prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

struct EdgeState {
    routes: Vec<Route>,
    /// Kong service name -> local base URL.
    upstreams: HashMap<String, String>,
    http: reqwest::Client,
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

pub fn serve(listener: TcpListener, upstreams: HashMap<String, String>) -> anyhow::Result<Server> {
    let state = web::Data::new(EdgeState {
        routes: kong_routes()?,
        upstreams,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .default_service(web::to(forward))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn forward(req: HttpRequest, body: web::Bytes, state: web::Data<EdgeState>) -> HttpResponse {
    let problem = |status: u16, title: &str, detail: String| {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
            .content_type("application/problem+json")
            .json(serde_json::json!({
                "type": format!("urn:tessera:problem:{}", if status == 404 { "not-found" } else { "bad-gateway" }),
                "title": title, "status": status, "detail": detail,
            }))
    };
    let Some(route) = route_for(&state.routes, req.path()) else {
        return problem(404, "Not found", "no service serves this path".into());
    };
    let Some(base) = state.upstreams.get(&route.service) else {
        return problem(
            502,
            "Bad gateway",
            format!("{} is not running", route.service),
        );
    };
    let url = match req.uri().query() {
        Some(q) => format!("{base}{}?{q}", req.path()),
        None => format!("{base}{}", req.path()),
    };
    let method = match reqwest::Method::from_bytes(req.method().as_str().as_bytes()) {
        Ok(m) => m,
        Err(_) => return problem(400, "Bad request", "unsupported method".into()),
    };
    let mut upstream = state.http.request(method, url);
    let mut has_request_id = false;
    for (name, value) in req.headers() {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name) {
            continue;
        }
        has_request_id |= name.eq_ignore_ascii_case("x-request-id");
        upstream = upstream.header(name, value.as_bytes());
    }
    let request_id = if has_request_id {
        None
    } else {
        Some(uuid::Uuid::new_v4().to_string())
    };
    if let Some(id) = &request_id {
        upstream = upstream.header("x-request-id", id.as_str());
    }
    if let Some(peer) = req.peer_addr() {
        upstream = upstream.header("x-forwarded-for", peer.ip().to_string());
    }
    let response = match upstream.body(body.to_vec()).send().await {
        Ok(r) => r,
        Err(e) => {
            // The error names the upstream's internal address: it goes to the log, not the client.
            tracing::warn!(service = %route.service, error = %e, "upstream did not answer");
            return problem(
                502,
                "Bad gateway",
                format!("{} did not answer", route.service),
            );
        }
    };
    let mut reply = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(response.status().as_u16()).unwrap_or_default(),
    );
    for (name, value) in response.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            reply.append_header((name.as_str(), value.as_bytes()));
        }
    }
    if let Some(id) = request_id {
        reply.insert_header(("x-request-id", id));
    }
    match response.bytes().await {
        Ok(bytes) => reply.body(bytes),
        Err(e) => {
            tracing::warn!(service = %route.service, error = %e, "upstream broke off its answer");
            problem(
                502,
                "Bad gateway",
                format!("{} broke off its answer", route.service),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_segments() {
        let routes = kong_routes().unwrap();
        assert_eq!(
            route_for(&routes, "/api/v1/points/abc/balance")
                .unwrap()
                .service,
            "point-service"
        );
        assert_eq!(
            route_for(&routes, "/api/v1/auth").unwrap().service,
            "user-service"
        );
        assert_eq!(
            route_for(&routes, "/api/v1/pos/transaction")
                .unwrap()
                .service,
            "point-service"
        );
        assert!(route_for(&routes, "/api/v1/pointsx").is_none());
        assert!(route_for(&routes, "/health/live").is_none());
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_502_that_does_not_name_its_address() {
        // A port that was free a moment ago: nothing listens there.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
        drop(closed);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let edge = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let upstreams = HashMap::from([("point-service".to_owned(), upstream.clone())]);
        tokio::spawn(serve(listener, upstreams).unwrap());
        let response = reqwest::get(format!("{edge}/api/v1/points/abc/balance"))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 502);
        let body = response.text().await.unwrap();
        assert!(body.contains("urn:tessera:problem:bad-gateway"), "{body}");
        assert!(
            !body.contains(&upstream) && !body.contains("127.0.0.1"),
            "{body}"
        );
    }
}
