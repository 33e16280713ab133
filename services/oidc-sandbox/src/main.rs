//! Runs the OpenID Connect sandbox on 127.0.0.1.
//!
//! Environment: `OIDC_SANDBOX_PORT` (default 3011), `OIDC_SANDBOX_REDIRECT_URIS` (addresses,
//! comma-separated, that both providers may send codes to besides the sandbox's own
//! `/callback` page), `RUST_LOG` (default `info`). The clients are the documented sandbox
//! clients (`oidc_sandbox::GOOGLE_CLIENT_ID`, ...).

use std::env;
use std::net::TcpListener;

use anyhow::Context as _;
use oidc_sandbox::{Provider, Sandbox, SandboxConfig};
use tracing_subscriber::EnvFilter;

const DEFAULT_PORT: u16 = 3011;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let port = match env::var("OIDC_SANDBOX_PORT") {
        Ok(port) => port
            .trim()
            .parse::<u16>()
            .with_context(|| format!("OIDC_SANDBOX_PORT is not a port number: {port}"))?,
        Err(_) => DEFAULT_PORT,
    };
    let mut config = SandboxConfig::default();
    if let Ok(uris) = env::var("OIDC_SANDBOX_REDIRECT_URIS") {
        for uri in uris.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            config = config.with_redirect(|_| uri.to_owned());
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let sandbox = Sandbox::build(listener, config)?;
    for provider in Provider::ALL {
        tracing::info!(issuer = %sandbox.issuer(provider), "OIDC sandbox: {}", provider.display_name());
    }
    sandbox.run_until_stopped().await?;
    Ok(())
}
