//! docs/configuration.md against the settings tables in the code: every setting of every service
//! is documented with its real default, and nothing documented is missing from the code.

use platform::config::{Default, Setting, COMMON};
use std::collections::BTreeMap;

/// The rows `| `key` | default | meaning |` of each `## ` section, by section title.
fn documented() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .expect("docs/configuration.md exists");
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            current = title.to_owned();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // ["", "`key`", "default", "meaning", ""]
        if cells.len() != 5 || !cells[1].starts_with('`') {
            continue;
        }
        let key = cells[1].trim_matches('`').to_owned();
        let default = cells[2].trim_matches('`').to_owned();
        assert!(!cells[3].is_empty(), "{key} in {current:?} has no meaning");
        sections
            .entry(current.clone())
            .or_default()
            .insert(key, default);
    }
    sections
}

fn in_code(table: &[Setting]) -> BTreeMap<String, String> {
    table
        .iter()
        .map(|setting| {
            let default = match setting.default {
                Default::Value(value) => value.to_owned(),
                Default::Required => "required".to_owned(),
                Default::Unset => "unset".to_owned(),
            };
            (setting.key.to_owned(), default)
        })
        .collect()
}

#[test]
fn every_setting_is_documented_with_its_default() {
    let docs = documented();
    let tables: [(&str, &[Setting]); 6] = [
        ("Every service", COMMON),
        (
            "user service (`USER__`)",
            user_service::configuration::SETTINGS,
        ),
        (
            "point service (`POINT__`)",
            point_service::configuration::SETTINGS,
        ),
        (
            "rewards service (`REWARDS__`)",
            rewards_service::configuration::SETTINGS,
        ),
        (
            "admin service (`ADMIN__`)",
            admin_service::configuration::SETTINGS,
        ),
        (
            "payment service (`PAYMENT__`)",
            payment_service::configuration::SETTINGS,
        ),
    ];
    for (section, table) in tables {
        let documented = docs
            .get(section)
            .unwrap_or_else(|| panic!("docs/configuration.md has no section {section:?}"));
        assert_eq!(documented, &in_code(table), "section {section:?}");
    }
}

#[test]
fn the_tables_alone_load_every_service() {
    // Each service's `Settings::new` loads from its table, so a field without a default (and
    // without `Option`) fails here rather than at someone's first start.
    let service = testkit_service_settings();
    user_service::Settings::new(service.clone(), "a-key".to_owned().into());
    point_service::Settings::new(service.clone());
    rewards_service::Settings::new(service.clone());
    admin_service::Settings::new(service.clone());
    payment_service::Settings::new(service, "http://127.0.0.1:1");
}

fn testkit_service_settings() -> platform::config::ServiceSettings {
    platform::config::ServiceSettings {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: "postgres://postgres@127.0.0.1:5432/postgres"
            .to_owned()
            .into(),
        database_schema: "any".into(),
        database_max_connections: 1,
        redis_url: "redis://127.0.0.1:6379".to_owned().into(),
        kafka_brokers: "127.0.0.1:9092".into(),
        kafka_create_topics: false,
        jwks_url: "http://127.0.0.1:1/jwks.json".into(),
        http_workers: 1,
        kafka_group_instance_id: None,
        trusted_proxies: platform::client_ip::TrustedProxies::default(),
    }
}
