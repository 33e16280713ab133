//! The business directory: platform operators open businesses, their owners and admins add
//! brands and stores, their staff read them, and nobody learns of another business.

use crate::helpers::{create, ids, open_business, open_store, operator, spawn_app, staff_of};
use auth::Role;
use events::proto::BusinessCreated;
use events::topics;
use kernel::DEMO_BUSINESS_ID;
use serde_json::{json, Value};
use testkit::{assert_problem, field_errors, ServiceHost};
use uuid::Uuid;

const BUSINESSES: &str = "/api/v1/admin/businesses";

fn business_path(business: Uuid, rest: &str) -> String {
    format!("{BUSINESSES}/{business}{rest}")
}

fn cafe() -> Value {
    json!({"name": "Harbour Cafe", "slug": "harbour-cafe", "currency": "AUD"})
}

fn new_key() -> String {
    Uuid::now_v7().to_string()
}

async fn get_json(app: &ServiceHost, token: &str, path: &str) -> Value {
    let response = app.api.get(token, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// The outbox rows of `topic`, oldest first: key and envelope.
async fn outbox(app: &ServiceHost, topic: &str) -> Vec<(String, Vec<u8>)> {
    sqlx::query_as("SELECT event_key, envelope FROM outbox WHERE topic = $1 ORDER BY id")
        .bind(topic)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Whether an envelope names `business` as the business it belongs to: field 9 of
/// tessera.v1.Envelope as protobuf writes it (tag 9 << 3 | 2, length 36, the id's text). The
/// subject id holds the same text under another tag, so the tag is part of the match.
fn names_business(envelope: &[u8], business: Uuid) -> bool {
    let mut field = vec![0x4a, 36];
    field.extend_from_slice(business.to_string().as_bytes());
    envelope.windows(field.len()).any(|w| w == field.as_slice())
}

async fn count(app: &ServiceHost, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_platform_operator_opens_a_business_and_the_fleet_is_told() {
    let app = spawn_app().await;
    let operator = operator(&app);
    let body = json!({"name": " Harbour Cafe ", "slug": "harbour-cafe", "currency": "aud"});
    let response = app
        .api
        .post(&operator, BUSINESSES, Some("open-harbour-cafe"), &body)
        .await;
    assert_eq!(response.status(), 201);
    let business: Value = response.json().await.unwrap();
    assert_eq!(business["name"], "Harbour Cafe");
    assert_eq!(business["slug"], "harbour-cafe");
    assert_eq!(business["currency"], "AUD");
    assert_eq!(business["status"], "active");
    let id: Uuid = business["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        get_json(&app, &operator, &business_path(id, "")).await,
        business
    );

    // In the outbox with the business: keyed by it, and it is the envelope's business.
    let announced = outbox(&app, topics::BUSINESS_CREATED).await;
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].0, id.to_string());
    assert!(names_business(&announced[0].1, id));
    assert!(!names_business(&announced[0].1, DEMO_BUSINESS_ID));
    let published: Vec<BusinessCreated> = app.infra.published(topics::BUSINESS_CREATED, 1).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].business_id, id.to_string());
    assert_eq!(published[0].name, "Harbour Cafe");
    assert_eq!(published[0].currency, "AUD");

    // The operator sees every business; the migrations opened the demo business.
    let listed = get_json(&app, &operator, BUSINESSES).await;
    assert_eq!(ids(&listed), [id, DEMO_BUSINESS_ID]);
    let demo = &listed["items"][1];
    assert_eq!(demo["slug"], "demo");
    assert_eq!(demo["currency"], "AUD");
    assert_eq!(demo["status"], "active");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_business_needs_a_free_slug_and_every_bad_field_is_reported() {
    let app = spawn_app().await;
    let operator = operator(&app);
    let demo_again = json!({"name": "Demo again", "slug": "demo", "currency": "AUD"});
    let clash = app
        .api
        .post(&operator, BUSINESSES, Some(&new_key()), &demo_again)
        .await;
    assert_problem(clash, 409, "slug-taken").await;
    open_business(&app, "harbour-cafe").await;
    let clash = app
        .api
        .post(&operator, BUSINESSES, Some(&new_key()), &cafe())
        .await;
    assert_problem(clash, 409, "slug-taken").await;

    let bad = json!({"name": " ", "slug": "Harbour Cafe", "currency": "XXX"});
    let refused = app
        .api
        .post(&operator, BUSINESSES, Some(&new_key()), &bad)
        .await;
    let problem = assert_problem(refused, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["name", "slug", "currency"]);
    for slug in ["-cafe", "cafe-", "c", "caf\u{e9}", "cafe_1"] {
        let body = json!({"name": "Cafe", "slug": slug, "currency": "AUD"});
        let refused = app
            .api
            .post(&operator, BUSINESSES, Some(&new_key()), &body)
            .await;
        let problem = assert_problem(refused, 422, "validation-error").await;
        assert_eq!(field_errors(&problem), ["slug"], "{slug:?}");
    }
    let body = json!({"name": "Cafe", "slug": "other-cafe", "currency": "AUD"});
    let without_key = app.api.post(&operator, BUSINESSES, None, &body).await;
    let problem = assert_problem(without_key, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["Idempotency-Key"]);

    assert_eq!(count(&app, "SELECT count(*) FROM businesses").await, 2);
    let announced = "SELECT count(*) FROM outbox WHERE topic = 'business.created'";
    assert_eq!(count(&app, announced).await, 1);
}

#[tokio::test]
async fn only_platform_operators_open_businesses_and_only_staff_read_the_directory() {
    let app = spawn_app().await;
    let member = app.member();
    let partner = app.partner(&["points:earn", "points:read"]);
    let owner = staff_of(&app, Role::Owner, DEMO_BUSINESS_ID, &[]);
    for token in [&member.token, &partner, &owner, &app.staff(Role::Admin)] {
        let refused = app
            .api
            .post(token, BUSINESSES, Some(&new_key()), &cafe())
            .await;
        assert_problem(refused, 403, "forbidden").await;
    }
    let brands = business_path(DEMO_BUSINESS_ID, "/brands");
    let stores = business_path(DEMO_BUSINESS_ID, "/stores");
    for token in [&member.token, &partner] {
        for path in [
            BUSINESSES,
            &business_path(DEMO_BUSINESS_ID, ""),
            &brands,
            &stores,
        ] {
            assert_problem(app.api.get(token, path).await, 403, "forbidden").await;
        }
        let refused = app
            .api
            .post(token, &brands, Some(&new_key()), &json!({"name": "Demo"}))
            .await;
        assert_problem(refused, 403, "forbidden").await;
    }
    let anonymous = app.api.http.get(app.api.url(BUSINESSES)).send().await;
    assert_problem(anonymous.unwrap(), 401, "unauthorized").await;
    assert_eq!(count(&app, "SELECT count(*) FROM businesses").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM brands").await, 0);
}

#[tokio::test]
async fn an_owner_builds_their_business_and_never_learns_of_another() {
    let app = spawn_app().await;
    let ours = open_business(&app, "harbour-cafe").await;
    let theirs = open_business(&app, "corner-books").await;
    let owner = staff_of(&app, Role::Owner, ours, &[]);
    let admin = staff_of(&app, Role::Admin, ours, &[]);

    let our_brands = business_path(ours, "/brands");
    let brand = create(
        &app,
        &owner,
        &our_brands,
        &json!({"name": "Harbour Coffee"}),
    )
    .await;
    assert_eq!(brand["business_id"], ours.to_string());
    // A business has one brand of a name, whatever its case.
    let same_name = app
        .api
        .post(
            &admin,
            &our_brands,
            Some(&new_key()),
            &json!({"name": "harbour coffee"}),
        )
        .await;
    assert_problem(same_name, 409, "brand-name-taken").await;
    let our_stores = business_path(ours, "/stores");
    let quay = json!({"name": "Quay", "brand_id": brand["id"], "address": "1 Circular Quay\nSydney",
                      "timezone": "Australia/Sydney"});
    let store = create(&app, &admin, &our_stores, &quay).await;
    assert_eq!(store["business_id"], ours.to_string());
    assert_eq!(store["brand_id"], brand["id"]);
    assert_eq!(store["address"], "1 Circular Quay\nSydney");
    assert_eq!(store["timezone"], "Australia/Sydney");
    let store_id: Uuid = store["id"].as_str().unwrap().parse().unwrap();
    let announced = outbox(&app, topics::STORE_CREATED).await;
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].0, ours.to_string());
    assert!(names_business(&announced[0].1, ours));

    let operator = operator(&app);
    let their_brands = business_path(theirs, "/brands");
    let their_brand = create(&app, &operator, &their_brands, &json!({"name": "Corner"})).await;
    let their_store = open_store(&app, &operator, theirs, "Main St").await;

    // A store of ours cannot carry their brand.
    let borrowed = json!({"name": "Wharf", "brand_id": their_brand["id"], "timezone": "UTC"});
    let refused = app
        .api
        .post(&owner, &our_stores, Some(&new_key()), &borrowed)
        .await;
    assert_problem(refused, 422, "brand-not-in-business").await;

    // Their business answers as one that does not exist, to each of our staff.
    let their_paths = [
        business_path(theirs, ""),
        their_brands.clone(),
        business_path(theirs, "/stores"),
        business_path(theirs, &format!("/stores/{their_store}")),
        business_path(ours, &format!("/stores/{their_store}")),
        business_path(Uuid::now_v7(), ""),
    ];
    for token in [&owner, &admin] {
        for path in &their_paths {
            assert_problem(app.api.get(token, path).await, 404, "not-found").await;
        }
        let brand = app
            .api
            .post(
                token,
                &their_brands,
                Some(&new_key()),
                &json!({"name": "Ours now"}),
            )
            .await;
        assert_problem(brand, 404, "not-found").await;
        let store = json!({"name": "Ours now", "timezone": "UTC"});
        let path = business_path(theirs, "/stores");
        let store = app.api.post(token, &path, Some(&new_key()), &store).await;
        assert_problem(store, 404, "not-found").await;
    }

    // Our staff list our business only; each business holds only what was made in it.
    assert_eq!(ids(&get_json(&app, &owner, BUSINESSES).await), [ours]);
    let brand_id: Uuid = brand["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(ids(&get_json(&app, &admin, &our_brands).await), [brand_id]);
    assert_eq!(ids(&get_json(&app, &admin, &our_stores).await), [store_id]);
    let their_brand: Uuid = their_brand["id"].as_str().unwrap().parse().unwrap();
    let listed = get_json(&app, &operator, &their_brands).await;
    assert_eq!(ids(&listed), [their_brand]);
    let listed = get_json(&app, &operator, &business_path(theirs, "/stores")).await;
    assert_eq!(ids(&listed), [their_store]);
}

#[tokio::test]
async fn support_and_store_staff_read_but_never_change_the_directory() {
    let app = spawn_app().await;
    let business = open_business(&app, "harbour-cafe").await;
    let operator = operator(&app);
    let quay = open_store(&app, &operator, business, "Quay").await;
    let wharf = open_store(&app, &operator, business, "Wharf").await;
    let city = open_store(&app, &operator, business, "City").await;
    let support = staff_of(&app, Role::Support, business, &[]);
    let manager = staff_of(&app, Role::StoreManager, business, &[quay, wharf]);
    let cashier = staff_of(&app, Role::Cashier, business, &[quay]);

    let stores = business_path(business, "/stores");
    let store = |id: Uuid| business_path(business, &format!("/stores/{id}"));
    assert_eq!(
        ids(&get_json(&app, &support, &stores).await),
        [city, wharf, quay]
    );
    // Store staff see the stores they work at, and no other.
    assert_eq!(ids(&get_json(&app, &manager, &stores).await), [wharf, quay]);
    assert_eq!(ids(&get_json(&app, &cashier, &stores).await), [quay]);
    assert_eq!(get_json(&app, &cashier, &store(quay)).await["name"], "Quay");
    assert_problem(app.api.get(&cashier, &store(wharf)).await, 404, "not-found").await;
    assert_problem(app.api.get(&manager, &store(city)).await, 404, "not-found").await;
    assert_eq!(get_json(&app, &support, &store(city)).await["name"], "City");

    let brands = business_path(business, "/brands");
    for token in [&support, &manager, &cashier] {
        let read = get_json(&app, token, &business_path(business, "")).await;
        assert_eq!(read["id"], business.to_string());
        get_json(&app, token, &brands).await;
        let brand = app
            .api
            .post(
                token,
                &brands,
                Some(&new_key()),
                &json!({"name": "Harbour Coffee"}),
            )
            .await;
        assert_problem(brand, 403, "forbidden").await;
        let body = json!({"name": "Kiosk", "timezone": "Australia/Sydney"});
        let store = app.api.post(token, &stores, Some(&new_key()), &body).await;
        assert_problem(store, 403, "forbidden").await;
    }
    assert_eq!(count(&app, "SELECT count(*) FROM stores").await, 3);
    assert_eq!(count(&app, "SELECT count(*) FROM brands").await, 0);
}

#[tokio::test]
async fn a_retried_create_answers_as_the_first_and_creates_once() {
    let app = spawn_app().await;
    let operator = operator(&app);
    let first = app
        .api
        .post(&operator, BUSINESSES, Some("open-harbour-cafe"), &cafe())
        .await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let retry = app
        .api
        .post(&operator, BUSINESSES, Some("open-harbour-cafe"), &cafe())
        .await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    // Another request under the same key is refused, not done.
    let books = json!({"name": "Corner Books", "slug": "corner-books", "currency": "AUD"});
    let reused = app
        .api
        .post(&operator, BUSINESSES, Some("open-harbour-cafe"), &books)
        .await;
    assert_problem(reused, 422, "idempotency-key-reused").await;
    assert_eq!(count(&app, "SELECT count(*) FROM businesses").await, 2);
    let announced = "SELECT count(*) FROM outbox WHERE topic = 'business.created'";
    assert_eq!(count(&app, announced).await, 1);

    let business: Uuid = first["id"].as_str().unwrap().parse().unwrap();
    let owner = staff_of(&app, Role::Owner, business, &[]);
    let stores = business_path(business, "/stores");
    // A create that was refused gives its key back for the corrected request.
    let no_such_brand = json!({"name": "Quay", "brand_id": Uuid::now_v7(), "timezone": "UTC"});
    let refused = app
        .api
        .post(&owner, &stores, Some("open-quay"), &no_such_brand)
        .await;
    assert_problem(refused, 422, "brand-not-in-business").await;
    let quay = json!({"name": "Quay", "timezone": "Australia/Sydney"});
    let opened = app
        .api
        .post(&owner, &stores, Some("open-quay"), &quay)
        .await;
    assert_eq!(opened.status(), 201);
    let opened: Value = opened.json().await.unwrap();
    let again = app
        .api
        .post(&owner, &stores, Some("open-quay"), &quay)
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), opened);
    assert_eq!(count(&app, "SELECT count(*) FROM stores").await, 1);
    let announced = "SELECT count(*) FROM outbox WHERE topic = 'store.created'";
    assert_eq!(count(&app, announced).await, 1);
    // Keys are each caller's own: another admin's request under the same key is theirs.
    let admin = staff_of(&app, Role::Admin, business, &[]);
    let theirs = app
        .api
        .post(&admin, &stores, Some("open-quay"), &quay)
        .await;
    assert_eq!(theirs.status(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    let theirs: Value = theirs.json().await.unwrap();
    assert_ne!(theirs["id"], opened["id"]);
}

#[tokio::test]
async fn lists_page_newest_first_with_a_cursor() {
    let app = spawn_app().await;
    let business = open_business(&app, "harbour-cafe").await;
    let owner = staff_of(&app, Role::Owner, business, &[]);
    let mut opened = Vec::new();
    for name in ["One", "Two", "Three", "Four", "Five"] {
        opened.push(open_store(&app, &owner, business, name).await);
    }
    opened.reverse();

    let stores = business_path(business, "/stores");
    let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let path = match &cursor {
            Some(cursor) => format!("{stores}?limit=2&cursor={cursor}"),
            None => format!("{stores}?limit=2"),
        };
        let page = get_json(&app, &owner, &path).await;
        pages += 1;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, opened);
    assert_eq!(pages, 3);

    let operator = operator(&app);
    let first = get_json(&app, &operator, &format!("{BUSINESSES}?limit=1")).await;
    assert_eq!(ids(&first), [business]);
    let next = first["next_cursor"].as_str().unwrap();
    let last = get_json(
        &app,
        &operator,
        &format!("{BUSINESSES}?limit=1&cursor={next}"),
    )
    .await;
    assert_eq!(ids(&last), [DEMO_BUSINESS_ID]);
    assert!(last["next_cursor"].is_null());

    for query in ["limit=0", "limit=101", "cursor=not-a-cursor"] {
        let refused = app.api.get(&owner, &format!("{stores}?{query}")).await;
        assert_problem(refused, 422, "validation-error").await;
    }
}
