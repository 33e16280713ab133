//! The in-memory Stripe account: PaymentIntents, their charges and refunds, and every state
//! transition the API can cause. Operations return what to answer and which events to send;
//! HTTP, idempotency and delivery are the caller's business.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde::Serialize;

use super::cards::{self, Behaviour, Decline, TIMEOUT_DELAY};
use super::error::StripeError;
use super::idempotency::StoredResponse;
use super::ids;
use super::params::FormParams;
use super::search::Query;
use super::types::{
    ApiError, CaptureMethod, Charge, ChargeStatus, ErrorResponse, ErrorType, NextAction,
    PaymentError, PaymentIntent, PaymentIntentStatus, RedirectToUrl, Refund, RefundReason,
};
use super::webhooks::{Delivery, Notification, DIRECTIVE_KEY};

/// What the operation needs to know about the request it runs for.
pub struct Context<'a> {
    /// The sandbox's own address, for the 3-D Secure page URL.
    pub base_url: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub now: i64,
}

/// The outcome of an operation that ran: stored for idempotent replays, then sent.
#[derive(Debug)]
pub struct Execution {
    pub response: StoredResponse,
    /// Hold the answer back this long (the `pm_card_timeout` card).
    pub delay: Option<Duration>,
    pub notifications: Vec<Notification>,
}

impl Execution {
    pub(super) fn json(status: StatusCode, body: &impl Serialize) -> Result<Self, StripeError> {
        let body = serde_json::to_vec(body).map_err(|error| {
            tracing::error!(%error, "cannot serialize a response");
            StripeError::api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unknown error occurred",
            )
        })?;
        Ok(Self {
            response: StoredResponse {
                status,
                body: Bytes::from(body),
            },
            delay: None,
            notifications: Vec::new(),
        })
    }

    /// An error answer that still counts as executed, so it is replayed for its idempotency key.
    fn error(error: &StripeError) -> Result<Self, StripeError> {
        Self::json(error.status(), &error.body())
    }
}

/// What confirming with a given card led to.
enum Confirmation {
    Authorized,
    Declined(Decline),
    NeedsAuthentication,
}

#[derive(Debug, Default)]
pub struct Ledger {
    intents: HashMap<String, StoredIntent>,
    charges: HashMap<String, Charge>,
    refunds: HashMap<String, Refund>,
    /// Hosted payment pages, by id (see the `checkout` module).
    pub(super) checkout_sessions: HashMap<String, super::checkout::CheckoutSession>,
    /// Idempotency keys whose first `pm_card_flaky` attempt has already failed.
    flaked_keys: HashSet<String>,
    next_seq: u64,
}

#[derive(Debug)]
struct StoredIntent {
    intent: PaymentIntent,
    /// Creation order; `created` has one-second resolution.
    seq: u64,
    /// When the intent reached `succeeded` (Unix seconds): when the money moved. Stripe shows
    /// this only on the charge's balance transaction; the settlement file needs it.
    succeeded_at: Option<i64>,
}

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "currency",
    "payment_method",
    "confirm",
    "capture_method",
    "description",
    "return_url",
];

impl Ledger {
    pub fn payment_intent(&self, id: &str) -> Option<&PaymentIntent> {
        self.intents.get(id).map(|stored| &stored.intent)
    }

    pub fn refund(&self, id: &str) -> Option<&Refund> {
        self.refunds.get(id)
    }

    /// Every succeeded intent with when it succeeded (Unix seconds), in creation order.
    pub fn succeeded_intents(&self) -> Vec<(PaymentIntent, i64)> {
        let mut found: Vec<&StoredIntent> = self
            .intents
            .values()
            .filter(|stored| stored.intent.status == PaymentIntentStatus::Succeeded)
            .collect();
        found.sort_by_key(|stored| stored.seq);
        found
            .into_iter()
            .map(|stored| {
                let at = stored.succeeded_at.unwrap_or(stored.intent.created);
                (stored.intent.clone(), at)
            })
            .collect()
    }

    /// Matching intents, newest first, and whether more than `limit` matched.
    pub fn search(&self, query: &Query, limit: usize) -> (Vec<PaymentIntent>, bool) {
        let mut found: Vec<&StoredIntent> = self
            .intents
            .values()
            .filter(|stored| query.matches(&stored.intent))
            .collect();
        found.sort_by_key(|stored| std::cmp::Reverse(stored.seq));
        let has_more = found.len() > limit;
        let data = found
            .into_iter()
            .take(limit)
            .map(|stored| stored.intent.clone())
            .collect();
        (data, has_more)
    }

    /// `POST /v1/payment_intents`
    pub fn create_payment_intent(
        &mut self,
        params: &FormParams,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        params.allow_only(CREATE_PARAMS, true)?;
        let amount = params
            .amount("amount")?
            .ok_or_else(|| StripeError::missing_param("amount"))?;
        let currency = params.currency("currency")?;
        let payment_method = params.str("payment_method")?;
        let behaviour = payment_method.map(known_card).transpose()?;
        let confirm = params.bool("confirm")?.unwrap_or(false);
        let capture_method = match params.str("capture_method")? {
            None => CaptureMethod::Automatic,
            Some(value) => CaptureMethod::parse(value).ok_or_else(|| {
                StripeError::invalid_param(
                    "capture_method",
                    format!(
                        "Invalid capture_method: {value}. Use automatic, automatic_async or manual."
                    ),
                )
            })?,
        };
        let return_url = return_url(params)?;
        if return_url.is_some() && !confirm {
            return Err(StripeError::invalid_param(
                "return_url",
                "The parameter return_url cannot be passed when creating a PaymentIntent unless \
                 confirm is set to true.",
            ));
        }
        let metadata = params.metadata()?;
        // Refuse a mistyped directive up front rather than deliver in some unasked-for way.
        Delivery::from_metadata(&metadata).map_err(|message| {
            StripeError::invalid_param(&format!("metadata[{DIRECTIVE_KEY}]"), message)
        })?;

        let intent = PaymentIntent {
            id: ids::new("pi"),
            object: "payment_intent".to_owned(),
            amount,
            amount_capturable: 0,
            amount_received: 0,
            currency,
            status: if payment_method.is_some() {
                PaymentIntentStatus::RequiresConfirmation
            } else {
                PaymentIntentStatus::RequiresPaymentMethod
            },
            payment_method: payment_method.map(str::to_owned),
            capture_method,
            created: ctx.now,
            description: params.str("description")?.map(str::to_owned),
            metadata,
            latest_charge: None,
            last_payment_error: None,
            next_action: None,
            canceled_at: None,
            cancellation_reason: None,
            livemode: false,
        };

        if !confirm {
            let execution = Execution::json(StatusCode::OK, &intent)?;
            tracing::info!(payment_intent = %intent.id, amount, "payment intent created");
            self.save(intent, ctx.now);
            return Ok(execution);
        }
        let behaviour = behaviour.ok_or_else(|| {
            StripeError::invalid_param(
                "payment_method",
                "You cannot confirm this PaymentIntent because it's missing a payment method. \
                 Pass payment_method together with confirm=true.",
            )
            .with_code("parameter_missing")
        })?;
        self.confirm(intent, behaviour, return_url, ctx)
    }

    /// `POST /v1/payment_intents/{id}/confirm`
    pub fn confirm_payment_intent(
        &mut self,
        id: &str,
        params: &FormParams,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        params.allow_only(&["payment_method", "return_url"], false)?;
        let mut intent = self.existing_intent(id)?.clone();
        if !matches!(
            intent.status,
            PaymentIntentStatus::RequiresPaymentMethod | PaymentIntentStatus::RequiresConfirmation
        ) {
            return Err(StripeError::unexpected_state(format!(
                "You cannot confirm this PaymentIntent because it has a status of {}.",
                intent.status.as_str()
            )));
        }
        if let Some(payment_method) = params.str("payment_method")? {
            known_card(payment_method)?;
            intent.payment_method = Some(payment_method.to_owned());
        }
        let payment_method = intent.payment_method.as_deref().ok_or_else(|| {
            StripeError::invalid_param(
                "payment_method",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
            )
            .with_code("parameter_missing")
        })?;
        let behaviour = known_card(payment_method)?;
        let return_url = return_url(params)?;
        self.confirm(intent, behaviour, return_url, ctx)
    }

    /// Runs a confirmation attempt on `intent` (a new one, or a copy of a stored one) and saves
    /// the result. Injected server failures leave everything as it was.
    fn confirm(
        &mut self,
        mut intent: PaymentIntent,
        behaviour: Behaviour,
        return_url: Option<String>,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        let mut delay = None;
        let confirmation = match behaviour {
            Behaviour::ServerError => {
                return Execution::error(&StripeError::api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unknown error occurred",
                ));
            }
            // Rejected before executing: no idempotent result is stored, so a retry with the
            // same key runs again and, the key now being known, goes through.
            Behaviour::Flaky if self.first_flaky_attempt(ctx.idempotency_key) => {
                return Err(StripeError::api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable. Please retry the request.",
                ));
            }
            Behaviour::Approve | Behaviour::Flaky => Confirmation::Authorized,
            Behaviour::Timeout => {
                delay = Some(TIMEOUT_DELAY);
                Confirmation::Authorized
            }
            Behaviour::Decline(decline) => Confirmation::Declined(decline),
            Behaviour::RequireAction => Confirmation::NeedsAuthentication,
        };

        let delivery = delivery_for(&intent);
        let (status, event_type) = match confirmation {
            Confirmation::Authorized => {
                (StatusCode::OK, Some(self.authorize(&mut intent, ctx.now)))
            }
            Confirmation::Declined(decline) => {
                self.decline(&mut intent, decline, ctx.now);
                (
                    StatusCode::PAYMENT_REQUIRED,
                    Some("payment_intent.payment_failed"),
                )
            }
            Confirmation::NeedsAuthentication => {
                intent.status = PaymentIntentStatus::RequiresAction;
                intent.last_payment_error = None;
                intent.next_action = Some(NextAction {
                    kind: "redirect_to_url".to_owned(),
                    redirect_to_url: RedirectToUrl {
                        url: format!("{}/v1/three_ds/{}", ctx.base_url, intent.id),
                        return_url,
                    },
                });
                (StatusCode::OK, None)
            }
        };

        let mut execution = if status == StatusCode::PAYMENT_REQUIRED {
            Execution::json(status, &card_error(&intent))?
        } else {
            Execution::json(status, &intent)?
        };
        execution.delay = delay;
        execution.notifications = event_type
            .map(|event_type| Notification::new(event_type, &intent, delivery))
            .into_iter()
            .collect();
        tracing::info!(payment_intent = %intent.id, status = intent.status.as_str(), "payment intent confirmed");
        self.save(intent, ctx.now);
        Ok(execution)
    }

    /// `POST /v1/payment_intents/{id}/capture`
    pub fn capture_payment_intent(
        &mut self,
        id: &str,
        params: &FormParams,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        params.allow_only(&["amount_to_capture"], false)?;
        let mut intent = self.existing_intent(id)?.clone();
        if intent.status != PaymentIntentStatus::RequiresCapture {
            return Err(StripeError::unexpected_state(format!(
                "This PaymentIntent could not be captured because it has a status of {}. Only a \
                 PaymentIntent with one of the following statuses may be captured: requires_capture.",
                intent.status.as_str()
            )));
        }
        let amount = params
            .amount("amount_to_capture")?
            .unwrap_or(intent.amount_capturable);
        if amount > intent.amount_capturable {
            return Err(StripeError::invalid_param(
                "amount_to_capture",
                format!(
                    "The amount to capture ({amount}) is greater than the amount capturable ({}).",
                    intent.amount_capturable
                ),
            )
            .with_code("amount_too_large"));
        }
        if let Some(charge) = intent
            .latest_charge
            .as_ref()
            .and_then(|id| self.charges.get_mut(id))
        {
            charge.captured = true;
            charge.amount_captured = amount;
        }
        intent.status = PaymentIntentStatus::Succeeded;
        intent.amount_received = amount;
        intent.amount_capturable = 0;

        let mut execution = Execution::json(StatusCode::OK, &intent)?;
        execution.notifications = vec![Notification::new(
            "payment_intent.succeeded",
            &intent,
            delivery_for(&intent),
        )];
        tracing::info!(payment_intent = %intent.id, amount, "payment intent captured");
        self.save(intent, ctx.now);
        Ok(execution)
    }

    /// `POST /v1/payment_intents/{id}/cancel`
    pub fn cancel_payment_intent(
        &mut self,
        id: &str,
        params: &FormParams,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        params.allow_only(&["cancellation_reason"], false)?;
        let reason = params.str("cancellation_reason")?;
        if let Some(reason) = reason {
            if ![
                "duplicate",
                "fraudulent",
                "requested_by_customer",
                "abandoned",
            ]
            .contains(&reason)
            {
                return Err(StripeError::invalid_param(
                    "cancellation_reason",
                    format!(
                        "Invalid cancellation_reason: {reason}. Use duplicate, fraudulent, \
                         requested_by_customer or abandoned."
                    ),
                ));
            }
        }
        let mut intent = self.existing_intent(id)?.clone();
        if matches!(
            intent.status,
            PaymentIntentStatus::Succeeded | PaymentIntentStatus::Canceled
        ) {
            return Err(StripeError::unexpected_state(format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a \
                 PaymentIntent with one of the following statuses may be canceled: \
                 requires_payment_method, requires_capture, requires_confirmation, \
                 requires_action, processing.",
                intent.status.as_str()
            )));
        }
        // Canceling an authorization releases the held funds, which Stripe shows as a refund.
        if intent.status == PaymentIntentStatus::RequiresCapture {
            if let Some(charge) = intent
                .latest_charge
                .as_ref()
                .and_then(|id| self.charges.get_mut(id))
            {
                charge.amount_refunded = charge.amount;
                charge.refunded = true;
            }
        }
        intent.status = PaymentIntentStatus::Canceled;
        intent.canceled_at = Some(ctx.now);
        intent.cancellation_reason = reason.map(str::to_owned);
        intent.amount_capturable = 0;
        intent.next_action = None;

        let mut execution = Execution::json(StatusCode::OK, &intent)?;
        execution.notifications = vec![Notification::new(
            "payment_intent.canceled",
            &intent,
            delivery_for(&intent),
        )];
        tracing::info!(payment_intent = %intent.id, "payment intent canceled");
        self.save(intent, ctx.now);
        Ok(execution)
    }

    /// Ends the 3-D Secure challenge of an intent in `requires_action`. Returns the intent as it
    /// now is, the caller's `return_url` if it gave one, and the events to send.
    pub fn complete_three_ds(
        &mut self,
        id: &str,
        approve: bool,
        ctx: &Context<'_>,
    ) -> Result<(PaymentIntent, Option<String>, Vec<Notification>), StripeError> {
        let mut intent = self.existing_intent(id)?.clone();
        if intent.status != PaymentIntentStatus::RequiresAction {
            return Err(StripeError::unexpected_state(format!(
                "This PaymentIntent has no authentication in progress: its status is {}.",
                intent.status.as_str()
            )));
        }
        let return_url = intent
            .next_action
            .take()
            .and_then(|action| action.redirect_to_url.return_url);
        let event_type = if approve {
            self.authorize(&mut intent, ctx.now)
        } else {
            intent.status = PaymentIntentStatus::RequiresPaymentMethod;
            intent.last_payment_error = Some(PaymentError {
                kind: ErrorType::CardError,
                code: Some("payment_intent_authentication_failure".to_owned()),
                decline_code: None,
                message: "The provided PaymentMethod has failed authentication. You can provide \
                          a new PaymentMethod to attempt to fulfill this PaymentIntent again."
                    .to_owned(),
            });
            "payment_intent.payment_failed"
        };
        let notifications = vec![Notification::new(
            event_type,
            &intent,
            delivery_for(&intent),
        )];
        tracing::info!(payment_intent = %intent.id, approve, "3-D Secure completed");
        self.save(intent.clone(), ctx.now);
        Ok((intent, return_url, notifications))
    }

    /// `POST /v1/refunds`
    pub fn create_refund(
        &mut self,
        params: &FormParams,
        ctx: &Context<'_>,
    ) -> Result<Execution, StripeError> {
        params.allow_only(&["payment_intent", "charge", "amount", "reason"], true)?;
        let amount = params.amount("amount")?;
        let reason = params
            .str("reason")?
            .map(|value| {
                RefundReason::parse(value).ok_or_else(|| {
                    StripeError::invalid_param(
                        "reason",
                        format!(
                            "Invalid reason: {value}. Use duplicate, fraudulent or \
                             requested_by_customer."
                        ),
                    )
                })
            })
            .transpose()?;
        let metadata = params.metadata()?;
        let charge_id = self.refundable_charge(params)?;
        let Some(charge) = self.charges.get_mut(&charge_id) else {
            return Err(StripeError::resource_missing(
                StatusCode::BAD_REQUEST,
                "charge",
                &charge_id,
                "charge",
            ));
        };

        let remaining = charge.amount_captured - charge.amount_refunded;
        if remaining <= 0 {
            return Err(StripeError::invalid_request(format!(
                "Charge {} has already been refunded.",
                charge.id
            ))
            .with_code("charge_already_refunded"));
        }
        let amount = amount.unwrap_or(remaining);
        if amount > remaining {
            return Err(StripeError::invalid_param(
                "amount",
                format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge \
                     ({remaining})."
                ),
            )
            .with_code("amount_too_large"));
        }
        charge.amount_refunded += amount;
        charge.refunded = charge.amount_refunded == charge.amount_captured;
        let charge = charge.clone();

        let refund = Refund {
            id: ids::new("re"),
            object: "refund".to_owned(),
            amount,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
            status: "succeeded".to_owned(),
            reason,
            created: ctx.now,
            metadata,
        };
        let delivery = self
            .payment_intent(&charge.payment_intent)
            .map(delivery_for)
            .unwrap_or_default();
        let mut execution = Execution::json(StatusCode::OK, &refund)?;
        execution.notifications = vec![Notification::new("charge.refunded", &charge, delivery)];
        tracing::info!(refund = %refund.id, payment_intent = %refund.payment_intent, amount, "refund created");
        self.refunds.insert(refund.id.clone(), refund);
        Ok(execution)
    }

    /// The id of the captured charge a refund request points at, by `payment_intent` or `charge`.
    fn refundable_charge(&self, params: &FormParams) -> Result<String, StripeError> {
        let by_intent = params.str("payment_intent")?;
        let by_charge = params.str("charge")?;
        let charge_id = match (by_intent, by_charge) {
            (Some(intent_id), charge_id) => {
                let intent = self.payment_intent(intent_id).ok_or_else(|| {
                    StripeError::resource_missing(
                        StatusCode::BAD_REQUEST,
                        "payment_intent",
                        intent_id,
                        "payment_intent",
                    )
                })?;
                if intent.status != PaymentIntentStatus::Succeeded {
                    return Err(StripeError::unexpected_state(
                        "This PaymentIntent does not have a successful charge to refund.",
                    )
                    .with_param("payment_intent"));
                }
                let latest = intent.latest_charge.clone().unwrap_or_default();
                if charge_id.is_some_and(|charge_id| charge_id != latest) {
                    return Err(StripeError::invalid_param(
                        "charge",
                        "The charge does not belong to the given payment_intent.",
                    ));
                }
                latest
            }
            (None, Some(charge_id)) => charge_id.to_owned(),
            (None, None) => {
                return Err(StripeError::invalid_request(
                    "One of the following params should be provided for this request: \
                     payment_intent or charge.",
                )
                .with_code("parameter_missing")
                .with_param("payment_intent"));
            }
        };
        match self.charges.get(&charge_id) {
            Some(charge) if charge.status == ChargeStatus::Succeeded && charge.captured => {
                Ok(charge_id)
            }
            Some(charge) => Err(StripeError::invalid_param(
                "charge",
                format!(
                    "Charge {} has not been captured and cannot be refunded.",
                    charge.id
                ),
            )
            .with_code("charge_not_refundable")),
            None => Err(StripeError::resource_missing(
                StatusCode::BAD_REQUEST,
                "charge",
                &charge_id,
                "charge",
            )),
        }
    }

    /// Approves `intent`: creates its charge and moves it to `succeeded`, or to
    /// `requires_capture` for manual capture. Returns the event type to send.
    fn authorize(&mut self, intent: &mut PaymentIntent, now: i64) -> &'static str {
        let capture_now = intent.capture_method != CaptureMethod::Manual;
        let charge = Charge {
            id: ids::new("ch"),
            object: "charge".to_owned(),
            amount: intent.amount,
            amount_captured: if capture_now { intent.amount } else { 0 },
            amount_refunded: 0,
            captured: capture_now,
            refunded: false,
            paid: true,
            currency: intent.currency.clone(),
            payment_intent: intent.id.clone(),
            payment_method: intent.payment_method.clone(),
            status: ChargeStatus::Succeeded,
            failure_code: None,
            failure_message: None,
            created: now,
            metadata: intent.metadata.clone(),
            livemode: false,
        };
        intent.latest_charge = Some(charge.id.clone());
        intent.last_payment_error = None;
        intent.next_action = None;
        self.charges.insert(charge.id.clone(), charge);
        if capture_now {
            intent.status = PaymentIntentStatus::Succeeded;
            intent.amount_received = intent.amount;
            intent.amount_capturable = 0;
            "payment_intent.succeeded"
        } else {
            intent.status = PaymentIntentStatus::RequiresCapture;
            intent.amount_capturable = intent.amount;
            "payment_intent.amount_capturable_updated"
        }
    }

    /// Records an issuer decline: a failed charge, and the intent back to
    /// `requires_payment_method` with `last_payment_error` set.
    fn decline(&mut self, intent: &mut PaymentIntent, decline: Decline, now: i64) {
        let charge = Charge {
            id: ids::new("ch"),
            object: "charge".to_owned(),
            amount: intent.amount,
            amount_captured: 0,
            amount_refunded: 0,
            captured: false,
            refunded: false,
            paid: false,
            currency: intent.currency.clone(),
            payment_intent: intent.id.clone(),
            payment_method: intent.payment_method.clone(),
            status: ChargeStatus::Failed,
            failure_code: Some("card_declined".to_owned()),
            failure_message: Some(decline.message.to_owned()),
            created: now,
            metadata: intent.metadata.clone(),
            livemode: false,
        };
        intent.status = PaymentIntentStatus::RequiresPaymentMethod;
        intent.latest_charge = Some(charge.id.clone());
        intent.next_action = None;
        intent.last_payment_error = Some(PaymentError {
            kind: ErrorType::CardError,
            code: Some("card_declined".to_owned()),
            decline_code: Some(decline.decline_code.to_owned()),
            message: decline.message.to_owned(),
        });
        self.charges.insert(charge.id.clone(), charge);
    }

    /// True when this `pm_card_flaky` attempt must fail: the first one for its idempotency key,
    /// and every one without a key (there is nothing to tie a retry to).
    fn first_flaky_attempt(&mut self, idempotency_key: Option<&str>) -> bool {
        idempotency_key.is_none_or(|key| self.flaked_keys.insert(key.to_owned()))
    }

    fn existing_intent(&self, id: &str) -> Result<&PaymentIntent, StripeError> {
        self.payment_intent(id).ok_or_else(|| {
            StripeError::resource_missing(StatusCode::NOT_FOUND, "payment_intent", id, "intent")
        })
    }

    /// Stores `intent` as it now is; `now` is when this change happened.
    fn save(&mut self, intent: PaymentIntent, now: i64) {
        let succeeded = intent.status == PaymentIntentStatus::Succeeded;
        match self.intents.get_mut(&intent.id) {
            Some(stored) => {
                if succeeded && stored.succeeded_at.is_none() {
                    stored.succeeded_at = Some(now);
                }
                stored.intent = intent;
            }
            None => {
                self.next_seq += 1;
                self.intents.insert(
                    intent.id.clone(),
                    StoredIntent {
                        intent,
                        seq: self.next_seq,
                        succeeded_at: succeeded.then_some(now),
                    },
                );
            }
        }
    }
}

fn known_card(payment_method: &str) -> Result<Behaviour, StripeError> {
    cards::behaviour(payment_method).ok_or_else(|| {
        StripeError::resource_missing(
            StatusCode::BAD_REQUEST,
            "PaymentMethod",
            payment_method,
            "payment_method",
        )
    })
}

/// `return_url`, which ends up in a `Location` header: an absolute http(s) URL of visible ASCII.
fn return_url(params: &FormParams) -> Result<Option<String>, StripeError> {
    let Some(url) = params.str("return_url")? else {
        return Ok(None);
    };
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if absolute && url.chars().all(|c| c.is_ascii_graphic()) {
        Ok(Some(url.to_owned()))
    } else {
        Err(StripeError::invalid_param(
            "return_url",
            format!("Invalid URL: {url}. return_url must be an absolute http(s) URL."),
        ))
    }
}

/// The directive was validated when the intent was created, so a failure cannot happen here.
fn delivery_for(intent: &PaymentIntent) -> Delivery {
    Delivery::from_metadata(&intent.metadata).unwrap_or_default()
}

/// The 402 body of a declined confirmation, carrying the intent like Stripe's does.
fn card_error(intent: &PaymentIntent) -> ErrorResponse {
    let last = intent.last_payment_error.clone();
    ErrorResponse {
        error: ApiError {
            kind: ErrorType::CardError,
            code: last.as_ref().and_then(|e| e.code.clone()),
            decline_code: last.as_ref().and_then(|e| e.decline_code.clone()),
            message: last.map(|e| e.message).unwrap_or_default(),
            param: None,
            payment_intent: Some(Box::new(intent.clone())),
        },
    }
}
