//! A member's points and tier, asked of the point service (which owns them) for the catalog's
//! "affordable for me" and "for my tier" filters. The member's own token goes along: the point
//! service authorizes the read as the member's, and nothing here holds a credential of its own.

use platform::ApiError;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// What the catalog filters need of a member's balance.
#[derive(Debug, Clone, Deserialize)]
pub struct Standing {
    pub available_points: i64,
    /// The program's tiers up to the member's own.
    pub tiers_reached: Vec<String>,
}

pub struct PointClient {
    base_url: String,
    http: reqwest::Client,
}

impl PointClient {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
        })
    }

    /// The member's standing, read with their own bearer token.
    pub async fn standing(&self, member: Uuid, bearer: &str) -> Result<Standing, ApiError> {
        let unavailable = |why: String| {
            tracing::warn!(%why, "the point service did not answer a balance read");
            ApiError::Unavailable("the member's points cannot be read right now".into())
        };
        let response = self
            .http
            .get(format!("{}/api/v1/points/{member}/balance", self.base_url))
            .bearer_auth(bearer)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        match response.status().as_u16() {
            200 => response
                .json::<Standing>()
                .await
                .map_err(|e| unavailable(e.to_string())),
            // No account yet: nothing is affordable and only untiered rewards are open.
            404 => Ok(Standing {
                available_points: 0,
                tiers_reached: Vec::new(),
            }),
            status => Err(unavailable(format!("status {status}"))),
        }
    }
}
