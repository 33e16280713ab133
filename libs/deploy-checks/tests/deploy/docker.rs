//! The container files of `docker/`, which nothing here can build or run: checkov finds nothing
//! in the Dockerfile but the explained skips of `docker/.checkov.yaml`; the Dockerfile's
//! runtime stage runs as a non-root user with a health check, from pinned base images, and
//! builds exactly the service binaries of the workspace; `.dockerignore` keeps what the build
//! reads; and `docker/compose.yaml` passes yamllint and runs the five services, each after its
//! schema's migration, beside Kafka (KRaft), Postgres 16, Redis 7 and Kong with
//! `gateway/kong.yaml`.

use crate::terraform::assert_only_accepted_findings;
use crate::tools;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn docker_dir() -> PathBuf {
    tools::repo_root().join("docker")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The binaries of the workspace's services: the `[[bin]]` names (else the package name) of the
/// crates under services/ whose binary is a `*-service` (the sandboxes and the fleet runner are
/// development tools, not deployed).
fn service_binaries() -> BTreeSet<String> {
    let mut binaries = BTreeSet::new();
    for entry in fs::read_dir(tools::repo_root().join("services")).expect("services/") {
        let manifest = entry.expect("an entry").path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = read(&manifest);
        let mut section = String::new();
        let mut package = None;
        let mut bins = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
            else {
                continue;
            };
            match section.as_str() {
                "[package]" => package = Some(value),
                "[[bin]]" => bins.push(value),
                _ => {}
            }
        }
        if bins.is_empty() {
            bins.extend(package);
        }
        binaries.extend(bins.into_iter().filter(|b| b.ends_with("-service")));
    }
    binaries
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

/// One instruction: keyword (upper case) and its arguments, continuation lines joined.
struct Instruction {
    keyword: String,
    args: String,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut all = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !current.is_empty() && trimmed.starts_with('#') {
            continue; // a comment inside a continued instruction
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        all.push(Instruction {
            keyword: keyword.to_uppercase(),
            args: args.trim().to_string(),
        });
        current.clear();
    }
    all
}

/// The stages: (name or index, base, instructions).
fn stages(text: &str) -> Vec<(String, String, Vec<Instruction>)> {
    let mut stages: Vec<(String, String, Vec<Instruction>)> = Vec::new();
    for instruction in instructions(text) {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let base = words.first().expect("FROM names an image").to_string();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => name.to_string(),
                _ => stages.len().to_string(),
            };
            stages.push((name, base, Vec::new()));
        } else if let Some(stage) = stages.last_mut() {
            stage.2.push(instruction);
        }
    }
    stages
}

fn dockerfile() -> String {
    read(&docker_dir().join("Dockerfile"))
}

#[test]
fn checkov_finds_nothing_new_in_the_dockerfile() {
    let dockerfile = dockerfile();
    assert!(
        !dockerfile.contains("checkov:skip"),
        "docker/Dockerfile: skip checks in docker/.checkov.yaml, not inline"
    );
    assert_only_accepted_findings(
        &docker_dir(),
        "dockerfile",
        &docker_dir().join(".checkov.yaml"),
    );
}

#[test]
fn the_runtime_stage_runs_the_service_as_a_non_root_user_with_a_health_check() {
    let text = dockerfile();
    let stages = stages(&text);
    let (name, base, runtime) = stages.last().expect("a stage");

    // Pinned base images: a tag (not latest) or a digest, for every image pulled.
    let stage_names: BTreeSet<&str> = stages.iter().map(|(n, _, _)| n.as_str()).collect();
    for (_, image, _) in &stages {
        if stage_names.contains(image.as_str()) {
            continue;
        }
        let pinned = image.contains('@')
            || image
                .rsplit_once(':')
                .is_some_and(|(_, tag)| !tag.is_empty() && !tag.contains('/') && tag != "latest");
        assert!(
            pinned,
            "docker/Dockerfile: FROM {image} is not pinned to a tag or digest"
        );
    }
    assert!(
        !stage_names.contains(base.as_str()),
        "the runtime stage {name} starts from the build stage {base}: it would ship the toolchain"
    );

    let last = |keyword: &str| runtime.iter().rev().find(|i| i.keyword == keyword);

    let user = last("USER").unwrap_or_else(|| panic!("the runtime stage {name} sets no USER"));
    let account = user.args.split(':').next().unwrap_or_default().trim();
    assert!(
        !account.is_empty() && account != "root" && account != "0",
        "the runtime stage runs as {}",
        user.args
    );

    let health = last("HEALTHCHECK")
        .unwrap_or_else(|| panic!("the runtime stage {name} has no HEALTHCHECK"));
    assert!(
        health.args.contains("CMD") && !health.args.trim().eq_ignore_ascii_case("NONE"),
        "HEALTHCHECK {}",
        health.args
    );
    assert!(
        health
            .args
            .contains(r#"["/usr/local/bin/service", "healthcheck"]"#),
        "the health check asks the service itself (no curl in the image): HEALTHCHECK {}",
        health.args
    );

    let entrypoint = last("ENTRYPOINT").expect("an ENTRYPOINT");
    assert_eq!(entrypoint.args, r#"["/usr/local/bin/service"]"#);
    let copy = runtime
        .iter()
        .find(|i| i.keyword == "COPY" && i.args.ends_with(" /usr/local/bin/service"))
        .expect("the runtime stage copies the binary to /usr/local/bin/service");
    assert!(
        copy.args.contains("--from="),
        "the binary comes from a build stage: COPY {}",
        copy.args
    );
    assert!(
        last("EXPOSE").is_some(),
        "the runtime stage exposes no port"
    );
}

#[test]
fn the_dockerfile_builds_every_service_binary_of_the_workspace() {
    let binaries = service_binaries();
    assert_eq!(binaries.len(), 5, "the services' binaries: {binaries:?}");
    let text = dockerfile();
    let instructions = instructions(&text);

    // The build compiles every one of them, with the lock file.
    let builds: Vec<&Instruction> = instructions
        .iter()
        .filter(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .collect();
    assert_eq!(builds.len(), 1, "one cargo build of the fleet");
    let build = &builds[0].args;
    assert!(
        build.contains("--release") && build.contains("--locked"),
        "RUN {build}"
    );
    let cook = instructions
        .iter()
        .find(|i| i.keyword == "RUN" && i.args.contains("cargo chef cook"))
        .expect("the dependencies are cooked by cargo-chef");
    assert!(
        text.contains("cargo install cargo-chef --version "),
        "cargo-chef is pinned to a version"
    );
    for binary in &binaries {
        for (what, args) in [("cargo build", build), ("cargo chef cook", &cook.args)] {
            assert!(
                args.split_whitespace().any(|w| w == binary.as_str()),
                "{what} does not build {binary}: {args}"
            );
        }
    }

    // SERVICE accepts exactly these, and the image takes the chosen one.
    let case = instructions
        .iter()
        .find(|i| i.keyword == "RUN" && i.args.contains("case \"$SERVICE\""))
        .expect("the pick stage checks SERVICE");
    let accepted: BTreeSet<String> = case
        .args
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the accepted SERVICE values")
        .split('|')
        .map(|s| s.trim().to_string())
        .collect();
    assert_eq!(
        accepted, binaries,
        "the SERVICE values the Dockerfile accepts"
    );
    assert!(
        case.args.contains("target/release/$SERVICE"),
        "the pick stage takes target/release/$SERVICE"
    );
}

/// `.dockerignore` rules, in order: (negated, pattern).
fn dockerignore() -> Vec<(bool, String)> {
    read(&tools::repo_root().join(".dockerignore"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(p) => (true, p.trim_matches('/').to_string()),
            None => (false, l.trim_matches('/').to_string()),
        })
        .collect()
}

/// Whether a glob of .dockerignore (`*` within a name, `**` across folders) matches `path` or
/// one of its parent folders.
fn matches(pattern: &str, path: &str) -> bool {
    fn glob(pattern: &[&str], path: &[&str]) -> bool {
        match (pattern.first(), path.first()) {
            (None, _) => true, // the pattern named a parent folder of path
            (Some(&"**"), _) => (0..=path.len()).any(|skip| glob(&pattern[1..], &path[skip..])),
            (Some(p), Some(name)) => name_matches(p, name) && glob(&pattern[1..], &path[1..]),
            (Some(_), None) => false,
        }
    }
    fn name_matches(pattern: &str, name: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == name,
            Some((prefix, rest)) => {
                name.starts_with(prefix)
                    && (0..=name.len() - prefix.len())
                        .any(|i| name_matches(rest, &name[prefix.len() + i..]))
            }
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    glob(&pattern, &path)
}

fn ignored(rules: &[(bool, String)], path: &str) -> bool {
    let mut excluded = false;
    for (negated, pattern) in rules {
        if matches(pattern, path) {
            excluded = !negated;
        }
    }
    excluded
}

#[test]
fn dockerignore_keeps_what_the_build_reads() {
    let rules = dockerignore();
    let root = tools::repo_root();
    let mut needed: Vec<String> = vec![
        "Cargo.toml".into(),
        "Cargo.lock".into(),
        ".cargo/config.toml".into(),
        "proto".into(),
    ];
    // Every workspace member's manifest (cargo loads the whole workspace).
    let manifest = read(&root.join("Cargo.toml"));
    let members = &manifest[manifest.find("members = [").expect("workspace members")..];
    let members = &members[..members.find(']').unwrap()];
    for member in members.split('"').skip(1).step_by(2) {
        needed.push(format!("{member}/Cargo.toml"));
    }
    // The SQL macros' offline data, and every file the services and libraries include.
    for entry in fs::read_dir(root.join(".sqlx")).expect(".sqlx") {
        needed.push(format!(
            ".sqlx/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    let mut pending: Vec<PathBuf> = [
        "libs",
        "services/user",
        "services/point",
        "services/rewards",
        "services/admin",
        "services/payment",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("target") && !path.ends_with("tests") {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = read(&path);
            for included in text
                .split("include_str!(\"")
                .skip(1)
                .chain(text.split("include_bytes!(\"").skip(1))
            {
                let file = included.split('"').next().unwrap();
                let full = path.parent().unwrap().join(file);
                if let Ok(full) = full.canonicalize() {
                    needed.push(full.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
    }
    let lost: Vec<&String> = needed.iter().filter(|p| ignored(&rules, p)).collect();
    assert!(
        lost.is_empty(),
        ".dockerignore leaves out what the build reads: {lost:?}"
    );
    // And it keeps the bulky and the irrelevant out.
    for path in [
        "target/release/user-service",
        ".git/HEAD",
        "web/sdk/node_modules/x",
        "terraform/modules",
    ] {
        assert!(
            ignored(&rules, path),
            ".dockerignore sends {path} to the build"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// docker/compose.yaml.

/// The compose file as PyYAML reads it (anchors and merge keys resolved), as JSON.
fn compose() -> Value {
    let path = docker_dir().join("compose.yaml");
    let stdout = tools::run_ok(
        Command::new(tools::python())
            .arg("-c")
            .arg("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
            .arg(&path),
    );
    serde_json::from_str(&stdout).expect("compose.yaml as JSON")
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|v| {
                v.as_str()?
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[test]
fn compose_passes_yamllint() {
    tools::run_ok(
        Command::new(tools::python())
            .args(["-m", "yamllint", "--strict", "-c"])
            .arg(docker_dir().join(".yamllint.yaml"))
            .arg(docker_dir().join("compose.yaml")),
    );
}

#[test]
fn compose_runs_the_fleet_after_its_migrations_behind_kong() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let binaries = service_binaries();

    for name in binaries
        .iter()
        .map(String::as_str)
        .chain(["kafka", "postgres", "redis", "kong"])
    {
        assert!(services.contains_key(name), "compose.yaml has no {name}");
    }
    let image = |name: &str| {
        services[name]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        image("postgres").starts_with("postgres:16"),
        "Postgres 16, not {}",
        image("postgres")
    );
    assert!(
        image("redis").starts_with("redis:7"),
        "Redis 7, not {}",
        image("redis")
    );
    assert!(
        image("kong").starts_with("kong:3.9"),
        "Kong 3.9, not {}",
        image("kong")
    );
    assert!(
        image("kafka").starts_with("apache/kafka:"),
        "the official Kafka image, not {}",
        image("kafka")
    );
    let kafka = environment(&services["kafka"]);
    assert!(
        kafka
            .get("KAFKA_PROCESS_ROLES")
            .is_some_and(|r| r.contains("controller")),
        "Kafka runs in KRaft mode (broker and controller)"
    );
    assert!(
        !services.keys().any(|k| k.contains("zookeeper")),
        "no ZooKeeper in a KRaft setup"
    );

    // Every service: its own image built from docker/Dockerfile, listening beyond the container,
    // started only once its migration completed.
    for binary in &binaries {
        let service = &services[binary.as_str()];
        let build = &service["build"];
        assert_eq!(
            build["dockerfile"], "docker/Dockerfile",
            "{binary} is built from docker/Dockerfile"
        );
        assert_eq!(
            build["args"]["SERVICE"],
            binary.as_str(),
            "{binary} builds SERVICE={binary}"
        );
        let env = environment(service);
        let prefix = binary.trim_end_matches("-service").to_uppercase();
        assert_eq!(
            env.get(&format!("{prefix}__HOST")).map(String::as_str),
            Some("0.0.0.0"),
            "{binary} listens on 0.0.0.0"
        );
        assert_eq!(
            env.get("JWKS_URL").map(String::as_str),
            Some("http://user-service:3001/api/v1/auth/jwks.json"),
            "{binary} reads the user service's keys"
        );
        for variable in ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS"] {
            assert!(env.contains_key(variable), "{binary} has no {variable}");
        }

        let depends_on = service["depends_on"]
            .as_object()
            .unwrap_or_else(|| panic!("{binary} depends on nothing"));
        let migrations: Vec<&String> = depends_on
            .iter()
            .filter(|(_, d)| d["condition"] == "service_completed_successfully")
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            migrations.len(),
            1,
            "{binary} waits for one migration: {depends_on:?}"
        );
        let migration = &services[migrations[0].as_str()];
        assert_eq!(
            migration["command"],
            serde_json::json!(["migrate"]),
            "{} runs `migrate`",
            migrations[0]
        );
        assert_eq!(
            migration["image"], service["image"],
            "{} migrates with {binary}'s image",
            migrations[0]
        );
        assert_eq!(
            environment(migration),
            env,
            "{} runs with {binary}'s settings",
            migrations[0]
        );
        assert!(
            migration["depends_on"]["postgres"]["condition"] == "service_healthy",
            "{} waits for Postgres to be healthy",
            migrations[0]
        );
    }

    // The user service's development PII key is 32 bytes of base64.
    let pii = environment(&services["user-service"])
        .get("USER__PII_KEY")
        .cloned()
        .expect("USER__PII_KEY");
    let key = pii
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .and_then(|v| v.split_once(":-"))
        .map(|(_, default)| default.to_string())
        .unwrap_or(pii);
    let base64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    assert!(
        key.len() == 44
            && key.ends_with('=')
            && !key.ends_with("==")
            && key[..43].chars().all(base64),
        "USER__PII_KEY's development value is not 32 bytes of base64: {key}"
    );

    // Kong: DB-less, reading the repository's gateway/kong.yaml.
    let kong = &services["kong"];
    let env = environment(kong);
    assert_eq!(
        env.get("KONG_DATABASE").map(String::as_str),
        Some("off"),
        "Kong runs DB-less"
    );
    let config = env
        .get("KONG_DECLARATIVE_CONFIG")
        .expect("KONG_DECLARATIVE_CONFIG");
    let mounted = kong["volumes"]
        .as_array()
        .expect("Kong's volumes")
        .iter()
        .filter_map(Value::as_str)
        .find_map(|volume| {
            let mut parts = volume.split(':');
            let (source, target) = (parts.next()?, parts.next()?);
            (target == config).then(|| source.to_string())
        })
        .unwrap_or_else(|| panic!("nothing is mounted at KONG_DECLARATIVE_CONFIG ({config})"));
    let source = docker_dir()
        .join(&mounted)
        .canonicalize()
        .unwrap_or_else(|e| panic!("Kong mounts {mounted}, which does not exist: {e}"));
    assert_eq!(
        source,
        tools::repo_root().join("gateway/kong.yaml"),
        "Kong reads gateway/kong.yaml"
    );
}
