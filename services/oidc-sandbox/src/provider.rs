//! One OpenID Connect provider under its issuer (`/google`, `/apple`): discovery, keys, the
//! authorization endpoint with its sign-in page, and the token endpoint.

use crate::html::escape;
use crate::keys::SigningKey;
use crate::magic::{self, Behaviour};
use crate::{ClientRegistration, Provider};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the provider granted at the authorization endpoint, redeemable once for tokens.
struct Grant {
    client_id: String,
    redirect_uri: String,
    email: String,
    name: (String, String),
    nonce: Option<String>,
    code_challenge: Option<String>,
    issued: Instant,
}

pub struct ProviderState {
    provider: Provider,
    issuer: String,
    client: ClientRegistration,
    key: SigningKey,
    /// Signs the `+bad-signature` test users' tokens under `key`'s id.
    rogue: SigningKey,
    codes: Mutex<HashMap<String, Grant>>,
    code_ttl: Duration,
}

impl ProviderState {
    pub fn new(
        provider: Provider,
        issuer: String,
        client: ClientRegistration,
        code_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let kid = format!("sandbox-{}-1", provider.slug());
        let pem = match provider {
            Provider::Google => crate::keys::GOOGLE_PEM,
            Provider::Apple => crate::keys::APPLE_PEM,
        };
        Ok(Self {
            provider,
            issuer,
            client,
            key: SigningKey::from_pem(&kid, pem)?,
            rogue: SigningKey::from_pem(&kid, crate::keys::ROGUE_PEM)?,
            codes: Mutex::new(HashMap::new()),
            code_ttl,
        })
    }

    /// Apple takes the client secret in the request body only; Google in either place.
    fn auth_methods(&self) -> &'static [&'static str] {
        match self.provider {
            Provider::Google => &["client_secret_basic", "client_secret_post"],
            Provider::Apple => &["client_secret_post"],
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<ProviderState>) {
    let slug = state.provider.slug();
    cfg.service(
        web::scope(&format!("/{slug}"))
            .app_data(state)
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/jwks", web::get().to(jwks))
            .route("/authorize", web::get().to(authorize_page))
            .route("/authorize", web::post().to(authorize_submit))
            .route("/token", web::post().to(token)),
    );
}

async fn discovery(state: web::Data<ProviderState>) -> HttpResponse {
    let issuer = &state.issuer;
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": [match state.provider {
            Provider::Google => "public",
            Provider::Apple => "pairwise",
        }],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": match state.provider {
            Provider::Google => json!(["openid", "email", "profile"]),
            Provider::Apple => json!(["openid", "email", "name"]),
        },
        "token_endpoint_auth_methods_supported": state.auth_methods(),
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "nonce", "sub"],
        "grant_types_supported": ["authorization_code"],
    });
    if state.provider == Provider::Google {
        doc["code_challenge_methods_supported"] = json!(["S256"]);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(doc)
}

async fn jwks(state: web::Data<ProviderState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(json!({ "keys": [state.key.jwk()] }))
}

/// The authorization request's parameters, and on the sign-in page's answer the test user.
#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// A test user signs in at once, without the page (tests, scripts).
    login_hint: Option<String>,
    /// `form_post` sends the code back in an auto-submitted form instead of the query (as
    /// Apple does whenever scopes are asked for); `query` is the default.
    response_mode: Option<String>,
    /// The sign-in page's answer.
    email: Option<String>,
}

/// A checked authorization request.
struct Authorization {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    form_post: bool,
}

/// Why an authorization request is refused: on a page of the provider's own when the client or
/// its redirect address cannot be trusted, else by redirecting the error back to the client.
enum Refusal {
    Page(&'static str, String),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn check(state: &ProviderState, params: &AuthorizeParams) -> Result<Authorization, Refusal> {
    let client_id = params.client_id.clone().unwrap_or_default();
    if client_id != state.client.client_id {
        return Err(Refusal::Page(
            "invalid_client",
            format!("The OAuth client {client_id:?} was not found."),
        ));
    }
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    if !state.client.redirect_uris.contains(&redirect_uri) {
        return Err(Refusal::Page(
            "redirect_uri_mismatch",
            format!("The redirect URI {redirect_uri:?} is not registered for this client."),
        ));
    }
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: params.state.clone(),
        error,
        description: description.to_owned(),
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only the authorization code flow (response_type=code) is supported",
        ));
    }
    let scopes = params.scope.as_deref().unwrap_or_default();
    if !scopes.split(' ').any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "the openid scope is required"));
    }
    let form_post = match params.response_mode.as_deref() {
        None | Some("query") => false,
        Some("form_post") => true,
        Some(_) => {
            return Err(refuse(
                "invalid_request",
                "response_mode must be query or form_post",
            ))
        }
    };
    match (
        &params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) {
        (Some(challenge), Some("S256")) => {
            let valid = (43..=128).contains(&challenge.len())
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !valid {
                return Err(refuse("invalid_request", "code_challenge is malformed"));
            }
        }
        (Some(_), _) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256",
            ))
        }
        (None, Some(_)) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) => {}
    }
    Ok(Authorization {
        client_id,
        redirect_uri,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge: params.code_challenge.clone(),
        form_post,
    })
}

async fn authorize_page(
    state: web::Data<ProviderState>,
    params: web::Query<AuthorizeParams>,
) -> HttpResponse {
    let authorization = match check(&state, &params) {
        Ok(a) => a,
        Err(refusal) => return refused(refusal),
    };
    if let Some(email) = params.login_hint.as_deref() {
        if magic::is_email(email) {
            return approve(&state, authorization, email.trim());
        }
    }
    sign_in_page(&state, &params, None)
}

async fn authorize_submit(
    state: web::Data<ProviderState>,
    params: web::Form<AuthorizeParams>,
) -> HttpResponse {
    let authorization = match check(&state, &params) {
        Ok(a) => a,
        Err(refusal) => return refused(refusal),
    };
    match params.email.as_deref().map(str::trim) {
        Some(email) if magic::is_email(email) => approve(&state, authorization, email),
        _ => sign_in_page(&state, &params, Some("Type an email address.")),
    }
}

/// Grants a code to the test user and sends the browser back to the client.
fn approve(state: &ProviderState, authorization: Authorization, email: &str) -> HttpResponse {
    let code = random_token();
    let mut codes = state.codes.lock().expect("the code store is not poisoned");
    codes.retain(|_, grant| grant.issued.elapsed() < state.code_ttl);
    codes.insert(
        code.clone(),
        Grant {
            client_id: authorization.client_id,
            redirect_uri: authorization.redirect_uri.clone(),
            email: email.to_owned(),
            name: magic::name_from(email),
            nonce: authorization.nonce,
            code_challenge: authorization.code_challenge,
            issued: Instant::now(),
        },
    );
    drop(codes);
    let mut query = vec![("code", code.as_str())];
    if let Some(s) = authorization.state.as_deref() {
        query.push(("state", s));
    }
    if authorization.form_post {
        return form_post(&authorization.redirect_uri, &query);
    }
    redirect(&authorization.redirect_uri, &query)
}

/// The response sent back as a form the browser posts to the client at once (OAuth 2.0 Form
/// Post Response Mode).
fn form_post(to: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let inputs = fields
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            )
        })
        .collect::<String>();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head><body onload="document.forms[0].submit()"><form method="post" action="{}">{inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>"#,
            escape(to)
        ))
}

fn refused(refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::Page(error, description) => HttpResponse::BadRequest()
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html><title>Error: {error}</title><h1>Error 400: {error}</h1><p>{}</p>",
                escape(&description)
            )),
        Refusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => {
            let mut query = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = state.as_deref() {
                query.push(("state", s));
            }
            redirect(&redirect_uri, &query)
        }
    }
}

fn redirect(to: &str, query: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(to) {
        Ok(url) => url,
        Err(_) => return HttpResponse::BadRequest().body("the redirect URI is not a URL"),
    };
    url.query_pairs_mut().extend_pairs(query);
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .finish()
}

fn sign_in_page(
    state: &ProviderState,
    params: &AuthorizeParams,
    problem: Option<&str>,
) -> HttpResponse {
    let hidden = [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("scope", &params.scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
        ("response_mode", &params.response_mode),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value.as_deref().map(|v| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(v)
            )
        })
    })
    .collect::<String>();
    let tags = magic::TAGS
        .iter()
        .map(|(tag, behaviour)| {
            format!("<li><code>name+{tag}@example.com</code>: {behaviour:?}</li>")
        })
        .collect::<String>();
    let name = state.provider.display_name();
    let problem = problem
        .map(|p| format!(r#"<p class="problem">{}</p>"#, escape(p)))
        .unwrap_or_default();
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in with {name} (sandbox)</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}.problem{{color:#b00}}</style></head>
<body><h1>Sign in with {name}</h1>
<p>This is the OpenID Connect sandbox: pick any test user by typing an email address.
<code>{client}</code> will receive a signed ID token for it.</p>
{problem}
<form method="post" action="authorize">{hidden}
<label>Email <input name="email" type="email" value="member@example.com" required autofocus></label>
<button type="submit">Continue</button></form>
<p>Test users whose address carries one of these tags get a deliberately wrong token:</p><ul>{tags}</ul>
</body></html>"#,
        client = escape(params.client_id.as_deref().unwrap_or_default()),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An OAuth error answer of the token endpoint (RFC 6749, section 5.2).
fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).expect("a valid status");
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"token\""));
    }
    response.json(json!({ "error": error, "error_description": description }))
}

/// The client's credentials from the `Authorization: Basic` header (client_secret_basic) or
/// the body (client_secret_post).
fn client_credentials(
    req: &HttpRequest,
    form: &TokenRequest,
    methods: &[&str],
) -> Result<(String, String), Box<HttpResponse>> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let invalid = |description: &str| Box::new(oauth_error(401, "invalid_client", description));
    match (basic, &form.client_secret) {
        (Some(_), Some(_)) => Err(Box::new(oauth_error(
            400,
            "invalid_request",
            "client credentials in both the header and the body",
        ))),
        (Some(encoded), None) => {
            if !methods.contains(&"client_secret_basic") {
                return Err(invalid(
                    "this provider takes the client secret in the request body",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| invalid("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid("malformed Basic credentials"))?;
            // RFC 6749, section 2.3.1: both parts are form-encoded.
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok((decode(id), decode(secret)))
        }
        (None, Some(secret)) => Ok((form.client_id.clone().unwrap_or_default(), secret.clone())),
        (None, None) => Err(invalid("client authentication is required")),
    }
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn token(
    state: web::Data<ProviderState>,
    req: HttpRequest,
    form: web::Form<TokenRequest>,
) -> HttpResponse {
    let (client_id, secret) = match client_credentials(&req, &form, state.auth_methods()) {
        Ok(credentials) => credentials,
        Err(response) => return *response,
    };
    if client_id != state.client.client_id || !same(&secret, &state.client.client_secret) {
        return oauth_error(
            401,
            "invalid_client",
            "unknown client or wrong client secret",
        );
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "only authorization_code is supported",
        );
    }
    let code = form.code.as_deref().unwrap_or_default();
    // A code is spent by the first attempt to redeem it, whatever the outcome.
    let grant = state
        .codes
        .lock()
        .expect("the code store is not poisoned")
        .remove(code);
    let Some(grant) = grant else {
        return oauth_error(
            400,
            "invalid_grant",
            "the code is unknown or was already used",
        );
    };
    if grant.issued.elapsed() >= state.code_ttl {
        return oauth_error(400, "invalid_grant", "the code has expired");
    }
    if grant.client_id != client_id {
        return oauth_error(
            400,
            "invalid_grant",
            "the code was issued to another client",
        );
    }
    if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        );
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = form.code_verifier.as_deref() else {
            return oauth_error(400, "invalid_grant", "code_verifier is required");
        };
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !same(&computed, challenge) {
            return oauth_error(
                400,
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            );
        }
    }
    let id_token = match id_token(&state, &grant) {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "minting an ID token");
            return oauth_error(500, "server_error", "the ID token could not be signed");
        }
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": random_token(),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": id_token,
        }))
}

/// The ID token for a grant, made deliberately wrong for the magic test users.
fn id_token(state: &ProviderState, grant: &Grant) -> anyhow::Result<String> {
    let behaviour = Behaviour::of(&grant.email);
    let now = chrono::Utc::now().timestamp();
    let (iat, exp) = match behaviour {
        Behaviour::Expired => (now - 7200, now - 3600),
        _ => (now, now + 3600),
    };
    let verified = behaviour != Behaviour::Unverified;
    let mut claims = json!({
        "iss": match behaviour {
            Behaviour::WrongIssuer => "https://issuer.invalid".to_owned(),
            _ => state.issuer.clone(),
        },
        "aud": match behaviour {
            Behaviour::WrongAudience => "another-client".to_owned(),
            _ => grant.client_id.clone(),
        },
        "sub": subject(state.provider, &grant.email),
        "email": grant.email,
        "iat": iat,
        "exp": exp,
        "auth_time": iat,
    });
    let nonce = match behaviour {
        Behaviour::WrongNonce => Some("not-the-nonce-you-sent".to_owned()),
        _ => grant.nonce.clone(),
    };
    if let Some(nonce) = nonce {
        claims["nonce"] = Value::String(nonce);
    }
    match state.provider {
        Provider::Google => {
            claims["email_verified"] = Value::Bool(verified);
            claims["azp"] = Value::String(grant.client_id.clone());
            let (first, last) = &grant.name;
            claims["given_name"] = Value::String(first.clone());
            claims["family_name"] = Value::String(last.clone());
            claims["name"] = Value::String(format!("{first} {last}"));
        }
        Provider::Apple => {
            // Apple sends its booleans as strings, and no name in the token.
            claims["email_verified"] = Value::String(verified.to_string());
            claims["nonce_supported"] = Value::Bool(true);
        }
    }
    let key = match behaviour {
        Behaviour::BadSignature => &state.rogue,
        _ => &state.key,
    };
    key.sign(&claims)
}

/// The provider's stable id for a test user: the same address always gets the same subject.
pub fn subject(provider: Provider, email: &str) -> String {
    let digest = Sha256::digest(format!("{}:{}", provider.slug(), email.to_lowercase()));
    match provider {
        // Google's are decimal, Apple's dotted.
        Provider::Google => format!(
            "1{:020}",
            u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
        ),
        Provider::Apple => format!("000{}.{}.0000", digest[8] % 100, hex::encode(&digest[..16])),
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_stable_and_differ_by_provider_and_address() {
        let a = subject(Provider::Google, "ada@example.com");
        assert_eq!(a, subject(Provider::Google, "ADA@example.com"));
        assert_ne!(a, subject(Provider::Google, "grace@example.com"));
        assert_ne!(a, subject(Provider::Apple, "ada@example.com"));
        assert!(a.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn credentials_compare_whole() {
        assert!(same("secret", "secret"));
        assert!(!same("secret", "secreT"));
        assert!(!same("secret", "secret2"));
    }
}
