//! How a charge moves, for every use case that moves one.

use crate::domain::{Charge, ChargeStatus, JobKind, Transition};
use crate::events::publishes;
use crate::storage::{charges, jobs};
use sqlx::PgConnection;
use uuid::Uuid;

/// Moves the charge if the move is legal (never backwards, never out of a final state) and
/// enqueues the event of a final state in the same transaction. Returns the updated charge, or
/// `None` when the move is refused.
pub(super) async fn apply(
    conn: &mut PgConnection,
    charge_id: Uuid,
    transition: &Transition<'_>,
) -> Result<Option<Charge>, sqlx::Error> {
    let Some(from) = charges::lock_status(conn, charge_id).await? else {
        return Ok(None);
    };
    if !from.can_become(transition.to) {
        return Ok(None);
    }
    let updated = charges::update_status(conn, charge_id, from, transition).await?;
    if let Some(event) = publishes::charge_final_state(&updated) {
        events::outbox::enqueue(conn, &event).await?;
    }
    if transition.to.is_final() {
        jobs::finish_for_charge(conn, charge_id).await?;
    }
    Ok(Some(updated))
}

/// The payer approved the payment at the PSP: the charge goes back to processing and its
/// capture is queued. Only the call that moves the charge queues it, so a repeated approval
/// (a replayed webhook, a check racing the webhook) never queues a second capture.
pub(super) async fn approve_and_queue_capture(
    conn: &mut PgConnection,
    charge_id: Uuid,
    psp_reference: &str,
    cause: &str,
    max_attempts: i32,
) -> Result<Option<Charge>, sqlx::Error> {
    let approved = Transition {
        psp_reference: Some(psp_reference),
        ..Transition::new(ChargeStatus::Processing, cause)
    };
    let moved = apply(conn, charge_id, &approved).await?;
    if moved.is_some() {
        jobs::insert_queued(conn, JobKind::Capture, charge_id, max_attempts).await?;
    }
    Ok(moved)
}
