//! The producer's side of reconciliation: what this service says happened (charges that
//! succeeded, with the id of the event that told everyone), and publishing a charge's event
//! again when a consumer never applied it. Publishing again is always safe: the event keeps its
//! id, so a consumer that applied it skips it.

use super::Payments;
use crate::events::publishes;
use crate::storage::charges::{self, SucceededCharge};
use chrono::{DateTime, Utc};
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use uuid::Uuid;

/// A succeeded charge and the id of its `charge.succeeded` event.
pub struct PublishedCharge {
    pub charge: SucceededCharge,
    pub event_id: Uuid,
}

/// Charges that succeeded in `[since, until)`, most recent first, a page at a time.
pub async fn succeeded_charges(
    payments: &Payments,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    page: &PageRequest,
) -> Result<(Vec<PublishedCharge>, Option<String>), ApiError> {
    let found = charges::succeeded_between(
        &payments.pool,
        since,
        until,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    let (items, next_cursor) = page.finish(found, |c| Cursor {
        created_at: c.succeeded_at,
        id: c.charge_id,
    });
    let items = items
        .into_iter()
        .map(|charge| PublishedCharge {
            event_id: events::fact_event_id(
                events::topics::CHARGE_SUCCEEDED,
                &charge.charge_id.to_string(),
            ),
            charge,
        })
        .collect();
    Ok((items, next_cursor))
}

/// What publishing again did: the charges whose final-state event is queued again, and the ids
/// that name no charge in a final state.
pub struct Republished {
    pub queued: Vec<Uuid>,
    pub unknown: Vec<Uuid>,
}

/// Queues the final-state event (`charge.succeeded` or `charge.failed`) of each charge again,
/// with the id it was first published under.
pub async fn republish(payments: &Payments, charge_ids: &[Uuid]) -> Result<Republished, ApiError> {
    let mut done = Republished {
        queued: Vec::new(),
        unknown: Vec::new(),
    };
    let mut tx = payments.pool.begin().await?;
    for &id in charge_ids {
        let event = charges::lock(&mut tx, id)
            .await?
            .as_ref()
            .and_then(publishes::charge_final_state);
        match event {
            Some(event) => {
                events::outbox::enqueue_again(&mut tx, &event).await?;
                done.queued.push(id);
            }
            None => done.unknown.push(id),
        }
    }
    tx.commit().await?;
    if !done.queued.is_empty() {
        tracing::info!(
            charges = done.queued.len(),
            "charge events queued to be published again"
        );
    }
    Ok(done)
}
