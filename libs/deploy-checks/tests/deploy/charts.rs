//! The Helm charts (`charts/`): `helm lint --strict` of every chart, `helm template` of the
//! umbrella chart with the staging and production values read back as what an operator relies
//! on (hardened pods with their probes, the migration hook, autoscalers and disruption budgets,
//! Services named as Kong's upstreams, Kong's declarative configuration, the alerts and
//! dashboards, secrets kept out of ConfigMaps), and checkov on the production manifests with
//! nothing failing but the accepted findings of `charts/checkov-skips.yaml`.
//!
//! The charts are copied to a scratch folder and their dependencies built there
//! (`helm dependency build`, offline: every dependency is a `file://` chart of this folder), so
//! a test never writes into the repository.

use crate::tools;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The services: chart and Kubernetes Service name, HTTP port, settings prefix.
const SERVICES: [(&str, u64, &str); 5] = [
    ("user-service", 3001, "USER"),
    ("point-service", 3002, "POINT"),
    ("rewards-service", 3003, "REWARDS"),
    ("admin-service", 3004, "ADMIN"),
    ("payment-service", 3005, "PAYMENT"),
];

const NAMESPACE: &str = "tessera";

// ---------------------------------------------------------------------------------------------
// The charts, built in a scratch copy.

/// A copy of `charts/` with every chart's dependencies built; removed when dropped.
struct Charts {
    dir: PathBuf,
}

impl Charts {
    fn build() -> Self {
        let source = tools::repo_root().join("charts");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "charts-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("a clock after 1970")
                .as_nanos()
        ));
        copy_tree(&source, &dir);
        let charts = Self { dir };
        // The service charts first: the umbrella chart packs them with their library inside.
        for (service, _, _) in SERVICES {
            charts.helm_dependency_build(service);
        }
        charts.helm_dependency_build("tessera");
        charts
    }

    fn chart(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn helm_dependency_build(&self, chart: &str) {
        tools::run_ok(
            Command::new(tools::helm())
                .args(["dependency", "build", "--skip-refresh"])
                .arg(self.chart(chart)),
        );
    }

    /// `helm template` of the umbrella chart with these values files and extra arguments.
    fn template(&self, values: &[&str], extra: &[&str]) -> std::process::Output {
        let mut command = Command::new(tools::helm());
        command
            .args(["template", "tessera"])
            .arg(self.chart("tessera"))
            .args(["--namespace", NAMESPACE]);
        for file in values {
            command.arg("-f").arg(self.chart("tessera").join(file));
        }
        command.args(extra);
        tools::run(&mut command)
    }

    /// The umbrella chart rendered with a values file (or none), parsed.
    fn render(&self, values: Option<&str>) -> Manifests {
        let output = self.template(values.as_slice(), &[]);
        assert!(
            output.status.success(),
            "helm template with {values:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Manifests::parse(&String::from_utf8(output.stdout).expect("UTF-8 manifests"))
    }
}

impl Drop for Charts {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Copies a folder, leaving out packaged charts (`*.tgz`) a local `helm dependency build` left.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display())) {
        let entry = entry.expect("a directory entry");
        let path = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&path, &target);
        } else if path.extension().is_none_or(|ext| ext != "tgz") {
            fs::copy(&path, &target).unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendered manifests.

struct Manifests {
    docs: Vec<Value>,
}

impl Manifests {
    /// Helm's output: documents separated by `---` lines (never inside a document: block
    /// scalars are indented).
    fn parse(text: &str) -> Self {
        let mut docs = Vec::new();
        let mut current = String::new();
        for line in text.lines().chain(std::iter::once("---")) {
            if line.trim_end() == "---" {
                let doc: Value = serde_yaml::from_str(&current).unwrap_or_else(|e| {
                    panic!("helm template printed invalid YAML ({e}):\n{current}")
                });
                if !doc.is_null() {
                    docs.push(doc);
                }
                current.clear();
            } else {
                current.push_str(line);
                current.push('\n');
            }
        }
        assert!(!docs.is_empty(), "helm template rendered nothing");
        Self { docs }
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.docs
            .iter()
            .filter(move |doc| str_at(doc, &["kind"]) == Some(kind))
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.docs.iter().find(|doc| {
            str_at(doc, &["kind"]) == Some(kind) && str_at(doc, &["metadata", "name"]) == Some(name)
        })
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} named {name} is rendered"))
    }
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn seq_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Mapping> {
    at(value, path).and_then(Value::as_mapping)
}

/// `labels` holds every label of `selector` (a matchLabels map).
fn selects(selector: &Mapping, labels: &Mapping) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn pod_spec(workload: &Value) -> &Value {
    at(workload, &["spec", "template", "spec"]).expect("a pod template")
}

fn pod_labels(workload: &Value) -> &Mapping {
    map_at(workload, &["spec", "template", "metadata", "labels"]).expect("pod labels")
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    seq_at(pod_spec(workload), &["containers"])
        .iter()
        .find(|c| str_at(c, &["name"]) == Some(name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// A container's environment variable: (plain value, or the `valueFrom` source).
fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    seq_at(container, &["env"])
        .iter()
        .find(|e| str_at(e, &["name"]) == Some(name))
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    env(container, name).and_then(|e| str_at(e, &["value"]))
}

fn as_u64(value: Option<&Value>) -> Option<u64> {
    value.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

fn repo_file(path: &str) -> String {
    let path = tools::repo_root().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// gateway/kong.yaml's upstreams: (host, port) of each `services[].url`.
fn kong_upstreams() -> Vec<(String, u64)> {
    let kong: Value = serde_yaml::from_str(&repo_file("gateway/kong.yaml")).expect("kong.yaml");
    let upstreams: Vec<(String, u64)> = seq_at(&kong, &["services"])
        .iter()
        .map(|service| {
            let url = str_at(service, &["url"]).expect("a service url in kong.yaml");
            let rest = url.strip_prefix("http://").expect("an http:// upstream");
            let authority = rest.split('/').next().unwrap_or_default();
            let (host, port) = authority.split_once(':').expect("an upstream port");
            (host.to_string(), port.parse().expect("a numeric port"))
        })
        .collect();
    assert!(!upstreams.is_empty(), "kong.yaml names no services");
    upstreams
}

// ---------------------------------------------------------------------------------------------
// The checks of a rendering.

/// What every rendering of the fleet must have; `production` adds what production promises.
fn check_fleet(manifests: &Manifests, production: bool) {
    let kong_pod = manifests.get("Deployment", "kong");
    for (service, port, prefix) in SERVICES {
        check_service(manifests, service, port, prefix, production);
        check_network_path_from_kong(manifests, kong_pod, service, port);
    }
    check_upstreams(manifests);
    check_kong(manifests, production);
    check_secrets_stay_secret(manifests, production);
    check_monitoring(manifests);
}

fn check_service(manifests: &Manifests, service: &str, port: u64, prefix: &str, production: bool) {
    let deployment = manifests.get("Deployment", service);
    let pod = pod_spec(deployment);
    let main = container(deployment, service);
    let context = format!("Deployment {service}");

    // Hardening.
    assert_eq!(
        at(pod, &["securityContext", "runAsNonRoot"]),
        Some(&Value::Bool(true)),
        "{context}: the pod must run as non-root"
    );
    assert!(
        as_u64(at(pod, &["securityContext", "runAsUser"])).is_some_and(|uid| uid > 0),
        "{context}: runAsUser must be a non-zero uid"
    );
    let security = at(main, &["securityContext"]).expect("a container securityContext");
    assert_eq!(
        security.get("readOnlyRootFilesystem"),
        Some(&Value::Bool(true)),
        "{context}: the root filesystem must be read-only"
    );
    assert_eq!(
        security.get("allowPrivilegeEscalation"),
        Some(&Value::Bool(false)),
        "{context}: no privilege escalation"
    );
    assert!(
        seq_at(security, &["capabilities", "drop"]).contains(&Value::from("ALL")),
        "{context}: every capability must be dropped"
    );
    assert_eq!(
        str_at(pod, &["securityContext", "seccompProfile", "type"]),
        Some("RuntimeDefault"),
        "{context}: seccomp RuntimeDefault"
    );
    assert_eq!(
        pod.get("automountServiceAccountToken"),
        Some(&Value::Bool(false)),
        "{context}: no service account token"
    );

    // The image is pinned.
    let image = str_at(main, &["image"]).expect("an image");
    assert!(
        image.contains('@')
            || image
                .rsplit_once(':')
                .is_some_and(|(_, tag)| tag != "latest"),
        "{context}: image {image} must be pinned by tag or digest"
    );
    assert!(
        str_at(main, &["imagePullPolicy"]).is_some(),
        "{context}: imagePullPolicy"
    );

    // Port and probes.
    let container_port = seq_at(main, &["ports"])
        .iter()
        .find(|p| str_at(p, &["name"]) == Some("http"))
        .and_then(|p| as_u64(p.get("containerPort")));
    assert_eq!(container_port, Some(port), "{context}: container port http");
    for (probe, path) in [
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
        ("startupProbe", "/health/live"),
    ] {
        assert_eq!(
            str_at(main, &[probe, "httpGet", "path"]),
            Some(path),
            "{context}: {probe} must ask {path}"
        );
        let probe_port = at(main, &[probe, "httpGet", "port"]);
        assert!(
            probe_port == Some(&Value::from("http")) || as_u64(probe_port) == Some(port),
            "{context}: {probe} must ask the service's port"
        );
    }

    // Resources.
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                at(main, &["resources", kind, resource]).is_some(),
                "{context}: resources.{kind}.{resource} must be set"
            );
        }
    }

    // Settings: the ConfigMap, the pod name as Kafka instance id, secrets by reference.
    assert!(
        seq_at(main, &["envFrom"])
            .iter()
            .any(|e| str_at(e, &["configMapRef", "name"]) == Some(service)),
        "{context}: settings from ConfigMap {service}"
    );
    assert_eq!(
        str_at(
            env(main, "KAFKA_GROUP_INSTANCE_ID").expect("KAFKA_GROUP_INSTANCE_ID"),
            &["valueFrom", "fieldRef", "fieldPath"]
        ),
        Some("metadata.name"),
        "{context}: KAFKA_GROUP_INSTANCE_ID must be the pod's name"
    );
    for secret in ["DATABASE_URL", "REDIS_URL"] {
        let from = env(main, secret).unwrap_or_else(|| panic!("{context}: no {secret}"));
        assert!(
            at(from, &["valueFrom", "secretKeyRef", "name"]).is_some(),
            "{context}: {secret} must come from a Secret"
        );
    }
    let config = manifests.get("ConfigMap", service);
    let data = |key: &str| str_at(config, &["data", key]);
    assert_eq!(
        data(&format!("{prefix}__HOST")),
        Some("0.0.0.0"),
        "{service}: bind address"
    );
    assert_eq!(
        data(&format!("{prefix}__PORT")),
        Some(port.to_string().as_str()),
        "{service}: port setting"
    );
    assert_eq!(
        data("KAFKA_CREATE_TOPICS"),
        Some("false"),
        "{service}: topics are the platform's"
    );
    assert_eq!(data("LOG_FORMAT"), Some("json"), "{service}: JSON logs");
    assert_eq!(
        data("JWKS_URL"),
        Some("http://user-service:3001/api/v1/auth/jwks.json"),
        "{service}: JWKS_URL"
    );
    assert!(
        data("KAFKA_BROKERS").is_some_and(|b| !b.is_empty()),
        "{service}: KAFKA_BROKERS"
    );
    assert!(
        data("TRUSTED_PROXIES").is_some_and(|p| !p.is_empty()),
        "{service}: TRUSTED_PROXIES must name Kong's pod CIDR"
    );

    // The migration Job: a pre-install and pre-upgrade hook running `migrate` on the same image.
    let job = manifests.get("Job", &format!("{service}-migrate"));
    let hooks = str_at(job, &["metadata", "annotations", "helm.sh/hook"]).unwrap_or_default();
    let hooks: BTreeSet<&str> = hooks.split(',').map(str::trim).collect();
    assert!(
        hooks.contains("pre-install") && hooks.contains("pre-upgrade"),
        "{service}-migrate must be a pre-install,pre-upgrade hook, is {hooks:?}"
    );
    let migrate = container(job, "migrate");
    let command: Vec<&str> = seq_at(migrate, &["command"])
        .iter()
        .chain(seq_at(migrate, &["args"]))
        .filter_map(Value::as_str)
        .collect();
    assert!(
        command.contains(&"migrate"),
        "{service}-migrate runs {command:?}, not migrate"
    );
    assert_eq!(
        str_at(migrate, &["image"]),
        Some(image),
        "{service}-migrate: same image"
    );
    assert_eq!(
        str_at(pod_spec(job), &["restartPolicy"]),
        Some("Never"),
        "{service}-migrate: restartPolicy"
    );
    assert!(
        at(migrate, &["resources", "limits"]).is_some(),
        "{service}-migrate: resources"
    );
    assert_eq!(
        at(migrate, &["securityContext", "readOnlyRootFilesystem"]),
        Some(&Value::Bool(true)),
        "{service}-migrate: read-only root filesystem"
    );
    // Whatever the hook Job uses must exist before it: a hook itself, or made outside the chart.
    let account = str_at(pod_spec(job), &["serviceAccountName"]).expect("a service account");
    let account = manifests.get("ServiceAccount", account);
    assert!(
        str_at(account, &["metadata", "annotations", "helm.sh/hook"]).is_some(),
        "{service}-migrate's ServiceAccount must be a hook too: it runs before the release's resources exist"
    );
    assert!(
        seq_at(migrate, &["envFrom"]).is_empty(),
        "{service}-migrate must not read the ConfigMap, which a first install has not made yet"
    );

    // Autoscaler and disruption budget.
    let hpa = manifests.get("HorizontalPodAutoscaler", service);
    assert_eq!(str_at(hpa, &["apiVersion"]), Some("autoscaling/v2"));
    assert_eq!(
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        Some("Deployment")
    );
    assert_eq!(
        str_at(hpa, &["spec", "scaleTargetRef", "name"]),
        Some(service)
    );
    let min = as_u64(at(hpa, &["spec", "minReplicas"])).expect("minReplicas");
    let max = as_u64(at(hpa, &["spec", "maxReplicas"])).expect("maxReplicas");
    assert!(min >= 1 && max >= min, "{service}: HPA {min}..{max}");
    assert!(
        seq_at(hpa, &["spec", "metrics"])
            .iter()
            .any(|m| str_at(m, &["resource", "name"]) == Some("cpu")),
        "{service}: the HPA scales on CPU"
    );
    assert!(
        deployment
            .get("spec")
            .and_then(|s| s.get("replicas"))
            .is_none(),
        "{context}: with an HPA the Deployment must leave replicas to it"
    );
    let pdb = manifests.get("PodDisruptionBudget", service);
    let pdb_selector = map_at(pdb, &["spec", "selector", "matchLabels"]).expect("PDB selector");
    assert!(
        selects(pdb_selector, pod_labels(deployment)),
        "{service}: the PDB must select the Deployment's pods"
    );
    if production {
        assert!(
            min >= 3,
            "{service}: production runs at least 3 replicas, HPA min is {min}"
        );
        assert!(
            as_u64(at(pdb, &["spec", "minAvailable"])).is_some_and(|n| n >= 2),
            "{service}: production keeps at least 2 replicas up (PDB minAvailable)"
        );
        let monitor = manifests.get("ServiceMonitor", service);
        assert!(
            seq_at(monitor, &["spec", "endpoints"])
                .iter()
                .any(|e| str_at(e, &["path"]) == Some("/metrics")),
            "{service}: the ServiceMonitor scrapes /metrics"
        );
        // The alerts group `up` and the services' own series by `service="<name>"`.
        let endpoint = &seq_at(monitor, &["spec", "endpoints"])[0];
        assert_eq!(
            at(endpoint, &["honorLabels"]).and_then(|v| v.as_bool()),
            Some(true),
            "{service}: the scrape keeps the services' own `service` label"
        );
        let short = service.trim_end_matches("-service");
        assert!(
            seq_at(endpoint, &["relabelings"]).iter().any(|r| {
                str_at(r, &["targetLabel"]) == Some("service")
                    && str_at(r, &["regex"]) == Some("(.+)-service")
            }),
            "{service}: `up` is labelled service=\"{short}\" like the service's own series"
        );
    }
}

/// kong.yaml's upstreams are Services of these names and ports, in front of the right pods.
fn check_upstreams(manifests: &Manifests) {
    for (host, port) in kong_upstreams() {
        let service = manifests.find("Service", &host).unwrap_or_else(|| {
            panic!("kong.yaml routes to http://{host}:{port} but no Service {host} is rendered")
        });
        let ports = seq_at(service, &["spec", "ports"]);
        let entry = ports
            .iter()
            .find(|p| as_u64(p.get("port")) == Some(port))
            .unwrap_or_else(|| panic!("Service {host} does not listen on {port} (kong.yaml)"));
        let selector = map_at(service, &["spec", "selector"]).expect("a selector");
        let deployment = manifests
            .of_kind("Deployment")
            .find(|d| selects(selector, pod_labels(d)))
            .unwrap_or_else(|| panic!("Service {host} selects no Deployment's pods"));
        // Its target port is a port of those pods.
        let target = entry.get("targetPort").expect("a targetPort");
        let pod_ports: Vec<&Value> = seq_at(pod_spec(deployment), &["containers"])
            .iter()
            .flat_map(|c| seq_at(c, &["ports"]))
            .collect();
        assert!(
            pod_ports.iter().any(|p| p.get("name") == Some(target)
                || as_u64(p.get("containerPort")) == as_u64(Some(target))),
            "Service {host}: targetPort {target:?} is no port of its pods"
        );
    }
}

/// Kong's pods may reach the service: its NetworkPolicy lets them in, Kong's lets it out.
fn check_network_path_from_kong(manifests: &Manifests, kong: &Value, service: &str, port: u64) {
    let kong_labels = pod_labels(kong);
    let policy = manifests.get("NetworkPolicy", service);
    let deployment = manifests.get("Deployment", service);
    let selector = map_at(policy, &["spec", "podSelector", "matchLabels"]).expect("podSelector");
    assert!(
        selects(selector, pod_labels(deployment)),
        "NetworkPolicy {service} must select the service's pods"
    );
    let kong_in = seq_at(policy, &["spec", "ingress"]).iter().any(|rule| {
        seq_at(rule, &["from"]).iter().any(|peer| {
            peer.get("namespaceSelector").is_none()
                && map_at(peer, &["podSelector", "matchLabels"])
                    .is_some_and(|labels| selects(labels, kong_labels))
        })
    });
    assert!(
        kong_in,
        "NetworkPolicy {service} does not let Kong's pods in"
    );
    let kong_policy = manifests.get("NetworkPolicy", "kong");
    let labels = pod_labels(deployment);
    let kong_out = seq_at(kong_policy, &["spec", "egress"]).iter().any(|rule| {
        seq_at(rule, &["ports"])
            .iter()
            .any(|p| as_u64(p.get("port")) == Some(port))
            && seq_at(rule, &["to"]).iter().any(|peer| {
                map_at(peer, &["podSelector", "matchLabels"]).is_some_and(|s| selects(s, labels))
            })
    });
    assert!(
        kong_out,
        "Kong's NetworkPolicy does not let it reach {service}:{port}"
    );
}

fn check_kong(manifests: &Manifests, production: bool) {
    let config = manifests.get("ConfigMap", "kong-declarative");
    let rendered = str_at(config, &["data", "kong.yaml"]).expect("kong.yaml in kong-declarative");
    assert!(
        rendered == repo_file("gateway/kong.yaml"),
        "the kong-declarative ConfigMap differs from gateway/kong.yaml"
    );
    let kong = manifests.get("Deployment", "kong");
    let main = container(kong, "kong");
    assert_eq!(
        env_value(main, "KONG_DATABASE"),
        Some("off"),
        "Kong runs DB-less"
    );
    assert_eq!(
        env_value(main, "KONG_ADMIN_LISTEN"),
        Some("off"),
        "Kong's Admin API is off"
    );
    let declarative = env_value(main, "KONG_DECLARATIVE_CONFIG").expect("KONG_DECLARATIVE_CONFIG");
    // The declarative file is the ConfigMap's, mounted.
    let volume = seq_at(pod_spec(kong), &["volumes"])
        .iter()
        .find(|v| str_at(v, &["configMap", "name"]) == Some("kong-declarative"))
        .and_then(|v| str_at(v, &["name"]))
        .expect("a volume of the kong-declarative ConfigMap");
    let mount = seq_at(main, &["volumeMounts"])
        .iter()
        .find(|m| str_at(m, &["name"]) == Some(volume))
        .and_then(|m| str_at(m, &["mountPath"]))
        .expect("the declarative volume mounted");
    assert_eq!(
        declarative,
        format!("{}/kong.yaml", mount.trim_end_matches('/')),
        "KONG_DECLARATIVE_CONFIG must be the mounted kong.yaml"
    );
    assert_eq!(
        env_value(main, "KONG_REAL_IP_HEADER"),
        Some("X-Forwarded-For")
    );
    assert_eq!(env_value(main, "KONG_REAL_IP_RECURSIVE"), Some("on"));
    assert!(
        env_value(main, "KONG_TRUSTED_IPS").is_some_and(|ips| !ips.is_empty()),
        "KONG_TRUSTED_IPS must name the load balancer's CIDR, or Kong rate-limits the load balancer"
    );
    let image = str_at(main, &["image"]).expect("Kong's image");
    assert!(
        image.starts_with("kong:3.9") || image.starts_with("kong@"),
        "Kong's image: {image}"
    );
    assert_eq!(
        at(pod_spec(kong), &["securityContext", "runAsNonRoot"]),
        Some(&Value::Bool(true)),
        "Kong runs as non-root"
    );
    assert_eq!(
        at(main, &["securityContext", "readOnlyRootFilesystem"]),
        Some(&Value::Bool(true)),
        "Kong's root filesystem is read-only"
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert!(
            at(main, &[probe, "httpGet", "path"]).is_some(),
            "Kong: {probe}"
        );
    }
    // kong.yaml's rate limits with policy: redis use the host `redis`.
    let redis = manifests.get("Service", "redis");
    assert_eq!(str_at(redis, &["spec", "type"]), Some("ExternalName"));
    assert!(str_at(redis, &["spec", "externalName"]).is_some_and(|n| !n.is_empty()));
    // A way in: an Ingress to Kong's Service, or a LoadBalancer Service.
    let proxy = manifests.get("Service", "kong-proxy");
    let ingress_to_kong = manifests.of_kind("Ingress").any(|ingress| {
        seq_at(ingress, &["spec", "rules"]).iter().any(|rule| {
            seq_at(rule, &["http", "paths"])
                .iter()
                .any(|path| str_at(path, &["backend", "service", "name"]) == Some("kong-proxy"))
        })
    });
    assert!(
        ingress_to_kong || str_at(proxy, &["spec", "type"]) == Some("LoadBalancer"),
        "Kong must be exposed by an Ingress or a LoadBalancer"
    );
    if production {
        assert!(
            manifests.find("HorizontalPodAutoscaler", "kong").is_some(),
            "Kong's HPA"
        );
        let pdb = manifests.get("PodDisruptionBudget", "kong");
        assert!(as_u64(at(pdb, &["spec", "minAvailable"])).is_some_and(|n| n >= 2));
    }
}

/// No secret in a ConfigMap: the secret settings reach the pods through secretKeyRef only.
fn check_secrets_stay_secret(manifests: &Manifests, production: bool) {
    let user = container(manifests.get("Deployment", "user-service"), "user-service");
    let pii = env(user, "USER__PII_KEY").expect("USER__PII_KEY in the user service's environment");
    assert!(
        pii.get("value").is_none(),
        "USER__PII_KEY must not be a plain value"
    );
    assert_eq!(
        str_at(pii, &["valueFrom", "secretKeyRef", "key"]),
        Some("USER__PII_KEY"),
        "USER__PII_KEY must come from a Secret"
    );
    let secret_names = [
        "DATABASE_URL",
        "REDIS_URL",
        "USER__PII_KEY",
        "USER__RECONCILER_CLIENT_SECRET",
        "ADMIN__RECONCILER__CLIENT_SECRET",
        "PAYMENT__STRIPE__SECRET_KEY",
        "PAYMENT__STRIPE__WEBHOOK_SECRET",
        "PAYMENT__PAYPAL__CLIENT_SECRET",
    ];
    for config in manifests.of_kind("ConfigMap") {
        let name = str_at(config, &["metadata", "name"]).unwrap_or_default();
        for key in map_at(config, &["data"])
            .into_iter()
            .flat_map(Mapping::keys)
        {
            let key = key.as_str().unwrap_or_default();
            assert!(
                !secret_names.contains(&key)
                    && !key.ends_with("SECRET")
                    && !key.ends_with("PASSWORD"),
                "ConfigMap {name} holds {key}, a secret"
            );
        }
    }
    for workload in manifests
        .of_kind("Deployment")
        .chain(manifests.of_kind("Job"))
    {
        let name = str_at(workload, &["metadata", "name"]).unwrap_or_default();
        for container in seq_at(pod_spec(workload), &["containers"]) {
            for secret in secret_names {
                if let Some(var) = env(container, secret) {
                    assert!(
                        at(var, &["valueFrom", "secretKeyRef"]).is_some(),
                        "{name}: {secret} must come from a Secret (secretKeyRef)"
                    );
                }
            }
        }
    }
    if production {
        // Production reads Secrets made outside the chart: none is rendered, none in the history.
        let rendered: Vec<&str> = manifests
            .of_kind("Secret")
            .filter_map(|s| str_at(s, &["metadata", "name"]))
            .collect();
        assert!(
            rendered.is_empty(),
            "production renders Secrets {rendered:?}"
        );
    }
}

/// The PrometheusRule carries alerts.yaml's groups; one dashboard ConfigMap per JSON file.
fn check_monitoring(manifests: &Manifests) {
    let alerts: Value =
        serde_yaml::from_str(&repo_file("charts/tessera/files/prometheus/alerts.yaml"))
            .expect("alerts.yaml is YAML");
    let rule = manifests.get("PrometheusRule", "tessera");
    assert_eq!(
        str_at(rule, &["apiVersion"]),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(
        at(rule, &["spec", "groups"]),
        alerts.get("groups"),
        "the PrometheusRule's groups differ from alerts.yaml's"
    );

    let folder = tools::repo_root().join("charts/tessera/files/grafana");
    let mut expected = BTreeMap::new();
    for entry in fs::read_dir(&folder).into_iter().flatten() {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&path).expect("a dashboard"))
                    .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            expected.insert(name, json);
        }
    }
    let mut rendered = BTreeMap::new();
    for config in manifests.of_kind("ConfigMap") {
        if str_at(config, &["metadata", "labels", "grafana_dashboard"]) != Some("1") {
            continue;
        }
        for (key, value) in map_at(config, &["data"]).expect("dashboard data") {
            let json: serde_json::Value =
                serde_json::from_str(value.as_str().expect("text")).expect("dashboard JSON");
            rendered.insert(key.as_str().expect("a key").to_string(), json);
        }
    }
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "one grafana_dashboard ConfigMap per charts/tessera/files/grafana/*.json"
    );
    assert!(
        rendered == expected,
        "a dashboard ConfigMap differs from its JSON file"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn kong_declarative_copy_is_gateway_kong_yaml() {
    let root = tools::repo_root();
    let gateway = fs::read(root.join("gateway/kong.yaml")).expect("gateway/kong.yaml");
    let copy = fs::read(root.join("charts/tessera/files/kong.yaml")).unwrap_or_default();
    assert!(
        gateway == copy,
        "charts/tessera/files/kong.yaml differs from gateway/kong.yaml (Helm reads only files \
         inside the chart): copy it with `cp gateway/kong.yaml charts/tessera/files/kong.yaml`"
    );
}

#[test]
fn every_chart_passes_helm_lint_strict() {
    let charts = Charts::build();
    let mut runs: Vec<(String, Vec<PathBuf>)> = vec![("tessera-service".into(), vec![])];
    runs.extend(SERVICES.iter().map(|(s, _, _)| (s.to_string(), vec![])));
    for values in [
        None,
        Some("values-staging.yaml"),
        Some("values-production.yaml"),
    ] {
        let files = values
            .map(|f| charts.chart("tessera").join(f))
            .into_iter()
            .collect();
        runs.push(("tessera".into(), files));
    }
    for (chart, values) in runs {
        let mut command = Command::new(tools::helm());
        command.args(["lint", "--strict"]).arg(charts.chart(&chart));
        for file in &values {
            command.arg("-f").arg(file);
        }
        let output = tools::run_ok(&mut command);
        assert!(
            !output.contains("[WARNING]") && !output.contains("[ERROR]"),
            "helm lint {chart} {values:?}:\n{output}"
        );
    }
}

#[test]
fn staging_manifests_have_what_an_operator_relies_on() {
    let charts = Charts::build();
    check_fleet(&charts.render(Some("values-staging.yaml")), false);
}

#[test]
fn production_manifests_have_what_an_operator_relies_on() {
    let charts = Charts::build();
    check_fleet(&charts.render(Some("values-production.yaml")), true);
}

#[test]
fn default_values_render_the_five_services_and_kong() {
    let manifests = Charts::build().render(None);
    for (service, port, _) in SERVICES {
        let svc = manifests.get("Service", service);
        assert!(seq_at(svc, &["spec", "ports"])
            .iter()
            .any(|p| as_u64(p.get("port")) == Some(port)));
        manifests.get("Job", &format!("{service}-migrate"));
    }
    manifests.get("Deployment", "kong");
    // Off by default: they need the Prometheus operator's CRDs, or a Grafana sidecar.
    assert!(manifests.of_kind("PrometheusRule").next().is_none());
    assert!(manifests.of_kind("ServiceMonitor").next().is_none());
}

#[test]
fn consumer_lag_scaling_is_an_external_metric_when_enabled() {
    let charts = Charts::build();
    let external = |manifests: &Manifests| -> Vec<Value> {
        seq_at(
            manifests.get("HorizontalPodAutoscaler", "point-service"),
            &["spec", "metrics"],
        )
        .iter()
        .filter(|m| str_at(m, &["type"]) == Some("External"))
        .cloned()
        .collect()
    };
    assert!(
        external(&charts.render(Some("values-production.yaml"))).is_empty(),
        "consumer lag scaling is off unless enabled (it needs a metrics adapter)"
    );
    let output = charts.template(
        &["values-production.yaml"],
        &[
            "--set",
            "point-service.autoscaling.consumerLag.enabled=true",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metrics = external(&Manifests::parse(
        &String::from_utf8(output.stdout).unwrap(),
    ));
    assert_eq!(metrics.len(), 1, "one External metric: {metrics:?}");
    let metric = &metrics[0];
    assert_eq!(
        str_at(metric, &["external", "metric", "name"]),
        Some("consumer_lag_messages")
    );
    assert_eq!(
        str_at(
            metric,
            &["external", "metric", "selector", "matchLabels", "group"]
        ),
        Some("point"),
        "the point service's consumer group"
    );
    assert_eq!(
        str_at(metric, &["external", "target", "type"]),
        Some("AverageValue")
    );
}

#[test]
fn secrets_are_refused_in_config_and_kept_in_secrets() {
    let charts = Charts::build();
    // A secret among the plain settings stops the render.
    let output = charts.template(
        &["values-staging.yaml"],
        &["--set", "user-service.config.USER__PII_KEY=c2VjcmV0"],
    );
    assert!(
        !output.status.success(),
        "a PII key in config must not render"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("USER__PII_KEY is a secret"),
        "unexpected error: {stderr}"
    );

    // A chart-made Secret (development clusters) holds the values; nothing else does.
    let pii = "dGhpcyBpcyBub3QgYSByZWFsIGtleSBqdXN0IGEgdGVzdCE=";
    let output = charts.template(
        &["values-staging.yaml"],
        &[
            "--set",
            "user-service.secret.create=true",
            "--set-string",
            &format!("user-service.secret.data.USER__PII_KEY={pii}"),
            "--set-string",
            "user-service.secret.data.DATABASE_URL=postgres://user:hunter2@db:5432/tessera",
            "--set-string",
            "user-service.secret.data.REDIS_URL=rediss://redis:6379",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        !text.contains(pii) && !text.contains("hunter2"),
        "a secret value is rendered in clear"
    );
    let manifests = Manifests::parse(&text);
    // The Secret holds it in base64.
    let encoded = base64(pii.as_bytes());
    let holders: Vec<String> = manifests
        .docs
        .iter()
        .filter(|doc| serde_yaml::to_string(doc).unwrap().contains(&encoded))
        .map(|doc| {
            format!(
                "{}/{}",
                str_at(doc, &["kind"]).unwrap_or_default(),
                str_at(doc, &["metadata", "name"]).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        !holders.is_empty() && holders.iter().all(|h| h.starts_with("Secret/")),
        "the PII key must be in Secrets only, is in {holders:?}"
    );
    check_secrets_stay_secret(&manifests, false);
    // The migration hook reads a copy made as a hook too: the release's Secret comes after it.
    let job = manifests.get("Job", "user-service-migrate");
    let from = str_at(
        env(container(job, "migrate"), "USER__PII_KEY").expect("the PII key in the Job"),
        &["valueFrom", "secretKeyRef", "name"],
    )
    .expect("a secretKeyRef");
    let secret = manifests.get("Secret", from);
    assert!(
        str_at(secret, &["metadata", "annotations", "helm.sh/hook"])
            .is_some_and(|h| h.contains("pre-install")),
        "the migration Job's Secret {from} must exist before it (a pre-install hook)"
    );
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An accepted checkov finding, from charts/checkov-skips.yaml.
struct Skip {
    check: String,
    /// checkov's resource ids (Kind.namespace.name); empty: every resource.
    resources: Vec<String>,
}

/// charts/checkov-skips.yaml: `skips: [{check, resources (optional), reason}]`.
fn checkov_skips() -> Vec<Skip> {
    let file: Value =
        serde_yaml::from_str(&repo_file("charts/checkov-skips.yaml")).expect("checkov-skips.yaml");
    seq_at(&file, &["skips"])
        .iter()
        .map(|skip| {
            let check = str_at(skip, &["check"])
                .expect("a skip's check id")
                .to_string();
            assert!(
                str_at(skip, &["reason"]).is_some_and(|r| !r.trim().is_empty()),
                "charts/checkov-skips.yaml: {check} needs a reason"
            );
            let resources = seq_at(skip, &["resources"])
                .iter()
                .map(|r| r.as_str().expect("a resource id").to_string())
                .collect();
            Skip { check, resources }
        })
        .collect()
}

#[test]
fn checkov_finds_nothing_new_in_the_production_manifests() {
    let charts = Charts::build();
    let output = charts.template(&["values-production.yaml"], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifests = charts.dir.join("production.yaml");
    fs::write(&manifests, &output.stdout).expect("writing the manifests");

    let skips = checkov_skips();

    let run = tools::run(
        Command::new(tools::checkov())
            .arg("--file")
            .arg(&manifests)
            .args([
                "--framework",
                "kubernetes",
                "--output",
                "json",
                "--skip-download",
            ])
            .args(["--quiet", "--compact"])
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false"),
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON report ({e}, exit {}):\n{stdout}\n{}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        )
    });
    // One framework gives one report; be lenient about a list of them.
    let reports: Vec<&serde_json::Value> = match &report {
        serde_json::Value::Array(list) => list.iter().collect(),
        single => vec![single],
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    for report in reports {
        let results = &report["results"];
        passed += results["passed_checks"].as_array().map_or(0, Vec::len);
        failed.extend(
            results["failed_checks"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    // --quiet drops the passed checks from the report: count them from the summary instead.
    if passed == 0 {
        passed = report["summary"]["passed"].as_u64().unwrap_or(0) as usize;
    }
    assert!(
        passed > 100,
        "checkov passed only {passed} checks: did it read the manifests?\n{stdout}"
    );

    let mut used = vec![false; skips.len()];
    let mut new_findings = Vec::new();
    for finding in &failed {
        let check = finding["check_id"].as_str().unwrap_or_default();
        let resource = finding["resource"].as_str().unwrap_or_default();
        match skips.iter().position(|s| {
            s.check == check
                && (s.resources.is_empty() || s.resources.iter().any(|r| r == resource))
        }) {
            Some(i) => used[i] = true,
            None => new_findings.push(format!(
                "{check} {} on {resource}{}",
                finding["check_name"].as_str().unwrap_or_default(),
                finding["guideline"]
                    .as_str()
                    .map(|g| format!(" ({g})"))
                    .unwrap_or_default()
            )),
        }
    }
    assert!(
        new_findings.is_empty(),
        "checkov finds {} new problem(s) in the production manifests (fix them, or accept one in \
         charts/checkov-skips.yaml with its reason):\n  {}",
        new_findings.len(),
        new_findings.join("\n  ")
    );
    let stale: Vec<&str> = skips
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(s, _)| s.check.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "charts/checkov-skips.yaml accepts {stale:?}, which checkov no longer finds: remove them"
    );
}
