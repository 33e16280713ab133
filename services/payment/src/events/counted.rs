//! What the published events say, counted in the service's metrics: `charges_total{psp, status}`
//! for every final state of a charge (succeeded, failed) and every refund (refunded). Counted as
//! Kafka acknowledges each event, so only committed transitions count.

use events::proto::{ChargeFailed, ChargeRefunded, ChargeSucceeded, Envelope};
use events::{topics, PublishedObserver};
use prometheus::{IntCounterVec, Opts, Registry};
use prost::Message;
use std::sync::Arc;

pub fn charge_counters(registry: &Registry) -> anyhow::Result<PublishedObserver> {
    let charges = IntCounterVec::new(
        Opts::new(
            "charges_total",
            "Charges by PSP and outcome: succeeded, failed, refunded (one per refund)",
        ),
        &["psp", "status"],
    )?;
    registry.register(Box::new(charges.clone()))?;
    Ok(Arc::new(move |envelope: &Envelope| {
        let payload = envelope.payload.as_slice();
        let counted = match envelope.event_type.as_str() {
            topics::CHARGE_SUCCEEDED => ChargeSucceeded::decode(payload)
                .ok()
                .map(|e| (e.psp, "succeeded")),
            topics::CHARGE_FAILED => ChargeFailed::decode(payload)
                .ok()
                .map(|e| (e.psp, "failed")),
            topics::CHARGE_REFUNDED => ChargeRefunded::decode(payload)
                .ok()
                .map(|e| (e.psp, "refunded")),
            _ => None,
        };
        if let Some((psp, status)) = counted {
            let psp = if psp.is_empty() {
                "none".to_owned()
            } else {
                psp
            };
            charges.with_label_values(&[&psp, status]).inc();
        }
    }))
}
