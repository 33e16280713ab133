//! What the published events say, counted in the service's metrics: `points_earned_total{source}`
//! and `points_redeemed_total`, in points. Counted as Kafka acknowledges each event, so only
//! committed ledger entries count.

use events::proto::{Envelope, PointsEarned, PointsRedeemed};
use events::{topics, PublishedObserver};
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};
use prost::Message;
use std::sync::Arc;

pub fn ledger_counters(registry: &Registry) -> anyhow::Result<PublishedObserver> {
    let earned = IntCounterVec::new(
        Opts::new(
            "points_earned_total",
            "Points earned, by source (charge, order, campaign, manual, ...)",
        ),
        &["source"],
    )?;
    let redeemed = IntCounter::new("points_redeemed_total", "Points redeemed")?;
    registry.register(Box::new(earned.clone()))?;
    registry.register(Box::new(redeemed.clone()))?;
    Ok(Arc::new(move |envelope: &Envelope| {
        match envelope.event_type.as_str() {
            topics::POINTS_EARNED => {
                if let Ok(event) = PointsEarned::decode(envelope.payload.as_slice()) {
                    if let Ok(points) = u64::try_from(event.points) {
                        earned.with_label_values(&[&event.source]).inc_by(points);
                    }
                }
            }
            topics::POINTS_REDEEMED => {
                if let Ok(event) = PointsRedeemed::decode(envelope.payload.as_slice()) {
                    if let Ok(points) = u64::try_from(event.points) {
                        redeemed.inc_by(points);
                    }
                }
            }
            _ => {}
        }
    }))
}
