//! One OpenAPI document for the whole API, merged from the five services' documents exactly as
//! each serves it at `/openapi.json`. The merge is committed as `docs/openapi.json` (a test fails
//! when it is stale; `scripts/openapi` rewrites it), and the admin service serves that file at
//! `/api/v1/openapi.json`, which Kong and the development edge route to it.

use anyhow::{bail, Context};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::{Components, Info, OpenApi, Server};
use utoipa::OpenApi as _;

/// The committed merge.
pub const COMMITTED: &str = include_str!("../../../docs/openapi.json");

/// Each service and its document as it serves it.
fn service_documents() -> Vec<(&'static str, OpenApi)> {
    [
        ("user", user_service::routes::ApiDoc::openapi()),
        ("point", point_service::routes::ApiDoc::openapi()),
        ("rewards", rewards_service::routes::ApiDoc::openapi()),
        ("admin", admin_service::routes::ApiDoc::openapi()),
        ("payment", payment_service::routes::ApiDoc::openapi()),
    ]
    .into_iter()
    .map(|(name, doc)| (name, platform::http::published_document(doc)))
    .collect()
}

/// Adds `value` under `name` unless another service put a different one there: two services
/// may share a component (the problem type) only when it is the same.
fn add_component<T: serde::Serialize>(
    into: &mut BTreeMap<String, T>,
    owners: &mut BTreeMap<String, &'static str>,
    kind: &str,
    name: String,
    value: T,
    service: &'static str,
) -> Result<(), String> {
    if let Some(existing) = into.get(&name) {
        if serde_json::to_value(existing).ok() != serde_json::to_value(&value).ok() {
            return Err(format!(
                "the {kind} {name:?} differs between the {} and {service} services",
                owners[&name]
            ));
        }
        return Ok(());
    }
    owners.insert(name.clone(), service);
    into.insert(name, value);
    Ok(())
}

/// The partner clients' OAuth2 client credentials flow, with every scope.
fn client_credentials() -> SecurityScheme {
    let scopes = Scopes::from_iter(
        auth::scopes::ALL
            .iter()
            .map(|scope| (*scope, auth::scopes::description(scope))),
    );
    let mut oauth2 = OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
        "/api/v1/auth/token",
        scopes,
    ))]);
    oauth2.description = Some(
        "Partner clients (a POS, a shop) exchange their key for a token carrying the scopes they \
         were given; send it as a bearer token."
            .into(),
    );
    SecurityScheme::OAuth2(oauth2)
}

/// The whole API in one document.
pub fn merged() -> anyhow::Result<OpenApi> {
    let mut doc = OpenApi::new(
        Info::builder()
            .title("Tessera API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "Loyalty and payments: members and their identity, the points ledger, rewards \
                 and campaigns, the back office, and payments. Every path is under /api/v1 \
                 behind one edge. Members and staff send the access token from \
                 /api/v1/auth/login; partner clients use OAuth2 client credentials. Errors are \
                 RFC 9457 problems with a stable `type`.",
            ))
            .build(),
        utoipa::openapi::Paths::new(),
    );
    doc.servers = Some(vec![Server::new("/")]);
    let mut components = Components::new();
    let (mut schema_owners, mut response_owners, mut scheme_owners) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut path_owners: BTreeMap<String, &'static str> = BTreeMap::new();
    // Code generators name a client's functions after operationIds: each must be unique.
    let mut operation_owners: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    let mut tags = Vec::new();
    let mut clashes = Vec::new();
    for (service, served) in service_documents() {
        for (path, item) in served.paths.paths {
            if let Some(other) = path_owners.insert(path.clone(), service) {
                clashes.push(format!(
                    "{path} is served by both the {other} and {service} services"
                ));
            }
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for id in operations
                .into_iter()
                .flatten()
                .filter_map(|o| o.operation_id.clone())
            {
                if let Some((other_path, other)) =
                    operation_owners.insert(id.clone(), (path.clone(), service))
                {
                    clashes.push(format!(
                        "the operationId {id} names both {other_path} ({other}) and {path} ({service})"
                    ));
                }
            }
            doc.paths.paths.insert(path, item);
        }
        let parts = served.components.unwrap_or_default();
        for (name, schema) in parts.schemas {
            if let Err(clash) = add_component(
                &mut components.schemas,
                &mut schema_owners,
                "schema",
                name,
                schema,
                service,
            ) {
                clashes.push(clash);
            }
        }
        for (name, response) in parts.responses {
            if let Err(clash) = add_component(
                &mut components.responses,
                &mut response_owners,
                "response",
                name,
                response,
                service,
            ) {
                clashes.push(clash);
            }
        }
        for (name, scheme) in parts.security_schemes {
            if let Err(clash) = add_component(
                &mut components.security_schemes,
                &mut scheme_owners,
                "security scheme",
                name,
                scheme,
                service,
            ) {
                clashes.push(clash);
            }
        }
        for tag in served.tags.unwrap_or_default() {
            if !tags
                .iter()
                .any(|t: &utoipa::openapi::Tag| t.name == tag.name)
            {
                tags.push(tag);
            }
        }
    }
    if !clashes.is_empty() {
        bail!(
            "the services' documents do not merge: {}",
            clashes.join("; ")
        );
    }
    components
        .security_schemes
        .insert("partner".into(), client_credentials());
    doc.components = Some(components);
    doc.tags = Some(tags);
    Ok(doc)
}

/// The merge as the committed file holds it (pretty JSON, one trailing newline).
pub fn render() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&merged()?).context("the merged document")?;
    text.push('\n');
    Ok(text)
}

/// Every `$ref` in the document that names no component.
pub fn dangling_refs(doc: &Value) -> Vec<String> {
    fn walk(value: &Value, doc: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.trim_start_matches('#');
                    if doc.pointer(pointer).is_none() {
                        out.push(target.clone());
                    }
                }
                map.values().for_each(|v| walk(v, doc, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, doc, &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TESSERA_WRITE_OPENAPI=1` (scripts/openapi) rewrites the committed file instead.
    #[test]
    fn the_committed_document_is_the_merge_of_what_the_services_serve() {
        let fresh = render().unwrap();
        if std::env::var_os("TESSERA_WRITE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
            std::fs::write(path, &fresh).unwrap();
            return;
        }
        let committed: Value = serde_json::from_str(COMMITTED).unwrap();
        let fresh: Value = serde_json::from_str(&fresh).unwrap();
        assert!(
            committed == fresh,
            "docs/openapi.json is stale: run scripts/openapi and commit it"
        );
    }

    #[test]
    fn the_merge_holds_every_service_path_once_and_every_reference_resolves() {
        let doc = serde_json::to_value(merged().unwrap()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/v1/auth/login",
            "/api/v1/auth/token",
            "/api/v1/points/{user_id}/balance",
            "/api/v1/campaigns/{campaign_id}/referrals",
            "/api/v1/admin/stats",
            "/api/v1/payments/charges",
            "/api/v1/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert_eq!(dangling_refs(&doc), Vec::<String>::new());
        let flows = &doc["components"]["securitySchemes"]["partner"]["flows"];
        assert_eq!(flows["clientCredentials"]["tokenUrl"], "/api/v1/auth/token");
        let scopes = flows["clientCredentials"]["scopes"].as_object().unwrap();
        assert_eq!(scopes.len(), auth::scopes::ALL.len());
        assert!(scopes.contains_key("settlements:write"));
    }

    #[test]
    fn two_services_with_different_schemas_of_one_name_are_refused() {
        let (mut schemas, mut owners) = (BTreeMap::new(), BTreeMap::new());
        add_component(&mut schemas, &mut owners, "schema", "A".into(), 1, "user").unwrap();
        add_component(&mut schemas, &mut owners, "schema", "A".into(), 1, "point").unwrap();
        let clash = add_component(&mut schemas, &mut owners, "schema", "A".into(), 2, "point");
        assert!(clash.unwrap_err().contains("user and point"));
    }
}
