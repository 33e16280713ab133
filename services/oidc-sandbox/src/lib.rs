//! A local stand-in for the OpenID Connect providers members sign in with, which cannot be
//! reached from our machines. Used by the fleet runner and by tests, as the PSP sandbox is for
//! payments.
//!
//! Each provider is its own issuer under the sandbox's address, with its own client, keys and
//! codes: `{base}/google` and `{base}/apple`. Each serves
//! - `/.well-known/openid-configuration`: the discovery document;
//! - `/jwks`: the RSA key its ID tokens are signed with (RS256);
//! - `/authorize`: a sign-in page where any test user signs in by typing an email address, or
//!   at once with `login_hint=<email>` (tests, scripts). An unknown client or an unregistered
//!   `redirect_uri` gets an error page; other errors are redirected back, as real providers do;
//! - `/token`: the authorization code exchange. It authenticates the client with its secret
//!   (Google: `client_secret_basic` or `client_secret_post`; Apple: `client_secret_post` only),
//!   checks the PKCE verifier (S256) and the `redirect_uri`, and spends the code on the first
//!   attempt; codes expire after [`SandboxConfig::code_ttl_secs`]. The ID token carries `iss`,
//!   `aud`, `sub`, `email`, `email_verified`, `nonce`, `iat` and `exp`.
//!
//! Test users whose address carries a magic tag (`ada+expired@example.com`) get a deliberately
//! wrong ID token: see [`magic`].
//!
//! `/callback` is a page that shows the code and state it was sent, a redirect target for
//! trying the flow by hand. All state is in memory and lives as long as the server.

mod html;
mod keys;
pub mod magic;
mod provider;

use std::fmt;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer};

pub use provider::subject;

/// The providers the sandbox plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Google,
    Apple,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Google, Provider::Apple];

    /// Its path under the sandbox's address, and its name in our settings.
    pub fn slug(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Apple => "apple",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Apple => "Apple",
        }
    }
}

/// A relying party registered with a provider: its id, its secret, and the addresses codes may
/// be sent to (besides the sandbox's own `/callback` page).
#[derive(Clone)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

// Secrets stay out of logs.
impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub google: ClientRegistration,
    pub apple: ClientRegistration,
    /// How long an authorization code can be redeemed, seconds.
    pub code_ttl_secs: u64,
}

/// The clients the sandbox knows by default, and that the fleet runner configures.
pub const GOOGLE_CLIENT_ID: &str = "tessera-google-sandbox.apps.googleusercontent.com";
pub const GOOGLE_CLIENT_SECRET: &str = "google-sandbox-secret";
pub const APPLE_CLIENT_ID: &str = "com.tessera.sandbox.signin";
pub const APPLE_CLIENT_SECRET: &str = "apple-sandbox-secret";

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            google: ClientRegistration {
                client_id: GOOGLE_CLIENT_ID.to_owned(),
                client_secret: GOOGLE_CLIENT_SECRET.to_owned(),
                redirect_uris: Vec::new(),
            },
            apple: ClientRegistration {
                client_id: APPLE_CLIENT_ID.to_owned(),
                client_secret: APPLE_CLIENT_SECRET.to_owned(),
                redirect_uris: Vec::new(),
            },
            code_ttl_secs: 60,
        }
    }
}

impl SandboxConfig {
    /// The same clients, also allowed to send codes to `redirect_uri(provider)`.
    pub fn with_redirect(mut self, redirect_uri: impl Fn(Provider) -> String) -> Self {
        self.google
            .redirect_uris
            .push(redirect_uri(Provider::Google));
        self.apple.redirect_uris.push(redirect_uri(Provider::Apple));
        self
    }
}

pub struct Sandbox {
    port: u16,
    base_url: String,
    server: Server,
}

impl Sandbox {
    /// Builds the server on `listener` (bind port 0 in tests), serving issuers under
    /// `http://<listener's address>`. Nothing is served until [`Sandbox::run_until_stopped`]
    /// is polled.
    pub fn build(listener: TcpListener, config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let address = listener.local_addr()?;
        let base_url = format!("http://{}:{}", address.ip(), address.port());
        Self::build_at(listener, config, base_url)
    }

    /// As [`Sandbox::build`], with the issuers under `base_url` (the address clients reach the
    /// sandbox at, when it differs from the one it listens on).
    pub fn build_at(
        listener: TcpListener,
        config: SandboxConfig,
        base_url: String,
    ) -> anyhow::Result<Sandbox> {
        let port = listener.local_addr()?.port();
        let code_ttl = Duration::from_secs(config.code_ttl_secs);
        let own_callback = format!("{base_url}/callback");
        let mut states = Vec::new();
        for (provider, mut client) in [
            (Provider::Google, config.google.clone()),
            (Provider::Apple, config.apple.clone()),
        ] {
            client.redirect_uris.push(own_callback.clone());
            states.push(web::Data::new(provider::ProviderState::new(
                provider,
                format!("{base_url}/{}", provider.slug()),
                client,
                code_ttl,
            )?));
        }
        let server = HttpServer::new(move || {
            let states = states.clone();
            App::new()
                .wrap(actix_web::middleware::Logger::new(
                    "oidc-sandbox %r %s %Dms",
                ))
                .route("/health", web::get().to(health))
                .route("/callback", web::get().to(callback_page))
                .route("/callback", web::post().to(callback_form))
                .configure(move |cfg| {
                    for state in states {
                        provider::configure(cfg, state);
                    }
                })
        })
        .workers(1)
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        Ok(Sandbox {
            port,
            base_url,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The issuer URL of `provider`, what a relying party is configured with.
    pub fn issuer(&self, provider: Provider) -> String {
        issuer(&self.base_url, provider)
    }

    /// Stops the server: `handle().stop(true).await` for a graceful stop.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The issuer URL of `provider` on a sandbox at `base_url`.
pub fn issuer(base_url: &str, provider: Provider) -> String {
    format!("{}/{}", base_url.trim_end_matches('/'), provider.slug())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

#[derive(serde::Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The same page for Apple's form POST.
async fn callback_form(params: web::Form<CallbackParams>) -> HttpResponse {
    callback_body(&params)
}

/// Shows what a provider sent back, for trying the flow by hand: the code and state are what
/// the member app would post to the user service's callback.
async fn callback_page(params: web::Query<CallbackParams>) -> HttpResponse {
    callback_body(&params)
}

fn callback_body(params: &CallbackParams) -> HttpResponse {
    let show = |v: &Option<String>| html::escape(v.as_deref().unwrap_or("(none)"));
    let body = match &params.error {
        Some(_) => format!(
            "<p>The provider refused: <code>{}</code> {}</p>",
            show(&params.error),
            show(&params.error_description)
        ),
        None => format!(
            "<p>Post these to the user service's <code>/api/v1/auth/social/{{provider}}/callback</code>:</p>\
             <pre>{{\"code\": \"{}\", \"state\": \"{}\"}}</pre>",
            show(&params.code),
            show(&params.state)
        ),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed in (sandbox)</title></head><body><h1>Back from the provider</h1>{body}</body></html>"
        ))
}
