use point_service::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = platform::telemetry::init("point")?;
    let settings = Settings::load()?;
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return Application::migrate(&settings).await;
    }
    let shutdown = platform::CancellationToken::new();
    platform::service::cancel_on_signal(shutdown.clone());
    Application::build(settings, shutdown)
        .await?
        .run_until_stopped()
        .await
}
