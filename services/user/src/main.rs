use user_service::{Application, Settings};

const USAGE: &str = "usage: user-service [migrate | rotate-keys [--activate-in SECONDS]]";

/// Default delay before a rotated key signs: longer than the JWKS cache lifetime (5 minutes),
/// so every verifier has fetched the new key before it sees a token signed with it.
const DEFAULT_ACTIVATION_SECS: i64 = 600;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = platform::telemetry::init("user")?;
    let settings = Settings::load()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["migrate"] => return Application::migrate(&settings).await,
        ["rotate-keys"] => return rotate(&settings, DEFAULT_ACTIVATION_SECS).await,
        ["rotate-keys", "--activate-in", secs] => {
            let secs: i64 = secs.parse().map_err(|_| anyhow::anyhow!("{USAGE}"))?;
            anyhow::ensure!(secs >= 0, "{USAGE}");
            return rotate(&settings, secs).await;
        }
        _ => anyhow::bail!("{USAGE}"),
    }
    let shutdown = platform::CancellationToken::new();
    platform::service::cancel_on_signal(shutdown.clone());
    Application::build(settings, shutdown)
        .await?
        .run_until_stopped()
        .await
}

async fn rotate(settings: &Settings, activate_after_secs: i64) -> anyhow::Result<()> {
    let kid = Application::rotate_keys(settings, activate_after_secs).await?;
    println!("new signing key {kid}: published now, signs in {activate_after_secs} s; the previous key stays published for a day after that");
    Ok(())
}
