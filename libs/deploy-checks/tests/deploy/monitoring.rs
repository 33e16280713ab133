//! The Prometheus rules (`charts/tessera/files/prometheus`) and the Grafana dashboards
//! (`charts/tessera/files/grafana`): promtool checks the rules and runs their unit tests, and the
//! unit tests are shown to catch a broken rule; every alert and recording rule is unit-tested,
//! firing and staying quiet; every alert has a severity, a summary, a description and a runbook
//! in `docs/operations.md`; the dashboards are valid, with unique uids and the `datasource` and
//! `service` variables; and the rules and the dashboards only query the metrics the services
//! export ([`EXPORTED_METRICS`]), with their own labels.

use crate::exported_metrics::{ExportedMetric, EXPORTED_METRICS};
use crate::tools;
use serde_json::{json, Value as Json};
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What Prometheus itself records per target; `service` is a target label the scrape sets.
const PROMETHEUS_METRICS: &[ExportedMetric] = &[ExportedMetric {
    name: "up",
    kind: "gauge",
    labels: &["service", "instance", "job"],
}];

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// Where every alert's `runbook_url` points, followed by `#<anchor>`.
const RUNBOOK_BASE: &str =
    "https://github.com/tessera-loyalty/tessera/blob/main/docs/operations.md";

const SEVERITIES: &[&str] = &["critical", "warning"];

// ---------------------------------------------------------------------------------------------
// Files

fn prometheus_dir() -> PathBuf {
    tools::repo_root().join("charts/tessera/files/prometheus")
}

fn grafana_dir() -> PathBuf {
    tools::repo_root().join("charts/tessera/files/grafana")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// A directory of its own for one test's scratch files, emptied.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("monitoring-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn str_at<'a>(value: &'a Yaml, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Yaml::as_str)
}

fn string_map(value: Option<&Yaml>) -> BTreeMap<String, String> {
    value
        .and_then(Yaml::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Yaml::String(s) => s.clone(),
                        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                    };
                    (k.as_str().unwrap_or_default().to_owned(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One rule of `alerts.yaml`.
#[derive(Debug)]
struct Rule {
    group: String,
    record: Option<String>,
    alert: Option<String>,
    expr: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

impl Rule {
    fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("?")
    }
}

fn rules() -> Vec<Rule> {
    let path = prometheus_dir().join("alerts.yaml");
    let file = yaml(&path);
    let groups = file
        .get("groups")
        .and_then(Yaml::as_sequence)
        .unwrap_or_else(|| panic!("{} has no groups", path.display()));
    let mut rules = Vec::new();
    for group in groups {
        let name = str_at(group, "name").expect("a group's name").to_owned();
        for rule in group
            .get("rules")
            .and_then(Yaml::as_sequence)
            .unwrap_or_else(|| panic!("group {name} has no rules"))
        {
            rules.push(Rule {
                group: name.clone(),
                record: str_at(rule, "record").map(str::to_owned),
                alert: str_at(rule, "alert").map(str::to_owned),
                expr: match rule.get("expr") {
                    Some(Yaml::String(s)) => s.clone(),
                    Some(other) => serde_yaml::to_string(other).unwrap(),
                    None => panic!("a rule of group {name} has no expr"),
                },
                labels: string_map(rule.get("labels")),
                annotations: string_map(rule.get("annotations")),
            });
        }
    }
    assert!(!rules.is_empty(), "{} has no rules", path.display());
    rules
}

/// Every dashboard: file name and parsed JSON.
fn dashboards() -> Vec<(String, Json)> {
    let dir = grafana_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            (name, json)
        })
        .collect()
}

/// Every panel of a dashboard, those inside rows included.
fn panels(dashboard: &Json) -> Vec<&Json> {
    fn walk<'a>(list: Option<&'a Json>, out: &mut Vec<&'a Json>) {
        for panel in list.and_then(Json::as_array).into_iter().flatten() {
            out.push(panel);
            walk(panel.get("panels"), out);
        }
    }
    let mut out = Vec::new();
    walk(dashboard.get("panels"), &mut out);
    out
}

/// Every PromQL query of a dashboard: where it is, and the query. A query variable's
/// `label_values(<series>, <label>)` counts as the query `<series>`, and its label is checked as
/// a selector's would be (`<series>{<label>=""}`).
fn dashboard_queries(name: &str, dashboard: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        for target in panel
            .get("targets")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let expr = target
                .get("expr")
                .and_then(Json::as_str)
                .unwrap_or_default();
            out.push((
                format!(
                    "{name}, panel {:?} target {}",
                    panel["title"].as_str().unwrap_or("?"),
                    target["refId"].as_str().unwrap_or("?")
                ),
                expr.to_owned(),
            ));
        }
    }
    for variable in template_variables(dashboard) {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]
            .get("query")
            .or(Some(&variable["query"]))
            .and_then(Json::as_str)
            .unwrap_or_default();
        let place = format!("{name}, variable {}", variable["name"]);
        match query
            .trim()
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
        {
            Some(args) => {
                let (series, label) = args.rsplit_once(',').unwrap_or(("", args));
                let series = series.trim();
                let label = label.trim();
                let selector = match series.strip_suffix('}') {
                    Some(open) if open.trim_end().ends_with('{') => format!("{open}{label}=\"\"}}"),
                    Some(matchers) => format!("{matchers}, {label}=\"\"}}"),
                    None => format!("{series}{{{label}=\"\"}}"),
                };
                out.push((place, selector));
            }
            None => out.push((place, query.to_owned())),
        }
    }
    out
}

fn template_variables(dashboard: &Json) -> Vec<&Json> {
    dashboard["templating"]["list"]
        .as_array()
        .map(|list| list.iter().collect())
        .unwrap_or_default()
}

/// The anchors GitHub gives the headings of a Markdown file: lower case, spaces to hyphens,
/// punctuation other than `-` and `_` dropped, `-1`, `-2`, ... after repeats.
fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if in_code || hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let slug: String = line[hashes..]
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                '-' | '_' => Some(c),
                c if c.is_alphanumeric() => Some(c),
                _ => None,
            })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *count == 0 {
            slug.clone()
        } else {
            format!("{slug}-{count}")
        });
        *count += 1;
    }
    anchors
}

/// The text of a Markdown section, from its `## title` heading to the next `## ` heading.
fn section<'a>(markdown: &'a str, title: &str) -> Option<&'a str> {
    let heading = format!("## {title}\n");
    let start = if markdown.starts_with(&heading) {
        0
    } else {
        markdown.find(&format!("\n{heading}"))? + 1
    };
    let body = &markdown[start + heading.len()..];
    Some(match body.find("\n## ") {
        Some(end) => &body[..end],
        None => body,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading PromQL: the series an expression selects and the labels it names.

/// What an expression refers to.
#[derive(Debug, Default, PartialEq)]
struct Names {
    /// Every series name selected, with the label names its matchers use.
    selectors: BTreeMap<String, BTreeSet<String>>,
    /// The labels of `by`, `without`, `on`, `ignoring`, `group_left` and `group_right` lists.
    grouping: BTreeSet<String>,
}

/// Aggregations, operators and keywords: words that are not series names even when no `(`
/// follows them.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "atan2",
    "inf",
    "nan",
];

const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The series names and label names of a PromQL expression (Grafana's `$variables` allowed).
/// Not a full parser: promtool checks the syntax; this finds the names.
fn scan(expr: &str) -> Result<Names, String> {
    let c: Vec<char> = expr.chars().collect();
    let mut names = Names::default();
    let mut last_series: Option<String> = None;
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let skip_string = |i: usize| -> Result<usize, String> {
        let quote = c[i];
        let mut j = i + 1;
        while j < c.len() && c[j] != quote {
            j += if c[j] == '\\' && quote != '`' { 2 } else { 1 };
        }
        if j >= c.len() {
            return Err(format!("unterminated string in {expr:?}"));
        }
        Ok(j + 1)
    };
    let skip_past = |i: usize, close: char| -> Result<usize, String> {
        c[i..]
            .iter()
            .position(|&x| x == close)
            .map(|p| i + p + 1)
            .ok_or_else(|| format!("no {close:?} closes {:?} in {expr:?}", c[i]))
    };
    let word_at = |i: usize| -> (String, usize) {
        let mut j = i;
        while j < c.len() && is_ident(c[j]) {
            j += 1;
        }
        (c[i..j].iter().collect(), j)
    };
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch == '{' {
            let series = last_series
                .take()
                .ok_or_else(|| format!("a selector without a series name in {expr:?}"))?;
            let labels = names.selectors.entry(series).or_default();
            let mut j = i + 1;
            let mut expect_label = true;
            loop {
                j = skip_ws(j);
                match c.get(j) {
                    None => return Err(format!("no '}}' closes a selector in {expr:?}")),
                    Some('}') => break,
                    Some(',') => {
                        expect_label = true;
                        j += 1;
                    }
                    Some('"' | '\'' | '`') => j = skip_string(j)?,
                    Some(&x) if is_ident_start(x) && expect_label => {
                        let (label, next) = word_at(j);
                        labels.insert(label);
                        expect_label = false;
                        j = next;
                    }
                    Some(_) => j += 1,
                }
            }
            i = j + 1;
            continue;
        }
        last_series = None;
        match ch {
            '"' | '\'' | '`' => i = skip_string(i)?,
            '[' => i = skip_past(i, ']')?,
            '$' => {
                i += 1;
                if c.get(i) == Some(&'{') {
                    i = skip_past(i, '}')?;
                } else {
                    while i < c.len() && is_ident(c[i]) {
                        i += 1;
                    }
                }
            }
            '0'..='9' | '.' => {
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.' || c[i] == '_') {
                    i += 1;
                }
            }
            ch if is_ident_start(ch) => {
                let (word, next) = word_at(i);
                i = next;
                let after = skip_ws(i);
                let paren = c.get(after) == Some(&'(');
                if GROUPING.contains(&word.as_str()) {
                    if paren {
                        let close = skip_past(after, ')')?;
                        let list: String = c[after + 1..close - 1].iter().collect();
                        for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                            if !label.chars().all(is_ident) {
                                return Err(format!("{label:?} is not a label name in {expr:?}"));
                            }
                            names.grouping.insert(label.to_owned());
                        }
                        i = close;
                    }
                } else if !paren && !KEYWORDS.contains(&word.as_str()) {
                    names.selectors.entry(word.clone()).or_default();
                    last_series = Some(word);
                }
            }
            _ => i += 1,
        }
    }
    Ok(names)
}

/// The labels a series name may be selected on, when it is one the services export (a
/// histogram's `_bucket`, `_count` or `_sum`), one Prometheus records, or one of the recording
/// rules (`records`: name → the labels the rule keeps).
fn series_labels(
    name: &str,
    records: &BTreeMap<String, BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    if let Some(labels) = records.get(name) {
        return Some(labels.clone());
    }
    let own = |labels: &[&str], extra: &[&str]| {
        labels
            .iter()
            .chain(extra)
            .chain(TARGET_LABELS)
            .map(|l| l.to_string())
            .collect()
    };
    for metric in EXPORTED_METRICS.iter().chain(PROMETHEUS_METRICS) {
        if metric.kind == "histogram" {
            let Some(suffix) = name.strip_prefix(metric.name) else {
                continue;
            };
            match suffix {
                "_bucket" => return Some(own(metric.labels, &["le"])),
                "_count" | "_sum" => return Some(own(metric.labels, &[])),
                _ => {}
            }
        } else if name == metric.name {
            return Some(own(metric.labels, &[]));
        }
    }
    None
}

/// Every label name any series has (grouping lists may only name these).
fn all_labels(records: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    EXPORTED_METRICS
        .iter()
        .chain(PROMETHEUS_METRICS)
        .flat_map(|m| m.labels.iter().copied())
        .chain(TARGET_LABELS.iter().copied())
        .chain(["le"])
        .map(str::to_owned)
        .chain(records.values().flatten().cloned())
        .collect()
}

/// What is wrong with the names an expression uses.
fn name_problems(
    place: &str,
    expr: &str,
    records: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let names = match scan(expr) {
        Ok(names) => names,
        Err(e) => return vec![format!("{place}: {e}")],
    };
    let mut problems = Vec::new();
    if names.selectors.is_empty() {
        problems.push(format!("{place}: selects no series: {expr:?}"));
    }
    for (series, matched) in &names.selectors {
        match series_labels(series, records) {
            None if series.contains(':') => problems.push(format!(
                "{place}: {series} is not a recording rule of alerts.yaml"
            )),
            None => problems.push(format!(
                "{place}: {series} is not a metric the services export (EXPORTED_METRICS)"
            )),
            Some(known) => {
                for label in matched.difference(&known) {
                    problems.push(format!("{place}: {series} has no label {label:?}"));
                }
            }
        }
    }
    let known = all_labels(records);
    for label in names.grouping.difference(&known) {
        problems.push(format!("{place}: no series has the label {label:?}"));
    }
    problems
}

/// Each recording rule's name, with the labels its series keep (its grouping labels).
fn recorded(rules: &[Rule]) -> BTreeMap<String, BTreeSet<String>> {
    rules
        .iter()
        .filter_map(|rule| {
            let record = rule.record.clone()?;
            let grouping = scan(&rule.expr).map(|n| n.grouping).unwrap_or_default();
            Some((record, grouping.into_iter().filter(|l| l != "le").collect()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// promtool

fn promtool_in(dir: &Path, args: &[&str]) -> std::process::Output {
    tools::run(Command::new(tools::promtool()).current_dir(dir).args(args))
}

#[test]
fn promtool_accepts_the_rules() {
    let out = tools::run_ok(
        Command::new(tools::promtool())
            .current_dir(prometheus_dir())
            .args(["check", "rules", "alerts.yaml"]),
    );
    assert!(out.contains("SUCCESS"), "promtool check rules said:\n{out}");
}

#[test]
fn rule_unit_tests_pass() {
    let out = tools::run_ok(
        Command::new(tools::promtool())
            .current_dir(prometheus_dir())
            .args(["test", "rules", "alerts.test.yaml"]),
    );
    assert!(out.contains("SUCCESS"), "promtool test rules said:\n{out}");
}

/// The unit tests notice a broken rule: each of these changes to alerts.yaml must make them
/// fail.
#[test]
fn rule_unit_tests_catch_broken_rules() {
    let source = read(&prometheus_dir().join("alerts.yaml"));
    let tests = read(&prometheus_dir().join("alerts.test.yaml"));
    let breakages: &[(&str, &str, &str)] = &[
        (
            "a higher 5xx threshold",
            "service:http_request_errors:ratio_rate5m > 0.02",
            "service:http_request_errors:ratio_rate5m > 0.2",
        ),
        (
            "no minimum traffic for the 5xx ratio",
            "and on (service) service:http_requests:rate5m > 0.05\n        for: 5m\n        labels:\n          severity: warning",
            "and on (service) service:http_requests:rate5m > 0\n        for: 5m\n        labels:\n          severity: warning",
        ),
        (
            "latency from the wrong quantile",
            "histogram_quantile(0.95, sum by (service, le)",
            "histogram_quantile(0.5, sum by (service, le)",
        ),
        (
            "a later outbox alert",
            "(outbox_oldest_pending_age_seconds) > 60\n",
            "(outbox_oldest_pending_age_seconds) > 600\n",
        ),
        (
            "dead letters missed on a new counter",
            "events_consumed_total{outcome=\"dead_lettered\"} offset 10m",
            "events_consumed_total{outcome=\"dead_lettered\"} offset 1m",
        ),
        (
            "Redis down as critical",
            "dependency_up{dependency!=\"redis\"} == 0",
            "dependency_up == 0",
        ),
        (
            "the db pool alert without its delay",
            "service:db_pool_utilization:max > 0.9\n        for: 10m",
            "service:db_pool_utilization:max > 0.9\n        for: 0m",
        ),
        (
            "a service lost from the down alert",
            "          or absent(up{service=\"payment\"})\n",
            "",
        ),
    ];
    let dir = scratch("broken-rules");
    std::fs::write(dir.join("alerts.test.yaml"), &tests).unwrap();
    for (what, from, to) in breakages {
        assert_eq!(
            source.matches(from).count(),
            1,
            "alerts.yaml changed: update the breakage {what:?} of this test ({from:?} not found once)"
        );
        std::fs::write(dir.join("alerts.yaml"), source.replacen(from, to, 1)).unwrap();
        let check = promtool_in(&dir, &["check", "rules", "alerts.yaml"]);
        assert!(
            check.status.success(),
            "the breakage {what:?} makes alerts.yaml invalid rather than wrong:\n{}",
            String::from_utf8_lossy(&check.stdout)
        );
        let out = promtool_in(&dir, &["test", "rules", "alerts.test.yaml"]);
        assert!(
            !out.status.success(),
            "the rule unit tests pass with {what} ({from:?} -> {to:?}): they do not test it"
        );
    }
}

/// promtool parses every dashboard query (Grafana's variables replaced by plausible values).
#[test]
fn promtool_parses_the_dashboard_queries() {
    let mut rules = Vec::new();
    let mut places = Vec::new();
    for (name, dashboard) in dashboards() {
        for (place, expr) in dashboard_queries(&name, &dashboard) {
            let record = format!("dashboard_query_{}", rules.len() + 1);
            rules.push(json!({"record": record, "expr": substitute_variables(&expr)}));
            places.push(format!("{record}: {place}"));
        }
    }
    let file = json!({"groups": [{"name": "dashboards", "rules": rules}]});
    let dir = scratch("dashboard-queries");
    std::fs::write(
        dir.join("queries.yaml"),
        serde_yaml::to_string(&file).unwrap(),
    )
    .unwrap();
    let out = promtool_in(&dir, &["check", "rules", "queries.yaml"]);
    assert!(
        out.status.success(),
        "promtool rejects dashboard queries:\n{}{}\nqueries:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        places.join("\n")
    );
}

/// Grafana's `$__rate_interval`, `$__range`, ... become `5m`, other variables `user`.
fn substitute_variables(expr: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap_or(braced.len());
            (
                braced[..end].split(':').next().unwrap_or_default(),
                &braced[(end + 1).min(braced.len())..],
            )
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push_str(if name.starts_with("__") { "5m" } else { "user" });
        rest = tail;
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// The rules

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook() {
    let docs = read(&tools::repo_root().join("docs/operations.md"));
    let anchors = heading_anchors(&docs);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let rules = rules();
    for rule in rules.iter().filter(|r| r.alert.is_some()) {
        let alert = rule.name();
        let at = format!("{alert} (group {})", rule.group);
        if !alert.starts_with("Tessera") || !alert.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(format!("{at}: name it Tessera<CamelCase>"));
        }
        let severity = rule.labels.get("severity").map(String::as_str);
        match severity {
            Some(s) if SEVERITIES.contains(&s) => {}
            other => problems.push(format!(
                "{at}: severity {other:?}, not one of {SEVERITIES:?}"
            )),
        }
        if !seen.insert((alert.to_owned(), severity.map(str::to_owned))) {
            problems.push(format!("{at}: two rules with the same name and severity"));
        }
        for annotation in ["summary", "description"] {
            match rule.annotations.get(annotation) {
                None => problems.push(format!("{at}: no {annotation}")),
                Some(text) if !text.contains("{{ $labels.service }}") => problems.push(format!(
                    "{at}: the {annotation} does not name the service ({{{{ $labels.service }}}})"
                )),
                Some(_) => {}
            }
        }
        match rule.annotations.get("runbook_url") {
            None => problems.push(format!("{at}: no runbook_url")),
            Some(url) => match url
                .strip_prefix(RUNBOOK_BASE)
                .and_then(|r| r.strip_prefix('#'))
            {
                None => problems.push(format!("{at}: runbook_url {url} is not {RUNBOOK_BASE}#...")),
                Some(anchor) if !anchors.contains(anchor) => problems.push(format!(
                    "{at}: runbook_url's anchor #{anchor} is no heading of docs/operations.md"
                )),
                Some(_) => {}
            },
        }
    }
    for rule in rules.iter().filter(|r| r.record.is_some()) {
        let record = rule.name();
        if record.split(':').count() != 3 {
            problems.push(format!(
                "recording rule {record}: name it level:metric:operations"
            ));
        }
        if rule.alert.is_some() {
            problems.push(format!("{record}: both record and alert"));
        }
    }
    assert!(problems.is_empty(), "alerts.yaml:\n{}", problems.join("\n"));
}

/// Each alert (at each severity) has a unit test where it fires, with its labels and
/// annotations, and one where it must not; each recording rule is evaluated by a test.
#[test]
fn every_rule_is_unit_tested() {
    let rules = rules();
    let path = prometheus_dir().join("alerts.test.yaml");
    let file = yaml(&path);
    let rule_files: Vec<&str> = file["rule_files"]
        .as_sequence()
        .map(|s| s.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default();
    assert_eq!(rule_files, ["alerts.yaml"], "alerts.test.yaml's rule_files");

    let mut fired: BTreeSet<(String, String)> = BTreeSet::new();
    let mut quiet: BTreeSet<String> = BTreeSet::new();
    let mut evaluated: BTreeSet<String> = BTreeSet::new();
    let mut problems = Vec::new();
    for test in file["tests"]
        .as_sequence()
        .expect("tests in alerts.test.yaml")
    {
        let test_name = str_at(test, "name").unwrap_or("?");
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let alert = str_at(case, "alertname").unwrap_or_default().to_owned();
            let expected = case["exp_alerts"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            if expected.is_empty() {
                quiet.insert(alert.clone());
            }
            for exp in expected {
                let labels = string_map(exp.get("exp_labels"));
                let annotations = string_map(exp.get("exp_annotations"));
                if !labels.contains_key("service") {
                    problems.push(format!("{test_name}: an expected {alert} has no service"));
                }
                if annotations.is_empty() {
                    problems.push(format!(
                        "{test_name}: an expected {alert} has no annotations"
                    ));
                }
                if let Some(severity) = labels.get("severity") {
                    fired.insert((alert.clone(), severity.clone()));
                }
            }
        }
        for case in test["promql_expr_test"].as_sequence().into_iter().flatten() {
            if let Ok(names) = scan(str_at(case, "expr").unwrap_or_default()) {
                evaluated.extend(names.selectors.into_keys());
            }
        }
    }
    for rule in &rules {
        if let Some(alert) = &rule.alert {
            let severity = rule.labels.get("severity").cloned().unwrap_or_default();
            if !fired.contains(&(alert.clone(), severity.clone())) {
                problems.push(format!(
                    "no test where {alert} fires at severity {severity}"
                ));
            }
            if !quiet.contains(alert) {
                problems.push(format!("no test where {alert} must not fire"));
            }
        }
        if let Some(record) = &rule.record {
            if !evaluated.contains(record) {
                problems.push(format!("no promql_expr_test evaluates {record}"));
            }
        }
    }
    let alerts: BTreeSet<&String> = rules.iter().filter_map(|r| r.alert.as_ref()).collect();
    for (alert, _) in &fired {
        if !alerts.contains(alert) {
            problems.push(format!(
                "alerts.test.yaml expects {alert}, which alerts.yaml lacks"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "alerts.test.yaml:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The dashboards

#[test]
fn dashboards_are_valid_with_unique_uids_and_the_variables() {
    let mut uids = BTreeMap::new();
    let mut titles = BTreeSet::new();
    let mut problems = Vec::new();
    for (name, dashboard) in dashboards() {
        let uid = dashboard["uid"].as_str().unwrap_or_default();
        if uid.is_empty()
            || uid.len() > 40
            || !uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(format!(
                "{name}: uid {uid:?} (1 to 40 letters, digits, - or _)"
            ));
        }
        if let Some(other) = uids.insert(uid.to_owned(), name.clone()) {
            problems.push(format!("{name}: uid {uid:?} is also {other}'s"));
        }
        let title = dashboard["title"].as_str().unwrap_or_default();
        if title.is_empty() || !titles.insert(title.to_owned()) {
            problems.push(format!(
                "{name}: no title, or another dashboard's ({title:?})"
            ));
        }
        match dashboard["schemaVersion"].as_u64() {
            Some(v) if (36..=41).contains(&v) => {}
            other => problems.push(format!("{name}: schemaVersion {other:?}, not 36 to 41")),
        }
        if !dashboard["id"].is_null() {
            problems.push(format!("{name}: id must be null (Grafana assigns it)"));
        }

        let variables = template_variables(&dashboard);
        let variable = |n: &str| variables.iter().find(|v| v["name"] == n);
        match variable("datasource") {
            Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
            _ => problems.push(format!(
                "{name}: no `datasource` variable of type datasource for prometheus"
            )),
        }
        match variable("service") {
            Some(v) if v["type"] == "query" && v["datasource"]["uid"] == "${datasource}" => {}
            _ => problems.push(format!(
                "{name}: no `service` query variable on ${{datasource}}"
            )),
        }

        let mut ids = BTreeSet::new();
        let mut queries = 0;
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or("?");
            match panel["id"].as_u64() {
                Some(id) if ids.insert(id) => {}
                other => problems.push(format!(
                    "{name}: panel {title:?} id {other:?} missing or repeated"
                )),
            }
            for key in ["x", "y", "w", "h"] {
                if !panel["gridPos"][key].is_u64() {
                    problems.push(format!("{name}: panel {title:?} has no gridPos.{key}"));
                }
            }
            if panel["type"] == "row" {
                continue;
            }
            if panel["datasource"]["uid"] != "${datasource}" {
                problems.push(format!(
                    "{name}: panel {title:?} does not use ${{datasource}}"
                ));
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{name}: panel {title:?} has no query"));
            }
            for target in targets {
                queries += 1;
                if target["datasource"]["uid"] != "${datasource}" {
                    problems.push(format!(
                        "{name}: a query of {title:?} does not use ${{datasource}}"
                    ));
                }
                if target["expr"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .is_empty()
                {
                    problems.push(format!("{name}: a query of {title:?} is empty"));
                }
            }
        }
        if queries == 0 {
            problems.push(format!("{name}: no queries"));
        }
    }
    assert!(problems.is_empty(), "dashboards:\n{}", problems.join("\n"));
}

/// The alerts and the dashboards query only [`EXPORTED_METRICS`], `up` and the recording rules,
/// on labels those series have; and every exported metric is on a dashboard.
#[test]
fn rules_and_dashboards_use_only_the_exported_metrics() {
    let rules = rules();
    let records = recorded(&rules);
    let mut problems = Vec::new();
    for rule in &rules {
        problems.extend(name_problems(
            &format!("alerts.yaml, {} (group {})", rule.name(), rule.group),
            &rule.expr,
            &records,
        ));
    }
    let mut on_dashboards = BTreeSet::new();
    for (name, dashboard) in dashboards() {
        for (place, expr) in dashboard_queries(&name, &dashboard) {
            problems.extend(name_problems(&place, &expr, &records));
            if let Ok(names) = scan(&expr) {
                on_dashboards.extend(names.selectors.into_keys());
            }
        }
    }
    for metric in EXPORTED_METRICS {
        let shown = on_dashboards.iter().any(|series| {
            series == metric.name
                || (metric.kind == "histogram"
                    && series
                        .strip_prefix(metric.name)
                        .is_some_and(|s| ["_bucket", "_count", "_sum"].contains(&s)))
        });
        if !shown {
            problems.push(format!("{} is on no dashboard", metric.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// docs/operations.md's "Metrics and alerts" lists every metric and has a heading per alert.
#[test]
fn the_operations_guide_lists_the_metrics_and_the_alerts() {
    let docs = read(&tools::repo_root().join("docs/operations.md"));
    let section = section(&docs, "Metrics and alerts")
        .expect("docs/operations.md has a \"## Metrics and alerts\" section");
    let mut problems = Vec::new();
    for metric in EXPORTED_METRICS {
        if !section.contains(&format!("`{}", metric.name)) {
            problems.push(format!("the metric {} is not listed", metric.name));
        }
    }
    let headings = heading_anchors(section);
    for rule in rules() {
        if let Some(alert) = &rule.alert {
            if !headings.contains(&alert.to_lowercase()) {
                problems.push(format!("no heading for the alert {alert}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/operations.md:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The checks' own helpers

#[test]
fn scan_finds_series_and_labels() {
    let names = scan(
        r#"sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service", route!="a}b"}[$__rate_interval]))
           / ignoring (state) db_pool_max_connections offset 10m > 0.5
           and on(service) service:http_requests:rate5m > bool 1e3
           or absent(up{job="x"}) * max without (instance) (jobs_dead)"#,
    )
    .unwrap();
    let selectors: Vec<(&str, Vec<&str>)> = names
        .selectors
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        selectors,
        [
            ("db_pool_max_connections", vec![]),
            (
                "http_request_duration_seconds_bucket",
                vec!["route", "service"]
            ),
            ("jobs_dead", vec![]),
            ("service:http_requests:rate5m", vec![]),
            ("up", vec!["job"]),
        ]
    );
    assert_eq!(
        names
            .grouping
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["instance", "le", "service", "state"]
    );
    assert!(scan(r#"foo{bar="x""#).is_err());
    assert!(scan(r#"{__name__="foo"}"#).is_err());
}

#[test]
fn name_checks_reject_unknown_series_and_labels() {
    let records: BTreeMap<String, BTreeSet<String>> =
        [("service:x:rate5m".to_owned(), ["service".to_owned()].into())].into();
    let ok = |expr: &str| name_problems("t", expr, &records);
    assert_eq!(
        ok(r#"sum by (service, le) (rate(psp_request_duration_seconds_bucket{psp="stripe"}[5m]))"#),
        Vec::<String>::new()
    );
    assert_eq!(
        ok(r#"service:x:rate5m{service="user"} > 0 and up{instance="a"} == 0"#),
        Vec::<String>::new()
    );
    for bad in [
        "rate(http_requests_totl[5m])",
        "http_request_duration_seconds",
        "rate(charges_total_bucket[5m])",
        r#"http_requests_total{status_code="500"}"#,
        r#"http_request_duration_seconds_count{le="1"}"#,
        "sum by (servce) (jobs_dead)",
        "service:y:rate5m",
        r#"service:x:rate5m{psp="a"}"#,
        "vector(1)",
    ] {
        assert!(!ok(bad).is_empty(), "{bad} should be refused");
    }
}

#[test]
fn heading_anchors_follow_github() {
    let anchors = heading_anchors(
        "# Operations\n## Metrics and alerts\n### TesseraJobsDead\n```sh\n# not a heading\n```\n\
         ## The `PII` key, again!\n## Metrics and alerts\n",
    );
    let anchors: Vec<&str> = anchors.iter().map(String::as_str).collect();
    assert_eq!(
        anchors,
        [
            "metrics-and-alerts",
            "metrics-and-alerts-1",
            "operations",
            "tesserajobsdead",
            "the-pii-key-again"
        ]
    );
    assert_eq!(
        substitute_variables(r#"rate(x{service=~"${service:regex}"}[$__rate_interval]) $y"#),
        r#"rate(x{service=~"user"}[5m]) user"#
    );
}
