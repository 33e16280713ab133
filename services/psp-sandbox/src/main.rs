//! Runs the PSP sandbox on 127.0.0.1.
//!
//! Environment: `PSP_SANDBOX_PORT` (default 3010), `PSP_SANDBOX_STRIPE_SECRET_KEY`,
//! `PSP_SANDBOX_STRIPE_WEBHOOK_SECRET`, `PSP_SANDBOX_WEBHOOK_URL` (no webhooks when unset),
//! `PSP_SANDBOX_PAYPAL_CLIENT_ID`, `PSP_SANDBOX_PAYPAL_CLIENT_SECRET`,
//! `RUST_LOG` (default `info`).

use std::env;
use std::net::TcpListener;

use anyhow::Context as _;
use psp_sandbox::{Sandbox, SandboxConfig};
use tracing_subscriber::EnvFilter;

const DEFAULT_PORT: u16 = 3010;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let port = match env_var("PSP_SANDBOX_PORT")? {
        Some(port) => port
            .parse::<u16>()
            .with_context(|| format!("PSP_SANDBOX_PORT is not a port number: {port}"))?,
        None => DEFAULT_PORT,
    };
    let defaults = SandboxConfig::default();
    let config = SandboxConfig {
        stripe_secret_key: env_var("PSP_SANDBOX_STRIPE_SECRET_KEY")?
            .unwrap_or(defaults.stripe_secret_key.clone()),
        stripe_publishable_key: env_var("PSP_SANDBOX_STRIPE_PUBLISHABLE_KEY")?
            .unwrap_or(defaults.stripe_publishable_key.clone()),
        stripe_webhook_secret: env_var("PSP_SANDBOX_STRIPE_WEBHOOK_SECRET")?
            .unwrap_or(defaults.stripe_webhook_secret.clone()),
        paypal_client_id: env_var("PSP_SANDBOX_PAYPAL_CLIENT_ID")?
            .unwrap_or(defaults.paypal_client_id.clone()),
        paypal_client_secret: env_var("PSP_SANDBOX_PAYPAL_CLIENT_SECRET")?
            .unwrap_or(defaults.paypal_client_secret.clone()),
        webhook_url: env_var("PSP_SANDBOX_WEBHOOK_URL")?,
        ..defaults
    };

    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let sandbox = Sandbox::build(listener, config)?;
    tracing::info!(url = %sandbox.base_url(), "PSP sandbox listening");
    sandbox.run_until_stopped().await?;
    Ok(())
}

/// A variable's value; unset and empty both mean "not configured".
fn env_var(name: &str) -> anyhow::Result<Option<String>> {
    match env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_owned())),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(_)) => anyhow::bail!("{name} is not valid UTF-8"),
    }
}
