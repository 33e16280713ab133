//! The HTTP server every service runs: common middleware, health, metrics, OpenAPI docs, the
//! JSON extractor that turns bad bodies into problem+json, and the not-found fallback.

use crate::health::{self, HealthChecks};
use crate::metrics::{self, Metrics};
use crate::problem::ApiError;
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::dev::{Payload, Server};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, FromRequest, HttpRequest, HttpServer};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::net::TcpListener;
use tracing_actix_web::TracingLogger;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa_scalar::{Scalar, Servable};

/// Largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct HttpSetup {
    pub health: HealthChecks,
    pub metrics: Metrics,
    pub openapi: OpenApi,
    pub workers: usize,
}

/// Starts serving on `listener`. `routes` adds the service's own endpoints.
pub fn serve<F>(listener: TcpListener, setup: HttpSetup, routes: F) -> std::io::Result<Server>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let workers = if setup.workers == 0 {
        num_workers()
    } else {
        setup.workers
    };
    let openapi = published_document(setup.openapi.clone());
    let server = HttpServer::new(move || {
        let setup = setup.clone();
        let openapi = openapi.clone();
        App::new()
            .wrap(ErrorHandlers::new().default_handler(as_problem))
            .wrap(from_fn(metrics::track))
            .wrap(TracingLogger::default())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::NotFound(format!("no such resource: {err}")).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::MalformedRequest(format!("invalid query string: {err}")).into()
            }))
            .configure(|c| health::configure(c, setup.health.clone()))
            .configure(|c| metrics::configure(c, setup.metrics.clone()))
            .route(
                "/openapi.json",
                web::get().to(move || {
                    let openapi = openapi.clone();
                    async move { web::Json(openapi) }
                }),
            )
            .service(Scalar::with_url("/docs", setup.openapi.clone()))
            .configure(routes.clone())
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::NotFound("no such endpoint".into()))
            }))
    })
    .workers(workers)
    // Shutdown is driven by the service runtime, not by actix's own signal handling.
    .disable_signals()
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Errors raised by actix itself rather than by our handlers (a body over the size limit, a
/// method the path does not take, a path parameter that does not parse) come as text/plain;
/// they are answered as problem+json like every other error. Our own problems pass unchanged.
fn as_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            max_bytes: MAX_BODY_BYTES,
        },
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        actix_web::http::StatusCode::NOT_FOUND => ApiError::NotFound("no such resource".into()),
        s if s.is_client_error() => {
            ApiError::MalformedRequest(status.canonical_reason().unwrap_or("bad request").into())
        }
        _ => ApiError::Internal(anyhow::anyhow!("{status} raised outside the handlers")),
    };
    let (req, _) = res.into_parts();
    let response: actix_web::HttpResponse<BoxBody> =
        actix_web::ResponseError::error_response(&error);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

fn num_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A service's OpenAPI document as it serves it at `/openapi.json`: its own operations, the bearer
/// scheme, and the problems the shared plumbing answers on every operation.
pub fn published_document(openapi: OpenApi) -> OpenApi {
    with_problem_responses(with_bearer_auth(openapi))
}

/// Declares the bearer scheme in every service's OpenAPI document.
fn with_bearer_auth(mut openapi: OpenApi) -> OpenApi {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    openapi
}

/// Documents, on every operation, the problems the shared plumbing answers whatever the
/// endpoint: 400 for a body or query string that cannot be read, 401 and 403 where a token is
/// needed, 404 for a path parameter that names nothing (a malformed id), 413 for a body over the
/// limit, 422 for a field with a bad value, 503 while the database cannot be reached. An operation that documents one of these itself
/// keeps its own description. Every answer a client can get is then in the document, which the
/// hostile-input test holds the services to.
fn with_problem_responses(mut openapi: OpenApi) -> OpenApi {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemDetails")))
                    .build(),
            )
            .build()
    };
    let add = |operation: &mut Operation, status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description).into());
    };
    for item in openapi.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let has = |place: ParameterIn| {
                operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == place)
            };
            let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
            let with_body = operation.request_body.is_some();
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if with_body || in_query {
                add(operation, "400", "The body or query string cannot be read");
                add(
                    operation,
                    "422",
                    "A field has a bad value; `errors` names each",
                );
            }
            if with_body {
                add(
                    operation,
                    "413",
                    "The body is larger than the endpoint accepts",
                );
            }
            if secured {
                add(operation, "401", "No valid access token");
                add(operation, "403", "The token does not allow this");
            }
            if in_path {
                add(operation, "404", "No such resource");
            }
            add(
                operation,
                "503",
                "The service cannot reach its database; retry after `Retry-After`",
            );
        }
    }
    openapi
}

/// A JSON body. Unlike `web::Json`, a body that is not JSON is a 400 and a field of the wrong
/// type or value is a 422 naming that field (`amount`, `items[2].sku`).
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json_content_type(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::MalformedRequest(
                    "Content-Type must be application/json".into(),
                )
                .into());
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    ApiError::PayloadTooLarge {
                        max_bytes: MAX_BODY_BYTES,
                    }
                } else {
                    ApiError::MalformedRequest(format!("cannot read body: {e}"))
                }
            })?;
            parse_json(&bytes).map(Json).map_err(Into::into)
        })
    }
}

pub fn is_json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// For handlers that need the raw body too (to fingerprint it for idempotency): checks the
/// content type and parses like the `Json` extractor.
pub fn parse_json_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    if !is_json_content_type(req) {
        return Err(ApiError::MalformedRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    parse_json(body)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    missing_field(&inner).unwrap_or_else(|| "body".into())
                } else {
                    path
                };
                ApiError::validation(field, strip_position(&inner.to_string()))
            }
            _ => ApiError::MalformedRequest(format!("body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedRequest(format!("body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde reports a missing field at the parent path; pull the field name out of its message.
fn missing_field(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Charge {
        amount: i64,
        currency: String,
    }

    fn field_of(result: Result<Charge, ApiError>) -> String {
        match result {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_type_names_the_field() {
        assert_eq!(
            field_of(parse_json(br#"{"amount":"ten","currency":"AUD"}"#)),
            "amount"
        );
    }

    #[test]
    fn missing_field_names_the_field() {
        assert_eq!(field_of(parse_json(br#"{"amount":10}"#)), "currency");
    }

    #[test]
    fn unknown_field_is_refused() {
        assert!(matches!(
            parse_json::<Charge>(br#"{"amount":1,"currency":"AUD","x":1}"#),
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn broken_json_is_malformed() {
        assert!(matches!(
            parse_json::<Charge>(b"{\"amount\":"),
            Err(ApiError::MalformedRequest(_))
        ));
        assert!(matches!(
            parse_json::<Charge>(br#"{"amount":1,"currency":"AUD"} trailing"#),
            Err(ApiError::MalformedRequest(_))
        ));
    }
}

#[cfg(test)]
mod server_tests {
    use super::*;

    async fn serve_echo() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let setup = HttpSetup {
            health: HealthChecks::default(),
            metrics: Metrics::new("http_test").unwrap(),
            openapi: OpenApi::default(),
            workers: 1,
        };
        let server = serve(listener, setup, |cfg| {
            cfg.service(
                web::resource("/raw").route(
                    web::post().to(|body: web::Bytes| async move { body.len().to_string() }),
                ),
            )
            .route(
                "/json",
                web::post().to(|body: Json<serde_json::Value>| async move { body.0.to_string() }),
            )
            .route(
                "/items/{id}",
                web::get().to(|id: web::Path<u32>| async move { id.to_string() }),
            );
        })
        .unwrap();
        tokio::spawn(server);
        format!("http://127.0.0.1:{port}")
    }

    async fn assert_problem(response: reqwest::Response, status: u16, slug: &str) {
        assert_eq!(response.status().as_u16(), status);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/problem+json"),
            "{content_type}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["type"],
            format!("urn:tessera:problem:{slug}"),
            "{body}"
        );
        assert_eq!(body["status"], status);
    }

    #[tokio::test]
    async fn errors_raised_by_actix_are_problems_too() {
        let base = serve_echo().await;
        let http = reqwest::Client::new();
        let too_big = vec![b'x'; MAX_BODY_BYTES + 1];
        let raw = http
            .post(format!("{base}/raw"))
            .body(too_big.clone())
            .send()
            .await
            .unwrap();
        assert_problem(raw, 413, "payload-too-large").await;
        let json = http
            .post(format!("{base}/json"))
            .header("content-type", "application/json")
            .body(too_big)
            .send()
            .await
            .unwrap();
        assert_problem(json, 413, "payload-too-large").await;
        let wrong_method = http.get(format!("{base}/raw")).send().await.unwrap();
        assert_problem(wrong_method, 405, "method-not-allowed").await;
        let bad_path = http.get(format!("{base}/items/abc")).send().await.unwrap();
        assert_problem(bad_path, 404, "not-found").await;
        let fine = http
            .post(format!("{base}/raw"))
            .body("abc")
            .send()
            .await
            .unwrap();
        assert_eq!(fine.text().await.unwrap(), "3");
    }
}
