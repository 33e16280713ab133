//! The whole API's OpenAPI document: every service's, merged at build time into
//! `docs/openapi.json` (the fleet crate's `openapi` module makes it and checks it is fresh).
//! Served here because the back office is where the API is documented for staff and partners;
//! anyone may read it.

use actix_web::HttpResponse;

const MERGED: &str = include_str!("../../../../docs/openapi.json");

/// The OpenAPI 3.1 document of the whole API (every service), with the partners' OAuth2 client
/// credentials flow and its scopes.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "documentation",
    responses(
        (status = 200, description = "The whole API's OpenAPI document", body = serde_json::Value, content_type = "application/json"),
    )
)]
pub async fn merged_document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(MERGED)
}
