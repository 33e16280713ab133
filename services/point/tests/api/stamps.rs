//! Stamp cards of every business: stores learnt from `store.created`, programs, stamps given
//! and voided at a store, members' cards and their wallet.

use crate::helpers::{assert_problem, Member, TestApp};
use auth::{scopes, Role};
use events::proto::{Envelope, StampCardCompleted, StampsIssued, StoreCreated};
use events::{topics, OutgoingEvent};
use prost::Message;
use reqwest::Response;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// A business with one store the point service has heard of, and its owner.
struct Business {
    id: Uuid,
    store: Uuid,
    owner: String,
}

impl Business {
    async fn open(app: &TestApp) -> Business {
        let id = Uuid::now_v7();
        let store = open_store(app, id).await;
        Business {
            id,
            store,
            owner: app
                .tokens
                .staff_in(Uuid::now_v7(), Role::Owner, Some(id), Vec::new()),
        }
    }

    /// A token of staff with `role` at `stores` of this business.
    fn staff(&self, app: &TestApp, role: Role, stores: Vec<Uuid>) -> String {
        app.tokens
            .staff_in(Uuid::now_v7(), role, Some(self.id), stores)
    }

    fn cashier(&self, app: &TestApp) -> String {
        self.staff(app, Role::Cashier, vec![self.store])
    }

    fn programs(&self) -> String {
        format!("/api/v1/points/businesses/{}/stamp-programs", self.id)
    }

    fn stamps(&self, store: Uuid) -> String {
        format!(
            "/api/v1/points/businesses/{}/stores/{store}/stamps",
            self.id
        )
    }

    fn void(&self, store: Uuid, issue: &Value) -> String {
        format!(
            "{}/{}/void",
            self.stamps(store),
            issue["issue"]["id"].as_str().unwrap()
        )
    }

    fn cards(&self, member: Uuid) -> String {
        format!(
            "/api/v1/points/businesses/{}/members/{member}/stamp-cards",
            self.id
        )
    }

    /// Creates a program as the owner; returns its id.
    async fn program(&self, app: &TestApp, body: Value) -> String {
        let response = app
            .api
            .post(
                &self.owner,
                &self.programs(),
                Some(&Uuid::now_v7().to_string()),
                &body,
            )
            .await;
        assert_eq!(response.status(), 201);
        let program: Value = response.json().await.unwrap();
        assert_eq!(program["business_id"], self.id.to_string());
        program["id"].as_str().unwrap().to_owned()
    }

    async fn stamp(&self, app: &TestApp, token: &str, store: Uuid, body: &Value) -> Response {
        app.api.post(token, &self.stamps(store), None, body).await
    }
}

/// Announces a store of `business` as the admin service does, and waits until it is known.
async fn open_store(app: &TestApp, business: Uuid) -> Uuid {
    let store = Uuid::now_v7();
    let event = OutgoingEvent::new(
        "admin",
        topics::STORE_CREATED,
        store,
        &StoreCreated {
            store_id: store.to_string(),
            business_id: business.to_string(),
            name: "High Street".into(),
            ..Default::default()
        },
    )
    .in_business(business);
    app.infra
        .kafka_settings()
        .producer("test")
        .unwrap()
        .send(
            rdkafka::producer::FutureRecord::to(topics::STORE_CREATED)
                .key(&store.to_string())
                .payload(&event.envelope.encode_to_vec()),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    testkit::eventually(Duration::from_secs(15), || async {
        let known: Option<Uuid> =
            sqlx::query_scalar("SELECT business_id FROM stamp_stores WHERE store_id = $1")
                .bind(store)
                .fetch_optional(&app.pool)
                .await?;
        Ok(known)
    })
    .await
    .map(|known| assert_eq!(known, business))
    .expect("the store.created event was consumed");
    store
}

/// A member the service has no points account for.
fn stranger(app: &TestApp) -> Member {
    let id = Uuid::now_v7();
    Member {
        id,
        token: app.tokens.member(id),
    }
}

fn purchase(member: Uuid, program: &str, transaction: &str) -> Value {
    json!({"member_id": member, "program_id": program, "transaction_id": transaction})
}

fn items(member: Uuid, program: &str, transaction: &str, items: i64) -> Value {
    json!({"member_id": member, "program_id": program, "transaction_id": transaction, "items": items})
}

async fn body(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// The envelopes the service wrote to its outbox on `topic` about `member`.
async fn outbox(app: &TestApp, topic: &str, member: Uuid) -> Vec<Envelope> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT envelope FROM outbox WHERE topic = $1 AND event_key = $2 ORDER BY id",
    )
    .bind(topic)
    .bind(member.to_string())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|row| Envelope::decode(row.as_slice()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_fills_a_card_into_a_reward_once_per_transaction() {
    let app = TestApp::start().await;
    let coffee = Business::open(&app).await;
    let program = coffee
        .program(
            &app,
            json!({"name": "Coffee card", "stamps_required": 3, "reward": "A free coffee", "mode": "per_purchase"}),
        )
        .await;
    let cashier = coffee.cashier(&app);
    let listed = body(app.api.get(&cashier, &coffee.programs()).await, 200).await;
    assert_eq!(listed[0]["id"], program.as_str());
    assert_eq!(listed[0]["void_window_minutes"], 30);
    let member = stranger(&app).id;

    for (transaction, stamps) in [("t1", 1), ("t2", 2)] {
        let issued = body(
            coffee
                .stamp(
                    &app,
                    &cashier,
                    coffee.store,
                    &purchase(member, &program, transaction),
                )
                .await,
            201,
        )
        .await;
        assert_eq!(issued["card"]["stamps"], stamps);
        assert_eq!(issued["rewards"], json!([]));
    }
    let full = body(
        coffee
            .stamp(
                &app,
                &cashier,
                coffee.store,
                &purchase(member, &program, "t3"),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(full["card"]["stamps"], 0, "a full card starts again");
    assert_eq!(full["card"]["rewards_issued"], 1);
    assert_eq!(full["rewards"][0]["reward"], "A free coffee");
    assert_eq!(full["rewards"][0]["status"], "issued");

    // The till sends t3 again: the same answer, no stamp more.
    let again = body(
        coffee
            .stamp(
                &app,
                &cashier,
                coffee.store,
                &purchase(member, &program, "t3"),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["issue"]["id"], full["issue"]["id"]);
    assert_eq!(again["rewards"][0]["id"], full["rewards"][0]["id"]);
    assert_eq!(
        (
            again["card"]["stamps"].clone(),
            again["card"]["rewards_issued"].clone()
        ),
        (json!(0), json!(1))
    );
    // t3 for someone else is not a retry.
    assert_problem(
        coffee
            .stamp(
                &app,
                &cashier,
                coffee.store,
                &purchase(Uuid::now_v7(), &program, "t3"),
            )
            .await,
        409,
        "stamp-transaction-conflict",
    )
    .await;
    let cards = body(app.api.get(&cashier, &coffee.cards(member)).await, 200).await;
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert_eq!(cards[0]["stamps"], 0);
    assert_eq!(cards[0]["rewards_issued"], 1);

    // Three issues and one filled card announced, each once, in the business.
    let issued = outbox(&app, topics::STAMPS_ISSUED, member).await;
    assert_eq!(issued.len(), 3);
    let completed = outbox(&app, topics::STAMP_CARD_COMPLETED, member).await;
    assert_eq!(completed.len(), 1);
    for envelope in issued.iter().chain(&completed) {
        assert_eq!(envelope.business_id, coffee.id.to_string());
        assert_eq!(envelope.subject_id, member.to_string());
    }
    let last = StampsIssued::decode(issued[2].payload.as_slice()).unwrap();
    assert_eq!((last.transaction_id.as_str(), last.stamps), ("t3", 1));
    assert_eq!(last.store_id, coffee.store.to_string());
    let reward = StampCardCompleted::decode(completed[0].payload.as_slice()).unwrap();
    assert_eq!(reward.reward, "A free coffee");
    assert_eq!(reward.business_id, coffee.id.to_string());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_business_its_store_staff_and_its_tills_may_stamp_and_others_learn_nothing() {
    let app = TestApp::start().await;
    let coffee = Business::open(&app).await;
    let second_store = open_store(&app, coffee.id).await;
    let bakery = Business::open(&app).await;
    let program = coffee
        .program(
            &app,
            json!({"name": "Coffee card", "stamps_required": 10, "reward": "A free coffee", "mode": "per_purchase"}),
        )
        .await;
    let member = stranger(&app);
    let stamp = |transaction: &str| purchase(member.id, &program, transaction);

    // The business's own staff: at their store only, and only owners and admins run programs.
    let cashier_elsewhere = coffee.staff(&app, Role::Cashier, vec![second_store]);
    assert_problem(
        coffee
            .stamp(&app, &cashier_elsewhere, coffee.store, &stamp("t1"))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        coffee
            .stamp(&app, &cashier_elsewhere, second_store, &stamp("t1"))
            .await
            .status(),
        201
    );
    let program_body = json!({"name": "Cake card", "stamps_required": 5, "reward": "A cake", "mode": "per_purchase"});
    assert_problem(
        app.api
            .post(
                &coffee.cashier(&app),
                &coffee.programs(),
                Some("k1"),
                &program_body,
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    // A store the service never heard of, or one of another business, is no store of this one.
    let admin = coffee.staff(&app, Role::Admin, Vec::new());
    for store in [Uuid::now_v7(), bakery.store] {
        assert_problem(
            coffee.stamp(&app, &admin, store, &stamp("t2")).await,
            404,
            "not-found",
        )
        .await;
    }

    // Staff and tills of another business: the business does not exist for them.
    let bakery_cashier = bakery.cashier(&app);
    let bakery_till = app
        .tokens
        .partner_in(Uuid::now_v7(), bakery.id, &[scopes::STAMPS_ISSUE]);
    for token in [&bakery_cashier, &bakery_till, &bakery.owner] {
        assert_problem(
            coffee.stamp(&app, token, coffee.store, &stamp("t3")).await,
            404,
            "not-found",
        )
        .await;
    }
    assert_problem(
        app.api
            .post(&bakery.owner, &coffee.programs(), Some("k2"), &program_body)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.api.get(&bakery.owner, &coffee.programs()).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.api.get(&bakery.owner, &coffee.cards(member.id)).await,
        404,
        "not-found",
    )
    .await;

    // Members stamp nothing, not even for themselves.
    assert_problem(
        coffee
            .stamp(&app, &member.token, coffee.store, &stamp("t4"))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api
            .post(&member.token, &coffee.programs(), Some("k3"), &program_body)
            .await,
        403,
        "forbidden",
    )
    .await;

    // The business's till with stamps:issue may, at any of its stores; without the scope not.
    let till = app
        .tokens
        .partner_in(Uuid::now_v7(), coffee.id, &[scopes::STAMPS_ISSUE]);
    assert_eq!(
        coffee
            .stamp(&app, &till, coffee.store, &stamp("t5"))
            .await
            .status(),
        201
    );
    let reader = app
        .tokens
        .partner_in(Uuid::now_v7(), coffee.id, &[scopes::POINTS_READ]);
    assert_problem(
        coffee
            .stamp(&app, &reader, coffee.store, &stamp("t6"))
            .await,
        403,
        "forbidden",
    )
    .await;

    let cards = body(app.api.get(&admin, &coffee.cards(member.id)).await, 200).await;
    assert_eq!(cards[0]["stamps"], 2, "only the two allowed issues stamped");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_within_the_window_takes_stamps_and_rewards_back_and_later_is_refused() {
    let app = TestApp::start().await;
    let bakery = Business::open(&app).await;
    let program = bakery
        .program(
            &app,
            json!({"name": "Bread card", "stamps_required": 5, "reward": "A loaf", "mode": "per_item"}),
        )
        .await;
    let cashier = bakery.cashier(&app);
    let member = stranger(&app).id;
    assert_problem(
        bakery
            .stamp(
                &app,
                &cashier,
                bakery.store,
                &purchase(member, &program, "t0"),
            )
            .await,
        422,
        "validation-error",
    )
    .await;

    let first = body(
        bakery
            .stamp(
                &app,
                &cashier,
                bakery.store,
                &items(member, &program, "t1", 3),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(first["card"]["stamps"], 3);
    let filled = body(
        bakery
            .stamp(
                &app,
                &cashier,
                bakery.store,
                &items(member, &program, "t2", 4),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(filled["card"]["stamps"], 2);
    assert_eq!(filled["rewards"].as_array().unwrap().len(), 1);

    let voided = body(
        app.api
            .post(
                &cashier,
                &bakery.void(bakery.store, &filled),
                None,
                &json!({}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(voided["card"]["stamps"], 3, "back to the card before t2");
    assert_eq!(voided["card"]["rewards_issued"], 0);
    assert_eq!(
        voided["voided_reward_ids"],
        json!([filled["rewards"][0]["id"]])
    );
    assert_eq!(voided["already_voided"], false);
    let reward_status: String =
        sqlx::query_scalar("SELECT status FROM stamp_rewards WHERE id = $1")
            .bind(
                filled["rewards"][0]["id"]
                    .as_str()
                    .unwrap()
                    .parse::<Uuid>()
                    .unwrap(),
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reward_status, "voided");
    // Once only.
    let twice = body(
        app.api
            .post(
                &cashier,
                &bakery.void(bakery.store, &filled),
                None,
                &json!({}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(twice["already_voided"], true);
    assert_eq!(twice["card"]["stamps"], 3);
    assert_eq!(outbox(&app, topics::STAMPS_VOIDED, member).await.len(), 1);

    // 3 + 7 fills two cards; its void window then passes.
    let two = body(
        bakery
            .stamp(
                &app,
                &cashier,
                bakery.store,
                &items(member, &program, "t3", 7),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(two["rewards"].as_array().unwrap().len(), 2);
    sqlx::query("UPDATE stamp_issues SET issued_at = issued_at - interval '31 minutes' WHERE transaction_id = 't3'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_problem(
        app.api
            .post(&cashier, &bakery.void(bakery.store, &two), None, &json!({}))
            .await,
        409,
        "void-window-closed",
    )
    .await;
    let cards = body(app.api.get(&cashier, &bakery.cards(member)).await, 200).await;
    assert_eq!(
        (
            cards[0]["stamps"].clone(),
            cards[0]["rewards_issued"].clone()
        ),
        (json!(0), json!(2))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_wallet_holds_a_card_at_each_business_and_their_points() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert_eq!(app.earn_points(member.id, 150, "o1").await.status(), 201);
    let coffee = Business::open(&app).await;
    let bakery = Business::open(&app).await;
    let card =
        json!({"name": "Card", "stamps_required": 8, "reward": "A treat", "mode": "per_purchase"});
    let coffee_card = coffee.program(&app, card.clone()).await;
    let bakery_card = bakery.program(&app, card).await;
    for (business, program, transaction) in [
        (&coffee, &coffee_card, "c1"),
        (&bakery, &bakery_card, "b1"),
        (&bakery, &bakery_card, "b2"),
    ] {
        let stamped = business
            .stamp(
                &app,
                &business.cashier(&app),
                business.store,
                &purchase(member.id, program, transaction),
            )
            .await;
        assert_eq!(stamped.status(), 201);
    }

    let wallet = body(
        app.api.get(&member.token, "/api/v1/points/me/cards").await,
        200,
    )
    .await;
    assert_eq!(wallet["member_id"], member.id.to_string());
    let cards = wallet["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 3, "{wallet}");
    let at = |business: Uuid| {
        cards
            .iter()
            .find(|c| c["business_id"] == business.to_string())
            .unwrap_or_else(|| panic!("no card at {business}: {wallet}"))
    };
    let points = at(kernel::DEMO_BUSINESS_ID);
    assert_eq!(points["points"]["total_points"], 150);
    assert_eq!(points["points"]["available_points"], 150);
    assert_eq!(at(coffee.id)["stamp_cards"][0]["stamps"], 1);
    assert_eq!(at(bakery.id)["stamp_cards"][0]["stamps"], 2);
    assert_eq!(at(bakery.id)["points"], Value::Null);

    // The member reads their own cards at a business; another member reads none of them.
    let own = body(
        app.api.get(&member.token, &coffee.cards(member.id)).await,
        200,
    )
    .await;
    assert_eq!(own[0]["stamps"], 1);
    let other = stranger(&app);
    assert_problem(
        app.api.get(&other.token, &coffee.cards(member.id)).await,
        403,
        "forbidden",
    )
    .await;
    let theirs = body(
        app.api.get(&other.token, "/api/v1/points/me/cards").await,
        200,
    )
    .await;
    assert_eq!(theirs["cards"], json!([]));
    // Staff have no wallet.
    assert_problem(
        app.api.get(&coffee.owner, "/api/v1/points/me/cards").await,
        403,
        "forbidden",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamps_lapse_after_the_programs_expiry_and_the_next_purchase_starts_a_fresh_card() {
    let app = TestApp::start().await;
    let coffee = Business::open(&app).await;
    let refused = app
        .api
        .post(
            &coffee.owner,
            &coffee.programs(),
            Some("k1"),
            &json!({"name": "Card", "stamps_required": 5, "reward": "A coffee", "mode": "per_purchase",
                    "stamp_expiry_days": 1, "void_window_minutes": 1440}),
        )
        .await;
    let problem = assert_problem(refused, 422, "validation-error").await;
    assert_eq!(testkit::field_errors(&problem), ["void_window_minutes"]);
    let program = coffee
        .program(
            &app,
            json!({"name": "Card", "stamps_required": 5, "reward": "A coffee", "mode": "per_purchase", "stamp_expiry_days": 30}),
        )
        .await;
    let cashier = coffee.cashier(&app);
    let member = stranger(&app);
    for transaction in ["t1", "t2", "t3"] {
        let stamped = coffee
            .stamp(
                &app,
                &cashier,
                coffee.store,
                &purchase(member.id, &program, transaction),
            )
            .await;
        assert_eq!(stamped.status(), 201);
    }
    let cards = body(
        app.api.get(&member.token, &coffee.cards(member.id)).await,
        200,
    )
    .await;
    assert_eq!(cards[0]["stamps"], 3);
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(cards[0]["stamps_expire_at"].clone()).unwrap();
    let in_days = (expires - chrono::Utc::now()).num_hours();
    assert!((29 * 24..=30 * 24).contains(&in_days), "{in_days} hours");

    // A month and a day without a visit.
    sqlx::query("UPDATE stamp_issues SET issued_at = issued_at - interval '31 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE stamp_cards SET last_stamped_at = last_stamped_at - interval '31 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let wallet = body(
        app.api.get(&member.token, "/api/v1/points/me/cards").await,
        200,
    )
    .await;
    assert_eq!(wallet["cards"][0]["stamp_cards"][0]["stamps"], 0);
    assert_eq!(
        wallet["cards"][0]["stamp_cards"][0]["stamps_expire_at"],
        Value::Null
    );

    let fresh = body(
        coffee
            .stamp(
                &app,
                &cashier,
                coffee.store,
                &purchase(member.id, &program, "t4"),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(fresh["card"]["stamps"], 1, "the lapsed three do not count");
    assert_eq!(fresh["rewards"], json!([]));
    let expired: i32 = sqlx::query_scalar("SELECT expired_stamps FROM stamp_cards")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(expired, 3);
    app.stop().await;
}
