//! A private PostgreSQL cluster started from the installed server binaries.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::lock::{lock_path_for, DirLock};
use crate::owner::OwnerFile;
use crate::process::{
    absolute, command, find_in, is_executable, is_root, log_tail, path_dirs, run, shell_quote,
    wait_for_port, POSTGRES_OS_USER,
};
use crate::{answers, POSTGRES_MISSING};

/// How long a process waits for another one that is starting the same cluster.
const LOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// `pg_ctl -w` timeout, in seconds.
const PG_CTL_TIMEOUT_SECS: &str = "120";
/// Unix socket paths are limited to 107 bytes; `/.s.PGSQL.NNNNN` takes 16 of them.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// A private Postgres cluster: data in `data_dir`, listening on `127.0.0.1:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivatePostgres {
    pub data_dir: PathBuf,
    pub port: u16,
}

/// A Postgres the caller can use.
///
/// Dropping the handle leaves the server running (other processes may be using it);
/// call [`PostgresHandle::stop`] to stop a server this process started.
#[derive(Debug)]
pub struct PostgresHandle {
    /// e.g. `postgres://postgres@127.0.0.1:55432/postgres`
    pub url: String,
    started: Option<StartedPostgres>,
    owner: Option<OwnerFile>,
}

#[derive(Debug)]
struct StartedPostgres {
    pg_ctl: PathBuf,
    data_dir: PathBuf,
    as_postgres: bool,
    port: u16,
}

impl PrivatePostgres {
    pub fn new(data_dir: impl Into<PathBuf>, port: u16) -> Self {
        Self {
            data_dir: data_dir.into(),
            port,
        }
    }

    /// The cluster `scripts/test` starts: `target/test-pg` on port 55432.
    pub fn for_tests() -> Self {
        Self::new(
            crate::workspace_target_dir().join("test-pg"),
            crate::TEST_POSTGRES_PORT,
        )
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn reused(&self) -> PostgresHandle {
        PostgresHandle {
            url: self.url(),
            started: None,
            owner: None,
        }
    }

    /// Returns immediately if something already accepts TCP connections on
    /// `127.0.0.1:port` (reuse). Otherwise finds `initdb`/`pg_ctl` (`$PATH`, then
    /// `/usr/lib/postgresql/*/bin`, highest version first), creates the cluster if
    /// `data_dir` has no `PG_VERSION` (trust auth, superuser `postgres`, UTF8) and starts
    /// it with `pg_ctl start -w` listening on 127.0.0.1 only, with its Unix socket in
    /// `data_dir`. Durability settings keep their defaults.
    ///
    /// As root, `initdb` and `pg_ctl` run as the `postgres` OS user (through `runuser`)
    /// and `data_dir` is owned by that user. If that user cannot reach `data_dir` (for
    /// example a checkout under `/root`), the cluster lives in
    /// `<postgres home>/tessera-<port>` instead.
    ///
    /// A lock directory (`<data_dir>.lock`) makes concurrent callers wait for the first
    /// one and then reuse its server.
    pub async fn ensure_running(&self) -> anyhow::Result<PostgresHandle> {
        let addr = self.addr();
        if answers(&addr).await {
            tracing::debug!(%addr, "reusing the Postgres that answers");
            return Ok(self.reused());
        }
        let bin_dir = find_pg_bin_dir().ok_or_else(|| anyhow!(POSTGRES_MISSING))?;
        let as_postgres = is_root().await;
        if as_postgres {
            check_can_switch_to_postgres().await?;
        }
        let requested = absolute(&self.data_dir)?;
        let _lock = DirLock::acquire(lock_path_for(&requested), LOCK_TIMEOUT).await?;
        // Someone else may have started it while we waited for the lock.
        if answers(&addr).await {
            return Ok(self.reused());
        }
        let data_dir = if as_postgres {
            data_dir_reachable_by_postgres(&requested, self.port).await?
        } else {
            requested
        };
        let pg_ctl = bin_dir.join("pg_ctl");

        // A server already running from this directory (still starting, or wedged)?
        if data_dir.join("PG_VERSION").is_file()
            && command(&pg_ctl, ["status", "-D"], as_postgres)
                .arg(&data_dir)
                .output()
                .await
                .is_ok_and(|out| out.status.success())
        {
            if wait_for_port(&addr, true, Duration::from_secs(15)).await {
                return Ok(self.reused());
            }
            bail!(
                "a Postgres server is running from {} but does not answer on {addr}; stop it with `pg_ctl stop -D {}`",
                data_dir.display(),
                data_dir.display()
            );
        }

        if !data_dir.join("PG_VERSION").is_file() {
            init_cluster(&bin_dir, &data_dir, as_postgres).await?;
        }

        let log = data_dir.join("postgres.log");
        let socket_dir = if data_dir.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
            data_dir.to_string_lossy().into_owned()
        } else {
            // Path too long for a Unix socket: TCP only.
            String::new()
        };
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={}",
            self.port,
            shell_quote(&socket_dir)
        );
        tracing::info!(data_dir = %data_dir.display(), port = self.port, "starting a private Postgres");
        let mut start = command(
            &pg_ctl,
            ["start", "-w", "-t", PG_CTL_TIMEOUT_SECS],
            as_postgres,
        );
        start
            .arg("-D")
            .arg(&data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(&options);
        if let Err(e) = run(start, "pg_ctl start").await {
            bail!("{e:#}{}", log_tail(&log));
        }
        if !wait_for_port(&addr, true, Duration::from_secs(15)).await {
            bail!(
                "Postgres started from {} but does not answer on {addr}{}",
                data_dir.display(),
                log_tail(&log)
            );
        }
        Ok(PostgresHandle {
            url: self.url(),
            started: Some(StartedPostgres {
                pg_ctl,
                data_dir,
                as_postgres,
                port: self.port,
            }),
            owner: None,
        })
    }

    /// Like [`Self::ensure_running`], for a runner that owns the server (the fleet runner): the
    /// server it starts is recorded as its own, and a server left running by an owner that
    /// died (`kill -9`) is taken over. Either way [`PostgresHandle::stop`] stops it.
    pub async fn ensure_running_as_owner(&self) -> anyhow::Result<PostgresHandle> {
        let requested = absolute(&self.data_dir)?;
        let owner = OwnerFile::next_to(&requested);
        let mut handle = if answers(&self.addr()).await && owner.orphaned() {
            self.take_over(&requested).await?
        } else {
            self.ensure_running().await?
        };
        if handle.started.is_some() {
            owner.claim()?;
            handle.owner = Some(owner);
        }
        Ok(handle)
    }

    /// The handle of a running cluster in this data directory, as if this process had started it.
    async fn take_over(&self, requested: &Path) -> anyhow::Result<PostgresHandle> {
        let bin_dir = find_pg_bin_dir().ok_or_else(|| anyhow!(POSTGRES_MISSING))?;
        let as_postgres = is_root().await;
        let data_dir = if as_postgres {
            data_dir_reachable_by_postgres(requested, self.port).await?
        } else {
            requested.to_path_buf()
        };
        let pg_ctl = bin_dir.join("pg_ctl");
        let ours = command(&pg_ctl, ["status", "-D"], as_postgres)
            .arg(&data_dir)
            .output()
            .await
            .is_ok_and(|out| out.status.success());
        if !ours {
            // Something else answers on the port: use it, never stop it.
            return Ok(self.reused());
        }
        tracing::warn!(data_dir = %data_dir.display(), "taking over the Postgres a previous run left behind");
        Ok(PostgresHandle {
            url: self.url(),
            started: Some(StartedPostgres {
                pg_ctl,
                data_dir,
                as_postgres,
                port: self.port,
            }),
            owner: None,
        })
    }
}

impl PostgresHandle {
    /// True if this process started the server (and [`stop`](Self::stop) will stop it).
    pub fn started_here(&self) -> bool {
        self.started.is_some()
    }

    /// The cluster's data directory (holding `postmaster.pid`), if this process started the
    /// server. As root it may differ from the directory asked for (see
    /// [`PrivatePostgres::ensure_running`]).
    pub fn data_dir(&self) -> Option<&Path> {
        self.started.as_ref().map(|s| s.data_dir.as_path())
    }

    /// Stops the server with `pg_ctl stop -m fast` if this process started it;
    /// does nothing for a reused server.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Some(s) = self.started else {
            return Ok(());
        };
        let mut stop = command(
            &s.pg_ctl,
            ["stop", "-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS],
            s.as_postgres,
        );
        stop.arg("-D").arg(&s.data_dir);
        run(stop, "pg_ctl stop").await?;
        let addr = format!("127.0.0.1:{}", s.port);
        if !wait_for_port(&addr, false, Duration::from_secs(10)).await {
            bail!("Postgres was stopped but {addr} still answers");
        }
        if let Some(owner) = self.owner {
            owner.release();
        }
        Ok(())
    }
}

/// The directory holding both `initdb` and `pg_ctl`: from `$PATH` first (following a
/// symlinked `initdb` to its real directory, where `postgres` lives too), then
/// `/usr/lib/postgresql/<version>/bin`, highest version first.
pub(crate) fn find_pg_bin_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for dir in path_dirs() {
        let initdb = dir.join("initdb");
        if is_executable(&initdb) {
            if let Some(real) = std::fs::canonicalize(&initdb)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
            {
                candidates.push(real);
            }
            candidates.push(dir);
        }
    }
    candidates.extend(versioned_bin_dirs(Path::new("/usr/lib/postgresql")));
    pick_pg_bin_dir(&candidates)
}

pub(crate) fn pick_pg_bin_dir(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|d| {
            find_in(&[(*d).clone()], "initdb").is_some()
                && find_in(&[(*d).clone()], "pg_ctl").is_some()
        })
        .cloned()
}

/// `<root>/<version>/bin` directories, highest version first.
pub(crate) fn versioned_bin_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            version.map(|v| (v, e.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, p)| p).collect()
}

async fn check_can_switch_to_postgres() -> anyhow::Result<()> {
    if find_in(&path_dirs(), "runuser").is_none() {
        bail!("running as root, initdb must run as the `{POSTGRES_OS_USER}` user, but `runuser` was not found (install util-linux)");
    }
    postgres_uid().await.map(|_| ())
}

async fn postgres_uid() -> anyhow::Result<u32> {
    let out = tokio::process::Command::new("id")
        .args(["-u", POSTGRES_OS_USER])
        .output()
        .await
        .context("could not run `id`")?;
    if !out.status.success() {
        bail!("running as root, initdb must run as the `{POSTGRES_OS_USER}` OS user, which does not exist: install `postgresql` with apt-get (it creates the user) or run `adduser --system --group {POSTGRES_OS_USER}`");
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("unexpected output from `id -u postgres`")
}

async fn postgres_can_enter(dir: &Path) -> bool {
    let test = Path::new("test");
    command(test, ["-x"], true)
        .arg(dir)
        .output()
        .await
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// As root: `requested` if the postgres user can reach it, else a directory in that
/// user's home.
async fn data_dir_reachable_by_postgres(requested: &Path, port: u16) -> anyhow::Result<PathBuf> {
    let parent = requested.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("could not create {}", parent.display()))?;
    if postgres_can_enter(parent).await {
        return Ok(requested.to_path_buf());
    }
    let home = postgres_home().await?;
    let fallback = home.join(format!("tessera-{port}"));
    if !postgres_can_enter(&home).await {
        bail!(
            "the `{POSTGRES_OS_USER}` user can reach neither {} nor its home {}",
            parent.display(),
            home.display()
        );
    }
    tracing::warn!(
        requested = %requested.display(),
        used = %fallback.display(),
        "the postgres user cannot reach the requested data directory; using its home instead"
    );
    Ok(fallback)
}

async fn postgres_home() -> anyhow::Result<PathBuf> {
    let out = tokio::process::Command::new("getent")
        .args(["passwd", POSTGRES_OS_USER])
        .output()
        .await
        .context("could not run `getent passwd postgres`")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .nth(5)
        .filter(|h| h.starts_with('/'))
        .map(PathBuf::from)
        .ok_or_else(|| {
            anyhow!("could not find the home directory of the `{POSTGRES_OS_USER}` user")
        })
}

/// Creates `dir` (as the current user) and, as root, hands it to the postgres user.
/// Refuses symlinks and directories owned by anyone but us or postgres.
async fn make_dir_for_postgres(dir: &Path, as_postgres: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    if !as_postgres {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(dir)?;
    let pg_uid = postgres_uid().await?;
    if !meta.is_dir() || (meta.uid() != 0 && meta.uid() != pg_uid) {
        bail!(
            "{} is not a directory owned by root or postgres; refusing to use it",
            dir.display()
        );
    }
    let mut chown = tokio::process::Command::new("chown");
    chown.arg(format!("{POSTGRES_OS_USER}:")).arg(dir);
    run(chown, "chown").await?;
    Ok(())
}

/// The locale for new clusters: C.UTF-8 when the system has it (proper Unicode case
/// mapping, byte-order collation), plain C otherwise.
async fn cluster_locale() -> &'static str {
    let out = tokio::process::Command::new("locale")
        .arg("-a")
        .output()
        .await;
    let has_c_utf8 = out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| matches!(l.trim().to_ascii_lowercase().as_str(), "c.utf8" | "c.utf-8"))
    });
    if has_c_utf8.unwrap_or(false) {
        "C.UTF-8"
    } else {
        "C"
    }
}

/// Runs initdb into `<data_dir>.initdb` and renames it into place, so that an
/// interrupted initdb never leaves a half-made `data_dir` behind.
async fn init_cluster(bin_dir: &Path, data_dir: &Path, as_postgres: bool) -> anyhow::Result<()> {
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir)
            .with_context(|| format!("could not read {}", data_dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} is neither empty nor a Postgres data directory (no PG_VERSION); remove it and try again",
                data_dir.display()
            );
        }
        std::fs::remove_dir(data_dir)?;
    }
    let mut name = data_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".initdb");
    let staging = data_dir.with_file_name(name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("could not remove leftover {}", staging.display()))?;
    }
    make_dir_for_postgres(&staging, as_postgres).await?;
    let locale = cluster_locale().await;
    tracing::info!(data_dir = %data_dir.display(), "creating a Postgres cluster (initdb)");
    let mut initdb = command(
        &bin_dir.join("initdb"),
        ["--auth=trust", "--username=postgres", "--encoding=UTF8"],
        as_postgres,
    );
    initdb
        .arg(format!("--locale={locale}"))
        .arg("-D")
        .arg(&staging);
    if let Err(e) = run(initdb, "initdb").await {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::rename(&staging, data_dir).with_context(|| {
        format!(
            "could not move {} to {}",
            staging.display(),
            data_dir.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = crate::workspace_target_dir()
            .join("localinfra-unit")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_exe(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn highest_version_first_and_needs_both_binaries() {
        let root = scratch("pgbins");
        for v in ["9.6", "13", "16", "notaversion"] {
            fake_exe(&root.join(v).join("bin").join("initdb"));
        }
        fake_exe(&root.join("13/bin/pg_ctl"));
        fake_exe(&root.join("9.6/bin/pg_ctl"));
        let dirs = versioned_bin_dirs(&root);
        assert_eq!(
            dirs,
            vec![
                root.join("16/bin"),
                root.join("13/bin"),
                root.join("9.6/bin")
            ]
        );
        // 16 lacks pg_ctl, so 13 wins.
        assert_eq!(pick_pg_bin_dir(&dirs), Some(root.join("13/bin")));
        assert_eq!(pick_pg_bin_dir(&[]), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn url_names_the_postgres_superuser() {
        let pg = PrivatePostgres::new("/tmp/x", 55432);
        assert_eq!(pg.url(), "postgres://postgres@127.0.0.1:55432/postgres");
        assert!(PrivatePostgres::for_tests()
            .data_dir
            .ends_with("target/test-pg"));
    }
}
