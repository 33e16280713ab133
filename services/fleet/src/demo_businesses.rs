//! The demo businesses of local runs, set up through the edge as a platform operator and the
//! businesses' own admins would: a cafe chain with a stamp card at two stores, and a retailer
//! (the demo business, which holds the points program with its tiers) with one store. Each gets
//! an admin and a cashier. Running it again finds what an earlier run created and adds only what
//! is missing.

use crate::demo_shop::login;
use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

/// The platform operator the seed signs in as (`user_service::seed::DEMO_ACCOUNTS`).
const OPERATOR: (&str, &str) = ("superadmin@example.com", "demo-superadmin-password");
const CAFE_SLUG: &str = "harbour-cafe";
const CAFE_STORES: [&str; 2] = ["Harbour Cafe Quay", "Harbour Cafe Wharf"];
const RETAIL_STORE: &str = "Demo Retail Flagship";
const STAMP_PROGRAM: &str = "Coffee card";

/// A staff login a demo business was given.
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub struct DemoBusiness {
    pub id: Uuid,
    pub name: String,
    /// Its stores: name and id.
    pub stores: Vec<(String, Uuid)>,
    /// What its program runs: "stamp card ..." or "points and tiers".
    pub program: String,
    pub logins: Vec<DemoLogin>,
}

pub const CAFE_LOGINS: [DemoLogin; 2] = [
    DemoLogin {
        role: "admin",
        email: "admin@harbour-cafe.example",
        password: "demo-cafe-admin-password",
    },
    DemoLogin {
        role: "cashier",
        email: "cashier@harbour-cafe.example",
        password: "demo-cafe-cashier-password",
    },
];
/// The retailer's admin is the demo business's own (`admin@example.com`); this is its cashier.
pub const RETAIL_CASHIER: DemoLogin = DemoLogin {
    role: "cashier",
    email: "cashier@example.com",
    password: "demo-cashier-password",
};

struct Api {
    http: reqwest::Client,
    edge: String,
}

impl Api {
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let response = request.send().await.with_context(|| what.to_owned())?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        if status.is_server_error() || status == StatusCode::UNAUTHORIZED {
            anyhow::bail!("{what}: {status} {body}");
        }
        Ok((status, body))
    }

    async fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        let request = self
            .http
            .get(format!("{}{path}", self.edge))
            .bearer_auth(token);
        let (status, body) = self.send(request, &format!("GET {path}")).await?;
        anyhow::ensure!(status.is_success(), "GET {path}: {status} {body}");
        Ok(body)
    }

    /// POSTs with an idempotency key naming what is created, so a retry creates it once.
    async fn post(
        &self,
        token: &str,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let what = ["slug", "email", "name"]
            .iter()
            .find_map(|field| body[field].as_str())
            .unwrap_or_default();
        let key = format!("demo-seed:{path}:{what}").replace(' ', "-");
        let request = self
            .http
            .post(format!("{}{path}", self.edge))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body);
        self.send(request, &format!("POST {path}")).await
    }

    /// The created resource, or `existing` when the service says it already exists (409).
    async fn create(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Option<Value>> {
        match self.post(token, path, body).await? {
            (status, created) if status.is_success() => Ok(Some(created)),
            (StatusCode::CONFLICT, _) => Ok(None),
            (status, problem) => anyhow::bail!("POST {path}: {status} {problem}"),
        }
    }

    /// The business's stores named `names`, creating those it lacks.
    async fn stores(
        &self,
        token: &str,
        business: Uuid,
        names: &[&str],
    ) -> anyhow::Result<Vec<(String, Uuid)>> {
        let path = format!("/api/v1/admin/businesses/{business}/stores");
        let listed = self.get(token, &format!("{path}?limit=100")).await?;
        let mut stores = Vec::new();
        for name in names {
            let existing = listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["name"] == *name)
                .cloned();
            let store = match existing {
                Some(store) => store,
                None => self
                    .create(
                        token,
                        &path,
                        &json!({"name": name, "timezone": "Australia/Sydney"}),
                    )
                    .await?
                    .with_context(|| format!("creating the store {name}"))?,
            };
            stores.push((name.to_string(), id_of(&store)?));
        }
        Ok(stores)
    }

    /// A staff account, unless one with that address exists already.
    async fn staff(
        &self,
        token: &str,
        login: &DemoLogin,
        business: Uuid,
        stores: &[Uuid],
    ) -> anyhow::Result<()> {
        let body = json!({
            "email": login.email, "password": login.password, "first_name": "Demo",
            "last_name": login.role, "role": login.role, "business_id": business,
            "store_ids": stores,
        });
        self.create(token, "/api/v1/users/staff", &body).await?;
        Ok(())
    }
}

fn id_of(resource: &Value) -> anyhow::Result<Uuid> {
    resource["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("no id in {resource}"))
}

/// Sets up (or finds) both demo businesses through the edge at `edge`.
/// The retailer's reward catalog: one affordable after a first purchase, one taken at the
/// counter, one for its GOLD members.
const RETAIL_REWARDS: [fn() -> Value; 3] = [
    || {
        json!({"name": "Espresso", "description": "One espresso at the flagship's coffee bar.",
              "category": "drinks", "points_cost": 100, "fulfilment": "store_code"})
    },
    || {
        json!({"name": "Reusable cup", "category": "merch", "points_cost": 400, "inventory": 50,
              "member_limit": 1, "member_limit_period": "year"})
    },
    || {
        json!({"name": "Lounge pass", "category": "experiences", "points_cost": 1000,
              "min_tier": "GOLD", "inventory": 10, "cancel_window_secs": 0})
    },
];

pub async fn seed(edge: &str) -> anyhow::Result<Vec<DemoBusiness>> {
    let api = Api {
        http: reqwest::Client::new(),
        edge: edge.to_owned(),
    };
    let operator = login(&api.http, edge, OPERATOR.0, OPERATOR.1).await?;

    // The cafe chain: a new business.
    let businesses = api
        .get(&operator, "/api/v1/admin/businesses?limit=100")
        .await?;
    let earlier = businesses["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["slug"] == CAFE_SLUG)
        .cloned();
    let cafe = match earlier {
        Some(cafe) => cafe,
        None => api
            .create(
                &operator,
                "/api/v1/admin/businesses",
                &json!({"name": "Harbour Cafe", "slug": CAFE_SLUG, "currency": "AUD"}),
            )
            .await?
            .context("the cafe's slug is taken by a business the list did not show")?,
    };
    let cafe_id = id_of(&cafe)?;
    let cafe_stores = api.stores(&operator, cafe_id, &CAFE_STORES).await?;
    let [admin, cashier] = &CAFE_LOGINS;
    api.staff(&operator, admin, cafe_id, &[]).await?;
    api.staff(&operator, cashier, cafe_id, &[cafe_stores[0].1])
        .await?;
    let cafe_admin = login(&api.http, edge, admin.email, admin.password).await?;
    let programs_path = format!("/api/v1/points/businesses/{cafe_id}/stamp-programs");
    let programs = api.get(&cafe_admin, &programs_path).await?;
    let has_program = programs
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["name"] == STAMP_PROGRAM);
    if !has_program {
        api.create(
            &cafe_admin,
            &programs_path,
            &json!({"name": STAMP_PROGRAM, "stamps_required": 9,
                    "reward": "a free coffee", "mode": "per_item"}),
        )
        .await?;
    }

    // The retailer: the demo business, whose points program (tiers, earn rules) exists already.
    let retail_id = kernel::DEMO_BUSINESS_ID;
    let retail = api
        .get(&operator, &format!("/api/v1/admin/businesses/{retail_id}"))
        .await?;
    let retail_stores = api.stores(&operator, retail_id, &[RETAIL_STORE]).await?;
    api.staff(&operator, &RETAIL_CASHIER, retail_id, &[retail_stores[0].1])
        .await?;
    let retail_admin = login(&api.http, edge, "admin@example.com", "demo-admin-password").await?;
    for reward in RETAIL_REWARDS {
        api.create(&retail_admin, "/api/v1/rewards", &reward())
            .await?;
    }
    // Seed 000's goal campaign. Fixed dates: the same body every start, so the seeding key
    // finds the campaign a previous start made.
    api.create(
        &retail_admin,
        "/api/v1/campaigns",
        &json!({"name": "Load $1,000, get 2,000 points",
                "description": "Load $1,000 onto your card within 30 days of joining and get 2,000 points.",
                "target_amount": 100_000, "currency": "AUD", "window_seconds": 2_592_000,
                "grace_seconds": 172_800, "reward_points": 2_000,
                "enrol_from": "2026-01-01T00:00:00Z", "enrol_until": "2031-01-01T00:00:00Z",
                "publish": true}),
    )
    .await?;
    // A referral campaign: members share codes; a friend who joins and spends $20 earns 250
    // points, and so does the member who brought them (500), once the purchase has settled.
    api.create(
        &retail_admin,
        "/api/v1/campaigns",
        &json!({"name": "Bring a friend",
                "description": "Share your code: when a friend who joins spends $20, you get 500 points and they get 250.",
                "kind": "referral",
                "referral": {"referrer_points": 500, "referee_points": 250,
                             "min_purchase_amount": 2_000, "currency": "AUD",
                             "purchase_within_seconds": 2_592_000, "settle_seconds": 172_800,
                             "max_per_referrer": 10},
                "enrol_from": "2026-01-01T00:00:00Z", "enrol_until": "2031-01-01T00:00:00Z",
                "publish": true}),
    )
    .await?;

    Ok(vec![
        DemoBusiness {
            id: cafe_id,
            name: cafe["name"].as_str().unwrap_or("Harbour Cafe").to_owned(),
            stores: cafe_stores,
            program: format!("stamp card \"{STAMP_PROGRAM}\": 9 coffees, the 10th free"),
            logins: CAFE_LOGINS.into_iter().collect(),
        },
        DemoBusiness {
            id: retail_id,
            name: retail["name"].as_str().unwrap_or("Demo Retail").to_owned(),
            stores: retail_stores,
            program:
                "points, tiers, earn rules, a reward catalog, a load-goal and a referral campaign"
                    .into(),
            logins: vec![
                DemoLogin {
                    role: "admin",
                    email: "admin@example.com",
                    password: "demo-admin-password",
                },
                RETAIL_CASHIER,
            ],
        },
    ])
}
