//! Member notifications end to end: events published to the broker, email delivered over SMTP
//! to a server the test runs, push to a provider the test runs, with the member's switches,
//! consent and devices and the business's templates as the API sets them.

use crate::helpers::{assert_problem, TestApp, PASSWORD};
use events::proto::{
    CampaignCompleted, CampaignDisqualified, CampaignGoalAchieved, CampaignRewardDue,
    CampaignWindowEnding, PointsExpiring, RewardCancelled, RewardRedeemed, StampCardCompleted,
    TierChanged,
};
use events::{topics, OutgoingEvent};
use prost::Message as _;
use rdkafka::producer::FutureRecord;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{PushReceiver, SmtpServer};
use uuid::Uuid;

const SMTP_USER: &str = "mailer";
const SMTP_PASSWORD: &str = "mail-secret";
const MAIL_FROM: &str = "Harbour Rewards <rewards@tessera.example>";
const PUSH_PROJECT: &str = "tessera-test";
const PUSH_TOKEN: &str = "push-bearer-token";

/// The user service with email going to a test SMTP server (which wants a login) and push to a
/// test FCM-shaped provider.
struct Notified {
    app: TestApp,
    smtp: SmtpServer,
    push: PushReceiver,
}

impl Notified {
    async fn start() -> Self {
        let smtp = SmtpServer::start_with_auth(SMTP_USER, SMTP_PASSWORD)
            .await
            .unwrap();
        let push = PushReceiver::start().await.unwrap();
        let (smtp_url, push_url) = (smtp.url(), push.url().to_owned());
        let app = TestApp::start_with(|settings| {
            settings.smtp_url = Some(smtp_url.into());
            settings.mail_from = MAIL_FROM.into();
            settings.push.url = Some(push_url);
            settings.push.project_id = Some(PUSH_PROJECT.into());
            settings.push.bearer_token = Some(PUSH_TOKEN.to_owned().into());
        })
        .await;
        Self { app, smtp, push }
    }

    /// Registers a member, confirms their address with the code that came by SMTP, logs in.
    async fn confirmed_member(&self, email: &str) -> (Uuid, String) {
        let id = self.app.register(email).await;
        let mails = self.smtp.wait_for(email, 1).await.unwrap();
        let body = mails[0].body();
        let code = body
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_owned();
        assert_eq!(self.app.verify(email, &code).await.status(), 200);
        let login: Value = self.app.login(email, PASSWORD).await.json().await.unwrap();
        (id, login["access_token"].as_str().unwrap().to_owned())
    }

    /// Delivers `event` to the broker as a producer's relay does; sending the same value twice
    /// is a redelivery (same event id).
    async fn deliver(&self, event: &OutgoingEvent) {
        let producer = self.app.infra.kafka_settings().producer("test").unwrap();
        producer
            .send(
                FutureRecord::to(event.event_type)
                    .key(&event.subject_id)
                    .payload(&event.envelope.encode_to_vec()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("the broker takes the event");
    }

    /// Waits until the service's consumer has applied `count` events in all.
    async fn applied(&self, count: i64) {
        testkit::eventually(Duration::from_secs(15), || async {
            let done = self
                .app
                .count("SELECT count(*) FROM inbox WHERE consumer = 'user'")
                .await;
            Ok((done >= count).then_some(()))
        })
        .await
        .unwrap_or_else(|_| panic!("{count} events were never applied"));
    }

    /// How many notifications were queued on `channel` for `member`.
    async fn queued(&self, member: Uuid, channel: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND channel = $2")
            .bind(member)
            .bind(channel)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn put(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.app
            .api
            .send(reqwest::Method::PUT, Some(token), path, Some(body))
            .await
    }

    async fn register_device(&self, token: &str, device: &str) -> reqwest::Response {
        self.app
            .api
            .post(
                token,
                "/api/v1/users/me/devices",
                None,
                &json!({"token": device, "platform": "android"}),
            )
            .await
    }

    async fn set_preferences(&self, token: &str, email: bool, push: bool, consent: bool) {
        let response = self
            .put(
                token,
                "/api/v1/users/me/notification-preferences",
                &json!({"email": email, "push": push, "marketing_consent": consent}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["email"], email);
        assert_eq!(body["push"], push);
        assert_eq!(body["marketing_consent"], consent);
    }
}

fn redeemed(member: Uuid, reward: &str, code: &str) -> OutgoingEvent {
    let message = RewardRedeemed {
        redemption_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        reward_id: Uuid::now_v7().to_string(),
        reward_name: reward.into(),
        points: 500,
        code: code.into(),
        code_expires_at: chrono::DateTime::from_timestamp(1_798_761_540, 0)
            .map(events::proto_timestamp),
        fulfilment: "show_code".into(),
        ..Default::default()
    };
    OutgoingEvent::new("rewards", topics::REWARD_REDEEMED, member, &message)
}

fn tier_upgraded(member: Uuid) -> OutgoingEvent {
    let message = TierChanged {
        member_id: member.to_string(),
        from_tier: "BRONZE".into(),
        to_tier: "SILVER".into(),
        reason: "spend".into(),
    };
    OutgoingEvent::new("point", topics::TIER_UPGRADED, member, &message)
}

fn points_expiring(member: Uuid) -> OutgoingEvent {
    let message = PointsExpiring {
        member_id: member.to_string(),
        points: 120,
        expires_on: "2027-01-31".into(),
        lot_id: Uuid::now_v7().to_string(),
    };
    OutgoingEvent::new("point", topics::POINTS_EXPIRING, member, &message)
}

fn card_completed(member: Uuid) -> OutgoingEvent {
    let message = StampCardCompleted {
        card_reward_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        reward: "A free flat white".into(),
        ..Default::default()
    };
    OutgoingEvent::new("point", topics::STAMP_CARD_COMPLETED, member, &message)
}

/// Seed 000: load $1,000 onto the card within 30 days, get 2,000 points.
const LOAD_GOAL: &str = "Load $1,000 in 30 days";

/// The campaign windows of these tests close at 2027-01-31 13:00 UTC.
fn window_ends_at() -> chrono::DateTime<chrono::Utc> {
    "2027-01-31T13:00:00Z".parse().unwrap()
}

fn goal_achieved(member: Uuid, campaign: &str) -> OutgoingEvent {
    let message = CampaignGoalAchieved {
        campaign_id: Uuid::now_v7().to_string(),
        enrolment_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        campaign_name: campaign.into(),
        total: 104_550,
        target: 100_000,
        currency: "AUD".into(),
        reward_points: 2000,
        window_ends_at: Some(events::proto_timestamp(window_ends_at())),
        achieved_at: Some(events::proto_timestamp(chrono::Utc::now())),
    };
    OutgoingEvent::new("rewards", topics::CAMPAIGN_GOAL_ACHIEVED, member, &message)
}

/// A campaign in yen, which has no minor unit below the yen.
fn window_ending(member: Uuid) -> OutgoingEvent {
    let message = CampaignWindowEnding {
        campaign_id: Uuid::now_v7().to_string(),
        enrolment_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        campaign_name: "Spring load-up".into(),
        total: 30_000,
        target: 100_000,
        currency: "JPY".into(),
        window_ends_at: Some(events::proto_timestamp(window_ends_at())),
    };
    OutgoingEvent::new("rewards", topics::CAMPAIGN_WINDOW_ENDING, member, &message)
}

fn disqualified(member: Uuid, campaign: &str, reason: &str, total: i64) -> OutgoingEvent {
    let message = CampaignDisqualified {
        campaign_id: Uuid::now_v7().to_string(),
        enrolment_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        campaign_name: campaign.into(),
        reason: reason.into(),
        total,
        target: 100_000,
        currency: "AUD".into(),
        disqualified_at: Some(events::proto_timestamp(chrono::Utc::now())),
    };
    OutgoingEvent::new("rewards", topics::CAMPAIGN_DISQUALIFIED, member, &message)
}

fn campaign_completed(member: Uuid) -> OutgoingEvent {
    let message = CampaignCompleted {
        campaign_id: Uuid::now_v7().to_string(),
        enrolment_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        campaign_name: LOAD_GOAL.into(),
        points: 2000,
        transaction_id: Uuid::now_v7().to_string(),
        completed_at: Some(events::proto_timestamp(chrono::Utc::now())),
    };
    OutgoingEvent::new("point", topics::CAMPAIGN_COMPLETED, member, &message)
}

/// The rewards service asking the point service to pay a campaign's points.
fn reward_due(member: Uuid) -> OutgoingEvent {
    let message = CampaignRewardDue {
        campaign_id: Uuid::now_v7().to_string(),
        window_id: Uuid::now_v7().to_string(),
        member_id: member.to_string(),
        points: 2000,
        reason: LOAD_GOAL.into(),
    };
    OutgoingEvent::new("rewards", topics::CAMPAIGN_REWARD_DUE, member, &message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeemed_reward_is_emailed_over_smtp_with_its_code_once_even_when_delivered_twice() {
    let t = Notified::start().await;
    let (ada, _) = t.confirmed_member("ada@example.com").await;

    let event = redeemed(ada, "Free coffee", "RW-7Q2K");
    t.deliver(&event).await;
    t.deliver(&event).await;
    // Another redemption after the duplicate, on the same topic and key (so the same partition):
    // once its email is here, the duplicate has been consumed too.
    t.deliver(&redeemed(ada, "Cinema ticket", "RW-NEXT")).await;
    t.smtp.wait_for("ada@example.com", 3).await.unwrap();
    // Two events: the inbox holds one row per event id.
    t.applied(2).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mails = t.smtp.to("ada@example.com");
    let with_code = |code: &str| {
        mails
            .iter()
            .filter(|m| m.body().contains(code))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(mails.len(), 3, "the confirmation code and two rewards");
    assert_eq!(
        with_code("RW-7Q2K").len(),
        1,
        "once, though delivered twice"
    );
    assert_eq!(with_code("RW-NEXT").len(), 1);

    let reward = &with_code("RW-7Q2K")[0];
    assert_eq!(reward.subject(), "Your reward: Free coffee");
    let body = reward.body();
    assert!(body.starts_with("Hello Ada,"), "{body}");
    assert!(body.contains("Your code: RW-7Q2K"), "{body}");
    assert!(body.contains("Valid until: 2026-12-31 23:59 UTC"), "{body}");
    assert!(body.contains("for 500 points"), "{body}");
    // The settings: the server's login, and the sender.
    assert_eq!(reward.authenticated_as.as_deref(), Some(SMTP_USER));
    assert_eq!(reward.mail_from, "rewards@tessera.example");
    assert_eq!(
        reward.header("From").unwrap(),
        "\"Harbour Rewards\" <rewards@tessera.example>"
    );
    assert_eq!(reward.rcpt_to, ["ada@example.com"]);

    // A cancellation is transactional too.
    let cancelled = RewardCancelled {
        redemption_id: Uuid::now_v7().to_string(),
        member_id: ada.to_string(),
        points: 80,
        reason: "cancelled".into(),
        ..Default::default()
    };
    t.deliver(&OutgoingEvent::new(
        "rewards",
        topics::REWARD_CANCELLED,
        ada,
        &cancelled,
    ))
    .await;
    let mails = t.smtp.wait_for("ada@example.com", 4).await.unwrap();
    assert_eq!(mails[3].subject(), "Your reward redemption was cancelled");
    assert!(mails[3].body().contains("80 points are back"));
    assert_eq!(t.queued(ada, "email").await, 3);
    // The saga giving back the hold of a redemption that never issued a code tells nobody.
    let applied = t
        .app
        .count("SELECT count(*) FROM inbox WHERE consumer = 'user'")
        .await;
    let give_back = RewardCancelled {
        reason: "redemption_failed".into(),
        ..cancelled
    };
    t.deliver(&OutgoingEvent::new(
        "rewards",
        topics::REWARD_CANCELLED,
        ada,
        &give_back,
    ))
    .await;
    t.applied(applied + 1).await;
    assert_eq!(t.queued(ada, "email").await, 3);
    // Delivered messages leave the queue.
    testkit::eventually(Duration::from_secs(5), || async {
        Ok((t.app.count("SELECT count(*) FROM outbound_messages").await == 0).then_some(()))
    })
    .await
    .unwrap();
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_template_words_that_business_s_notifications_only() {
    let t = Notified::start().await;
    let cafe = Uuid::now_v7();
    let owner = t
        .app
        .staff_at("owner@cafe.example", auth::Role::Owner, Some(cafe), &[])
        .await;
    let (ada, _) = t.confirmed_member("ada@example.com").await;

    let path = "/api/v1/users/notification-templates/reward_redeemed/email";
    let set = t
        .put(
            &owner,
            path,
            &json!({"subject": "Harbour Cafe: {{reward_name}}", "body": "Hi {{first_name}}, show {{code}} at the till."}),
        )
        .await;
    assert_eq!(set.status(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["customized"], true);
    assert_eq!(set["category"], "transactional");

    let listed: Value = t
        .app
        .api
        .get(&owner, "/api/v1/users/notification-templates")
        .await
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 20, "10 kinds, 2 channels");
    let customized: Vec<_> = listed.iter().filter(|t| t["customized"] == true).collect();
    assert_eq!(customized.len(), 1);
    assert_eq!(customized[0]["kind"], "reward_redeemed");
    assert_eq!(customized[0]["channel"], "email");

    // The cafe's event takes the cafe's wording, the reward's name staying on one line.
    t.deliver(&redeemed(ada, "Flat white\r\nBcc: eve@example.com", "CAFE-1").in_business(cafe))
        .await;
    let mails = t.smtp.wait_for("ada@example.com", 2).await.unwrap();
    assert_eq!(
        mails[1].subject(),
        "Harbour Cafe: Flat white  Bcc: eve@example.com"
    );
    assert!(!mails[1]
        .header_names()
        .iter()
        .any(|h| h.eq_ignore_ascii_case("bcc")));
    assert_eq!(mails[1].rcpt_to, ["ada@example.com"]);
    assert_eq!(mails[1].body().trim(), "Hi Ada, show CAFE-1 at the till.");

    // Another business's event (the demo business's) keeps the default.
    t.deliver(&redeemed(ada, "Free coffee", "DEMO-1")).await;
    let mails = t.smtp.wait_for("ada@example.com", 3).await.unwrap();
    assert_eq!(mails[2].subject(), "Your reward: Free coffee");
    assert!(mails[2].body().contains("Your code: DEMO-1"));

    // Back to the default for the cafe too.
    let reset = t.app.delete(&owner, path).await;
    assert_eq!(reset.status(), 200);
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(reset["customized"], false);
    assert_eq!(reset["subject"], "Your reward: {{reward_name}}");
    t.deliver(&redeemed(ada, "Scone", "CAFE-2").in_business(cafe))
        .await;
    let mails = t.smtp.wait_for("ada@example.com", 4).await.unwrap();
    assert_eq!(mails[3].subject(), "Your reward: Scone");
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_checked_and_set_only_by_the_business_s_owners_and_admins() {
    let t = Notified::start().await;
    let path = "/api/v1/users/notification-templates/tier_upgraded/push";
    let good =
        json!({"subject": "Now {{to_tier}}", "body": "Welcome to {{to_tier}}, {{first_name}}."});

    let member = t.app.member("member@example.com").await;
    let member = member["access_token"].as_str().unwrap();
    assert_problem(t.put(member, path, &good).await, 403, "forbidden").await;
    assert_problem(
        t.app
            .api
            .get(member, "/api/v1/users/notification-templates")
            .await,
        403,
        "forbidden",
    )
    .await;

    let admin = t.app.staff("admin@example.com", auth::Role::Admin).await;
    let unknown = t
        .put(
            &admin,
            path,
            &json!({"subject": "Now {{to_tier}}", "body": "Your code is {{code}} and {{balance}}"}),
        )
        .await;
    let problem = assert_problem(unknown, 422, "validation-error").await;
    assert_eq!(testkit::field_errors(&problem), ["body"]);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("{{code}}") && message.contains("{{balance}}"),
        "{message}"
    );
    let malformed = t
        .put(
            &admin,
            path,
            &json!({"subject": "Now {{to_tier", "body": "x"}),
        )
        .await;
    let problem = assert_problem(malformed, 422, "validation-error").await;
    assert_eq!(testkit::field_errors(&problem), ["subject"]);
    assert_problem(
        t.put(
            &admin,
            "/api/v1/users/notification-templates/newsletter/email",
            &good,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(t.put(&admin, path, &good).await.status(), 200);

    // Support reads but does not write; another business's admin touches neither.
    let support = t
        .app
        .staff("support@example.com", auth::Role::Support)
        .await;
    assert_eq!(
        t.app
            .api
            .get(&support, "/api/v1/users/notification-templates")
            .await
            .status(),
        200
    );
    assert_problem(t.put(&support, path, &good).await, 403, "forbidden").await;
    let elsewhere = t
        .app
        .staff_at(
            "admin@other.example",
            auth::Role::Admin,
            Some(Uuid::now_v7()),
            &[],
        )
        .await;
    let demo = kernel::DEMO_BUSINESS_ID;
    assert_problem(
        t.put(&elsewhere, &format!("{path}?business_id={demo}"), &good)
            .await,
        403,
        "forbidden",
    )
    .await;
    let theirs: Value = t
        .app
        .api
        .get(&elsewhere, "/api/v1/users/notification-templates")
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["customized"] == false));
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switches_and_consent_decide_the_channels_and_transactional_email_always_goes() {
    let t = Notified::start().await;
    let (ada, token) = t.confirmed_member("ada@example.com").await;
    let defaults: Value = t
        .app
        .api
        .get(&token, "/api/v1/users/me/notification-preferences")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &defaults["email"],
            &defaults["push"],
            &defaults["marketing_consent"]
        ),
        (&json!(true), &json!(true), &json!(false))
    );
    let first = t.register_device(&token, "device-a").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = t.register_device(&token, "device-a").await;
    assert_eq!(again.status(), 200, "idempotent on the token");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    // A notice with everything on: email and push.
    t.deliver(&tier_upgraded(ada)).await;
    let pushes = t.push.wait_for("device-a", 1).await.unwrap();
    assert_eq!(pushes[0].project, PUSH_PROJECT);
    assert_eq!(
        pushes[0].authorization.as_deref(),
        Some(format!("Bearer {PUSH_TOKEN}").as_str())
    );
    assert_eq!(pushes[0].title(), "You have reached SILVER");
    assert_eq!(
        pushes[0].body(),
        "Congratulations: you have moved up from BRONZE to SILVER."
    );
    assert_eq!(pushes[0].data("kind"), Some("tier_upgraded"));
    assert_eq!(pushes[0].data("to_tier"), Some("SILVER"));
    let mails = t.smtp.wait_for("ada@example.com", 2).await.unwrap();
    assert_eq!(mails[1].subject(), "You have reached SILVER");

    // Push off: email only.
    t.set_preferences(&token, true, false, false).await;
    t.deliver(&points_expiring(ada)).await;
    let mails = t.smtp.wait_for("ada@example.com", 3).await.unwrap();
    assert_eq!(mails[2].subject(), "120 points expire on 2027-01-31");
    assert_eq!(t.queued(ada, "push").await, 1, "only the tier change");

    // Everything off: a notice goes nowhere, a transactional message is still emailed.
    t.set_preferences(&token, false, false, false).await;
    t.deliver(&card_completed(ada)).await;
    t.deliver(&redeemed(ada, "Free coffee", "RW-OFF")).await;
    let mails = t.smtp.wait_for("ada@example.com", 4).await.unwrap();
    assert_eq!(mails[3].subject(), "Your reward: Free coffee");
    t.applied(4).await;

    // A campaign the member joined is transactional: emailed with the email switch off and
    // without marketing consent, while push follows its switch.
    t.deliver(&campaign_completed(ada)).await;
    let mails = t.smtp.wait_for("ada@example.com", 5).await.unwrap();
    assert_eq!(
        mails[4].subject(),
        "2000 points from Load $1,000 in 30 days are yours"
    );
    t.applied(5).await;
    t.set_preferences(&token, false, true, false).await;
    t.deliver(&goal_achieved(ada, LOAD_GOAL)).await;
    let pushes = t.push.wait_for("device-a", 2).await.unwrap();
    assert_eq!(pushes[1].title(), "Goal reached: Load $1,000 in 30 days");
    assert_eq!(
        pushes[1].body(),
        "You loaded 1,045.50 AUD of 1,000.00 AUD. 2000 points are on their way after \
         2027-01-31 13:00 UTC."
    );
    assert_eq!(pushes[1].data("kind"), Some("campaign_goal_achieved"));
    assert_eq!(pushes[1].data("target"), Some("1,000.00 AUD"));
    let mails = t.smtp.wait_for("ada@example.com", 6).await.unwrap();
    assert_eq!(mails[5].subject(), "Goal reached: Load $1,000 in 30 days");
    t.applied(6).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(t.smtp.to("ada@example.com").len(), 6);
    assert_eq!(t.push.to("device-a").len(), 2);
    assert_eq!(t.queued(ada, "email").await, 5);
    assert_eq!(t.queued(ada, "push").await, 2);

    // The consent is the profile's own.
    t.set_preferences(&token, true, true, true).await;
    let me: Value = t.app.me(&token).await.json().await.unwrap();
    assert_eq!(me["marketing_consent"], true);
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_hears_how_their_campaign_goes_and_nothing_of_the_request_to_pay_it() {
    let t = Notified::start().await;
    let (ada, token) = t.confirmed_member("ada@example.com").await;
    // Every switch off and no marketing consent: a campaign the member joined is still emailed.
    t.set_preferences(&token, false, false, false).await;

    // Asking the point service to pay is not paying: nothing to tell the member yet.
    t.deliver(&reward_due(ada)).await;

    // The goal is reached, the event comes twice; another campaign's goal follows on the same
    // topic and key, so once its email is here the duplicate has been consumed too.
    let goal = goal_achieved(ada, LOAD_GOAL);
    t.deliver(&goal).await;
    t.deliver(&goal).await;
    t.deliver(&goal_achieved(ada, "Summer load-up")).await;
    t.smtp.wait_for("ada@example.com", 3).await.unwrap();
    let subject = |subject: &str| {
        t.smtp
            .to("ada@example.com")
            .into_iter()
            .filter(|m| m.subject() == subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(subject("Goal reached: Summer load-up").len(), 1);
    let reached = subject("Goal reached: Load $1,000 in 30 days");
    assert_eq!(reached.len(), 1, "once, though delivered twice");
    let body = reached[0].body();
    assert!(body.starts_with("Hello Ada,"), "{body}");
    assert!(
        body.contains(
            "You did it: you have loaded 1,045.50 AUD onto your card and reached the \
             1,000.00 AUD goal of Load $1,000 in 30 days."
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "Your 2000 points are paid after the campaign window closes on 2027-01-31 13:00 UTC"
        ),
        "{body}"
    );

    // The window of a yen campaign closes soon: what is still to load, in whole yen.
    t.deliver(&window_ending(ada)).await;
    t.smtp.wait_for("ada@example.com", 4).await.unwrap();
    let ending = subject("Spring load-up ends soon: 70,000 JPY to go");
    assert_eq!(ending.len(), 1);
    let body = ending[0].body();
    assert!(
        body.contains(
            "Spring load-up ends on 2027-01-31 13:00 UTC. You have loaded 30,000 JPY of the \
             100,000 JPY goal so far: load 70,000 JPY more onto your card before then"
        ),
        "{body}"
    );

    // The points are paid.
    t.deliver(&campaign_completed(ada)).await;
    t.smtp.wait_for("ada@example.com", 5).await.unwrap();
    let paid = subject("2000 points from Load $1,000 in 30 days are yours");
    assert_eq!(paid.len(), 1);
    let body = paid[0].body();
    assert!(
        body.contains("Your 2000 points from Load $1,000 in 30 days are in your account now."),
        "{body}"
    );

    // Every way out of a campaign, each said in words, with how far the member got.
    let ends = [
        (
            "no_load",
            "Autumn load-up",
            0,
            "no money was loaded onto your card during the campaign window.",
        ),
        (
            "window_ended_short",
            "Winter load-up",
            45_000,
            "the campaign window closed before your loads reached the goal.",
        ),
        (
            "withdrawal",
            "Easter load-up",
            45_000,
            "money was taken off your card during the campaign",
        ),
        (
            "settled_funds_short",
            "Holiday load-up",
            45_000,
            "some of your loads did not go through in the end",
        ),
    ];
    for (reason, campaign, total, _) in ends {
        t.deliver(&disqualified(ada, campaign, reason, total)).await;
    }
    // Paying failed: the goal was reached and staff can pay it yet, so nothing has ended.
    t.deliver(&disqualified(
        ada,
        "Unpaid load-up",
        "reward_failed",
        104_550,
    ))
    .await;
    t.smtp.wait_for("ada@example.com", 10).await.unwrap();
    for (reason, campaign, total, sentence) in ends {
        let update = subject(&format!("An update on {campaign}"));
        assert_eq!(update.len(), 1, "{reason}");
        let body = update[0].body();
        assert!(
            body.contains("Your campaign has ended without a reward: "),
            "{reason}: {body}"
        );
        assert!(body.contains(sentence), "{reason}: {body}");
        let loaded = if total == 0 { "0.00 AUD" } else { "450.00 AUD" };
        assert!(
            body.contains(&format!("Loaded: {loaded} of the 1,000.00 AUD goal")),
            "{reason}: {body}"
        );
        assert!(body.contains(&format!("Campaign: {campaign}")), "{body}");
        assert!(!body.contains(reason), "{reason}: {body}");
    }
    let unpaid = subject("An update on Unpaid load-up");
    assert_eq!(unpaid.len(), 1);
    let body = unpaid[0].body();
    assert!(
        body.contains(
            "You reached the goal, but we could not pay your points yet; our team is on it."
        ),
        "{body}"
    );
    assert!(!body.contains("ended"), "{body}");

    // Nine events told about (the duplicate once), the request to pay never taken in.
    t.applied(9).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mails = t.smtp.to("ada@example.com");
    assert_eq!(
        mails.len(),
        10,
        "the confirmation code and nine campaign messages"
    );
    assert!(
        !mails.iter().any(|m| m.subject().contains("bonus")),
        "nothing about the request to pay"
    );
    let requests = t
        .app
        .count("SELECT count(*) FROM inbox WHERE topic = 'campaign.reward_due'")
        .await;
    assert_eq!(requests, 0);
    assert_eq!(t.queued(ada, "email").await, 9);
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_the_provider_no_longer_knows_is_removed() {
    let t = Notified::start().await;
    let (ada, token) = t.confirmed_member("ada@example.com").await;
    assert_eq!(t.register_device(&token, "kept-device").await.status(), 201);
    let gone: Value = t
        .register_device(&token, "uninstalled-device")
        .await
        .json()
        .await
        .unwrap();
    t.push.unregister("uninstalled-device");

    t.deliver(&tier_upgraded(ada)).await;
    t.push.wait_for("kept-device", 1).await.unwrap();
    t.push.wait_for("uninstalled-device", 1).await.unwrap();
    let devices = testkit::eventually(Duration::from_secs(5), || async {
        let devices: Value = t
            .app
            .api
            .get(&token, "/api/v1/users/me/devices")
            .await
            .json()
            .await?;
        Ok((devices.as_array().unwrap().len() == 1).then_some(devices))
    })
    .await
    .expect("the unregistered device is removed");
    assert_ne!(devices[0]["id"], gone["id"]);

    // The next notification goes to the device that is left only, and the member can remove
    // that one too.
    t.deliver(&points_expiring(ada)).await;
    t.push.wait_for("kept-device", 2).await.unwrap();
    assert_eq!(t.push.to("uninstalled-device").len(), 1);
    let kept = devices[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/users/me/devices/{kept}");
    assert_eq!(t.app.delete(&token, &path).await.status(), 204);
    assert_problem(t.app.delete(&token, &path).await, 404, "not-found").await;
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfirmed_refused_and_erased_members_get_no_email() {
    let t = Notified::start().await;
    // Never confirmed: no notification email (the confirmation code was the only mail).
    let unconfirmed = t.app.register("unconfirmed@example.com").await;
    t.smtp.wait_for("unconfirmed@example.com", 1).await.unwrap();
    t.deliver(&redeemed(unconfirmed, "Free coffee", "RW-U"))
        .await;
    t.applied(1).await;
    assert_eq!(t.queued(unconfirmed, "email").await, 0);

    // A mailbox the server refuses for good: the message is dropped, not retried.
    let (refused, _) = t.confirmed_member("bounce@example.com").await;
    t.smtp.refuse("bounce@example.com");
    t.deliver(&redeemed(refused, "Free coffee", "RW-B")).await;
    t.applied(2).await;
    assert_eq!(t.queued(refused, "email").await, 1);
    testkit::eventually(Duration::from_secs(10), || async {
        Ok((t.app.count("SELECT count(*) FROM outbound_messages").await == 0).then_some(()))
    })
    .await
    .expect("the undeliverable message leaves the queue");
    assert_eq!(t.smtp.to("bounce@example.com").len(), 1, "the code only");

    // Erased: nothing, and the devices and switches are gone with the account.
    let (erased, token) = t.confirmed_member("erased@example.com").await;
    assert_eq!(
        t.register_device(&token, "erased-device").await.status(),
        201
    );
    t.set_preferences(&token, true, false, false).await;
    let export: Value = t
        .app
        .api
        .get(&token, "/api/v1/users/me/export")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["notification_preferences"]["push"], false);
    assert_eq!(export["devices"][0]["platform"], "android");
    let erase = t
        .app
        .api
        .send(
            reqwest::Method::DELETE,
            Some(&token),
            "/api/v1/users/me",
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(erase.status(), 204);
    t.deliver(&redeemed(erased, "Free coffee", "RW-E")).await;
    t.applied(3).await;
    assert_eq!(t.queued(erased, "email").await, 0);
    for table in ["devices", "notification_preferences"] {
        let left: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE user_id = $1"))
                .bind(erased)
                .fetch_one(&t.app.pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(t.push.received().is_empty());
    assert_eq!(t.smtp.to("erased@example.com").len(), 1, "the code only");
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_token_has_one_owner_and_partners_have_no_preferences() {
    let t = Notified::start().await;
    let (_, ada) = t.confirmed_member("ada@example.com").await;
    let (grace_id, grace) = t.confirmed_member("grace@example.com").await;
    assert_eq!(t.register_device(&ada, "shared-tablet").await.status(), 201);
    // The tablet changes hands: the token is Grace's now, and no longer Ada's.
    assert_eq!(
        t.register_device(&grace, "shared-tablet").await.status(),
        201
    );
    let adas: Value = t
        .app
        .api
        .get(&ada, "/api/v1/users/me/devices")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(adas, json!([]));
    let graces: Value = t
        .app
        .api
        .get(&grace, "/api/v1/users/me/devices")
        .await
        .json()
        .await
        .unwrap();
    // Ada cannot remove Grace's device.
    let id = graces[0]["id"].as_str().unwrap();
    assert_problem(
        t.app
            .delete(&ada, &format!("/api/v1/users/me/devices/{id}"))
            .await,
        404,
        "not-found",
    )
    .await;
    let bad = t
        .app
        .api
        .post(
            &ada,
            "/api/v1/users/me/devices",
            None,
            &json!({"token": "has spaces", "platform": "android"}),
        )
        .await;
    assert_eq!(
        testkit::field_errors(&assert_problem(bad, 422, "validation-error").await),
        ["token"]
    );
    t.deliver(&tier_upgraded(grace_id)).await;
    t.push.wait_for("shared-tablet", 1).await.unwrap();

    let admin = t.app.staff("admin@example.com", auth::Role::Admin).await;
    let client: Value = t
        .app
        .api
        .post(
            &admin,
            "/api/v1/auth/clients",
            None,
            &json!({"name": "Till", "scopes": ["members:read"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let issued: Value = t
        .app
        .api
        .http
        .post(t.app.api.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let partner = issued["access_token"].as_str().unwrap();
    assert_problem(
        t.app
            .api
            .get(partner, "/api/v1/users/me/notification-preferences")
            .await,
        403,
        "forbidden",
    )
    .await;
    t.app.stop().await;
}
