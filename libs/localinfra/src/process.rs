//! Small helpers around external commands (no libc: everything goes through commands).

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::Command;

/// The OS user that owns private Postgres clusters when we run as root.
pub(crate) const POSTGRES_OS_USER: &str = "postgres";

/// True when this process runs as root (uid 0). Asks `id -u`, falling back to the owner
/// of `/proc/self`.
pub(crate) async fn is_root() -> bool {
    let id = Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await;
    if let Ok(out) = id {
        if out.status.success() {
            if let Ok(uid) = String::from_utf8_lossy(&out.stdout).trim().parse::<u32>() {
                return uid == 0;
            }
        }
    }
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

pub(crate) fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Directories of `$PATH`, in order.
pub(crate) fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// First executable called `name` in `dirs`.
pub(crate) fn find_in(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p))
}

/// A command for `program args…`, run as the `postgres` OS user through `runuser` when
/// `as_postgres` is set. Runs from `/` so that a user without access to the caller's
/// working directory does not trip over it; stdin is closed.
pub(crate) fn command<I, S>(program: &Path, args: I, as_postgres: bool) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", POSTGRES_OS_USER, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).current_dir("/").stdin(Stdio::null());
    cmd.kill_on_drop(false);
    cmd
}

/// Runs `cmd` to completion, capturing its output; fails with its stderr when it does
/// not exit successfully.
pub(crate) async fn run(mut cmd: Command, what: &str) -> anyhow::Result<Output> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("could not run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            excerpt_stdout(&out.stdout)
        );
    }
    Ok(out)
}

fn excerpt_stdout(stdout: &[u8]) -> String {
    let s = String::from_utf8_lossy(stdout);
    let s = s.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!("\n{}", last_lines(s, 15))
    }
}

pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last lines of a log file, for error messages ("" when unreadable).
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            format!(
                "\n--- last lines of {} ---\n{}",
                path.display(),
                last_lines(&text, 20)
            )
        }
        _ => String::new(),
    }
}

/// Waits until `addr` answers (`want == true`) or stops answering (`want == false`).
pub(crate) async fn wait_for_port(addr: &str, want: bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if crate::answers(addr).await == want {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Quotes `s` for `/bin/sh` (pg_ctl passes its `-o` options through a shell).
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `path`, made absolute against the current directory.
pub(crate) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("no current directory")?
            .join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote("/a b"), "'/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }

    #[test]
    fn finds_sh_in_path() {
        assert!(find_in(&path_dirs(), "sh").is_some());
        assert!(find_in(&path_dirs(), "surely-not-a-command-xyz").is_none());
    }
}
