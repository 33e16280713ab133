//! The command line every service binary shares: `serve` (the default), `migrate`, `--help`
//! and `--version`, plus whatever commands a service adds. The arguments are checked before
//! anything is read or connected, so `--help` or a typo never touches a database.

use clap::{ArgMatches, Command};
use platform::service::Service;
use platform::CancellationToken;

/// What a service tells the shared entry point about itself.
#[allow(async_fn_in_trait)] // called only from `run`, on the runtime it builds
pub trait ServiceApp {
    /// The service's name: `point`. It names the binary (`point-service`), the telemetry
    /// resource and the variable prefix (`POINT__`).
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The service crate's version (`env!("CARGO_PKG_VERSION")` in the service).
    const VERSION: &'static str;

    type Settings;

    /// Reads the settings from the environment.
    fn load_settings() -> anyhow::Result<Self::Settings>;

    /// The settings every service has (address, connections), within its own.
    fn service_settings(settings: &Self::Settings) -> &platform::config::ServiceSettings;

    /// Applies the schema's migrations (`migrate`).
    async fn migrate(settings: Self::Settings) -> anyhow::Result<()>;

    /// Connects, migrates and returns the service ready to run (`serve`).
    async fn build(
        settings: Self::Settings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Service>;

    /// Commands of this service beyond `serve` and `migrate`.
    fn extra_commands() -> Vec<Command> {
        Vec::new()
    }

    /// Runs one of [`Self::extra_commands`].
    async fn run_extra(
        name: &str,
        args: &ArgMatches,
        settings: Self::Settings,
    ) -> anyhow::Result<()> {
        let _ = (args, settings);
        anyhow::bail!("unknown command {name}")
    }
}

/// Implements [`ServiceApp`] for a service whose `Application` has `build(Settings,
/// CancellationToken)` and `migrate(&Settings)` and whose `Settings` has `load()`, with no
/// commands of its own:
///
/// `service_kit::service_app!(Application, Settings, name = "point", about = "...");`
#[macro_export]
macro_rules! service_app {
    ($app:ty, $settings:ty, name = $name:literal, about = $about:literal) => {
        impl $crate::ServiceApp for $app {
            const NAME: &'static str = $name;
            const ABOUT: &'static str = $about;
            const VERSION: &'static str = env!("CARGO_PKG_VERSION");
            type Settings = $settings;

            fn load_settings() -> anyhow::Result<$settings> {
                <$settings>::load()
            }

            fn service_settings(settings: &$settings) -> &$crate::ServiceSettings {
                &settings.service
            }

            async fn migrate(settings: $settings) -> anyhow::Result<()> {
                <$app>::migrate(&settings).await
            }

            async fn build(
                settings: $settings,
                shutdown: $crate::CancellationToken,
            ) -> anyhow::Result<$crate::Service> {
                <$app>::build(settings, shutdown).await
            }
        }
    };
}

/// The command line of `A`'s binary.
pub fn command<A: ServiceApp>() -> Command {
    let binary = format!("{}-service", A::NAME);
    let prefix = A::NAME.to_ascii_uppercase();
    Command::new(binary)
        .about(A::ABOUT)
        .version(A::VERSION)
        .after_help(format!(
            "Settings come from the environment: DATABASE_URL, REDIS_URL, KAFKA_BROKERS, JWKS_URL, \
             and {prefix}__<SETTING> for this service (docs/configuration.md lists them all)."
        ))
        .subcommand(Command::new("serve").about("Serve the API and run the workers (the default)"))
        .subcommand(Command::new("migrate").about("Apply the schema's migrations and exit"))
        .subcommand(Command::new("healthcheck").about(
            "Exit 0 when this service, running on this host, answers /health/live; else 1 \
             (for container health checks, where there is no curl)",
        ))
        .subcommands(A::extra_commands())
}

/// The whole `main` of a service binary.
pub fn run<A: ServiceApp>() -> anyhow::Result<()> {
    let matches = command::<A>().get_matches();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run_command::<A>(matches))
}

async fn run_command<A: ServiceApp>(matches: ArgMatches) -> anyhow::Result<()> {
    if let Some(("healthcheck", _)) = matches.subcommand() {
        // Runs every few seconds beside the service: no telemetry, no connections.
        let settings = A::load_settings()?;
        return healthcheck(A::service_settings(&settings).port).await;
    }
    let _telemetry = platform::telemetry::init(A::NAME)?;
    let settings = A::load_settings()?;
    match matches.subcommand() {
        None | Some(("serve", _)) => {
            let shutdown = CancellationToken::new();
            platform::service::cancel_on_signal(shutdown.clone());
            A::build(settings, shutdown)
                .await?
                .run_until_stopped()
                .await
        }
        Some(("migrate", _)) => A::migrate(settings).await,
        Some((name, args)) => A::run_extra(name, args, settings).await,
    }
}

/// Asks the service on this host for `/health/live`, waiting at most three seconds.
async fn healthcheck(port: u16) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /health/live HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), exchange)
        .await
        .map_err(|_| anyhow::anyhow!("no answer from port {port} within 3 s"))??;
    let status_line =
        String::from_utf8_lossy(answer.split(|b| *b == b'\n').next().unwrap_or_default())
            .trim()
            .to_owned();
    anyhow::ensure!(
        status_line.split_whitespace().nth(1) == Some("200"),
        "port {port} answered `{status_line}`"
    );
    Ok(())
}
