//! The development edge: a small reverse proxy on one port that routes `/api/v1/<area>/...` to
//! the services exactly as `gateway/kong.yaml` does, reading its routes from that file. It
//! answers CORS as that file's `cors` plugin configures Kong to, so a browser app on another
//! origin (a Vite dev server) can call the API.

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
    #[serde(default)]
    plugins: Vec<KongPlugin>,
}

#[derive(Debug, Deserialize)]
struct KongPlugin {
    name: String,
    #[serde(default)]
    config: serde_yaml::Value,
}

impl KongPlugin {
    /// The body limit of a `request-size-limiting` plugin, in bytes.
    fn body_limit(&self) -> Option<usize> {
        if self.name != "request-size-limiting" {
            return None;
        }
        let size = self.config.get("allowed_payload_size")?.as_u64()?;
        let unit = match self.config.get("size_unit").and_then(|u| u.as_str()) {
            Some("bytes") => 1,
            Some("kilobytes") => 1024,
            // Kong's default unit.
            _ => 1024 * 1024,
        };
        usize::try_from(size.checked_mul(unit)?).ok()
    }
}

/// What the `cors` plugin of kong.yaml allows, as Kong's plugin applies it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsPolicy {
    /// `*`, or exact origins (`https://admin.example.com`).
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    /// Request headers a preflight may ask for; empty: whatever it asks for.
    pub headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub credentials: bool,
}

fn strings(config: &serde_yaml::Value, key: &str) -> Vec<String> {
    config
        .get(key)
        .and_then(|v| v.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl CorsPolicy {
    fn from_plugin(plugin: &KongPlugin) -> Option<Self> {
        if plugin.name != "cors" {
            return None;
        }
        let config = &plugin.config;
        let mut methods = strings(config, "methods");
        if methods.is_empty() {
            // Kong's default.
            methods = [
                "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT",
            ]
            .map(str::to_owned)
            .to_vec();
        }
        Some(Self {
            origins: strings(config, "origins"),
            methods,
            headers: strings(config, "headers"),
            exposed_headers: strings(config, "exposed_headers"),
            max_age: config.get("max_age").and_then(|v| v.as_u64()),
            credentials: config
                .get("credentials")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        })
    }

    /// The value of `Access-Control-Allow-Origin` for a request from `origin`, if it is allowed.
    fn allow_origin(&self, origin: &str) -> Option<String> {
        if self.origins.iter().any(|o| o == "*") {
            // A wildcard cannot carry credentials: the origin is echoed instead, as Kong does.
            return Some(if self.credentials {
                origin.to_owned()
            } else {
                "*".to_owned()
            });
        }
        self.origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
    }

    fn headers_for(&self, origin: &str) -> Vec<(&'static str, String)> {
        let Some(allowed) = self.allow_origin(origin) else {
            return Vec::new();
        };
        let mut headers = Vec::new();
        if allowed != "*" {
            headers.push(("vary", "Origin".to_owned()));
        }
        headers.push(("access-control-allow-origin", allowed));
        if self.credentials {
            headers.push(("access-control-allow-credentials", "true".to_owned()));
        }
        headers
    }

    /// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), given the
    /// request's `Origin` and `Access-Control-Request-Headers`.
    pub fn preflight(&self, origin: &str, requested_headers: Option<&str>) -> HttpResponse {
        let mut reply = HttpResponse::Ok();
        let allowed = self.headers_for(origin);
        if allowed.is_empty() {
            // An origin the policy does not name gets no CORS headers: the browser refuses.
            return reply.finish();
        }
        for header in allowed {
            reply.insert_header(header);
        }
        reply.insert_header(("access-control-allow-methods", self.methods.join(",")));
        let headers = if self.headers.is_empty() {
            requested_headers.unwrap_or_default().to_owned()
        } else {
            self.headers.join(",")
        };
        if !headers.is_empty() {
            reply.insert_header(("access-control-allow-headers", headers));
        }
        if let Some(max_age) = self.max_age {
            reply.insert_header(("access-control-max-age", max_age.to_string()));
        }
        reply.finish()
    }

    /// The CORS headers of an ordinary answer to a request from `origin`.
    fn response_headers(&self, origin: &str) -> Vec<(&'static str, String)> {
        let mut headers = self.headers_for(origin);
        if !headers.is_empty() && !self.exposed_headers.is_empty() {
            headers.push((
                "access-control-expose-headers",
                self.exposed_headers.join(","),
            ));
        }
        headers
    }
}

/// The global `cors` plugin of kong.yaml, if it has one.
pub fn kong_cors() -> anyhow::Result<Option<CorsPolicy>> {
    let config: KongConfig =
        serde_yaml::from_str(KONG_YAML).context("gateway/kong.yaml is not valid")?;
    Ok(config.plugins.iter().find_map(CorsPolicy::from_plugin))
}

/// Kong's default body limit when no plugin names one.
const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

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
    #[serde(default)]
    plugins: Vec<KongPlugin>,
}

/// A path prefix, the service that owns it and the largest body it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub service: String,
    /// The route's own `request-size-limiting`, else the global one.
    pub max_body_bytes: usize,
}

/// Every path prefix in kong.yaml with its Kong service name (`point-service`).
pub fn kong_routes() -> anyhow::Result<Vec<Route>> {
    let config: KongConfig =
        serde_yaml::from_str(KONG_YAML).context("gateway/kong.yaml is not valid")?;
    let global_limit = config
        .plugins
        .iter()
        .find_map(KongPlugin::body_limit)
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let mut routes: Vec<Route> = config
        .services
        .into_iter()
        .flat_map(|s| {
            let service = s.name;
            s.routes.into_iter().flat_map(move |r| {
                let service = service.clone();
                let max_body_bytes = r
                    .plugins
                    .iter()
                    .find_map(KongPlugin::body_limit)
                    .unwrap_or(global_limit);
                r.paths.into_iter().map(move |prefix| Route {
                    prefix,
                    service: service.clone(),
                    max_body_bytes,
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
    cors: Option<CorsPolicy>,
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
    let routes = kong_routes()?;
    // Bodies are read up to the largest route's limit, then held to their own route's.
    let largest_body = routes
        .iter()
        .map(|r| r.max_body_bytes)
        .max()
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let state = web::Data::new(EdgeState {
        routes,
        cors: kong_cors()?,
        upstreams,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(largest_body))
            .configure(crate::dashboard::configure)
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
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let origin = header("origin").map(str::to_owned);
    if let (Some(cors), Some(origin)) = (&state.cors, &origin) {
        let preflight = req.method() == actix_web::http::Method::OPTIONS
            && header("access-control-request-method").is_some();
        if preflight {
            return cors.preflight(origin, header("access-control-request-headers"));
        }
    }
    let mut reply = proxy(&req, body, &state).await;
    if let (Some(cors), Some(origin)) = (&state.cors, &origin) {
        for (name, value) in cors.response_headers(origin) {
            if let (Ok(name), Ok(value)) = (
                actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
                actix_web::http::header::HeaderValue::from_str(&value),
            ) {
                reply.headers_mut().insert(name, value);
            }
        }
    }
    reply
}

/// Routes the request to its service and relays the answer.
async fn proxy(req: &HttpRequest, body: web::Bytes, state: &EdgeState) -> HttpResponse {
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
    if body.len() > route.max_body_bytes {
        return HttpResponse::PayloadTooLarge()
            .content_type("application/problem+json")
            .json(serde_json::json!({
                "type": "urn:tessera:problem:payload-too-large",
                "title": "Payload too large", "status": 413,
                "detail": format!("this path takes bodies up to {} bytes", route.max_body_bytes),
            }));
    }
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

    #[test]
    fn settlement_files_may_be_larger_than_other_bodies() {
        let routes = kong_routes().unwrap();
        let settlements = route_for(&routes, "/api/v1/campaigns/settlements").unwrap();
        assert_eq!(settlements.service, "rewards-service");
        assert_eq!(settlements.max_body_bytes, 16 * 1024 * 1024);
        let campaigns = route_for(&routes, "/api/v1/campaigns/abc/enrolments").unwrap();
        assert_eq!(campaigns.max_body_bytes, 1024 * 1024);
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

    fn edge_before_a_closed_upstream() -> String {
        // A port that was free a moment ago: nothing listens there.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
        drop(closed);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let edge = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let upstreams = HashMap::from([("point-service".to_owned(), upstream)]);
        tokio::spawn(serve(listener, upstreams).unwrap());
        edge
    }

    fn header(response: &reqwest::Response, name: &str) -> Option<String> {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_cors_policy_is_kongs() {
        let cors = kong_cors().unwrap().expect("kong.yaml configures CORS");
        assert_eq!(cors.origins, ["*"]);
        assert!(cors.methods.iter().any(|m| m == "PATCH"));
        assert!(cors.headers.iter().any(|h| h == "Idempotency-Key"));
        assert_eq!(cors.exposed_headers, ["X-Request-Id", "Retry-After"]);
        assert_eq!(cors.max_age, Some(3600));
    }

    #[tokio::test]
    async fn a_browser_on_another_origin_gets_its_preflight_answered_and_the_answers_exposed() {
        let edge = edge_before_a_closed_upstream();
        let http = reqwest::Client::new();
        // The preflight is the edge's to answer: the service behind it is not even running.
        let preflight = http
            .request(
                reqwest::Method::OPTIONS,
                format!("{edge}/api/v1/points/abc/balance"),
            )
            .header("Origin", "http://localhost:5173")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,idempotency-key",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status().as_u16(), 200);
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let methods = header(&preflight, "access-control-allow-methods").unwrap();
        assert!(methods.split(',').any(|m| m == "POST"), "{methods}");
        let headers = header(&preflight, "access-control-allow-headers").unwrap();
        assert!(headers.contains("Idempotency-Key"), "{headers}");
        assert_eq!(
            header(&preflight, "access-control-max-age").as_deref(),
            Some("3600")
        );

        // An ordinary request from that origin: the answer (here a 502) carries the CORS headers,
        // and the request id is readable by the page.
        let answer = http
            .get(format!("{edge}/api/v1/points/abc/balance"))
            .header("Origin", "http://localhost:5173")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 502);
        assert_eq!(
            header(&answer, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        assert_eq!(
            header(&answer, "access-control-expose-headers").as_deref(),
            Some("X-Request-Id,Retry-After")
        );
        // Without an Origin (not a browser across origins) nothing is added.
        let plain = http
            .get(format!("{edge}/api/v1/points/abc/balance"))
            .send()
            .await
            .unwrap();
        assert_eq!(header(&plain, "access-control-allow-origin"), None);
    }

    #[test]
    fn named_origins_are_echoed_and_others_get_nothing() {
        let cors = CorsPolicy {
            origins: vec!["https://admin.example.com".into()],
            methods: vec!["GET".into()],
            credentials: true,
            ..CorsPolicy::default()
        };
        let allowed = cors.preflight("https://admin.example.com", Some("authorization"));
        let get = |name: &str| {
            allowed
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            get("access-control-allow-origin").as_deref(),
            Some("https://admin.example.com")
        );
        assert_eq!(
            get("access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert_eq!(get("vary").as_deref(), Some("Origin"));
        assert_eq!(
            get("access-control-allow-headers").as_deref(),
            Some("authorization"),
            "no configured headers: the requested ones"
        );
        let refused = cors.preflight("https://evil.example.com", None);
        assert!(refused
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        assert!(cors.response_headers("https://evil.example.com").is_empty());
    }
}
