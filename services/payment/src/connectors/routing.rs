//! Which PSP takes a charge: an ordered list of connectors per currency, the first one that is
//! reachable wins. Configured as `USD:paypal>stripe, *:stripe>paypal` (`*` is every other currency).

use super::Connector;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRules {
    by_currency: HashMap<String, Vec<String>>,
    fallback: Vec<String>,
}

impl RoutingRules {
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut by_currency = HashMap::new();
        let mut fallback = None;
        for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (currency, order) = rule
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("routing rule `{rule}` is not CURRENCY:psp>psp"))?;
            let order: Vec<String> = order
                .split('>')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect();
            anyhow::ensure!(!order.is_empty(), "routing rule `{rule}` names no PSP");
            match currency.trim() {
                "*" => fallback = Some(order),
                code if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    by_currency.insert(code.to_ascii_uppercase(), order);
                }
                other => anyhow::bail!("routing rule currency `{other}` is not a code or *"),
            }
        }
        Ok(Self {
            by_currency,
            fallback: fallback
                .ok_or_else(|| anyhow::anyhow!("routing needs a `*:` rule for other currencies"))?,
        })
    }

    /// PSP names to try for `currency`, in order.
    pub fn order_for(&self, currency: &str) -> &[String] {
        self.by_currency.get(currency).unwrap_or(&self.fallback)
    }

    fn names(&self) -> impl Iterator<Item = &String> {
        self.by_currency.values().flatten().chain(&self.fallback)
    }
}

/// Every configured connector, by name, and the routing between them.
pub struct Connectors {
    by_name: HashMap<&'static str, Arc<dyn Connector>>,
    rules: RoutingRules,
}

impl Connectors {
    /// Fails when a rule names a PSP that is not configured, so a typo stops the service at start.
    pub fn new(connectors: Vec<Arc<dyn Connector>>, rules: RoutingRules) -> anyhow::Result<Self> {
        let by_name: HashMap<_, _> = connectors.into_iter().map(|c| (c.name(), c)).collect();
        if let Some(unknown) = rules.names().find(|n| !by_name.contains_key(n.as_str())) {
            anyhow::bail!("routing names the PSP `{unknown}`, which is not configured");
        }
        Ok(Self { by_name, rules })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Connector>> {
        self.by_name.get(name)
    }

    /// The connectors to try for a charge in `currency`, first choice first.
    pub fn route(&self, currency: &str) -> Vec<&Arc<dyn Connector>> {
        self.rules
            .order_for(currency)
            .iter()
            .filter_map(|name| self.by_name.get(name.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_have_their_own_order_and_the_rest_fall_back() {
        let rules = RoutingRules::parse("usd:paypal>stripe, *:stripe>paypal").unwrap();
        assert_eq!(rules.order_for("USD"), ["paypal", "stripe"]);
        assert_eq!(rules.order_for("AUD"), ["stripe", "paypal"]);
    }

    #[test]
    fn malformed_rules_are_refused() {
        assert!(RoutingRules::parse("USD:paypal").is_err(), "no fallback");
        assert!(RoutingRules::parse("USD paypal, *:stripe").is_err());
        assert!(RoutingRules::parse("DOLLARS:paypal, *:stripe").is_err());
        assert!(RoutingRules::parse("*:").is_err());
    }
}
