//! A private Kafka-protocol broker with durable storage: the `tansu` broker, run as a process of
//! its own with its log in a SQLite file, so an event it accepted survives the fleet (or the
//! broker itself) being killed. librdkafka's in-process mock cluster stays for fast tests only.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::answers;
use crate::owner::OwnerFile;
use crate::process::{absolute, find_in, is_executable, log_tail, path_dirs, wait_for_port};

/// How to get the broker when it is missing.
pub const BROKER_MISSING: &str = "the tansu broker was not found: scripts/run installs it (cargo install tansu --locked --features dynostore,postgres,libsql), or set TESSERA_TANSU to its path, or KAFKA_BROKERS to a broker of your own";

/// A private broker: data, pid file and log in `dir`, listening on `127.0.0.1:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateBroker {
    pub dir: PathBuf,
    pub port: u16,
}

/// A broker the caller can use; [`BrokerHandle::stop`] stops one this process started (or
/// took over).
#[derive(Debug)]
pub struct BrokerHandle {
    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Where its events are kept.
    pub storage: PathBuf,
    started: Option<StartedBroker>,
    owner: Option<OwnerFile>,
}

#[derive(Debug)]
struct StartedBroker {
    pidfile: PathBuf,
    port: u16,
}

/// The `tansu` binary: `$TESSERA_TANSU`, else `tansu` on `$PATH`, else the one the scripts
/// install under `~/.cache/tessera/tools/bin`.
pub fn find_tansu() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TESSERA_TANSU").map(PathBuf::from) {
        return is_executable(&path).then_some(path);
    }
    let mut dirs = path_dirs();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cache/tessera/tools/bin"));
    }
    find_in(&dirs, "tansu")
}

impl PrivateBroker {
    pub fn new(dir: impl Into<PathBuf>, port: u16) -> Self {
        Self {
            dir: dir.into(),
            port,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn handle(&self, dir: &Path, started: Option<StartedBroker>) -> BrokerHandle {
        BrokerHandle {
            bootstrap_servers: self.addr(),
            storage: dir.join("tansu.db"),
            started,
            owner: None,
        }
    }

    /// Starts the broker unless one answers on the port: a broker left behind by a run that
    /// died is taken over (see [`crate::owner`]), one that belongs to a live run is shared.
    pub async fn ensure_running_as_owner(&self) -> anyhow::Result<BrokerHandle> {
        let dir = absolute(&self.dir)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        let owner = OwnerFile::next_to(&dir);
        let pidfile = dir.join("tansu.pid");
        let mut handle = if answers(&self.addr()).await {
            if owner.orphaned() && pidfile.is_file() {
                tracing::warn!(dir = %dir.display(), "taking over the broker a previous run left behind");
                self.handle(
                    &dir,
                    Some(StartedBroker {
                        pidfile,
                        port: self.port,
                    }),
                )
            } else {
                self.handle(&dir, None)
            }
        } else {
            self.start(&dir, pidfile).await?
        };
        if handle.started.is_some() {
            owner.claim()?;
            handle.owner = Some(owner);
        }
        Ok(handle)
    }

    async fn start(&self, dir: &Path, pidfile: PathBuf) -> anyhow::Result<BrokerHandle> {
        let tansu = find_tansu().ok_or_else(|| anyhow!(BROKER_MISSING))?;
        let log_path = dir.join("tansu.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("could not create {}", log_path.display()))?;
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        // Relative to the broker's working directory, `dir`.
        let storage = "sqlite://tansu.db";
        tracing::info!(dir = %dir.display(), port = self.port, "starting a private broker");
        // A process of its own (not killed with us), like a daemon: a clean stop of the fleet
        // stops it, a crash leaves it to the next run, which takes it over.
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new(&tansu)
            // Its own process group: a Ctrl-C meant for the fleet must not stop the broker
            // before the services have handed it their last events.
            .process_group(0)
            .arg("broker")
            .args(["--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", storage])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", tansu.display()))?;
        std::fs::write(&pidfile, format!("{}\n", child.id()))
            .with_context(|| format!("could not write {}", pidfile.display()))?;
        // The child is not waited for: it outlives this handle.
        drop(child);
        if !wait_for_port(&self.addr(), true, Duration::from_secs(30)).await {
            bail!(
                "the broker started but {} does not answer{}",
                self.addr(),
                log_tail(&log_path)
            );
        }
        Ok(self.handle(
            dir,
            Some(StartedBroker {
                pidfile,
                port: self.port,
            }),
        ))
    }
}

impl BrokerHandle {
    pub fn started_here(&self) -> bool {
        self.started.is_some()
    }

    /// Stops a broker this process started or took over (SIGTERM, then SIGKILL after 10 s);
    /// leaves a shared one running. Its events stay in its storage for the next start.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Some(started) = self.started else {
            return Ok(());
        };
        let pid = std::fs::read_to_string(&started.pidfile)
            .with_context(|| format!("could not read {}", started.pidfile.display()))?;
        let pid = pid.trim().to_owned();
        anyhow::ensure!(
            pid.parse::<u32>().is_ok(),
            "unexpected pid {pid:?} in {}",
            started.pidfile.display()
        );
        let addr = format!("127.0.0.1:{}", started.port);
        signal(&pid, "-TERM").await;
        if !wait_for_port(&addr, false, Duration::from_secs(10)).await {
            signal(&pid, "-KILL").await;
        }
        if !wait_for_port(&addr, false, Duration::from_secs(5)).await {
            bail!("the broker was stopped but {addr} still answers");
        }
        let _ = std::fs::remove_file(&started.pidfile);
        if let Some(owner) = self.owner {
            owner.release();
        }
        Ok(())
    }
}

async fn signal(pid: &str, signal: &str) {
    let _ = tokio::process::Command::new("kill")
        .args([signal, pid])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}
