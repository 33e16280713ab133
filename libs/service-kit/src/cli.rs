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
