//! Hostile input: schemathesis, pinned in `scripts/requirements-hostile.txt` and installed by
//! `scripts/test`, generates requests from every service's own OpenAPI document (valid ones and
//! malformed ones) and sends them with a staff, a member and a partner token. Every answer must
//! be something other than a server error, with a status the document lists for the operation,
//! of the media type and body schema it declares.
//!
//! The run is bounded and reproducible: a fixed seed, deterministic generation, at most
//! `MAX_EXAMPLES` cases per operation and phase. Each run's output is kept under the target
//! directory (`tmp/hostile/<service>-<token>/`), with a JUnit report naming every failure.

#[path = "../api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use helpers::TestFleet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAX_EXAMPLES: &str = "15";
const SEED: &str = "20261201";
/// The checks every response passes. `status_code_conformance` fails on any status the
/// operation does not document: undocumented statuses get documented, not ignored.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Limits high enough that fuzzing, a few hundred requests a minute from one caller, is never
/// refused with 429 (the limits themselves have their own tests). The services read these as
/// the fleet runner's environment.
const GENEROUS_LIMITS: &[(&str, &str)] = &[
    ("USER__AUTH_REQUESTS_PER_MINUTE", "1000000"),
    ("USER__LOCKOUT_AFTER_FAILURES", "1000000"),
    ("POINT__RATE_LIMIT__MEMBER_PER_MINUTE", "1000000"),
    ("POINT__RATE_LIMIT__PARTNER_PER_MINUTE", "1000000"),
    ("PAYMENT__RATE_LIMIT__MEMBER_PER_MINUTE", "1000000"),
    ("PAYMENT__RATE_LIMIT__PARTNER_PER_MINUTE", "1000000"),
];

/// The schemathesis executable: `TESSERA_SCHEMATHESIS` (set by `scripts/test`), else
/// `schemathesis` on `PATH`.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("TESSERA_SCHEMATHESIS").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "TESSERA_SCHEMATHESIS is {}, which is not a file: run the tests with scripts/test \
             (e.g. `scripts/test -p fleet --test hostile`), which installs the pinned schemathesis",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("schemathesis"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "schemathesis not found (TESSERA_SCHEMATHESIS is unset and it is not on PATH): \
                 run the tests with scripts/test (e.g. `scripts/test -p fleet --test hostile`), \
                 which installs the version pinned in scripts/requirements-hostile.txt"
            )
        })
}

/// What one schemathesis run reported.
struct Outcome {
    service: &'static str,
    token: &'static str,
    operations: String,
    cases: String,
    failures: usize,
    passed: bool,
    output: PathBuf,
    elapsed: Duration,
}

/// Runs schemathesis against the service at `base` with `token`; output and reports go to `dir`.
async fn run(
    bin: &Path,
    service: &'static str,
    base: &str,
    token_name: &'static str,
    token: &str,
    dir: PathBuf,
) -> Outcome {
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the report directory");
    let output = dir.join("output.txt");
    let log = std::fs::File::create(&output).expect("the output file");
    let started = Instant::now();
    let status = tokio::process::Command::new(bin)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--url", base])
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES])
        // The token endpoint's form body (grant types, scopes) leaves few generated bodies
        // valid; that is a property of the generator, not an answer of ours.
        .args(["--suppress-health-check", "filter_too_much"])
        .args(["--seed", SEED])
        .arg("--generation-deterministic")
        .args(["--workers", "1"])
        .args(["--request-timeout", "15"])
        .arg("--continue-on-failure")
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(&dir)
        .arg("--no-color")
        .args(["--output-truncate", "false"])
        // Its own settings: no config file of the developer's, no telemetry.
        .current_dir(&dir)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().expect("the output file"))
        .stderr(log)
        .kill_on_drop(true)
        .status()
        .await
        .expect("schemathesis starts");
    let elapsed = started.elapsed();
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    let (operations, cases, failures) = summary(&text);
    Outcome {
        service,
        token: token_name,
        operations,
        cases,
        failures,
        passed: status.success(),
        output,
        elapsed,
    }
}

/// Operations, test cases and failures (errors included) from schemathesis' text summary:
/// ```text
/// API Operations:
///   Selected: 14/14
/// Test cases:
///   790 generated, 20 found 20 unique failures
/// ======================= 20 failures, 3 warnings in 5.60s =======================
/// ```
fn summary(text: &str) -> (String, String, usize) {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let line_after = |label: &str| {
        lines
            .iter()
            .position(|l| *l == label)
            .and_then(|i| lines.get(i + 1))
            .map(|l| l.to_string())
            .unwrap_or_else(|| "?".into())
    };
    let operations = line_after("API Operations:")
        .trim_start_matches("Selected: ")
        .to_owned();
    let cases = line_after("Test cases:");
    // The closing line counts failures and errors; a run without any says neither.
    let closing = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("====") && l.ends_with("===="))
        .copied()
        .unwrap_or("");
    let count_of = |word: &str| -> usize {
        let words: Vec<&str> = closing.split([' ', ',']).collect();
        words
            .windows(2)
            .filter(|w| w[1].trim_end_matches('s') == word)
            .filter_map(|w| w[0].parse::<usize>().ok())
            .sum()
    };
    let failures = count_of("failure") + count_of("error");
    (operations, cases, failures)
}

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let bin = schemathesis();
    // Before any thread of the test starts: the fleet reads its settings from the environment.
    for (name, value) in GENEROUS_LIMITS {
        std::env::set_var(name, value);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(hostile(bin));
}

async fn hostile(bin: PathBuf) {
    let started = Instant::now();
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let (_, partner) = app.partner_client(&admin, auth::scopes::ALL).await;
    let urls = app.fleet().urls.clone();
    let services: [(&'static str, &str); 5] = [
        ("user", &urls.user),
        ("point", &urls.point),
        ("rewards", &urls.rewards),
        ("admin", &urls.admin),
        ("payment", &urls.payment),
    ];
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    let mut outcomes = Vec::new();
    for (service, base) in services {
        // A member of their own per service: fuzzing may log the member out.
        let member = app.member().await;
        for (token_name, token) in [
            ("staff", admin.as_str()),
            ("member", member.token.as_str()),
            ("partner", partner.as_str()),
        ] {
            let dir = root.join(format!("{service}-{token_name}"));
            let outcome = run(&bin, service, base, token_name, token, dir).await;
            eprintln!(
                "hostile: {:<8} {:<8} operations {:<10} cases {:<28} failures {:<3} {:>5.1}s  {}",
                outcome.service,
                outcome.token,
                outcome.operations,
                outcome.cases,
                outcome.failures,
                outcome.elapsed.as_secs_f64(),
                outcome.output.display()
            );
            outcomes.push(outcome);
        }
    }
    app.stop().await;
    eprintln!("hostile: {:.0}s in all", started.elapsed().as_secs_f64());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed || o.failures > 0)
        .map(|o| {
            format!(
                "{} with the {} token: see {}",
                o.service,
                o.token,
                o.output.display()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "schemathesis found failures:\n{}",
        failed.join("\n")
    );
}
