//! The report: every scenario beside its baseline, the ratio, and the target it is held to.
//! Figures are reported, never asserted.

use crate::procstat::Idle;
use crate::stats::Summary;
use std::fmt::Write;

/// What a figure is held to.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Throughput at least `min` times the baseline's, p99 at most `max_p99` times its p99.
    Ratio { min: f64, max_p99: Option<f64> },
    /// p99 under `ms` at a sustained `rate` a second.
    P99Under { ms: f64, rate: f64 },
    /// At least `min` a second.
    Throughput { min: f64 },
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Ratio { min, max_p99: None } => format!("≥{min}x req/s"),
            Target::Ratio {
                min,
                max_p99: Some(p),
            } => format!("≥{min}x req/s, p99 ≤{p}x"),
            Target::P99Under { ms, rate } => format!("p99 <{ms} ms at {rate}/s"),
            Target::Throughput { min } => format!("≥{min}/s"),
        }
    }

    fn met(&self, row: &Summary, baseline: Option<&Summary>) -> Option<bool> {
        if row.errors > 0 {
            return Some(false);
        }
        match (self, baseline) {
            (Target::Ratio { min, max_p99 }, Some(b)) if b.throughput > 0.0 => Some(
                row.throughput / b.throughput >= *min
                    && max_p99.is_none_or(|p| row.p99_ms <= p * b.p99_ms),
            ),
            (Target::P99Under { ms, rate }, _) => {
                Some(row.p99_ms < *ms && row.throughput >= rate * 0.95)
            }
            (Target::Throughput { min }, _) => Some(row.throughput >= *min),
            _ => None,
        }
    }
}

pub struct Row {
    pub summary: Summary,
    /// `32 conns`, `200/s`, ...
    pub load: String,
    pub baseline: Option<Summary>,
    pub target: Option<Target>,
}

#[derive(Default)]
pub struct Report {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
    pub idle: Vec<(Idle, &'static str)>,
    pub seeding: Vec<Summary>,
}

fn num(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

impl Report {
    pub fn row(&mut self, summary: Summary, load: String) {
        self.rows.push(Row {
            summary,
            load,
            baseline: None,
            target: None,
        });
    }

    pub fn compared(
        &mut self,
        summary: Summary,
        load: String,
        baseline: &Summary,
        target: Option<Target>,
    ) {
        self.rows.push(Row {
            summary,
            load,
            baseline: Some(baseline.clone()),
            target,
        });
    }

    /// Every scenario with errors, for the smoke test.
    pub fn errors(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.summary.errors > 0 || r.summary.ok == 0)
            .map(|r| {
                format!(
                    "{}: {} ok, {} errors, first: {}",
                    r.summary.name,
                    r.summary.ok,
                    r.summary.errors,
                    r.summary.first_error.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", self.title);
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        let _ = writeln!(
            out,
            "\n| scenario | load | ok | errors | req/s | p50 ms | p99 ms | baseline | baseline req/s | baseline p99 ms | x req/s | x p99 | target | met |"
        );
        let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |");
        for row in &self.rows {
            let s = &row.summary;
            let (bname, bthr, bp99, xthr, xp99) = match &row.baseline {
                Some(b) => (
                    b.name.clone(),
                    num(b.throughput),
                    num(b.p99_ms),
                    format!("{:.2}", s.throughput / b.throughput.max(1e-9)),
                    format!("{:.2}", s.p99_ms / b.p99_ms.max(1e-9)),
                ),
                None => ("".into(), "".into(), "".into(), "".into(), "".into()),
            };
            let target = row.target.map(|t| t.describe()).unwrap_or_default();
            let met = match row.target.and_then(|t| t.met(s, row.baseline.as_ref())) {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {bname} | {bthr} | {bp99} | {xthr} | {xp99} | {target} | {met} |",
                s.name, row.load, s.ok, s.errors, num(s.throughput), num(s.p50_ms), num(s.p99_ms)
            );
        }
        let flow: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.summary.name.contains("->"))
            .collect();
        if !flow.is_empty() {
            let _ = writeln!(
                out,
                "\n| charge -> points visible | charges/s | p50 ms | p99 ms | max ms | not seen |"
            );
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for row in flow {
                let s = &row.summary;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    row.load,
                    num(s.throughput),
                    num(s.p50_ms),
                    num(s.p99_ms),
                    num(s.max_ms),
                    s.errors
                );
            }
        }
        if !self.idle.is_empty() {
            let _ = writeln!(out, "\n| at rest | CPU, % of a core | RSS MB | target |");
            let _ = writeln!(out, "| --- | ---: | ---: | --- |");
            for (idle, target) in &self.idle {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {target} |",
                    idle.name,
                    num(idle.cpu_percent),
                    num(idle.rss_mb)
                );
            }
        }
        if !self.seeding.is_empty() {
            let _ = writeln!(out, "\n| seeding | items | seconds | per second |");
            let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
            for s in &self.seeding {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    s.name,
                    s.ok,
                    num(s.elapsed.as_secs_f64()),
                    num(s.throughput)
                );
            }
        }
        let errors = self.errors();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nErrors:\n");
            for e in errors {
                let _ = writeln!(out, "- {e}");
            }
        }
        out
    }
}
