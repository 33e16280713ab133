//! Private Postgres and Redis servers for the fleet runner and the tests.
//!
//! A newcomer's machine may have the PostgreSQL and Redis *binaries* installed without
//! any server running. [`PrivatePostgres::ensure_running`] and
//! [`PrivateRedis::ensure_running`] reuse whatever already answers on the requested
//! port, and otherwise start a private server whose data lives in a directory the
//! caller picks (normally under the repository's `target/`, see [`workspace_target_dir`]).
//!
//! Many processes (for example parallel test binaries) may call `ensure_running` for the
//! same directory at once: a lock directory (`<dir>.lock`, holding the owner's pid) makes
//! the first one start the server while the others wait and then reuse it. The shell
//! helpers in `scripts/lib.sh` follow the same layout and lock protocol.

mod broker;
mod lock;
mod owner;
mod postgres;
mod process;
mod redis;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use broker::{find_tansu, BrokerHandle, PrivateBroker, BROKER_MISSING};
pub use postgres::{PostgresHandle, PrivatePostgres};
pub use redis::{PrivateRedis, RedisHandle};

/// Port of the private Postgres cluster that `scripts/test` and the tests share.
pub const TEST_POSTGRES_PORT: u16 = 55432;
/// Port of the private Redis server that `scripts/test` and the tests share.
pub const TEST_REDIS_PORT: u16 = 56379;

/// Message when the PostgreSQL server binaries cannot be found.
pub const POSTGRES_MISSING: &str = "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql`";
/// Message when `redis-server` cannot be found.
pub const REDIS_MISSING: &str =
    "redis-server not found: install it with `apt-get install redis-server`";

/// Returns true if a TCP connect to `addr` (e.g. `127.0.0.1:5432`) succeeds within 500ms.
pub async fn answers(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// A port nothing listens on at this moment (the OS's pick), for a server started next.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("the OS hands out a free port")
}

/// The repository's `target/` folder: the directory holding `Cargo.lock`, found by walking
/// up from the current directory, joined with `target`. Falls back to `./target` of the
/// current directory. Deliberately ignores `CARGO_TARGET_DIR`: server data belongs to the
/// checkout, not to a build cache that may be shared between clones.
pub fn workspace_target_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    workspace_root_from(&cwd).unwrap_or(cwd).join("target")
}

fn workspace_root_from(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_is_the_directory_with_cargo_lock() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = workspace_root_from(here).expect("workspace root");
        assert!(root.join("Cargo.lock").is_file());
        assert!(here.starts_with(&root));
        assert_ne!(root, here, "the crate itself has no Cargo.lock");
    }

    #[test]
    fn no_cargo_lock_means_no_root() {
        assert_eq!(workspace_root_from(Path::new("/")), None);
    }

    #[test]
    fn workspace_target_dir_ends_in_target() {
        assert!(workspace_target_dir().ends_with("target"));
    }

    #[tokio::test]
    async fn closed_port_does_not_answer() {
        // Bind then drop to get a port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(!answers(&format!("127.0.0.1:{port}")).await);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        assert!(answers(&addr).await);
    }
}
