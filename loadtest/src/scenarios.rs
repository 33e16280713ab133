//! The scenarios: what members, a POS, the PSP and the charge-to-points pipeline ask of the
//! fleet. Each returns its figures; none asserts them.

use crate::api::{expect, Api, Member};
use crate::runner::{closed_loop, open_loop, Load, Step};
use crate::stats::Summary;
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What the scenarios need ready before they run.
pub struct Setup {
    /// Members with a large starting balance, spread over by the member scenarios.
    pub members: Vec<Member>,
    /// A member with no purchases.
    pub fresh: Member,
    /// A member with `history` purchases.
    pub heavy: Member,
    /// A POS partner's token (`points:earn`, `points:read`).
    pub partner: String,
    /// How the seeding went: registrations and the heavy member's purchases.
    pub seeding: Vec<Summary>,
}

/// Unique per run, so a rerun against the same database never replays old keys.
fn run_id() -> String {
    Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// Registers `members` members (+ a fresh and a heavy one) through the user service, gives each
/// a starting balance, and records `history` POS purchases for the heavy one.
pub async fn setup(
    api: &Api,
    admin: &str,
    members: usize,
    history: usize,
) -> anyhow::Result<Setup> {
    let partner = api
        .partner_token(admin, &[auth_scopes::EARN, auth_scopes::READ])
        .await?;
    let started = Instant::now();
    let registered: Vec<anyhow::Result<Member>> = futures::stream::iter(0..members + 2)
        .map(|i| {
            let api = api.clone();
            async move { api.new_member(&i.to_string()).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut all = registered.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let registrations = Summary {
        name: "seed: register + log in".into(),
        ok: all.len() as u64,
        errors: 0,
        elapsed: started.elapsed(),
        throughput: all.len() as f64 / started.elapsed().as_secs_f64(),
        p50_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        first_error: None,
    };
    for member in &all {
        api.wait_for_account(member, Duration::from_secs(60))
            .await?;
    }
    let heavy = all.pop().expect("registered");
    let fresh = all.pop().expect("registered");
    let run = run_id();
    for member in &all {
        expect(
            api.grant(
                &partner,
                member.id,
                1_000_000,
                &format!("start-{run}-{}", member.id),
            ),
            &[201],
        )
        .await
        .map_err(|e| anyhow::anyhow!("starting balance: {e}"))?;
    }
    // The heavy member's purchases, through the POS API as a till would report them.
    let heavy_id = heavy.id;
    let seeded = closed_loop_n("seed: 1 member's purchases", history, 8, {
        let api = api.clone();
        let partner = partner.clone();
        let run = run.clone();
        Arc::new(move |i: u64| {
            let request = api.pos_purchase(&partner, heavy_id, &format!("seed-{run}-{i}"), 1999);
            async move { expect(request, &[201]).await.map(drop) }.boxed()
        })
    })
    .await;
    if seeded.errors > 0 {
        anyhow::bail!(
            "seeding the heavy member's purchases: {}",
            seeded.first_error.clone().unwrap_or_default()
        );
    }
    Ok(Setup {
        members: all,
        fresh,
        heavy,
        partner,
        seeding: vec![registrations, seeded],
    })
}

mod auth_scopes {
    pub const EARN: &str = "points:earn";
    pub const READ: &str = "points:read";
}

/// Exactly `total` requests over `connections` connections.
async fn closed_loop_n(
    name: &str,
    total: usize,
    connections: usize,
    step: Arc<dyn Fn(u64) -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>,
) -> Summary {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let step = step.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut recorder = crate::stats::Recorder::default();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total as u64 {
                    return recorder;
                }
                let sent = Instant::now();
                match step(i).await {
                    Ok(()) => recorder.ok(sent.elapsed()),
                    Err(e) => recorder.error(e),
                }
            }
        }));
    }
    let mut all = crate::stats::Recorder::default();
    for task in tasks {
        if let Ok(recorder) = task.await {
            all.merge(recorder);
        }
    }
    all.summary(name, started.elapsed())
}

fn member_step(
    members: Vec<Member>,
    call: impl Fn(&Member, usize, u64) -> futures::future::BoxFuture<'static, Result<(), String>>
        + Send
        + Sync
        + 'static,
) -> Step {
    Arc::new(move |connection: usize, iteration: u64| {
        let member = &members[(connection + iteration as usize) % members.len()];
        call(member, connection, iteration)
    })
}

/// GET of the bare actix-web handler that answers what the balance endpoint answers.
pub async fn bare_balance(api: &Api, base: &str, setup: &Setup, load: Load) -> Summary {
    let http = api.http.clone();
    let base = base.to_owned();
    let step = member_step(setup.members.clone(), move |member, _, _| {
        let request = http
            .get(format!("{base}/api/v1/points/{}/balance", member.id))
            .bearer_auth(&member.token);
        async move { expect(request, &[200]).await.map(drop) }.boxed()
    });
    closed_loop("balance: bare actix-web handler", load, step).await
}

/// Members reading their own balance with their token.
pub async fn balance(api: &Api, setup: &Setup, load: Load) -> Summary {
    let api2 = api.clone();
    let step = member_step(setup.members.clone(), move |member, _, _| {
        let request = api2.balance(member);
        async move { expect(request, &[200]).await.map(drop) }.boxed()
    });
    closed_loop("balance, member token", load, step).await
}

/// One member's balance or history read on every connection.
pub async fn one_member(
    api: &Api,
    name: &str,
    member: &Member,
    history: bool,
    load: Load,
) -> Summary {
    let api2 = api.clone();
    let step = member_step(vec![member.clone()], move |member, _, _| {
        let request = if history {
            api2.history(member)
        } else {
            api2.balance(member)
        };
        async move { expect(request, &[200]).await.map(drop) }.boxed()
    });
    closed_loop(name, load, step).await
}

/// Members paging through their history.
pub async fn history(api: &Api, setup: &Setup, load: Load) -> Summary {
    let api2 = api.clone();
    let step = member_step(setup.members.clone(), move |member, _, _| {
        let request = api2.history(member);
        async move { expect(request, &[200]).await.map(drop) }.boxed()
    });
    closed_loop("history, member token", load, step).await
}

/// A POS burst: one partner reporting till purchases for many members as fast as answered.
pub async fn pos_burst(api: &Api, setup: &Setup, load: Load) -> Summary {
    let api2 = api.clone();
    let partner = setup.partner.clone();
    let run = run_id();
    let step = member_step(
        setup.members.clone(),
        move |member, connection, iteration| {
            let request = api2.pos_purchase(
                &partner,
                member.id,
                &format!("burst-{run}-{connection}-{iteration}"),
                2500,
            );
            async move { expect(request, &[201]).await.map(drop) }.boxed()
        },
    );
    closed_loop("earn: POS burst", load, step).await
}

/// Members paying with the PSP sandbox's test card; the PSP references are kept for the
/// webhook storm.
pub async fn pay(
    api: &Api,
    setup: &Setup,
    load: Load,
    references: Arc<Mutex<Vec<String>>>,
) -> Summary {
    let api2 = api.clone();
    let run = run_id();
    let step = member_step(
        setup.members.clone(),
        move |member, connection, iteration| {
            let request = api2.charge(member, &format!("pay-{run}-{connection}-{iteration}"), 1000);
            let references = references.clone();
            async move {
                let charge = expect(request, &[201]).await?;
                if charge["status"] != "succeeded" {
                    return Err(format!("charge status {}", charge["status"]));
                }
                if let Some(reference) = charge["psp_reference"].as_str() {
                    let mut refs = references.lock().unwrap();
                    if refs.len() < 1000 {
                        refs.push(reference.to_owned());
                    }
                }
                Ok(())
            }
            .boxed()
        },
    );
    closed_loop("pay: charge with a test card", load, step).await
}

/// Members redeeming a point at a time.
pub async fn redeem(api: &Api, setup: &Setup, load: Load) -> Summary {
    let api2 = api.clone();
    let run = run_id();
    let step = member_step(
        setup.members.clone(),
        move |member, connection, iteration| {
            let request = api2.redeem(member, &format!("redeem-{run}-{connection}-{iteration}"));
            async move { expect(request, &[200, 201]).await.map(drop) }.boxed()
        },
    );
    closed_loop("redeem: 1 point", load, step).await
}

/// The webhook endpoint under a storm of the sandbox's `payment_intent.succeeded` events for
/// charges already paid (a PSP redelivering): each delivery signed as the sandbox signs it.
pub async fn webhook_storm(
    api: &Api,
    references: &[String],
    load: Load,
) -> anyhow::Result<Summary> {
    let sandbox = psp_sandbox::SandboxConfig::default();
    let mut intents = Vec::new();
    for reference in references.iter().take(200) {
        let intent = expect(
            api.http
                .get(format!(
                    "{}/v1/payment_intents/{reference}",
                    api.targets.psp_sandbox
                ))
                .bearer_auth(&sandbox.stripe_secret_key),
            &[200],
        )
        .await
        .map_err(|e| anyhow::anyhow!("reading payment intent {reference}: {e}"))?;
        intents.push(intent);
    }
    if intents.is_empty() {
        anyhow::bail!("no paid charges to replay: the pay scenario produced none");
    }
    let intents = Arc::new(intents);
    let http = api.http.clone();
    let url = format!("{}/api/v1/payments/webhooks/stripe", api.targets.payment);
    let secret = sandbox.stripe_webhook_secret.clone();
    let step: Step = Arc::new(move |connection: usize, iteration: u64| {
        let intent = &intents[(connection + iteration as usize) % intents.len()];
        let event = json!({
            "id": format!("evt_bench{}", Uuid::new_v4().simple()),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": chrono::Utc::now().timestamp(),
            "data": { "object": intent },
            "livemode": false,
            "api_version": "2024-06-20",
        });
        let body = serde_json::to_vec(&event).expect("JSON");
        let signature = psp_sandbox::stripe::sign(&secret, chrono::Utc::now().timestamp(), &body);
        let request = http
            .post(&url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", signature)
            .body(body);
        async move { expect(request, &[200]).await.map(drop) }.boxed()
    });
    Ok(closed_loop("webhook storm: PSP redeliveries", load, step).await)
}

/// Charges flowing to points: `rate` charges a second, each timed from the payment service's
/// answer (the charge succeeded) until its earn is in the member's points ledger, where the
/// history endpoint reads it. The ledger is asked every 5 ms for the charges still awaited, by
/// its unique (source, reference) index, so the watching costs the fleet's Postgres little.
pub async fn charge_to_points(
    api: &Api,
    setup: &Setup,
    points_db: PgPool,
    points_schema: &str,
    rate: f64,
    duration: Duration,
) -> Summary {
    let watch = Watch::start(points_db, points_schema);
    let api2 = api.clone();
    let members = setup.members.clone();
    let run = run_id();
    let watch2 = watch.clone();
    let step = Arc::new(move |n: u64| {
        let member = members[n as usize % members.len()].clone();
        let request = api2.charge(&member, &format!("flow-{run}-{n}"), 1000);
        let watch = watch2.clone();
        async move {
            let charge: Value = expect(request, &[201]).await?;
            let answered = Instant::now();
            let id = charge["id"].as_str().ok_or("no charge id")?.to_owned();
            let seen = watch.wait_for(&id);
            match tokio::time::timeout(Duration::from_secs(30), seen).await {
                Ok(Ok(at)) => Ok(at.saturating_duration_since(answered)),
                _ => Err(format!("charge {id}: no points within 30 s")),
            }
        }
        .boxed()
    });
    let summary = open_loop(
        "charge -> points visible",
        rate,
        duration,
        Duration::from_secs(35),
        step,
    )
    .await;
    watch.stop();
    summary
}

/// Watches the points ledger for the earns of charges.
#[derive(Clone)]
struct Watch {
    /// The charges awaited, each with whom to tell when its earn is in.
    waiting: Arc<Mutex<HashMap<String, tokio::sync::oneshot::Sender<Instant>>>>,
    stop: tokio_util_stop::Stop,
}

mod tokio_util_stop {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[derive(Clone, Default)]
    pub struct Stop(Arc<AtomicBool>);

    impl Stop {
        pub fn stop(&self) {
            self.0.store(true, Ordering::Relaxed);
        }
        pub fn stopped(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }
}

impl Watch {
    fn start(pool: PgPool, schema: &str) -> Watch {
        // Only the awaited references, by the ledger's unique (source, reference) index: a scan
        // of recent rows instead read the whole ledger hundreds of times a second and slowed the
        // very Postgres it was timing.
        let sql = format!(
            "SELECT reference_id FROM \"{schema}\".point_transactions
              WHERE source = 'charge' AND reference_id = ANY($1)
                AND kind IN ('earn', 'earn_pending')"
        );
        let watch = Watch {
            waiting: Arc::default(),
            stop: tokio_util_stop::Stop::default(),
        };
        let w = watch.clone();
        tokio::spawn(async move {
            while !w.stop.stopped() {
                let awaited: Vec<String> = w.waiting.lock().unwrap().keys().cloned().collect();
                if !awaited.is_empty() {
                    let found: Result<Vec<String>, _> = sqlx::query_scalar(&sql)
                        .bind(&awaited)
                        .fetch_all(&pool)
                        .await;
                    let now = Instant::now();
                    if let Ok(found) = found {
                        let mut waiting = w.waiting.lock().unwrap();
                        for reference in found {
                            if let Some(waiter) = waiting.remove(&reference) {
                                let _ = waiter.send(now);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        watch
    }

    /// Resolves when the charge's earn is in the ledger (at the first look if it is already).
    fn wait_for(&self, charge: &str) -> tokio::sync::oneshot::Receiver<Instant> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.waiting
            .lock()
            .unwrap()
            .insert(charge.to_owned(), sender);
        receiver
    }

    fn stop(&self) {
        self.stop.stop();
    }
}

/// The point service's consumer draining a backlog: `count` charge.succeeded events, for the
/// setup's members, written straight to the topic as the payment service's relay writes them;
/// throughput is how many it applied a second from the first write to the last commit, and
/// each event's latency runs from its write to the commit of its inbox row.
pub async fn consumer_drain(
    brokers: &str,
    setup: &Setup,
    points_db: PgPool,
    points_schema: &str,
    count: usize,
) -> Summary {
    let name = "point consumer: a backlog of charge.succeeded";
    match drain(brokers, setup, &points_db, points_schema, count).await {
        Ok(summary) => Summary {
            name: name.into(),
            ..summary
        },
        Err(e) => {
            let mut recorder = crate::stats::Recorder::default();
            recorder.error(format!("{e:#}"));
            recorder.summary(name, Duration::from_secs(1))
        }
    }
}

async fn drain(
    brokers: &str,
    setup: &Setup,
    points_db: &PgPool,
    points_schema: &str,
    count: usize,
) -> anyhow::Result<Summary> {
    use events::proto::ChargeSucceeded;
    use prost::Message as _;
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::FutureRecord;

    let producer = events::KafkaSettings::new(brokers).producer("bench-backlog")?;
    let mut sent_at = HashMap::with_capacity(count);
    let mut deliveries = Vec::with_capacity(count);
    let started = chrono::Utc::now();
    for n in 0..count {
        let member = &setup.members[n % setup.members.len()];
        let charge_id = Uuid::now_v7().to_string();
        let event = events::OutgoingEvent::of_fact(
            "payment",
            events::topics::CHARGE_SUCCEEDED,
            &charge_id,
            member.id,
            &ChargeSucceeded {
                charge_id: charge_id.clone(),
                member_id: member.id.to_string(),
                amount: 1000,
                currency: "AUD".into(),
                kind: "purchase".into(),
                psp: "stripe".into(),
                psp_reference: format!("pi_backlog_{n}"),
                merchant_id: String::new(),
            },
        );
        let event_id = event.event_id.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "event_id",
                value: Some(&event_id),
            })
            .insert(Header {
                key: "event_type",
                value: Some(event.event_type),
            });
        let payload = event.envelope.encode_to_vec();
        let record = FutureRecord::to(events::topics::CHARGE_SUCCEEDED)
            .key(&event.subject_id)
            .payload(&payload)
            .headers(headers);
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| anyhow::anyhow!("queueing an event: {e}"))?;
        sent_at.insert(event.event_id, chrono::Utc::now());
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        delivery
            .await?
            .map_err(|(e, _)| anyhow::anyhow!("the broker refused an event: {e}"))?;
    }
    let ids: Vec<Uuid> = sent_at.keys().copied().collect();
    let applied_sql = format!(
        "SELECT count(*) FROM \"{points_schema}\".inbox WHERE consumer = 'point' AND event_id = ANY($1)"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut applied = 0i64;
    while Instant::now() < deadline {
        applied = sqlx::query_scalar(&applied_sql)
            .bind(&ids)
            .fetch_one(points_db)
            .await?;
        if applied as usize == count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The inbox row's time is its transaction's start: close to, and never after, its commit.
    let rows: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(&format!(
        "SELECT event_id, processed_at FROM \"{points_schema}\".inbox WHERE consumer = 'point' AND event_id = ANY($1)"
    ))
    .bind(&ids)
    .fetch_all(points_db)
    .await?;
    let mut latencies_us: Vec<u32> = rows
        .iter()
        .map(|(id, at)| {
            let sent = sent_at[id];
            u32::try_from((*at - sent).num_microseconds().unwrap_or(0).max(0)).unwrap_or(u32::MAX)
        })
        .collect();
    latencies_us.sort_unstable();
    let last = rows.iter().map(|(_, at)| *at).max().unwrap_or(started);
    let elapsed = (last - started).to_std().unwrap_or_default();
    let mut summary =
        Summary::from_sorted("", &latencies_us, count as u64 - applied as u64, elapsed);
    if summary.errors > 0 {
        summary.first_error = Some(format!(
            "{} of {count} events not applied within 120 s",
            summary.errors
        ));
    }
    Ok(summary)
}
