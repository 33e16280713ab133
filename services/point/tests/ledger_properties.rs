//! A property test of the points ledger: random sequences of earns, staff adjustments (huge and
//! extreme ones too), holds, captures, releases, redemptions, charges and their refunds (as
//! events) and expiry runs, applied through the real HTTP API, the real consumer and the real
//! jobs of one running service, each sequence on fresh members. A model of each member says what
//! every operation must answer and do; after every operation the stored balances, the ledger's
//! legs, the lots, the holds and the API must agree with it, nothing may answer 5xx, and a
//! refused operation must have changed nothing.
//!
//! `PROPTEST_CASES` sets the number of sequences (24 unless set: about three seconds each,
//! since every sequence runs its jobs and events for real).

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use chrono::{Duration, Utc};
use events::proto::{ChargeRefunded, ChargeSucceeded};
use events::topics;
use helpers::{balance_path, Member, TestApp};
use point_service::core::scheduler;
use point_service::domain::earning::points_to_reverse;
use point_service::domain::MAX_POINTS;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::cell::Cell;
use std::time::Instant;
use uuid::Uuid;

/// Members per sequence.
const MEMBERS: usize = 2;
/// Charges each member may pay (and have refunded) per sequence.
const CHARGE_SLOTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// A partner earns fixed points for the member.
    Earn {
        m: usize,
        points: i64,
    },
    /// A partner repeats an earlier earn's reference, for this or another member, with the same
    /// points or others.
    EarnAgain {
        m: usize,
        pick: usize,
        same_points: bool,
    },
    /// Support staff credit or debit the member.
    Adjust {
        m: usize,
        points: i64,
    },
    /// Staff retry an earlier accepted adjustment's key, with the same body or another.
    AdjustAgain {
        m: usize,
        pick: usize,
        same_body: bool,
    },
    /// An adjustment whose body is not a valid one at all.
    AdjustMalformed {
        m: usize,
        body: usize,
    },
    /// The member holds points.
    Hold {
        m: usize,
        points: i64,
    },
    Capture {
        m: usize,
        pick: usize,
    },
    Release {
        m: usize,
        pick: usize,
    },
    /// Two captures and a release of one hold at once.
    SettleRace {
        m: usize,
        pick: usize,
    },
    /// The member redeems in one step.
    Redeem {
        m: usize,
        points: i64,
    },
    /// charge.succeeded for one of the member's charges (again, if it was paid already).
    Charge {
        m: usize,
        slot: usize,
    },
    /// charge.refunded for one of the member's charges, `percent` of it refunded in total (a
    /// refund may come before its charge).
    Refund {
        m: usize,
        slot: usize,
        percent: i64,
    },
    /// One of the member's lots reaches its expiry, then the jobs run; with `later`, two days
    /// later, when every hold has expired too.
    Expire {
        m: usize,
        pick: usize,
        later: bool,
    },
}

#[derive(Debug, Clone)]
struct Sequence {
    allow_negative: bool,
    /// The amount of each member's charges, minor units.
    charges: Vec<Vec<i64>>,
    ops: Vec<Op>,
}

fn member() -> impl Strategy<Value = usize> {
    0..MEMBERS
}

/// Points to earn, hold or redeem: mostly ordinary, sometimes at or past the bounds.
fn points() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 1..=500i64,
        1 => Just(MAX_POINTS),
        1 => prop_oneof![
            Just(0),
            Just(-1),
            Just(MAX_POINTS + 1),
            Just(i64::MAX),
            Just(i64::MIN)
        ],
    ]
}

/// Adjustments: credits and debits, zero, the bounds, and the extremes of i64.
fn adjustment() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => -600..=600i64,
        2 => prop_oneof![
            Just(MAX_POINTS),
            Just(-MAX_POINTS),
            Just(MAX_POINTS + 1),
            Just(-MAX_POINTS - 1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::MIN + 1),
            Just(0)
        ],
    ]
}

fn charge_amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => 1..=99i64, // worth no point
        6 => 100..=60_000i64,
        1 => Just(150_000i64), // enough for the next tier
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let pick = any::<usize>();
    prop_oneof![
        5 => (member(), points()).prop_map(|(m, points)| Op::Earn { m, points }),
        1 => (member(), pick, any::<bool>())
            .prop_map(|(m, pick, same_points)| Op::EarnAgain { m, pick, same_points }),
        4 => (member(), adjustment()).prop_map(|(m, points)| Op::Adjust { m, points }),
        1 => (member(), pick, any::<bool>())
            .prop_map(|(m, pick, same_body)| Op::AdjustAgain { m, pick, same_body }),
        1 => (member(), 0..MALFORMED.len()).prop_map(|(m, body)| Op::AdjustMalformed { m, body }),
        4 => (member(), points()).prop_map(|(m, points)| Op::Hold { m, points }),
        3 => (member(), pick).prop_map(|(m, pick)| Op::Capture { m, pick }),
        2 => (member(), pick).prop_map(|(m, pick)| Op::Release { m, pick }),
        1 => (member(), pick).prop_map(|(m, pick)| Op::SettleRace { m, pick }),
        2 => (member(), points()).prop_map(|(m, points)| Op::Redeem { m, points }),
        3 => (member(), 0..CHARGE_SLOTS).prop_map(|(m, slot)| Op::Charge { m, slot }),
        2 => (member(), 0..CHARGE_SLOTS, prop_oneof![Just(0i64), Just(25), Just(50), Just(99), Just(100), Just(150)])
            .prop_map(|(m, slot, percent)| Op::Refund { m, slot, percent }),
        2 => (member(), pick, prop::bool::weighted(0.3))
            .prop_map(|(m, pick, later)| Op::Expire { m, pick, later }),
    ]
}

fn sequence() -> impl Strategy<Value = Sequence> {
    (
        prop::bool::weighted(0.25),
        prop::collection::vec(
            prop::collection::vec(charge_amount(), CHARGE_SLOTS),
            MEMBERS,
        ),
        prop::collection::vec(op(), 1..40),
    )
        .prop_map(|(allow_negative, charges, ops)| Sequence {
            allow_negative,
            charges,
            ops,
        })
}

/// Adjustment bodies that are no adjustment: numbers past i64, fractions, strings, nulls, a
/// missing field.
const MALFORMED: &[&str] = &[
    r#"{"points": 9223372036854775808, "reason": "x"}"#,
    r#"{"points": -9223372036854775809, "reason": "x"}"#,
    r#"{"points": 1e30, "reason": "x"}"#,
    r#"{"points": 1.5, "reason": "x"}"#,
    r#"{"points": "10", "reason": "x"}"#,
    r#"{"points": null, "reason": "x"}"#,
    r#"{"reason": "x"}"#,
    r#"{"points": 10}"#,
    r#"{"points": 10, "reason": ""}"#,
    r#"{"points": 10, "reason": "x", "extra": 1}"#,
    r#"{"points": 10, "reason": "x""#,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldState {
    Active,
    Captured,
    Released,
    Expired,
}

impl HoldState {
    fn as_str(self) -> &'static str {
        match self {
            HoldState::Active => "active",
            HoldState::Captured => "captured",
            HoldState::Released => "released",
            HoldState::Expired => "expired",
        }
    }
}

#[derive(Debug)]
struct ChargeSlot {
    id: String,
    amount: i64,
    /// The points its earn gave, once charge.succeeded was applied.
    earned: Option<i64>,
    /// The highest total refunded the service was told of.
    refunded: i64,
    /// Points reversed or recorded short for its refunds so far.
    accounted: i64,
}

/// What one member's points must be.
#[derive(Debug)]
struct Model {
    member: Member,
    balance: i64,
    held: i64,
    holds: Vec<(Uuid, i64, HoldState)>,
    /// Accepted earns: (reference, points).
    earns: Vec<(String, i64)>,
    /// Accepted adjustments: (key, points).
    adjustments: Vec<(String, i64)>,
    charges: Vec<ChargeSlot>,
}

impl Model {
    fn available(&self) -> i64 {
        self.balance - self.held
    }
}

#[derive(Default)]
struct Stats {
    cases: Cell<u64>,
    ops: Cell<u64>,
    refused: Cell<u64>,
    events: Cell<u64>,
}

fn bump(cell: &Cell<u64>) {
    cell.set(cell.get() + 1);
}

/// The status of a response (never 5xx) and its body as JSON (null if none).
async fn answer(response: reqwest::Response, what: &str) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert!(status < 500, "{what}: {status} {body}");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The problem type of an error body.
fn slug(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("urn:tessera:problem:")
}

struct Run<'a> {
    app: &'a TestApp,
    case: Uuid,
    allow_negative: bool,
    members: Vec<Model>,
    stats: &'a Stats,
    counter: u64,
}

impl Run<'_> {
    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}-{}-{}", self.case.simple(), self.counter)
    }

    fn ids(&self) -> Vec<Uuid> {
        self.members.iter().map(|m| m.member.id).collect()
    }

    /// Everything stored about the sequence's members, to compare before and after.
    async fn snapshot(&self) -> Vec<i64> {
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM point_transactions WHERE member_id = ANY($1)),
                    (SELECT count(*) FROM ledger_entries WHERE transaction_id IN
                        (SELECT id FROM point_transactions WHERE member_id = ANY($1))),
                    (SELECT count(*) FROM point_lots WHERE member_id = ANY($1)),
                    (SELECT COALESCE(sum(remaining), 0)::bigint FROM point_lots WHERE member_id = ANY($1)),
                    (SELECT count(*) FROM lot_movements WHERE lot_id IN
                        (SELECT id FROM point_lots WHERE member_id = ANY($1))),
                    (SELECT count(*) FROM holds WHERE member_id = ANY($1)),
                    (SELECT count(*) FROM holds WHERE member_id = ANY($1) AND status = 'active'),
                    (SELECT COALESCE(sum(balance), 0)::bigint FROM accounts WHERE member_id = ANY($1)),
                    (SELECT COALESCE(sum(held), 0)::bigint FROM accounts WHERE member_id = ANY($1)),
                    (SELECT COALESCE(sum(lifetime_earned), 0)::bigint FROM accounts WHERE member_id = ANY($1)),
                    (SELECT count(*) FROM audit_log WHERE member_id = ANY($1))",
        )
        .bind(self.ids())
        .fetch_one(&self.app.pool)
        .await
        .unwrap();
        vec![
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10,
        ]
    }

    async fn events_applied(&self, topic: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM inbox WHERE topic = $1")
            .bind(topic)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    /// Publishes the event and waits until the consumer applied it.
    async fn publish(&self, topic: &'static str, member: Uuid, payload: &impl prost::Message) {
        let before = self.events_applied(topic).await;
        self.app.infra.publish(topic, member, payload).await;
        testkit::eventually(std::time::Duration::from_secs(20), || async {
            Ok((self.events_applied(topic).await > before).then_some(()))
        })
        .await
        .unwrap_or_else(|_| panic!("{topic} for {member} was not applied (dead-lettered?)"));
        bump(&self.stats.events);
    }

    async fn apply(&mut self, op: &Op) {
        let before = self.snapshot().await;
        // Whether the operation must have changed nothing.
        let unchanged = match op.clone() {
            Op::Earn { m, points } => self.earn(m, points).await,
            Op::EarnAgain {
                m,
                pick,
                same_points,
            } => self.earn_again(m, pick, same_points).await,
            Op::Adjust { m, points } => self.adjust(m, points).await,
            Op::AdjustAgain { m, pick, same_body } => self.adjust_again(m, pick, same_body).await,
            Op::AdjustMalformed { m, body } => self.adjust_malformed(m, body).await,
            Op::Hold { m, points } => self.hold(m, points).await,
            Op::Capture { m, pick } => self.settle(m, pick, HoldState::Captured).await,
            Op::Release { m, pick } => self.settle(m, pick, HoldState::Released).await,
            Op::SettleRace { m, pick } => self.settle_race(m, pick).await,
            Op::Redeem { m, points } => self.redeem(m, points).await,
            Op::Charge { m, slot } => self.charge(m, slot).await,
            Op::Refund { m, slot, percent } => self.refund(m, slot, percent).await,
            Op::Expire { m, pick, later } => self.expire(m, pick, later).await,
        };
        bump(&self.stats.ops);
        if unchanged {
            bump(&self.stats.refused);
            assert_eq!(
                self.snapshot().await,
                before,
                "{op:?} was refused or a repeat, yet changed what is stored"
            );
        }
        self.check(op).await;
    }

    async fn earn(&mut self, m: usize, points: i64) -> bool {
        let reference = self.fresh("earn");
        let id = self.members[m].member.id;
        let (status, body) =
            answer(self.app.earn_points(id, points, &reference).await, "earn").await;
        if (1..=MAX_POINTS).contains(&points) {
            assert_eq!(status, 201, "earn {points}: {body}");
            assert_eq!(body["points"], points);
            let model = &mut self.members[m];
            model.balance += points;
            model.earns.push((reference, points));
            false
        } else {
            assert_eq!(
                (status, slug(&body)),
                (422, "validation-error"),
                "earn {points}"
            );
            true
        }
    }

    async fn earn_again(&mut self, m: usize, pick: usize, same_points: bool) -> bool {
        let all: Vec<(String, i64)> = self
            .members
            .iter()
            .flat_map(|model| model.earns.clone())
            .collect();
        if all.is_empty() {
            return self.earn(m, 1 + (pick % 50) as i64).await;
        }
        let (reference, points) = all[pick % all.len()].clone();
        let points = if same_points {
            points
        } else {
            points % MAX_POINTS + 1
        };
        let id = self.members[m].member.id;
        let (status, body) = answer(
            self.app.earn_points(id, points, &reference).await,
            "earn again",
        )
        .await;
        if same_points {
            assert_eq!(status, 200, "a repeated earn is the original: {body}");
            assert_eq!(body["replayed"], true);
        } else {
            assert_eq!((status, slug(&body)), (409, "reference-conflict"), "{body}");
        }
        true
    }

    async fn post_adjustment(&self, m: usize, key: &str, body: &str) -> (u16, Value) {
        let response = self
            .app
            .api
            .http
            .post(self.app.api.url(&format!(
                "/api/v1/points/{}/adjustments",
                self.members[m].member.id
            )))
            .bearer_auth(&self.app.support)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the service answers");
        answer(response, "adjustment").await
    }

    async fn adjust(&mut self, m: usize, points: i64) -> bool {
        let key = self.fresh("adjust");
        let body = json!({"points": points, "reason": "property test"}).to_string();
        let (status, answer) = self.post_adjustment(m, &key, &body).await;
        let model = &mut self.members[m];
        if points == 0 || points.checked_abs().is_none_or(|size| size > MAX_POINTS) {
            assert_eq!(
                (status, slug(&answer)),
                (422, "validation-error"),
                "adjust {points}"
            );
            return true;
        }
        if points < 0 && -points > model.available() && !self.allow_negative {
            assert_eq!(
                (status, slug(&answer)),
                (422, "insufficient-points"),
                "debit {points} of {model:?}"
            );
            return true;
        }
        assert_eq!(status, 201, "adjust {points}: {answer}");
        assert_eq!(answer["points"], points);
        model.balance += points;
        model.adjustments.push((key, points));
        false
    }

    async fn adjust_again(&mut self, m: usize, pick: usize, same_body: bool) -> bool {
        if self.members[m].adjustments.is_empty() {
            return self.adjust(m, 1 + (pick % 100) as i64).await;
        }
        let adjustments = &self.members[m].adjustments;
        let (key, points) = adjustments[pick % adjustments.len()].clone();
        let points = if same_body {
            points
        } else {
            points % MAX_POINTS + 1
        };
        let body = json!({"points": points, "reason": "property test"}).to_string();
        let (status, answer) = self.post_adjustment(m, &key, &body).await;
        if same_body {
            assert_eq!(
                status, 200,
                "a retried adjustment is the original: {answer}"
            );
        } else {
            assert_eq!(
                (status, slug(&answer)),
                (422, "idempotency-key-reused"),
                "{answer}"
            );
        }
        true
    }

    async fn adjust_malformed(&mut self, m: usize, body: usize) -> bool {
        let key = self.fresh("malformed");
        let (status, answer) = self.post_adjustment(m, &key, MALFORMED[body]).await;
        assert!(
            status == 400 || status == 422,
            "{}: {status} {answer}",
            MALFORMED[body]
        );
        true
    }

    async fn hold(&mut self, m: usize, points: i64) -> bool {
        let key = self.fresh("hold");
        let model = &self.members[m];
        let (status, body) = answer(
            self.app
                .api
                .post(
                    &model.member.token,
                    &format!("/api/v1/points/{}/holds", model.member.id),
                    Some(&key),
                    &json!({"points": points, "expires_in": 3600}),
                )
                .await,
            "hold",
        )
        .await;
        let model = &mut self.members[m];
        if !(1..=MAX_POINTS).contains(&points) {
            assert_eq!(
                (status, slug(&body)),
                (422, "validation-error"),
                "hold {points}"
            );
            return true;
        }
        if points > model.available() {
            assert_eq!(
                (status, slug(&body)),
                (422, "insufficient-points"),
                "hold {points} of {model:?}"
            );
            return true;
        }
        assert_eq!(status, 201, "hold {points}: {body}");
        let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
        model.holds.push((id, points, HoldState::Active));
        model.held += points;
        false
    }

    /// The picked hold of the member, or one that does not exist.
    fn pick_hold(&self, m: usize, pick: usize) -> Option<usize> {
        let holds = &self.members[m].holds;
        (!holds.is_empty()).then(|| pick % holds.len())
    }

    async fn post_settle(&self, m: usize, hold: Uuid, to: HoldState) -> (u16, Value) {
        let model = &self.members[m];
        let action = if to == HoldState::Captured {
            "capture"
        } else {
            "release"
        };
        answer(
            self.app
                .api
                .post(
                    &model.member.token,
                    &format!("/api/v1/points/{}/holds/{hold}/{action}", model.member.id),
                    None,
                    &json!({}),
                )
                .await,
            action,
        )
        .await
    }

    /// Applies a settled hold to the model.
    fn settled(&mut self, m: usize, index: usize, to: HoldState) {
        let model = &mut self.members[m];
        let (_, points, state) = &mut model.holds[index];
        assert_eq!(*state, HoldState::Active);
        *state = to;
        model.held -= *points;
        if to == HoldState::Captured {
            model.balance -= *points;
        }
    }

    async fn settle(&mut self, m: usize, pick: usize, to: HoldState) -> bool {
        let Some(index) = self.pick_hold(m, pick) else {
            let (status, body) = self.post_settle(m, Uuid::now_v7(), to).await;
            assert_eq!((status, slug(&body)), (404, "not-found"), "{body}");
            return true;
        };
        let (id, _, state) = self.members[m].holds[index];
        let (status, body) = self.post_settle(m, id, to).await;
        match state {
            HoldState::Active => {
                assert_eq!(status, 200, "{to:?} of an active hold: {body}");
                assert_eq!(body["status"], to.as_str());
                self.settled(m, index, to);
                false
            }
            done if done == to || (to == HoldState::Released && done == HoldState::Expired) => {
                assert_eq!(status, 200, "settling again is harmless: {body}");
                assert_eq!(body["status"], done.as_str());
                true
            }
            _ => {
                assert_eq!(
                    (status, slug(&body)),
                    (409, "hold-not-active"),
                    "{to:?} of {state:?}"
                );
                true
            }
        }
    }

    async fn settle_race(&mut self, m: usize, pick: usize) -> bool {
        let Some(index) = self.pick_hold(m, pick) else {
            return self.settle(m, pick, HoldState::Captured).await;
        };
        let (id, _, state) = self.members[m].holds[index];
        let (a, b, r) = futures::join!(
            self.post_settle(m, id, HoldState::Captured),
            self.post_settle(m, id, HoldState::Captured),
            self.post_settle(m, id, HoldState::Released)
        );
        let statuses = [a.0, b.0, r.0];
        if state != HoldState::Active {
            // As settled before: repeats are harmless, the other way is refused.
            let expected = match state {
                HoldState::Captured => [200, 200, 409],
                _ => [409, 409, 200],
            };
            assert_eq!(statuses, expected, "settling a {state:?} hold again");
            return true;
        }
        let won: String = sqlx::query_scalar("SELECT status FROM holds WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
        let to = if won == "captured" {
            assert_eq!(statuses, [200, 200, 409], "the capture won");
            HoldState::Captured
        } else {
            assert_eq!(won, "released");
            assert_eq!(statuses, [409, 409, 200], "the release won");
            HoldState::Released
        };
        self.settled(m, index, to);
        false
    }

    async fn redeem(&mut self, m: usize, points: i64) -> bool {
        let key = self.fresh("redeem");
        let (status, body) = answer(
            self.app.redeem(&self.members[m].member, &key, points).await,
            "redeem",
        )
        .await;
        let model = &mut self.members[m];
        if !(1..=MAX_POINTS).contains(&points) {
            assert_eq!(
                (status, slug(&body)),
                (422, "validation-error"),
                "redeem {points}"
            );
            return true;
        }
        if points > model.available() {
            assert_eq!(
                (status, slug(&body)),
                (422, "insufficient-points"),
                "redeem {points} of {model:?}"
            );
            return true;
        }
        assert_eq!(status, 201, "redeem {points}: {body}");
        assert_eq!(body["status"], "captured");
        let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
        model.holds.push((id, points, HoldState::Captured));
        model.balance -= points;
        false
    }

    /// What a refund state of a charge must take back, as the model says: in proportion to
    /// what it earned, never below zero unless the program allows it, never into held points.
    /// Returns whether the ledger records a reversal (perhaps of nothing, all of it short).
    fn reverse(&mut self, m: usize, slot: usize) -> bool {
        let allow_negative = self.allow_negative;
        let model = &mut self.members[m];
        let available = model.available();
        let charge = &mut model.charges[slot];
        let Some(earned) = charge.earned else {
            return false;
        };
        let due = points_to_reverse(earned, charge.amount, charge.refunded);
        let delta = due - charge.accounted;
        if delta <= 0 {
            return false;
        }
        let take = if allow_negative {
            delta
        } else {
            delta.min(available.max(0))
        };
        charge.accounted += delta;
        model.balance -= take;
        true
    }

    async fn charge(&mut self, m: usize, slot: usize) -> bool {
        let id = self.members[m].member.id;
        let charge = &self.members[m].charges[slot];
        let repeat = charge.earned.is_some();
        let event = ChargeSucceeded {
            charge_id: charge.id.clone(),
            member_id: id.to_string(),
            amount: charge.amount,
            currency: "AUD".into(),
            kind: "purchase".into(),
            ..Default::default()
        };
        self.publish(topics::CHARGE_SUCCEEDED, id, &event).await;
        if repeat {
            return true;
        }
        let earned: Option<i64> = sqlx::query_scalar(
            "SELECT points FROM point_transactions
              WHERE source = 'charge' AND reference_id = $1 AND kind = 'earn'",
        )
        .bind(&event.charge_id)
        .fetch_optional(&self.app.pool)
        .await
        .unwrap();
        let earned = earned.unwrap_or(0);
        // 1 point a dollar, times the tier's multiplier (at most 2x).
        assert!(
            (event.amount / 100..=event.amount / 50).contains(&earned),
            "{earned} points for {}",
            event.amount
        );
        let model = &mut self.members[m];
        model.balance += earned;
        model.charges[slot].earned = Some(earned);
        // A refund that came first is applied now.
        self.reverse(m, slot);
        false
    }

    async fn refund(&mut self, m: usize, slot: usize, percent: i64) -> bool {
        let id = self.members[m].member.id;
        let charge = &mut self.members[m].charges[slot];
        let total = charge.amount * percent / 100;
        let event = ChargeRefunded {
            charge_id: charge.id.clone(),
            refund_id: Uuid::new_v4().to_string(),
            member_id: id.to_string(),
            refund_amount: total,
            charge_amount: charge.amount,
            total_refunded: total,
            currency: "AUD".into(),
            psp: "stripe".into(),
        };
        charge.refunded = charge.refunded.max(total);
        self.publish(topics::CHARGE_REFUNDED, id, &event).await;
        // A refund before its charge is remembered, and checked when the charge comes.
        !self.reverse(m, slot)
    }

    async fn expire(&mut self, m: usize, pick: usize, later: bool) -> bool {
        let lots: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM point_lots WHERE member_id = $1 AND status = 'active' AND remaining > 0
              ORDER BY earned_at, id",
        )
        .bind(self.members[m].member.id)
        .fetch_all(&self.app.pool)
        .await
        .unwrap();
        if !lots.is_empty() {
            sqlx::query(
                "UPDATE point_lots SET expires_at = now() - interval '1 second' WHERE id = $1",
            )
            .bind(lots[pick % lots.len()])
            .execute(&self.app.pool)
            .await
            .unwrap();
        }
        let now = if later {
            Utc::now() + Duration::days(2)
        } else {
            Utc::now()
        };
        if later {
            // Every hold lasts an hour: two days later, all have expired by themselves.
            for model in &mut self.members {
                for (_, points, state) in &mut model.holds {
                    if *state == HoldState::Active {
                        *state = HoldState::Expired;
                        model.held -= *points;
                    }
                }
            }
        }
        let mut expected = 0;
        for model in &mut self.members {
            let due: i64 = sqlx::query_scalar(
                "SELECT COALESCE(sum(remaining), 0)::bigint FROM point_lots
                  WHERE member_id = $1 AND status = 'active' AND expires_at <= $2",
            )
            .bind(model.member.id)
            .bind(now)
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            // Expiry never takes held points.
            let expiring = due.min(model.available().max(0));
            model.balance -= expiring;
            expected += expiring;
        }
        let report = scheduler::run_once(&self.app.pool, now)
            .await
            .expect("the jobs run");
        // Other sequences' members may expire in the same run.
        assert!(report.expired_points >= expected, "{report:?}, {expected}");
        false
    }

    /// Every invariant of every member of the sequence.
    async fn check(&self, op: &Op) {
        let pool = &self.app.pool;
        for model in &self.members {
            let id = model.member.id;
            let (balance, pending, held): (i64, i64, i64) =
                sqlx::query_as("SELECT balance, pending, held FROM accounts WHERE member_id = $1")
                    .bind(id)
                    .fetch_one(pool)
                    .await
                    .unwrap();
            assert_eq!(
                (balance, held, pending),
                (model.balance, model.held, 0),
                "after {op:?}: stored (balance, held, pending) of {model:?}"
            );
            let (active_entries, pending_entries, foreign): (i64, i64, i64) = sqlx::query_as(
                "SELECT COALESCE(sum(amount) FILTER (WHERE account = 'member:' || $1::text), 0)::bigint,
                        COALESCE(sum(amount) FILTER (WHERE account = 'pending:' || $1::text), 0)::bigint,
                        count(*) FILTER (WHERE member_id IS DISTINCT FROM $1)
                   FROM ledger_entries WHERE account LIKE '%' || $1::text",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(
                (active_entries, pending_entries, foreign),
                (balance, 0, 0),
                "after {op:?}: the balance is the sum of the member's entries"
            );
            // Each transaction's legs sum to zero, and its member legs to its points.
            let unbalanced: Vec<(Uuid, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT t.id, t.kind, t.points,
                        COALESCE(sum(e.amount), 0)::bigint,
                        COALESCE(sum(e.amount) FILTER (WHERE e.account <> 'program:liability'), 0)::bigint
                   FROM point_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
                  WHERE t.member_id = $1
                  GROUP BY t.id
                 HAVING COALESCE(sum(e.amount), 0) <> 0
                     OR COALESCE(sum(e.amount) FILTER (WHERE e.account <> 'program:liability'), 0) <> t.points",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(unbalanced.is_empty(), "after {op:?}: {unbalanced:?}");
            if !self.allow_negative {
                assert!(
                    balance >= held && held >= 0,
                    "after {op:?}: overspent {model:?}"
                );
                // Never below zero at any point of the history either.
                let lowest: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(min(running), 0)::bigint FROM
                        (SELECT sum(amount) OVER (ORDER BY id) AS running FROM ledger_entries
                          WHERE account = 'member:' || $1::text) r",
                )
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap();
                assert!(lowest >= 0, "after {op:?}: the balance was {lowest} once");
            }
            let holds: Vec<(Uuid, i64, String)> = sqlx::query_as(
                "SELECT id, points, status FROM holds WHERE member_id = $1 ORDER BY created_at, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap();
            let mut expected: Vec<(Uuid, i64, String)> = model
                .holds
                .iter()
                .map(|(id, points, state)| (*id, *points, state.as_str().to_owned()))
                .collect();
            let mut stored = holds.clone();
            expected.sort();
            stored.sort();
            assert_eq!(stored, expected, "after {op:?}: the holds");
            let captured_spent: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM holds h
                   LEFT JOIN point_transactions t ON t.id = h.transaction_id
                  WHERE h.member_id = $1 AND h.status = 'captured'
                    AND (t.id IS NULL OR t.points <> -h.points OR t.kind <> 'redeem')",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(
                captured_spent, 0,
                "after {op:?}: each capture spent its hold once"
            );
            let (lots_active, lots_other, negative): (i64, i64, i64) = sqlx::query_as(
                "SELECT COALESCE(sum(remaining) FILTER (WHERE status = 'active'), 0)::bigint,
                        COALESCE(sum(remaining) FILTER (WHERE status <> 'active'), 0)::bigint,
                        count(*) FILTER (WHERE remaining < 0 OR remaining > points)
                   FROM point_lots WHERE member_id = $1",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(
                (lots_active, lots_other, negative),
                (balance.max(0), 0, 0),
                "after {op:?}: the active lots hold the balance"
            );
            // The jobs run here as another instance would run them: the service drops the
            // balance it keeps when their change's notification arrives, milliseconds later.
            let expected = (Some(balance), Some(balance - held), Some(held), Some(0));
            let mut shown = None;
            for _ in 0..100 {
                let response = self.app.api.get(&self.app.admin, &balance_path(id)).await;
                let (status, view) = answer(response, "balance").await;
                assert_eq!(status, 200);
                let seen = (
                    view["total_points"].as_i64(),
                    view["available_points"].as_i64(),
                    view["on_hold_points"].as_i64(),
                    view["pending_points"].as_i64(),
                );
                shown = Some(seen);
                if seen == expected {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert_eq!(
                shown,
                Some(expected),
                "after {op:?}: the API's balance (within 2 s of the change)"
            );
        }
        let all: i64 =
            sqlx::query_scalar("SELECT COALESCE(sum(amount), 0)::bigint FROM ledger_entries")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(all, 0, "after {op:?}: all entries sum to zero");
    }
}

async fn run_sequence(app: &TestApp, sequence: &Sequence, stats: &Stats) {
    let program = app.api.get(&app.admin, "/api/v1/points/program").await;
    let (status, mut settings) = answer(program, "program").await;
    assert_eq!(status, 200);
    settings["allow_negative_balance"] = json!(sequence.allow_negative);
    let (status, body) = answer(
        app.put(&app.admin, "/api/v1/points/program", &settings)
            .await,
        "program",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let case = Uuid::now_v7();
    let mut members = Vec::new();
    for amounts in &sequence.charges {
        let member = app.member().await;
        members.push(Model {
            charges: amounts
                .iter()
                .enumerate()
                .map(|(i, amount)| ChargeSlot {
                    id: format!("ch_{}_{}_{i}", case.simple(), member.id.simple()),
                    amount: *amount,
                    earned: None,
                    refunded: 0,
                    accounted: 0,
                })
                .collect(),
            member,
            balance: 0,
            held: 0,
            holds: Vec::new(),
            earns: Vec::new(),
            adjustments: Vec::new(),
        });
    }
    let mut run = Run {
        app,
        case,
        allow_negative: sequence.allow_negative,
        members,
        stats,
        counter: 0,
    };
    for op in &sequence.ops {
        run.apply(op).await;
    }
    // Held points cannot be spent twice: all the member has left is available, not a point more.
    for m in 0..MEMBERS {
        let available = run.members[m].available();
        if (0..MAX_POINTS).contains(&available) {
            run.apply(&Op::Redeem {
                m,
                points: available + 1,
            })
            .await;
        }
    }
    bump(&stats.cases);
}

/// Sequences per run of the test command, unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 24;

#[test]
fn random_ledger_operations_keep_every_balance_equal_to_its_entries() {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::start_with(|settings| {
        // Thousands of requests from one partner and one staff member in a minute.
        settings.rate_limit.member_per_minute = 1_000_000;
        settings.rate_limit.partner_per_minute = 1_000_000;
    }));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        // Nothing written into the repository; a failure prints its smallest sequence.
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    });
    let stats = Stats::default();
    let result = runner.run(&sequence(), |sequence| {
        runtime.block_on(run_sequence(&app, &sequence, &stats));
        Ok(())
    });
    runtime.block_on(app.stop());
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "ledger properties: {} cases, {} operations ({} refused or repeats, {} events), {:.1}s",
        stats.cases.get(),
        stats.ops.get(),
        stats.refused.get(),
        stats.events.get(),
        started.elapsed().as_secs_f64()
    );
}
