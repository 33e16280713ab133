//! What is deployed is checked here, with the tools an operator runs: the Helm charts (`helm lint`,
//! `helm template`, checkov on the rendered manifests), the Terraform modules (parsed with
//! python-hcl2, checkov), the container files (checkov) and the Prometheus rules (`promtool`,
//! with rule unit tests). `scripts/test` installs the tools and names them in `TESSERA_*`
//! variables ([`tools`]).

mod charts;
mod docker;
mod exported_metrics;
mod monitoring;
mod terraform;
mod tools;
