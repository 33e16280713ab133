//! A private Redis server started from the installed `redis-server`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::lock::{lock_path_for, DirLock};
use crate::owner::OwnerFile;
use crate::process::{absolute, command, find_in, log_tail, path_dirs, run, wait_for_port};
use crate::{answers, REDIS_MISSING};

const LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// A private Redis server: pid file, log and working directory in `dir`, listening on
/// `127.0.0.1:port`, without persistence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateRedis {
    pub dir: PathBuf,
    pub port: u16,
}

/// A Redis the caller can use.
///
/// Dropping the handle leaves the server running (other processes may be using it);
/// call [`RedisHandle::stop`] to stop a server this process started.
#[derive(Debug)]
pub struct RedisHandle {
    /// e.g. `redis://127.0.0.1:56379`
    pub url: String,
    started: Option<StartedRedis>,
    owner: Option<OwnerFile>,
}

#[derive(Debug)]
struct StartedRedis {
    port: u16,
    pidfile: PathBuf,
}

impl PrivateRedis {
    pub fn new(dir: impl Into<PathBuf>, port: u16) -> Self {
        Self {
            dir: dir.into(),
            port,
        }
    }

    /// The server `scripts/test` starts: `target/test-redis` on port 56379.
    pub fn for_tests() -> Self {
        Self::new(
            crate::workspace_target_dir().join("test-redis"),
            crate::TEST_REDIS_PORT,
        )
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn reused(&self) -> RedisHandle {
        RedisHandle {
            url: self.url(),
            started: None,
            owner: None,
        }
    }

    /// Returns immediately if something already accepts TCP connections on
    /// `127.0.0.1:port` (reuse). Otherwise runs `redis-server --port N --bind 127.0.0.1
    /// --save "" --appendonly no --daemonize yes --pidfile dir/redis.pid --logfile
    /// dir/redis.log --dir dir` and waits until the port answers. A lock directory
    /// (`<dir>.lock`) makes concurrent callers wait for the first one and then reuse it.
    pub async fn ensure_running(&self) -> anyhow::Result<RedisHandle> {
        let addr = format!("127.0.0.1:{}", self.port);
        if answers(&addr).await {
            tracing::debug!(%addr, "reusing the Redis that answers");
            return Ok(self.reused());
        }
        let server = find_redis_binary("redis-server").ok_or_else(|| anyhow!(REDIS_MISSING))?;
        let dir = absolute(&self.dir)?;
        let _lock = DirLock::acquire(lock_path_for(&dir), LOCK_TIMEOUT).await?;
        if answers(&addr).await {
            return Ok(self.reused());
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        let pidfile = dir.join("redis.pid");
        let log = dir.join("redis.log");
        tracing::info!(dir = %dir.display(), port = self.port, "starting a private Redis");
        let mut cmd = command(&server, ["--port"], false);
        cmd.arg(self.port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ])
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--logfile")
            .arg(&log)
            .arg("--dir")
            .arg(&dir);
        if let Err(e) = run(cmd, "redis-server").await {
            bail!("{e:#}{}", log_tail(&log));
        }
        if !wait_for_port(&addr, true, Duration::from_secs(15)).await {
            bail!(
                "redis-server started but {addr} does not answer{}",
                log_tail(&log)
            );
        }
        Ok(RedisHandle {
            url: self.url(),
            started: Some(StartedRedis {
                port: self.port,
                pidfile,
            }),
            owner: None,
        })
    }

    /// Like [`Self::ensure_running`], for a runner that owns the server (the fleet runner): the
    /// server it starts is recorded as its own, and a server left running by an owner that
    /// died (`kill -9`) is taken over. Either way [`RedisHandle::stop`] stops it.
    pub async fn ensure_running_as_owner(&self) -> anyhow::Result<RedisHandle> {
        let dir = absolute(&self.dir)?;
        let owner = OwnerFile::next_to(&dir);
        let pidfile = dir.join("redis.pid");
        let addr = format!("127.0.0.1:{}", self.port);
        let mut handle = if answers(&addr).await && owner.orphaned() && pidfile.is_file() {
            tracing::warn!(dir = %dir.display(), "taking over the Redis a previous run left behind");
            RedisHandle {
                url: self.url(),
                started: Some(StartedRedis {
                    port: self.port,
                    pidfile,
                }),
                owner: None,
            }
        } else {
            self.ensure_running().await?
        };
        if handle.started.is_some() {
            owner.claim()?;
            handle.owner = Some(owner);
        }
        Ok(handle)
    }
}

impl RedisHandle {
    /// True if this process started the server (and [`stop`](Self::stop) will stop it).
    pub fn started_here(&self) -> bool {
        self.started.is_some()
    }

    /// Stops the server if this process started it (`redis-cli shutdown nosave`, or
    /// `kill` of the pid in its pid file); does nothing for a reused server.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Some(s) = self.started else {
            return Ok(());
        };
        let addr = format!("127.0.0.1:{}", s.port);
        // A server that died (killed, out of memory) is stopped already; its pidfile may name a
        // process that is gone, or another one by now, so nothing is killed.
        if !crate::answers(&addr).await {
            if let Some(owner) = self.owner {
                owner.release();
            }
            return Ok(());
        }
        let mut asked = false;
        if let Some(cli) = find_redis_binary("redis-cli") {
            let mut cmd = command(&cli, ["-h", "127.0.0.1", "-p"], false);
            cmd.arg(s.port.to_string()).args(["shutdown", "nosave"]);
            asked = cmd.output().await.is_ok_and(|o| o.status.success());
        }
        if !asked || !wait_for_port(&addr, false, Duration::from_secs(5)).await {
            let pid = std::fs::read_to_string(&s.pidfile)
                .with_context(|| format!("could not read {}", s.pidfile.display()))?;
            let pid = pid.trim();
            if pid.parse::<u32>().is_err() {
                bail!("unexpected pid {pid:?} in {}", s.pidfile.display());
            }
            let mut kill = command(Path::new("kill"), [pid], false);
            kill.current_dir("/");
            run(kill, "kill redis-server").await?;
        }
        if !wait_for_port(&addr, false, Duration::from_secs(10)).await {
            bail!("Redis was stopped but {addr} still answers");
        }
        if let Some(owner) = self.owner {
            owner.release();
        }
        Ok(())
    }
}

fn find_redis_binary(name: &str) -> Option<PathBuf> {
    let mut dirs = path_dirs();
    dirs.extend(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from));
    find_in(&dirs, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_test_defaults() {
        assert_eq!(
            PrivateRedis::new("/x", 6380).url(),
            "redis://127.0.0.1:6380"
        );
        let r = PrivateRedis::for_tests();
        assert_eq!(r.port, 56379);
        assert!(r.dir.ends_with("target/test-redis"));
    }

    /// The fleet runner stops its private servers in turn when it ends; a Redis that died
    /// under it must not make that fail (and leave the private Postgres after it running).
    #[tokio::test]
    async fn a_private_redis_that_died_stops_without_error() {
        if find_redis_binary("redis-server").is_none() {
            panic!("{REDIS_MISSING}");
        }
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("redis-died-{}-{port}", std::process::id()));
        let handle = PrivateRedis::new(&dir, port)
            .ensure_running()
            .await
            .unwrap();
        let pid = std::fs::read_to_string(dir.join("redis.pid")).unwrap();
        let killed = std::process::Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(wait_for_port(&format!("127.0.0.1:{port}"), false, Duration::from_secs(5)).await);
        handle.stop().await.expect("stopping a dead Redis succeeds");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
