//! A cross-process lock made of a directory: `mkdir` is atomic, works on every file
//! system, and is easy to share with shell scripts (`scripts/lib.sh` uses the same
//! protocol: `mkdir <lock>` then write the owner's pid to `<lock>/pid`).
//!
//! A lock is stale when its owner process no longer exists, when it has no pid file
//! long after it was created (owner died between `mkdir` and writing the pid), or when it
//! is older than [`MAX_AGE`]. A stale lock is renamed away (only one waiter can win the
//! rename) and removed.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};

/// No start-up legitimately holds the lock this long.
const MAX_AGE: Duration = Duration::from_secs(600);
/// Grace period for the owner to write its pid after creating the directory.
const PID_GRACE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
}

/// `<dir>.lock`, next to `dir`.
pub(crate) fn lock_path_for(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "localinfra".into());
    name.push(".lock");
    dir.with_file_name(name)
}

impl DirLock {
    /// Takes the lock at `path`, waiting up to `timeout` for another holder to release it.
    pub(crate) async fn acquire(path: PathBuf, timeout: Duration) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        let started = Instant::now();
        let mut told = false;
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let pid_file = path.join("pid");
                    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
                        let _ = std::fs::remove_dir_all(&path);
                        return Err(e)
                            .with_context(|| format!("could not write {}", pid_file.display()));
                    }
                    return Ok(DirLock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if is_stale(&path) {
                        tracing::warn!(lock = %path.display(), "removing stale lock");
                        steal(&path);
                        continue;
                    }
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("could not create lock {}", path.display()))
                }
            }
            if started.elapsed() >= timeout {
                bail!(
                    "timed out after {:?} waiting for lock {} (held by pid {}); remove it if no other process is starting servers",
                    timeout,
                    path.display(),
                    owner(&path).map_or_else(|| "?".to_string(), |p| p.to_string())
                );
            }
            if !told && started.elapsed() > Duration::from_secs(2) {
                tracing::info!(lock = %path.display(), "waiting for another process to finish starting the server");
                told = true;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Only remove the lock if it is still ours (it may have been judged stale).
        if owner(&self.path) == Some(std::process::id()) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn owner(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn age(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

fn is_stale(path: &Path) -> bool {
    let age = age(path);
    if age > MAX_AGE {
        return true;
    }
    match owner(path) {
        Some(pid) => {
            // Without /proc we cannot tell whether the owner lives; rely on the age.
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        None => age > PID_GRACE,
    }
}

fn steal(path: &Path) {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".stale.{}.{nanos}", std::process::id()));
    let aside = path.with_file_name(name);
    // Only one of several waiters wins the rename; the others just retry mkdir.
    if std::fs::rename(path, &aside).is_ok() {
        let _ = std::fs::remove_dir_all(&aside);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = crate::workspace_target_dir()
            .join("localinfra-unit")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn lock_path_is_a_sibling() {
        assert_eq!(
            lock_path_for(Path::new("/x/target/test-pg")),
            PathBuf::from("/x/target/test-pg.lock")
        );
    }

    #[tokio::test]
    async fn second_acquire_waits_for_release() {
        let dir = scratch("wait");
        let path = dir.join("a.lock");
        let first = DirLock::acquire(path.clone(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(owner(&path), Some(std::process::id()));
        let err = DirLock::acquire(path.clone(), Duration::from_millis(300)).await;
        assert!(err.is_err(), "lock must be exclusive");
        let waiter = tokio::spawn({
            let path = path.clone();
            async move { DirLock::acquire(path, Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        let second = waiter.await.unwrap().unwrap();
        drop(second);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn lock_of_dead_process_is_stolen() {
        let dir = scratch("stale");
        let path = dir.join("b.lock");
        std::fs::create_dir(&path).unwrap();
        // Pids are bounded by pid_max (at most 2^22), so this one cannot exist.
        std::fs::write(path.join("pid"), "999999999\n").unwrap();
        let lock = DirLock::acquire(path.clone(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(owner(&path), Some(std::process::id()));
        drop(lock);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
