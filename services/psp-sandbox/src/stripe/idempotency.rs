//! Stripe's `Idempotency-Key` semantics.
//!
//! Once an endpoint has executed under a key, its status code and body are stored and replayed
//! verbatim (with `Idempotent-Replayed: true`) for any later request with the same key, including
//! card declines and 500s. Requests rejected before execution (validation errors, injected
//! transient failures) store nothing, so retrying them is safe. Reusing a key with other
//! parameters or on another endpoint is refused, and a key whose first request is still running
//! answers 409. Keys live as long as the process (Stripe keeps them for 24 hours).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::http::{header::HeaderName, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

use super::error::StripeError;
use super::types::ErrorType;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

const MAX_KEY_CHARS: usize = 255;

/// A response as sent, kept for replays.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

impl StoredResponse {
    pub fn into_response(self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/json");
        if replayed {
            response.insert_header((IDEMPOTENT_REPLAYED, "true"));
        }
        response.body(self.body)
    }
}

#[derive(Debug)]
struct Entry {
    /// `"POST /v1/payment_intents"`: Stripe refuses a key reused on another endpoint.
    endpoint: String,
    params: Vec<(String, String)>,
    response: Option<StoredResponse>,
}

#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: HashMap<String, Entry>,
}

pub enum Begin {
    /// Execute the request, then settle the ticket.
    Proceed(Ticket),
    /// Answer with this (a replay or an idempotency error) without executing anything.
    Respond(HttpResponse),
}

/// Reads the `Idempotency-Key` header, if any.
pub fn key_from(req: &HttpRequest) -> Result<Option<String>, StripeError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| StripeError::invalid_request("Idempotency keys must be printable ASCII."))?
        .trim();
    if key.is_empty() {
        return Ok(None);
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(StripeError::invalid_request(format!(
            "Idempotency keys can be at most {MAX_KEY_CHARS} characters long."
        )));
    }
    Ok(Some(key.to_owned()))
}

fn lock(store: &Mutex<IdempotencyStore>) -> MutexGuard<'_, IdempotencyStore> {
    // The maps stay consistent even if a holder panicked: every update is a single insert/remove.
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Claims `key` for this request, or tells how to answer instead.
pub fn begin(
    store: &Arc<Mutex<IdempotencyStore>>,
    key: Option<String>,
    endpoint: String,
    params: Vec<(String, String)>,
) -> Begin {
    let Some(key) = key else {
        return Begin::Proceed(Ticket {
            store: Arc::clone(store),
            key: None,
            settled: false,
        });
    };
    let mut guard = lock(store);
    if let Some(entry) = guard.entries.get(&key) {
        if entry.endpoint != endpoint {
            return Begin::Respond(reuse_error(&format!(
                "Keys for idempotent requests can only be used for the same endpoint they were \
                 first used for ('{}' vs '{endpoint}'). Try using a key other than '{key}' if you \
                 meant to execute a different request.",
                entry.endpoint
            )));
        }
        if entry.params != params {
            return Begin::Respond(reuse_error(&format!(
                "Keys for idempotent requests can only be used with the same parameters they were \
                 first used with. Try using a key other than '{key}' if you meant to execute a \
                 different request."
            )));
        }
        return Begin::Respond(match &entry.response {
            Some(stored) => stored.clone().into_response(true),
            None => StripeError::new(
                StatusCode::CONFLICT,
                ErrorType::InvalidRequestError,
                format!(
                    "There is currently another in-progress request using this Idempotent Key \
                     (that probably means you submitted twice, and the other request is still \
                     going through): {key}. Please try again later."
                ),
            )
            .with_code("idempotency_key_in_use")
            .into_http(),
        });
    }
    guard.entries.insert(
        key.clone(),
        Entry {
            endpoint,
            params,
            response: None,
        },
    );
    Begin::Proceed(Ticket {
        store: Arc::clone(store),
        key: Some(key),
        settled: false,
    })
}

fn reuse_error(message: &str) -> HttpResponse {
    StripeError::new(
        StatusCode::BAD_REQUEST,
        ErrorType::IdempotencyError,
        message,
    )
    .into_http()
}

/// A claim on an idempotency key for one executing request. Storing a response settles it;
/// dropping it unsettled (rejected request, client gone) frees the key for a retry.
pub struct Ticket {
    store: Arc<Mutex<IdempotencyStore>>,
    key: Option<String>,
    settled: bool,
}

impl Ticket {
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Records the response the endpoint produced, to be replayed for this key from now on.
    pub fn store(mut self, response: &StoredResponse) {
        if let Some(key) = &self.key {
            if let Some(entry) = lock(&self.store).entries.get_mut(key) {
                entry.response = Some(response.clone());
            }
        }
        self.settled = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Some(key) = &self.key {
            let mut guard = lock(&self.store);
            if guard.entries.get(key).is_some_and(|e| e.response.is_none()) {
                guard.entries.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Arc<Mutex<IdempotencyStore>> {
        Arc::new(Mutex::new(IdempotencyStore::default()))
    }

    fn params(v: &str) -> Vec<(String, String)> {
        vec![("amount".into(), v.into())]
    }

    fn status(begin: Begin) -> StatusCode {
        match begin {
            Begin::Respond(r) => r.status(),
            Begin::Proceed(_) => panic!("expected an immediate answer"),
        }
    }

    #[test]
    fn replays_stored_responses_and_refuses_reuse() {
        let store = store();
        let endpoint = || "POST /v1/refunds".to_owned();
        let Begin::Proceed(ticket) = begin(&store, Some("k".into()), endpoint(), params("1"))
        else {
            panic!("fresh key must proceed");
        };
        // A concurrent duplicate while the first is running.
        assert_eq!(
            status(begin(&store, Some("k".into()), endpoint(), params("1"))),
            StatusCode::CONFLICT
        );
        ticket.store(&StoredResponse {
            status: StatusCode::PAYMENT_REQUIRED,
            body: Bytes::from_static(b"{}"),
        });
        let Begin::Respond(replay) = begin(&store, Some("k".into()), endpoint(), params("1"))
        else {
            panic!("settled key must replay");
        };
        assert_eq!(replay.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(replay.headers().get(IDEMPOTENT_REPLAYED).unwrap(), "true");
        assert_eq!(
            status(begin(&store, Some("k".into()), endpoint(), params("2"))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(begin(
                &store,
                Some("k".into()),
                "POST /v1/payment_intents".into(),
                params("1")
            )),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn an_unsettled_ticket_frees_its_key() {
        let store = store();
        let endpoint = || "POST /v1/refunds".to_owned();
        let first = begin(&store, Some("k".into()), endpoint(), params("1"));
        drop(first);
        // Different parameters are fine now: nothing was executed under the key.
        assert!(matches!(
            begin(&store, Some("k".into()), endpoint(), params("2")),
            Begin::Proceed(_)
        ));
    }
}
