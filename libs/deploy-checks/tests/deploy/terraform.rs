//! The Terraform of `terraform/` (AWS, ECS Fargate), which nothing here can plan: every file
//! parses (python-hcl2); every module call, in the environments and in the modules, names a
//! module that exists, passes only variables it declares and every variable it requires, and
//! every module is used by both environments; each environment is its providers and one call of
//! the platform module, and they pin their providers and keep their state in S3 with a DynamoDB
//! lock; the platform runs the five services, at the ports Kong calls, each started after the
//! services it calls; the Kafka topics and dead-letter topics created on MSK are exactly those
//! of `libs/events` and the services' consumers; and checkov finds nothing but the accepted,
//! explained skips of `terraform/.checkov.yaml`.

use crate::tools;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The services, as named in the platform module (ECS service, Service Connect name, binary).
const SERVICES: [&str; 5] = [
    "user-service",
    "point-service",
    "rewards-service",
    "admin-service",
    "payment-service",
];

const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

/// Arguments of a module call that are Terraform's, not the module's variables.
const META_ARGUMENTS: [&str; 6] = [
    "source",
    "version",
    "providers",
    "depends_on",
    "count",
    "for_each",
];

fn terraform_dir() -> PathBuf {
    tools::repo_root().join("terraform")
}

// ---------------------------------------------------------------------------------------------
// Parsing with python-hcl2.

/// Every HCL file under `dir` (.tf, .tfvars, .hcl), skipping `.terraform` folders.
fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != ".terraform" {
                    pending.push(path);
                }
            } else if name.ends_with(".tf") || name.ends_with(".tfvars") || name.ends_with(".hcl") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Loads each file with python-hcl2 and prints one JSON object: path -> parsed file (or
/// `{"__error__": ...}`), plus `__probe__`, a known snippet, to tell the output's shape.
const PARSE_SCRIPT: &str = r#"
import hcl2, json, sys
out = {"__probe__": hcl2.loads('a = "x"\nb = ["y"]\n')}
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            out[path] = hcl2.load(f)
    except Exception as e:
        out[path] = {"__error__": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out, default=str))
"#;

/// How this python-hcl2 writes values. Older releases (and the fork checkov installs) wrap every
/// attribute's value in a one-element list; newer ones do not, and keep the quotes of strings and
/// block labels (`module "x"` is `"\"x\""`), which [`unquote`] takes off.
#[derive(Clone, Copy)]
struct Shape {
    wrapped: bool,
    quoted: bool,
}

struct Parsed {
    shape: Shape,
    files: BTreeMap<PathBuf, Value>,
}

/// Every HCL file of `terraform/`, parsed once per test run.
fn parsed() -> &'static Parsed {
    static PARSED: OnceLock<Parsed> = OnceLock::new();
    PARSED.get_or_init(|| {
        let files = hcl_files(&terraform_dir());
        assert!(!files.is_empty(), "no Terraform files under terraform/");
        let stdout = tools::run_ok(
            Command::new(tools::python())
                .arg("-c")
                .arg(PARSE_SCRIPT)
                .args(&files),
        );
        let mut all: BTreeMap<String, Value> =
            serde_json::from_str(&stdout).expect("python-hcl2's JSON");
        let probe = all.remove("__probe__").expect("the probe");
        let a = &probe["a"];
        let wrapped = a.is_array();
        let a = if wrapped { &a[0] } else { a };
        let shape = Shape {
            wrapped,
            quoted: a.as_str() == Some("\"x\""),
        };
        Parsed {
            shape,
            files: all
                .into_iter()
                .map(|(k, v)| (PathBuf::from(k), v))
                .collect(),
        }
    })
}

/// `s` without the double quotes python-hcl2 8 keeps around strings and block labels.
fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

impl Parsed {
    fn file(&self, path: &Path) -> &Value {
        self.files
            .get(path)
            .unwrap_or_else(|| panic!("{} was not parsed", path.display()))
    }

    /// The files of one folder (not its subfolders).
    fn dir(&self, dir: &Path) -> Vec<(&PathBuf, &Value)> {
        self.files
            .iter()
            .filter(|(path, _)| path.parent() == Some(dir))
            .collect()
    }

    /// An attribute's value, unwrapped.
    fn attr<'a>(&self, body: &'a Value, name: &str) -> Option<&'a Value> {
        let value = body.get(name)?;
        Some(if self.shape.wrapped {
            value.get(0).unwrap_or(value)
        } else {
            value
        })
    }

    /// A string value without the quotes some python-hcl2 releases keep.
    fn string(&self, value: &Value) -> Option<String> {
        let s = value.as_str()?;
        Some(if self.shape.quoted {
            unquote(s)
        } else {
            s.to_string()
        })
    }

    fn strings(&self, value: &Value) -> Vec<String> {
        value
            .as_array()
            .unwrap_or_else(|| panic!("a list of strings, not {value}"))
            .iter()
            .map(|v| {
                self.string(v)
                    .unwrap_or_else(|| panic!("a string, not {v}"))
            })
            .collect()
    }

    /// The named blocks of a kind in a folder's files (`module`, `variable`, `output`):
    /// (file, name, body).
    fn blocks<'a>(&'a self, dir: &Path, kind: &str) -> Vec<(&'a PathBuf, String, &'a Value)> {
        let mut found = Vec::new();
        for (path, file) in self.dir(dir) {
            for block in file
                .get(kind)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (name, body) in block.as_object().expect("a block") {
                    if !name.starts_with("__") {
                        found.push((path, unquote(name), body));
                    }
                }
            }
        }
        found
    }

    /// A folder's `locals`, merged.
    fn locals(&self, dir: &Path) -> BTreeMap<String, Value> {
        let mut locals = BTreeMap::new();
        for (_, file) in self.dir(dir) {
            for block in file
                .get("locals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (name, value) in block.as_object().expect("a locals block") {
                    if !name.starts_with("__") {
                        let name = unquote(name);
                        let value = if self.shape.wrapped {
                            value.get(0).unwrap_or(value)
                        } else {
                            value
                        };
                        locals.insert(name, value.clone());
                    }
                }
            }
        }
        locals
    }

    /// A module's variables: name -> whether it has a default.
    fn variables(&self, dir: &Path) -> BTreeMap<String, bool> {
        self.blocks(dir, "variable")
            .into_iter()
            .map(|(_, name, body)| (name, body.get("default").is_some()))
            .collect()
    }
}

/// The folders that are Terraform roots: the environments and the bootstrap.
fn roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ENVIRONMENTS
        .iter()
        .map(|env| terraform_dir().join("environments").join(env))
        .collect();
    roots.push(terraform_dir().join("bootstrap"));
    roots
}

fn modules_dir() -> PathBuf {
    terraform_dir().join("modules")
}

/// Every module folder under terraform/modules.
fn module_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(modules_dir())
        .expect("terraform/modules")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn environment_dir(env: &str) -> PathBuf {
    terraform_dir().join("environments").join(env)
}

fn platform_dir() -> PathBuf {
    modules_dir().join("platform")
}

/// A module call's source, and the folder it names relative to the calling folder, if that is
/// a module of this repository that exists.
fn call_target(parsed: &Parsed, caller: &Path, body: &Value) -> Result<(String, PathBuf), String> {
    let source = parsed
        .attr(body, "source")
        .and_then(|s| parsed.string(s))
        .ok_or_else(|| "no source".to_string())?;
    if !source.starts_with("./") && !source.starts_with("../") {
        return Err(format!(
            "source {source} is not a module of this repository"
        ));
    }
    let dir = caller
        .join(&source)
        .canonicalize()
        .map_err(|_| format!("source {source} does not exist"))?;
    if parsed.dir(&dir).is_empty() {
        return Err(format!("{source} has no Terraform files"));
    }
    Ok((source, dir))
}

/// A value inside a parsed attribute (a local's map), without the one-element list older
/// python-hcl2 releases wrap some values in.
fn unwrapped(value: &Value) -> &Value {
    match value.as_array() {
        Some(items) if items.len() == 1 && (items[0].is_array() || items[0].is_object()) => {
            &items[0]
        }
        _ => value,
    }
}

/// The names of a parsed file or block (its blocks, attributes or arguments), without the
/// `__...__` markers python-hcl2 adds.
fn names(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("a file or block, not {value}"))
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("__"))
        .collect()
}

fn number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_array()?.first()?.as_u64())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(tools::repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The files parse.

#[test]
fn every_terraform_file_parses() {
    let parsed = parsed();
    let errors: Vec<String> = parsed
        .files
        .iter()
        .filter_map(|(path, value)| {
            value
                .get("__error__")
                .map(|e| format!("{}: {}", relative(path), e.as_str().unwrap_or_default()))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "python-hcl2 cannot parse:\n{}",
        errors.join("\n")
    );

    // Every root and every module is there, with its variables and outputs in the usual files.
    for dir in roots().iter().chain(module_dirs().iter()) {
        assert!(
            !parsed.dir(dir).is_empty(),
            "{} has no Terraform files",
            relative(dir)
        );
    }
    for dir in module_dirs() {
        for file in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
            assert!(dir.join(file).is_file(), "{} has no {file}", relative(&dir));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Module calls.

#[test]
fn every_module_call_matches_the_modules_variables() {
    let parsed = parsed();
    let mut problems = Vec::new();
    // The modules each folder calls, to follow from the environments.
    let mut calls: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();

    for caller in roots().into_iter().chain(module_dirs()) {
        let caller = caller
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", relative(&caller)));
        for (file, name, body) in parsed.blocks(&caller, "module") {
            let at = format!("{} module \"{name}\"", relative(file));
            let (source, dir) = match call_target(parsed, &caller, body) {
                Ok(target) => target,
                Err(problem) => {
                    problems.push(format!("{at}: {problem}"));
                    continue;
                }
            };
            calls.entry(caller.clone()).or_default().insert(dir.clone());

            let variables = parsed.variables(&dir);
            let passed: BTreeSet<&str> = names(body)
                .into_iter()
                .filter(|k| !META_ARGUMENTS.contains(k))
                .collect();
            for argument in &passed {
                if !variables.contains_key(*argument) {
                    problems.push(format!(
                        "{at}: passes {argument}, which {source} does not declare"
                    ));
                }
            }
            for (variable, has_default) in &variables {
                if !has_default && !passed.contains(variable.as_str()) {
                    problems.push(format!(
                        "{at}: does not pass {variable}, which {source} requires"
                    ));
                }
            }
        }
    }

    // Every module is used by both environments, directly or through the modules they call.
    for env in ENVIRONMENTS {
        let root = environment_dir(env)
            .canonicalize()
            .expect("the environment");
        let mut reached = BTreeSet::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for callee in calls.get(&dir).into_iter().flatten() {
                if reached.insert(callee.clone()) {
                    pending.push(callee.clone());
                }
            }
        }
        for dir in module_dirs() {
            if !reached.contains(&dir.canonicalize().unwrap()) {
                problems.push(format!(
                    "{} is not used by {}",
                    relative(&dir),
                    relative(&root)
                ));
            }
        }
    }

    assert!(
        problems.is_empty(),
        "module calls:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_required_root_variable_is_set_in_terraform_tfvars() {
    let parsed = parsed();
    let mut problems = Vec::new();
    for root in roots() {
        let tfvars = root.join("terraform.tfvars");
        if !tfvars.is_file() {
            problems.push(format!("{} has no terraform.tfvars", relative(&root)));
            continue;
        }
        let set = names(parsed.file(&tfvars));
        let variables = parsed.variables(&root);
        for (variable, has_default) in &variables {
            if !has_default && !set.contains(variable.as_str()) {
                problems.push(format!(
                    "{}: {variable} is required but not set",
                    relative(&tfvars)
                ));
            }
        }
        for name in &set {
            if !variables.contains_key(*name) {
                problems.push(format!(
                    "{}: sets {name}, which is not a variable",
                    relative(&tfvars)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The environments.

#[test]
fn each_environment_main_tf_is_one_platform_module_call_plus_providers() {
    let parsed = parsed();
    let platform = platform_dir()
        .canonicalize()
        .expect("terraform/modules/platform");
    let required: BTreeSet<String> = parsed
        .variables(&platform)
        .into_iter()
        .filter(|(_, has_default)| !has_default)
        .map(|(name, _)| name)
        .collect();
    assert!(
        !required.is_empty(),
        "terraform/modules/platform requires no variable"
    );

    for env in ENVIRONMENTS {
        let root = environment_dir(env);
        let main = root.join("main.tf");
        let kinds = names(parsed.file(&main));
        let extra: Vec<&&str> = kinds
            .iter()
            .filter(|k| !["provider", "module"].contains(*k))
            .collect();
        assert!(
            extra.is_empty(),
            "{}: only the providers and the platform module belong here, not {extra:?}",
            relative(&main)
        );
        let providers: Vec<String> = parsed
            .blocks(&root, "provider")
            .into_iter()
            .map(|(_, name, _)| name)
            .collect();
        assert!(
            providers.iter().any(|p| p == "aws"),
            "{}: no aws provider",
            relative(&main)
        );

        // The one module call of the environment: the platform, from main.tf.
        let calls = parsed.blocks(&root, "module");
        assert_eq!(
            calls.len(),
            1,
            "{}: one module call expected (the platform), found {:?}",
            relative(&root),
            calls.iter().map(|(_, name, _)| name).collect::<Vec<_>>()
        );
        let (file, name, body) = &calls[0];
        assert!(
            *file == &main && name == "platform",
            "{}: the module call is {} in {}, not platform in main.tf",
            relative(&root),
            name,
            relative(file)
        );
        let (source, dir) = call_target(parsed, &root, body)
            .unwrap_or_else(|problem| panic!("{}: {problem}", relative(&main)));
        assert_eq!(
            dir,
            platform,
            "{}: the platform's source is {source}",
            relative(&main)
        );
        let passed: BTreeSet<String> = names(body).into_iter().map(String::from).collect();
        let missing: Vec<&String> = required.difference(&passed).collect();
        assert!(
            missing.is_empty(),
            "{}: the platform requires {missing:?}",
            relative(&main)
        );

        // Nothing else in the folder builds anything: the composition is the platform's.
        for (path, file) in parsed.dir(&root) {
            for kind in ["resource", "data", "locals"] {
                assert!(
                    file.get(kind).is_none(),
                    "{}: a {kind} block; the environment's resources belong in \
                     terraform/modules/platform",
                    relative(path)
                );
            }
        }
    }
}

#[test]
fn the_platform_runs_the_five_services_each_after_those_it_calls() {
    let parsed = parsed();
    let platform = platform_dir();
    let locals = parsed.locals(&platform);
    let services = unwrapped(
        locals
            .get("services")
            .expect("local.services in terraform/modules/platform"),
    )
    .as_object()
    .expect("local.services is a map");
    let services: BTreeMap<String, &Value> = services
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(name, service)| (unquote(name), unwrapped(service)))
        .collect();
    let declared: BTreeSet<String> = services.keys().cloned().collect();
    let expected: BTreeSet<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        declared, expected,
        "the services of terraform/modules/platform"
    );

    // Each at its own port, where Kong calls it.
    let kong = fs::read_to_string(tools::repo_root().join("gateway/kong.yaml"))
        .expect("gateway/kong.yaml");
    let mut ports = BTreeMap::new();
    for (name, service) in &services {
        let port = service
            .get("port")
            .and_then(number)
            .unwrap_or_else(|| panic!("{name} has no literal port"));
        if let Some(other) = ports.insert(port, name) {
            panic!("{name} and {other} both listen on {port}");
        }
        assert!(
            kong.contains(&format!("url: http://{name}:{port}")),
            "gateway/kong.yaml does not call {name} at port {port}"
        );
        for key in ["env_prefix", "consumer"] {
            assert!(
                service
                    .get(key)
                    .and_then(|v| parsed.string(unwrapped(v)))
                    .is_some(),
                "{name} has no {key}"
            );
        }
    }

    // Each starts in a later wave than the services it calls (Service Connect resolves only the
    // names registered before a task starts).
    let start = |name: &str| -> u64 {
        services[name]
            .get("start")
            .and_then(number)
            .unwrap_or_else(|| panic!("{name} has no literal start wave"))
    };
    let mut waves = BTreeSet::new();
    for (name, service) in &services {
        waves.insert(start(name));
        let calls = parsed.strings(unwrapped(
            service
                .get("calls")
                .unwrap_or_else(|| panic!("{name} has no calls")),
        ));
        for callee in &calls {
            assert!(
                declared.contains(callee) && callee != name,
                "{name} calls {callee}, which is not another service"
            );
            assert!(
                start(callee) < start(name),
                "{name} (wave {}) calls {callee} (wave {}): it must start later",
                start(name),
                start(callee)
            );
        }
    }

    // One service-wave call per wave, each after the waves before it.
    let mut wave_calls = BTreeMap::new();
    for (_, name, body) in parsed.blocks(&platform, "module") {
        let source = parsed
            .attr(body, "source")
            .and_then(|s| parsed.string(s))
            .unwrap_or_default();
        if source.trim_end_matches('/').ends_with("service-wave") {
            let wave: u64 = name
                .strip_prefix("services_wave_")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("module {name}: a wave is called services_wave_<n>"));
            wave_calls.insert(wave, body);
        }
    }
    assert_eq!(
        wave_calls.keys().copied().collect::<BTreeSet<u64>>(),
        waves,
        "terraform/modules/platform: one services_wave_<n> call per start wave of local.services"
    );
    for (wave, body) in &wave_calls {
        let selected = parsed
            .attr(body, "services")
            .map(Value::to_string)
            .unwrap_or_default();
        assert!(
            selected.contains(&format!("start == {wave}")),
            "services_wave_{wave} does not take the services of wave {wave}: {selected}"
        );
        let started = parsed
            .attr(body, "started")
            .map(Value::to_string)
            .unwrap_or_default();
        for earlier in waves.iter().filter(|w| *w < wave) {
            assert!(
                started.contains(&format!("module.services_wave_{earlier}.")),
                "services_wave_{wave} does not start after services_wave_{earlier}: started = {started}"
            );
        }
    }

    // The wave module runs one ecs-service per service, started after those it calls.
    let wave_module = modules_dir().join("service-wave");
    let service_calls: Vec<_> = parsed
        .blocks(&wave_module, "module")
        .into_iter()
        .filter(|(_, _, body)| {
            parsed
                .attr(body, "source")
                .and_then(|s| parsed.string(s))
                .is_some_and(|s| s.ends_with("ecs-service"))
        })
        .collect();
    assert_eq!(
        service_calls.len(),
        1,
        "terraform/modules/service-wave: one ecs-service call"
    );
    let (_, _, body) = service_calls[0];
    for argument in ["for_each", "start_after"] {
        assert!(
            parsed.attr(body, argument).is_some(),
            "terraform/modules/service-wave: the ecs-service call has no {argument}"
        );
    }

    // Kong sits in front of them.
    assert!(
        parsed
            .blocks(&platform, "module")
            .iter()
            .any(|(_, _, body)| parsed
                .attr(body, "source")
                .and_then(|s| parsed.string(s))
                .is_some_and(|s| s.ends_with("kong"))),
        "terraform/modules/platform has no Kong"
    );
}

#[test]
fn the_environments_pin_their_providers_and_lock_their_state() {
    let parsed = parsed();
    for root in roots() {
        let mut terraform_blocks = Vec::new();
        for (_, file) in parsed.dir(&root) {
            if let Some(blocks) = file.get("terraform").and_then(Value::as_array) {
                terraform_blocks.extend(blocks.iter());
            }
        }
        assert!(
            !terraform_blocks.is_empty(),
            "{}: no terraform block",
            relative(&root)
        );

        let mut providers = BTreeMap::new();
        let mut backends = Vec::new();
        let mut required_version = None;
        for block in &terraform_blocks {
            if let Some(v) = parsed
                .attr(block, "required_version")
                .and_then(|v| parsed.string(v))
            {
                required_version = Some(v);
            }
            for required in block
                .get("required_providers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (name, spec) in required.as_object().expect("required_providers") {
                    if name.starts_with("__") {
                        continue;
                    }
                    let spec = if parsed.shape.wrapped && spec.is_array() {
                        &spec[0]
                    } else {
                        spec
                    };
                    let version = spec
                        .get("version")
                        .and_then(|v| parsed.string(v))
                        .unwrap_or_default();
                    providers.insert(name.clone(), version);
                }
            }
            for backend in block
                .get("backend")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                backends.extend(
                    backend
                        .as_object()
                        .expect("a backend")
                        .keys()
                        .filter(|k| !k.starts_with("__"))
                        .map(|k| unquote(k)),
                );
            }
        }
        assert!(
            required_version.is_some(),
            "{}: no required_version",
            relative(&root)
        );
        assert!(
            providers.contains_key("aws"),
            "{}: aws is not a required provider",
            relative(&root)
        );
        for (name, version) in &providers {
            assert!(
                version.contains('.') && !version.trim().is_empty(),
                "{}: provider {name} has no version constraint",
                relative(&root)
            );
        }

        if root.parent().is_some_and(|p| p.ends_with("environments")) {
            assert_eq!(
                backends,
                ["s3"],
                "{}: the state lives in S3",
                relative(&root)
            );
            let backend = parsed.file(&root.join("backend.hcl"));
            for key in ["bucket", "key", "region", "dynamodb_table", "encrypt"] {
                assert!(
                    parsed.attr(backend, key).is_some(),
                    "{}/backend.hcl sets no {key}",
                    relative(&root)
                );
            }
            let env = root.file_name().unwrap().to_string_lossy().into_owned();
            let key = parsed
                .attr(backend, "key")
                .and_then(|k| parsed.string(k))
                .unwrap_or_default();
            assert!(
                key.starts_with(&format!("{env}/")),
                "{}/backend.hcl: the state key {key} is not the environment's own",
                relative(&root)
            );
        }
    }

    // The modules say which providers they need, with versions.
    for dir in module_dirs() {
        let versions = parsed.file(&dir.join("versions.tf"));
        let text = versions.to_string();
        assert!(
            text.contains("hashicorp/aws") && text.contains("version"),
            "{}/versions.tf does not require a version of hashicorp/aws",
            relative(&dir)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Kafka topics.

/// The `&str` constants of libs/events/src/topics.rs: NAME -> "value".
fn topic_constants() -> BTreeMap<String, String> {
    let text = fs::read_to_string(tools::repo_root().join("libs/events/src/topics.rs"))
        .expect("libs/events/src/topics.rs");
    let mut constants = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(": &str = \"") else {
            continue;
        };
        let Some((value, _)) = rest.split_once("\";") else {
            continue;
        };
        constants.insert(name.trim().to_string(), value.to_string());
    }
    assert!(!constants.is_empty(), "no topic constants in topics.rs");
    constants
}

/// The identifiers listed in `const <name>: &[&str] = &[ ... ];` in `text`, or None.
fn const_list(text: &str, name: &str) -> Option<Vec<String>> {
    let start = text.find(&format!("const {name}: &[&str] = &["))?;
    let body = &text[start..];
    let body = &body[body.find("= &[").unwrap() + 4..];
    let end = body.find("];").expect("the end of the list");
    Some(
        body[..end]
            .split(',')
            .map(|item| {
                item.lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .filter(|item| !item.is_empty())
            .collect(),
    )
}

/// The topics' values, in `ALL`'s order.
fn all_topics() -> Vec<String> {
    let constants = topic_constants();
    let text = fs::read_to_string(tools::repo_root().join("libs/events/src/topics.rs")).unwrap();
    let names = const_list(&text, "ALL").expect("ALL in topics.rs");
    names
        .iter()
        .map(|name| {
            constants
                .get(name)
                .unwrap_or_else(|| panic!("ALL names {name}, which is not a topic constant"))
                .clone()
        })
        .collect()
}

/// Each service's consumer group (its directory name, which is also the name its binary is
/// made from: `point` runs as `point-service`) and the topics it consumes (`CONSUMES` in its
/// src/events).
fn consumed_topics() -> BTreeMap<String, BTreeSet<String>> {
    let constants = topic_constants();
    let mut consumers = BTreeMap::new();
    for service in SERVICES {
        let group = service.trim_end_matches("-service");
        let crate_dir = tools::repo_root().join("services").join(group);
        let manifest =
            fs::read_to_string(crate_dir.join("Cargo.toml")).expect("a service manifest");
        assert!(
            manifest.contains(&format!("name = \"{service}\"")),
            "services/{group} does not build {service}"
        );
        let events = crate_dir.join("src/events");
        let mut lists = Vec::new();
        for entry in fs::read_dir(&events).unwrap_or_else(|e| panic!("{}: {e}", events.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                if let Some(list) = const_list(&text, "CONSUMES") {
                    lists.push(list);
                }
            }
        }
        assert_eq!(
            lists.len(),
            1,
            "services/{group}/src/events: one CONSUMES list expected"
        );
        let topics = lists
            .remove(0)
            .iter()
            .map(|item| {
                let name = item.strip_prefix("topics::").unwrap_or(item);
                constants
                    .get(name)
                    .unwrap_or_else(|| panic!("{group} consumes {item}, not a topic constant"))
                    .clone()
            })
            .collect();
        consumers.insert(group.to_string(), topics);
    }
    consumers
}

#[test]
fn msk_topics_are_the_topics_of_libs_events() {
    let parsed = parsed();
    let locals = parsed.locals(&modules_dir().join("msk"));

    let declared = parsed.strings(
        locals
            .get("event_topics")
            .expect("local.event_topics in modules/msk"),
    );
    let unique: BTreeSet<&String> = declared.iter().collect();
    assert_eq!(
        unique.len(),
        declared.len(),
        "event_topics lists a topic twice"
    );
    let declared: BTreeSet<String> = declared.into_iter().collect();
    let all: BTreeSet<String> = all_topics().into_iter().collect();
    let missing: Vec<_> = all.difference(&declared).collect();
    let extra: Vec<_> = declared.difference(&all).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "terraform/modules/msk/topics.tf event_topics against ALL in libs/events/src/topics.rs: \
         missing {missing:?}, not in ALL {extra:?}"
    );

    // Each consumer's dead-letter topics (<topic>.dlq.<consumer>) come from this map.
    let consumers = locals
        .get("consumers")
        .expect("local.consumers in modules/msk");
    let consumers = if consumers.is_array() {
        &consumers[0]
    } else {
        consumers
    };
    let declared: BTreeMap<String, BTreeSet<String>> = consumers
        .as_object()
        .expect("consumers is a map")
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(group, topics)| {
            let topics = if topics.get(0).is_some_and(Value::is_array) {
                &topics[0]
            } else {
                topics
            };
            (unquote(group), parsed.strings(topics).into_iter().collect())
        })
        .collect();
    let actual = consumed_topics();
    assert_eq!(
        declared, actual,
        "terraform/modules/msk/topics.tf consumers against each service's CONSUMES"
    );

    // Each service scales on the lag of its own group: the platform's consumer of a service is
    // the group named after it.
    let platform = parsed.locals(&platform_dir());
    let services = unwrapped(
        platform
            .get("services")
            .expect("local.services in terraform/modules/platform"),
    )
    .as_object()
    .expect("local.services is a map");
    for service in SERVICES {
        let consumer = services
            .iter()
            .find(|(name, _)| unquote(name) == service)
            .and_then(|(_, s)| unwrapped(s).get("consumer"))
            .and_then(|c| parsed.string(unwrapped(c)))
            .unwrap_or_else(|| panic!("terraform/modules/platform: {service} has no consumer"));
        let group = service.trim_end_matches("-service");
        assert_eq!(
            consumer, group,
            "terraform/modules/platform: {service} consumes as {consumer}, not as its group {group}"
        );
        assert!(
            declared.contains_key(group),
            "terraform/modules/msk/topics.tf has no consumer {group}"
        );
    }
    for (group, topics) in &actual {
        for topic in topics {
            assert!(
                all.contains(topic),
                "{group} consumes {topic}, which is not in ALL"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// checkov.

/// A checkov finding.
pub(crate) struct Finding {
    pub check: String,
    pub text: String,
}

/// The checks skipped in a checkov config file (`skip-check:`), each of which must carry a
/// reason as a comment on its line.
pub(crate) fn accepted_skips(config: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("a YAML checkov config");
    let skips: BTreeSet<String> = yaml
        .get("skip-check")
        .and_then(serde_yaml::Value::as_sequence)
        .unwrap_or_else(|| panic!("{}: no skip-check list", config.display()))
        .iter()
        .map(|s| s.as_str().expect("a check id").to_string())
        .collect();
    for skip in &skips {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("- {skip}")))
            .unwrap_or_else(|| panic!("{}: {skip} is not on a line of its own", config.display()));
        let reason = line
            .split_once('#')
            .map(|(_, r)| r.trim())
            .unwrap_or_default();
        assert!(
            reason.len() >= 20,
            "{}: {skip} needs a one-line reason after `#`",
            config.display()
        );
    }
    skips
}

/// Runs checkov over `dir` with one framework and no skips, and returns what failed.
pub(crate) fn checkov_failures(dir: &Path, framework: &str) -> Vec<Finding> {
    let output = tools::run(
        Command::new(tools::checkov())
            .current_dir(std::env::temp_dir())
            .arg("--directory")
            .arg(dir)
            .args(["--framework", framework])
            // checkov reads <dir>/.checkov.yaml by itself; a skip list on the command line
            // replaces that file's, so that this run sees every finding, skipped ones included.
            .args(["--skip-check", "NONE"])
            .args([
                "--output",
                "json",
                "--skip-download",
                "--compact",
                "--quiet",
            ])
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false"),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON report ({e}, {}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // One report per framework; checkov prints a bare summary when it found nothing to scan.
    let reports: Vec<&Value> = match &report {
        Value::Array(reports) => reports.iter().collect(),
        report => vec![report],
    };
    let report = reports
        .iter()
        .find(|r| r.get("check_type").and_then(Value::as_str) == Some(framework))
        .unwrap_or_else(|| {
            panic!(
                "checkov scanned no {framework} files in {}: {report}",
                dir.display()
            )
        });
    let parsing_errors = report["summary"]["parsing_errors"].as_u64().unwrap_or(0);
    assert_eq!(
        parsing_errors, 0,
        "checkov could not parse some files: {}",
        report["results"]["parsing_errors"]
    );
    assert!(
        report["summary"]["passed"].as_u64().unwrap_or(0) > 0,
        "checkov passed nothing in {}: did it scan anything?",
        dir.display()
    );
    report["results"]["failed_checks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| Finding {
            check: f["check_id"].as_str().unwrap_or_default().to_string(),
            text: format!(
                "{} {} — {} in {}{}",
                f["check_id"].as_str().unwrap_or_default(),
                f["check_name"].as_str().unwrap_or_default(),
                f["resource"].as_str().unwrap_or_default(),
                f["file_path"].as_str().unwrap_or_default(),
                f["file_line_range"]
                    .as_array()
                    .map(|r| format!(
                        ":{}-{}",
                        r.first().unwrap_or(&Value::Null),
                        r.get(1).unwrap_or(&Value::Null)
                    ))
                    .unwrap_or_default()
            ),
        })
        .collect()
}

/// checkov over `dir` finds nothing but the skips of `config`, and every skip still matches a
/// finding (a stale skip would hide the next one).
pub(crate) fn assert_only_accepted_findings(dir: &Path, framework: &str, config: &Path) {
    let skips = accepted_skips(config);
    let failures = checkov_failures(dir, framework);
    let new: Vec<&str> = failures
        .iter()
        .filter(|f| !skips.contains(&f.check))
        .map(|f| f.text.as_str())
        .collect();
    assert!(
        new.is_empty(),
        "checkov --framework {framework} on {} found what {} does not accept (fix it, or add the \
         check there with its reason):\n{}",
        relative(dir),
        relative(config),
        new.join("\n")
    );
    let found: BTreeSet<&String> = failures.iter().map(|f| &f.check).collect();
    let stale: Vec<&String> = skips.iter().filter(|s| !found.contains(s)).collect();
    assert!(
        stale.is_empty(),
        "{} skips {stale:?}, which no longer fail: remove them",
        relative(config)
    );
}

#[test]
fn checkov_finds_nothing_new_in_the_terraform() {
    // Every exception is in the config file, with its reason; none hide in the code.
    for path in hcl_files(&terraform_dir()) {
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("checkov:skip"),
            "{}: skip checks in terraform/.checkov.yaml, not inline",
            relative(&path)
        );
    }
    assert_only_accepted_findings(
        &terraform_dir(),
        "terraform",
        &terraform_dir().join(".checkov.yaml"),
    );
}
