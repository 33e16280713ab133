//! Where the deploy tools are. `scripts/test` installs each of them (see `tessera_deploy_prereqs`
//! in `scripts/lib.sh`) and exports its path; run alone, a test falls back to `PATH` and
//! otherwise fails saying how to get the tool.

#![allow(dead_code)] // each test module uses some of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A tool named by `variable`, else `name` on `PATH`.
fn locate(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable} is {}, which is not a file: run the tests with scripts/test \
             (e.g. `scripts/test -p deploy-checks`), which installs it",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} not found ({variable} is unset and it is not on PATH): run the tests \
                 with scripts/test (e.g. `scripts/test -p deploy-checks`), which installs it"
            )
        })
}

pub fn helm() -> PathBuf {
    locate("TESSERA_HELM", "helm")
}

pub fn kubectl() -> PathBuf {
    locate("TESSERA_KUBECTL", "kubectl")
}

pub fn checkov() -> PathBuf {
    locate("TESSERA_CHECKOV", "checkov")
}

pub fn promtool() -> PathBuf {
    locate("TESSERA_PROMTOOL", "promtool")
}

/// A Python with python-hcl2 and yamllint installed.
pub fn python() -> PathBuf {
    locate("TESSERA_DEPLOY_PYTHON", "python3")
}

/// Runs a command to its end and returns what it printed; fails the test, with its output,
/// when it cannot start.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"))
}

/// Runs a command that must succeed and returns its standard output.
pub fn run_ok(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
