use platform::config::{Loader, ServiceSettings, Setting};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// How long `POST /api/v1/rewards/{id}/redemptions` waits for the redemption to finish
    /// before answering 202 with its URL.
    pub redemption_wait_ms: u64,
    /// The point service, read for the catalog's member filters (`affordable`, `for_my_tier`).
    pub point_url: String,
    /// How often the campaign timers (window ends, grace ends, reward retries) are checked.
    pub campaign_timer_interval_ms: u64,
    /// Requests for a campaign's points before its enrolment is disqualified `reward_failed`.
    pub campaign_reward_attempts: i32,
    /// The wait after the first reward request; it doubles with every retry.
    pub campaign_reward_retry_secs: i64,
    /// How long before a window ends a member short of the goal is told (once).
    pub campaign_window_notice_hours: i64,
    /// A directory watched for settlement files (unset: none); see docs/campaigns.md.
    pub settlement_dir: Option<String>,
    /// How often the settlement directory is scanned.
    pub settlement_scan_interval_ms: u64,
}

const PREFIX: &str = "REWARDS";

/// Every setting of the rewards service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("port", "3003"),
    Setting::new("database_schema", "rewards"),
    Setting::new("redemption_wait_ms", "2000"),
    Setting::new("point_url", "http://127.0.0.1:3002"),
    Setting::new("campaign_timer_interval_ms", "1000"),
    Setting::new("campaign_reward_attempts", "5"),
    Setting::new("campaign_reward_retry_secs", "60"),
    Setting::new("campaign_window_notice_hours", "72"),
    Setting::unset("settlement_dir"),
    Setting::new("settlement_scan_interval_ms", "5000"),
];

impl Settings {
    /// Production: the defaults, then the environment (`REWARDS__PORT`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS).from_env().load()
    }

    /// The fleet runner: the defaults around its connections, then `REWARDS__*` variables.
    pub fn in_fleet(service: &ServiceSettings) -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS)
            .service(service)
            .from_env()
            .load()
    }

    /// Tests: the defaults around the given connections; the environment is not read.
    pub fn new(service: ServiceSettings) -> Self {
        Loader::new(PREFIX, SETTINGS)
            .service(&service)
            .load()
            .expect("the settings table loads")
    }
}
