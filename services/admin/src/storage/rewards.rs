//! `reward_activity`: redemptions per reward, business and day.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

/// What one reward event adds to its reward's day.
#[derive(Debug, Clone, Default)]
pub struct RewardCounts {
    pub business_id: Uuid,
    pub reward_id: Uuid,
    pub day: NaiveDate,
    /// Empty when the event does not name the reward.
    pub reward_name: String,
    pub redeemed: i64,
    pub used: i64,
    pub cancelled: i64,
    /// Points spent (negative when given back).
    pub points: i64,
}

pub async fn add(conn: &mut PgConnection, c: &RewardCounts) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO reward_activity
                (business_id, reward_id, day, reward_name, redeemed, used, cancelled, points)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (business_id, day, reward_id) DO UPDATE
            SET reward_name = CASE WHEN EXCLUDED.reward_name = '' THEN reward_activity.reward_name
                                   ELSE EXCLUDED.reward_name END,
                redeemed = reward_activity.redeemed + EXCLUDED.redeemed,
                used = reward_activity.used + EXCLUDED.used,
                cancelled = reward_activity.cancelled + EXCLUDED.cancelled,
                points = reward_activity.points + EXCLUDED.points",
        c.business_id,
        c.reward_id,
        c.day,
        c.reward_name,
        c.redeemed,
        c.used,
        c.cancelled,
        c.points,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct TopReward {
    pub reward_id: Uuid,
    pub reward_name: String,
    pub redeemed: i64,
    pub used: i64,
    pub cancelled: i64,
    pub points: i64,
}

/// The most redeemed rewards of a business since `since` (net of cancellations).
pub async fn top(
    conn: &mut PgConnection,
    business_id: Uuid,
    since: NaiveDate,
    limit: i64,
) -> Result<Vec<TopReward>, sqlx::Error> {
    sqlx::query_as!(
        TopReward,
        r#"SELECT reward_id, max(reward_name) AS "reward_name!", sum(redeemed)::bigint AS "redeemed!",
                  sum(used)::bigint AS "used!", sum(cancelled)::bigint AS "cancelled!",
                  sum(points)::bigint AS "points!"
             FROM reward_activity
            WHERE business_id = $1 AND day >= $2
            GROUP BY reward_id
            ORDER BY sum(redeemed) - sum(cancelled) DESC, reward_id
            LIMIT $3"#,
        business_id,
        since,
        limit
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct RewardDay {
    pub day: NaiveDate,
    pub redeemed: i64,
    pub used: i64,
    pub cancelled: i64,
}

/// A business's redemptions per day since `since`, oldest first (days without any are absent).
pub async fn per_day(
    conn: &mut PgConnection,
    business_id: Uuid,
    since: NaiveDate,
) -> Result<Vec<RewardDay>, sqlx::Error> {
    sqlx::query_as!(
        RewardDay,
        r#"SELECT day, sum(redeemed)::bigint AS "redeemed!", sum(used)::bigint AS "used!",
                  sum(cancelled)::bigint AS "cancelled!"
             FROM reward_activity
            WHERE business_id = $1 AND day >= $2
            GROUP BY day ORDER BY day"#,
        business_id,
        since
    )
    .fetch_all(conn)
    .await
}
