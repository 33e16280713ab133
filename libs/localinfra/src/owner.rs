//! Who started a private server for a runner that owns it (the fleet runner): `<dir>.owner`
//! holds that process's pid. When the owner dies without stopping its servers (`kill -9`), the
//! next runner finds the servers still answering and the owner gone: they are orphans, and it
//! takes them over, so its own clean stop stops them instead of leaving them running forever.
//! Servers shared by concurrent test processes never get an owner file.

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, Clone)]
pub(crate) struct OwnerFile {
    path: PathBuf,
}

impl OwnerFile {
    /// `<dir>.owner`, next to `dir`.
    pub(crate) fn next_to(dir: &Path) -> Self {
        let mut name = dir
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "localinfra".into());
        name.push(".owner");
        Self {
            path: dir.with_file_name(name),
        }
    }

    pub(crate) fn claim(&self) -> anyhow::Result<()> {
        std::fs::write(&self.path, format!("{}\n", std::process::id()))
            .with_context(|| format!("could not write {}", self.path.display()))
    }

    /// An owner was recorded and that process no longer exists.
    pub(crate) fn orphaned(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return false;
        };
        match text.trim().parse::<u32>() {
            Ok(pid) => pid != std::process::id() && !process_exists(pid),
            // A torn write: its writer died right there.
            Err(_) => true,
        }
    }

    pub(crate) fn release(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_owner_makes_an_orphan_and_a_live_one_does_not() {
        let dir = std::env::temp_dir().join(format!("owner-test-{}", std::process::id()));
        let owner = OwnerFile::next_to(&dir);
        assert!(!owner.orphaned(), "no owner recorded");
        owner.claim().unwrap();
        assert!(!owner.orphaned(), "we are alive");
        // A child that has exited and been reaped: its pid names no process.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(&owner.path, format!("{dead}\n")).unwrap();
        assert!(owner.orphaned());
        owner.release();
        assert!(!owner.orphaned());
    }
}
