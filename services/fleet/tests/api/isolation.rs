//! Isolation between businesses, walked over every route of every service's OpenAPI document:
//! staff, a partner client and a member of one demo business call each route with the ids of the
//! other business's store, member and client in the path and in a well-formed body. Every answer
//! must refuse (403, 404) or at most reject the body; an answer that succeeds must not mention
//! anything of the other business; and no row of the other business, in any table of any service,
//! may change.
//!
//! The demo business is also the retailer, and its points program is every member's: a member's
//! points are the demo business's, not the cafe's. So the cafe's member is the cafe's secret only
//! where it is the cafe's (its stamp cards), and the walk from the retailer to the cafe treats
//! member ids as no secret; the walk from the cafe to the retailer does.

use crate::helpers::*;
use fleet::demo_businesses::{self, DemoBusiness, DemoLogin};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What one business owns that the other must never reach.
struct Victim {
    business: Uuid,
    store: Uuid,
    member: Uuid,
    member_email: String,
    client: Uuid,
    /// Whether the member's own rows and id are this business's to keep.
    member_is_secret: bool,
    /// The member walking against this business: their own rows (an account of the demo
    /// program that every member has) are theirs to change.
    caller_member: Uuid,
}

impl Victim {
    fn ids(&self) -> Vec<String> {
        let mut ids = vec![
            self.business.to_string(),
            self.store.to_string(),
            self.client.to_string(),
        ];
        if self.member_is_secret {
            ids.extend([self.member.to_string(), self.member_email.clone()]);
        }
        ids
    }

    /// The value a path parameter or body field of this name takes: the victim's own where the
    /// name says whose it is, else an id nobody has.
    fn value_for(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let id = if name.contains("business") {
            self.business
        } else if name.contains("store") {
            self.store
        } else if name.contains("member") || name.contains("user") {
            self.member
        } else if name.contains("client") {
            self.client
        } else {
            return None;
        };
        Some(id.to_string())
    }
}

/// One caller of the other business.
struct Attacker {
    name: &'static str,
    token: String,
}

async fn login_token(app: &TestFleet, login: &DemoLogin) -> String {
    app.access_token(login.email, login.password).await
}

/// A partner client of the business `admin` works for, holding every scope.
async fn partner(app: &TestFleet, admin: &str) -> (Uuid, String) {
    let scopes: Vec<&str> = auth::scopes::ALL
        .iter()
        .copied()
        .filter(|s| *s != auth::scopes::RECONCILE)
        .collect();
    let (id, token) = app.partner_client(admin, &scopes).await;
    (id.parse().unwrap(), token)
}

/// A digest of every row of the victim, table by table, across every schema of the fleet's
/// database: the rows naming its business, and its member's rows where the member is its secret.
/// A digest, not a count, so an update shows as well as an insert.
async fn victim_rows(app: &TestFleet, victim: &Victim) -> BTreeMap<String, String> {
    let pool = app.infra.pool("public").await.unwrap();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_schema::text, c.table_name::text, c.column_name::text
           FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
          WHERE t.table_type = 'BASE TABLE'
            AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
            AND c.column_name IN ('business_id', 'member_id', 'user_id')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut filters: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (schema, table, column) in columns {
        let (victims, callers) = filters
            .entry(format!("\"{schema}\".\"{table}\""))
            .or_default();
        if column != "business_id" {
            callers.push(format!(
                "{column} IS DISTINCT FROM '{}'",
                victim.caller_member
            ));
        }
        match column.as_str() {
            "business_id" => victims.push(format!("business_id = '{}'", victim.business)),
            _ if victim.member_is_secret => victims.push(format!("{column} = '{}'", victim.member)),
            _ => {}
        }
    }
    let mut digests = BTreeMap::new();
    for (table, (victims, callers)) in filters {
        if victims.is_empty() {
            continue;
        }
        let own = if callers.is_empty() {
            "true".to_owned()
        } else {
            callers.join(" AND ")
        };
        let digest: Option<String> = sqlx::query_scalar(&format!(
            "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t
              WHERE ({}) AND {own}",
            victims.join(" OR ")
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        digests.insert(table, digest.unwrap_or_default());
    }
    digests
}

/// The victim's rows once the fleet has settled: the same over three seconds.
async fn settled_rows(app: &TestFleet, victim: &Victim) -> BTreeMap<String, String> {
    let mut last = victim_rows(app, victim).await;
    let mut quiet = 0;
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = victim_rows(app, victim).await;
        quiet = if now == last { quiet + 1 } else { 0 };
        if quiet == 6 {
            return now;
        }
        last = now;
    }
    panic!("the fleet never settled");
}

/// What changed between two digests of the victim's rows.
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    after
        .iter()
        .filter(|(table, digest)| before.get(*table) != Some(digest))
        .map(|(table, _)| table.clone())
        .collect()
}

/// An example of `schema` (resolved against the document's components) whose ids are the
/// victim's where the field's name says whose they are.
fn example(doc: &Value, schema: &Value, field: &str, victim: &Victim, depth: usize) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return example(
            doc,
            &doc["components"]["schemas"][name],
            field,
            victim,
            depth + 1,
        );
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[combinator]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["type"] != "null").or_else(|| s.first()))
        {
            return example(doc, first, field, victim, depth + 1);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .and_then(Value::as_str)
            .unwrap_or("string"),
        kind => kind.as_str().unwrap_or("object"),
    };
    match kind {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    object.insert(
                        name.clone(),
                        example(doc, property, name, victim, depth + 1),
                    );
                }
            }
            Value::Object(object)
        }
        "array" => json!([example(doc, &schema["items"], field, victim, depth + 1)]),
        "integer" | "number" => {
            let minimum = schema["minimum"].as_i64().unwrap_or(1).max(1);
            json!(minimum.min(schema["maximum"].as_i64().unwrap_or(i64::MAX)))
        }
        "boolean" => json!(true),
        _ => match schema["format"].as_str() {
            Some("uuid") => json!(victim
                .value_for(field)
                .unwrap_or_else(|| Uuid::now_v7().to_string())),
            Some("date-time") => json!("2026-12-01T00:00:00Z"),
            Some("date") => json!("2026-12-01"),
            _ if field.contains("email") => json!(victim.member_email),
            _ if field == "currency" => json!("AUD"),
            _ => json!(format!("isolation-{field}")),
        },
    }
}

/// The path with its parameters filled in: the victim's ids, or plausible values.
fn fill_path(path: &str, victim: &Victim) -> String {
    let mut filled = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        filled.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => filled.push_str(&victim.value_for(name).unwrap_or_else(|| match name {
                "provider" => "google".into(),
                "source" => "purchase".into(),
                _ => Uuid::now_v7().to_string(),
            })),
            None => filled.push_str(segment),
        }
    }
    filled
}

/// Walks every secured route of every service as every attacker; returns what went wrong.
async fn walk(app: &TestFleet, victim: &Victim, attackers: &[Attacker]) -> (usize, Vec<String>) {
    let urls = &app.fleet().urls;
    let services = [
        ("user", &urls.user),
        ("point", &urls.point),
        ("rewards", &urls.rewards),
        ("admin", &urls.admin),
        ("payment", &urls.payment),
    ];
    let secrets = victim.ids();
    let (mut calls, mut wrong) = (0, Vec::new());
    for (service, base) in services {
        let doc: Value = app
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().unwrap() {
                let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else {
                    continue;
                };
                let secured = operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
                if !secured {
                    continue;
                }
                let url = format!("{base}{}", fill_path(path, victim));
                let body = operation["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|schema| example(&doc, &Value::Object(schema.clone()), "", victim, 0));
                let path_names_victim = secrets.iter().any(|s| url.contains(s.as_str()));
                for attacker in attackers {
                    let mut request = app
                        .http
                        .request(method.clone(), &url)
                        .bearer_auth(&attacker.token)
                        .header("Idempotency-Key", Uuid::now_v7().to_string());
                    if let Some(body) = &body {
                        request = request.json(body);
                    }
                    let response = request.send().await.unwrap();
                    calls += 1;
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    // A member's own wallet names every business they hold a card at, and
                    // every business's reward catalog and published campaigns are open to
                    // every member (members belong to none), so the business a reward or a
                    // campaign belongs to is no secret from them.
                    let own_account = path.contains("/me");
                    let offers = (path.starts_with("/api/v1/rewards")
                        && !path.contains("/redemptions"))
                        || (path.starts_with("/api/v1/campaigns")
                            && !["/enrolments", "/progress", "/settlements"]
                                .iter()
                                .any(|private| path.contains(private)));
                    let open_catalog = attacker.name == "member" && method == Method::GET && offers;
                    let business = victim.business.to_string();
                    let leaked = secrets
                        .iter()
                        .filter(|s| !((own_account || open_catalog) && **s == business))
                        .find(|s| text.contains(s.as_str()));
                    // On the victim's resources only a refusal or a rejection of the body; on
                    // the caller's own (a wrong current password, say) any client error.
                    let refused_or_rejected = matches!(
                        status,
                        StatusCode::FORBIDDEN
                            | StatusCode::NOT_FOUND
                            | StatusCode::BAD_REQUEST
                            | StatusCode::UNPROCESSABLE_ENTITY
                    ) || (status.is_client_error() && !path_names_victim);
                    let verdict = if status.is_success() && path_names_victim {
                        Some("succeeded on the other business's resource")
                    } else if status.is_success() && leaked.is_some() {
                        Some("answered with the other business's data")
                    } else if !(status.is_success() || refused_or_rejected) {
                        Some("answered neither a refusal nor a rejection")
                    } else {
                        None
                    };
                    if let Some(verdict) = verdict {
                        wrong.push(format!(
                            "{service}: {method} {path} as {}: {status} {verdict}: {}",
                            attacker.name,
                            text.chars().take(300).collect::<String>()
                        ));
                    }
                }
            }
        }
    }
    (calls, wrong)
}

/// A business's callers: its admin, its cashier, its point-of-sale client with every scope,
/// and a member.
async fn callers_of(app: &TestFleet, business: &DemoBusiness, member: &Member) -> Vec<Attacker> {
    let admin = login_token(app, &business.logins[0]).await;
    let cashier = login_token(app, &business.logins[1]).await;
    let (_, partner) = partner(app, &admin).await;
    vec![
        Attacker {
            name: "admin",
            token: admin,
        },
        Attacker {
            name: "cashier",
            token: cashier,
        },
        Attacker {
            name: "partner",
            token: partner,
        },
        Attacker {
            name: "member",
            token: member.token.clone(),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_of_any_service_lets_one_business_reach_another() {
    // The test signs in from one address more often than the default limit allows a minute.
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    app.admin_token().await;
    let businesses = demo_businesses::seed(&app.edge)
        .await
        .expect("the demo businesses");
    let (cafe, retail) = (&businesses[0], &businesses[1]);

    // What each business owns: a member with points at the retailer, a partner client of each.
    let retail_admin = login_token(&app, &retail.logins[0]).await;
    let cafe_admin = login_token(&app, &cafe.logins[0]).await;
    let (retail_client, _) = partner(&app, &retail_admin).await;
    let (cafe_client, _) = partner(&app, &cafe_admin).await;
    let retail_member = app.member().await;
    let cafe_member = app.member().await;
    // The set-up's events reach every service before the walk: both members' accounts in the
    // demo program, every store in the point service.
    app.wait_for_points(&retail_member, 0).await;
    app.wait_for_points(&cafe_member, 0).await;
    let points = app.infra.pool(&app.fleet().point_schema).await.unwrap();
    testkit::eventually(std::time::Duration::from_secs(20), || async {
        let stores: i64 = sqlx::query_scalar("SELECT count(*) FROM stamp_stores")
            .fetch_one(&points)
            .await?;
        Ok((stores == 3).then_some(()))
    })
    .await
    .expect("the point service learns of the three stores");
    let retail_victim = Victim {
        business: retail.id,
        store: retail.stores[0].1,
        member: retail_member.id,
        member_email: retail_member.email.clone(),
        client: retail_client,
        member_is_secret: true,
        caller_member: cafe_member.id,
    };
    let cafe_victim = Victim {
        business: cafe.id,
        store: cafe.stores[0].1,
        member: cafe_member.id,
        member_email: cafe_member.email.clone(),
        client: cafe_client,
        member_is_secret: false,
        caller_member: retail_member.id,
    };
    // Each walk's member is the other business's member: members of one never reach another's.
    let cafe_callers = callers_of(&app, cafe, &cafe_member).await;
    let retail_callers = callers_of(&app, retail, &retail_member).await;

    // One direction at a time: what the retailer may do in its own program (erasing a member
    // of it, say) changes rows the first walk watches.
    let retail_before = settled_rows(&app, &retail_victim).await;
    let (calls_one, mut wrong) = walk(&app, &retail_victim, &cafe_callers).await;
    let mut written = changed(&retail_before, &settled_rows(&app, &retail_victim).await);
    let cafe_before = settled_rows(&app, &cafe_victim).await;
    let (calls_other, wrong_other) = walk(&app, &cafe_victim, &retail_callers).await;
    wrong.extend(wrong_other);
    written.extend(changed(
        &cafe_before,
        &settled_rows(&app, &cafe_victim).await,
    ));
    println!(
        "walked {} calls; {} wrong answers; the other business's rows changed in {} tables",
        calls_one + calls_other,
        wrong.len(),
        written.len()
    );
    assert!(calls_one > 100, "the walk covered only {calls_one} calls");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(written.is_empty(), "written: {}", written.join(", "));
    app.stop().await;
}
