//! The card processor's nightly settlement file, produced from the loads that went through the
//! sandbox, for the rewards service's load-goal campaign (seed 000) and its tests.
//!
//! These endpoints belong to the sandbox, not to any provider's API, hence the `/sandbox/`
//! prefix. Like the rest of the sandbox they take no credentials.
//!
//! - `POST /sandbox/settlements/bank-transfers` with the JSON body
//!   `{"member_id": "<uuid>", "amount_minor": 5000, "currency": "AUD",
//!   "transacted_at": "2026-12-07T10:15:00Z"}` (`transacted_at` optional, default now) records a
//!   delayed load, one that never went through the payment service. Answers `201 Created` with
//!   `{"transaction_id": "bt_<24 alphanumerics>"}`.
//! - `GET /sandbox/settlements/file?settled_on=YYYY-MM-DD[&since=<RFC 3339>][&until=<RFC 3339>]`
//!   answers the settlement file as `text/csv; charset=utf-8`: every succeeded Stripe
//!   PaymentIntent whose metadata has `kind=load` (with the payment service's `charge_id` and
//!   `member_id`), and every recorded bank transfer, whose `transacted_at` is in
//!   `[since, until)`. `settled_on` defaults to today (UTC) and is the same on every line.
//!
//! Bad input answers `400` with the sandbox's usual error body,
//! `{"error": {"type": "invalid_request_error", "message": ..., "param": ...}}`.
//!
//! The file ([`HEADER`] first, then one line per load, each ending in `\n`):
//!
//! ```text
//! transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on
//! 0193a9c2-5d0e-7c3a-9f1e-2b4c6d8e0f12,5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f,instant,2500,AUD,2026-12-07T10:15:00Z,2026-12-08
//! bt_Xk29fPq0LmZr81TsVb47NcQw,5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f,bank_transfer,10000,AUD,2026-12-07T11:00:00Z,2026-12-08
//! ```
//!
//! - `transaction_id`: the payment service's charge id (`metadata[charge_id]`) for an `instant`
//!   card load; the sandbox's `bt_...` reference for a `bank_transfer`.
//! - `amount_minor`: what the PaymentIntent received (minor units); `currency` in upper case.
//! - `transacted_at`: when the PaymentIntent succeeded, or when the transfer was made, in whole
//!   seconds (a transfer's fractions of a second are dropped when it is recorded).
//!
//! Lines are ordered by `transacted_at`, then `transaction_id`, so asking again for the same
//! window, with nothing new in it, gives the same bytes: the rewards service recognises a
//! replayed file by its hash. Refunds do not remove a load from the file, and PayPal payments
//! are not in it (PayPal orders carry no member or kind).

use std::sync::{Mutex, MutexGuard};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::stripe::{StripeError, StripeState};

/// The file's first line, without its line end.
pub const HEADER: &str =
    "transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on";

/// The PaymentIntent metadata the payment service attaches to every card payment.
const CHARGE_ID_KEY: &str = "charge_id";
const MEMBER_ID_KEY: &str = "member_id";
const KIND_KEY: &str = "kind";
/// The `kind` of a charge that loads money onto the member's card.
const LOAD_KIND: &str = "load";

/// The largest bank transfer, the same ceiling as a Stripe amount (99,999,999 minor units).
const MAX_AMOUNT_MINOR: i64 = 99_999_999;

const BANK_TRANSFER_FIELDS: &[&str] = &["member_id", "amount_minor", "currency", "transacted_at"];
const FILE_PARAMS: &[&str] = &["settled_on", "since", "until"];

/// The loads recorded by `POST /sandbox/settlements/bank-transfers`.
#[derive(Default)]
pub(crate) struct SettlementState {
    bank_transfers: Mutex<Vec<BankTransfer>>,
}

impl SettlementState {
    fn bank_transfers(&self) -> MutexGuard<'_, Vec<BankTransfer>> {
        self.bank_transfers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, Clone)]
struct BankTransfer {
    transaction_id: String,
    member_id: Uuid,
    amount_minor: i64,
    /// Upper case.
    currency: String,
    /// Whole seconds.
    transacted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LoadType {
    Instant,
    BankTransfer,
}

impl LoadType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Instant => "instant",
            Self::BankTransfer => "bank_transfer",
        }
    }
}

/// One line of the file. The field order is the sort order: `transacted_at`, then
/// `transaction_id`, then the rest, so that even two lines sharing both sort the same way always.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    transacted_at: DateTime<Utc>,
    transaction_id: String,
    member_id: Uuid,
    load_type: LoadType,
    amount_minor: i64,
    currency: String,
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig, state: web::Data<SettlementState>) {
    cfg.app_data(state)
        .route(
            "/sandbox/settlements/bank-transfers",
            web::post().to(record_bank_transfer),
        )
        .route("/sandbox/settlements/file", web::get().to(settlement_file));
}

/// `POST /sandbox/settlements/bank-transfers`
async fn record_bank_transfer(
    body: web::Bytes,
    state: web::Data<SettlementState>,
) -> Result<HttpResponse, StripeError> {
    let transfer = parse_bank_transfer(&body, Utc::now())?;
    tracing::info!(
        transaction_id = %transfer.transaction_id,
        amount_minor = transfer.amount_minor,
        currency = %transfer.currency,
        "bank transfer recorded for the settlement file"
    );
    let answer = json!({ "transaction_id": transfer.transaction_id });
    state.bank_transfers().push(transfer);
    Ok(HttpResponse::Created().json(answer))
}

/// `GET /sandbox/settlements/file`
async fn settlement_file(
    req: HttpRequest,
    stripe: web::Data<StripeState>,
    state: web::Data<SettlementState>,
) -> Result<HttpResponse, StripeError> {
    let query = FileQuery::parse(req.query_string(), Utc::now())?;
    let mut lines = card_loads(&stripe);
    lines.extend(state.bank_transfers().iter().map(|transfer| Line {
        transacted_at: transfer.transacted_at,
        transaction_id: transfer.transaction_id.clone(),
        member_id: transfer.member_id,
        load_type: LoadType::BankTransfer,
        amount_minor: transfer.amount_minor,
        currency: transfer.currency.clone(),
    }));
    lines.retain(|line| query.covers(line.transacted_at));
    lines.sort();
    let settled_on = query.settled_on.format("%Y-%m-%d").to_string();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"settlement-{settled_on}.csv\""),
        ))
        .body(render(&lines, &settled_on)))
}

/// The succeeded PaymentIntents the payment service made for loads.
fn card_loads(stripe: &StripeState) -> Vec<Line> {
    stripe
        .succeeded_payment_intents()
        .into_iter()
        .filter(|(intent, _)| intent.metadata.get(KIND_KEY).map(String::as_str) == Some(LOAD_KIND))
        .filter_map(|(intent, succeeded_at)| {
            let uuid = |key: &str| {
                intent
                    .metadata
                    .get(key)
                    .and_then(|value| Uuid::parse_str(value).ok())
            };
            let (Some(charge_id), Some(member_id)) = (uuid(CHARGE_ID_KEY), uuid(MEMBER_ID_KEY))
            else {
                tracing::warn!(
                    payment_intent = %intent.id,
                    "a load without UUIDs in metadata[charge_id] and metadata[member_id] is left \
                     out of the settlement file"
                );
                return None;
            };
            Some(Line {
                transacted_at: DateTime::from_timestamp(succeeded_at, 0)?,
                transaction_id: charge_id.to_string(),
                member_id,
                load_type: LoadType::Instant,
                amount_minor: intent.amount_received,
                currency: intent.currency.to_ascii_uppercase(),
            })
        })
        .collect()
}

/// The file's bytes. Every value is a UUID, a `bt_` reference, a number, letters or a
/// timestamp, so none needs CSV quoting.
fn render(lines: &[Line], settled_on: &str) -> String {
    let mut out = String::with_capacity(HEADER.len() + 1 + lines.len() * 120);
    out.push_str(HEADER);
    out.push('\n');
    for line in lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            line.transaction_id,
            line.member_id,
            line.load_type.as_str(),
            line.amount_minor,
            line.currency,
            line.transacted_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            settled_on,
        ));
    }
    out
}

/// Validates a bank transfer's JSON body; `now` is the default `transacted_at`.
fn parse_bank_transfer(body: &[u8], now: DateTime<Utc>) -> Result<BankTransfer, StripeError> {
    let fields: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => fields,
        _ => {
            return Err(StripeError::invalid_request(
                "Invalid request body: expected a JSON object.",
            ))
        }
    };
    if let Some(unknown) = fields
        .keys()
        .find(|name| !BANK_TRANSFER_FIELDS.contains(&name.as_str()))
    {
        return Err(StripeError::invalid_param(
            unknown,
            format!("Received unknown parameter: {unknown}"),
        )
        .with_code("parameter_unknown"));
    }
    let given = |name: &str| fields.get(name).filter(|value| !value.is_null());

    let member_id = given("member_id")
        .ok_or_else(|| StripeError::missing_param("member_id"))?
        .as_str()
        .and_then(|value| Uuid::parse_str(value).ok())
        .ok_or_else(|| StripeError::invalid_param("member_id", "member_id must be a UUID."))?;
    let amount_minor = given("amount_minor")
        .ok_or_else(|| StripeError::missing_param("amount_minor"))?
        .as_i64()
        .filter(|amount| (1..=MAX_AMOUNT_MINOR).contains(amount))
        .ok_or_else(|| {
            StripeError::invalid_param(
                "amount_minor",
                format!(
                    "amount_minor must be an integer from 1 to {MAX_AMOUNT_MINOR} (minor units)."
                ),
            )
        })?;
    let currency = given("currency")
        .ok_or_else(|| StripeError::missing_param("currency"))?
        .as_str()
        .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| {
            StripeError::invalid_param(
                "currency",
                "currency must be a three-letter ISO 4217 code such as AUD.",
            )
        })?;
    let transacted_at = match given("transacted_at") {
        None => now,
        Some(value) => value
            .as_str()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| {
                StripeError::invalid_param(
                    "transacted_at",
                    "transacted_at must be an RFC 3339 timestamp such as 2026-12-07T10:15:00Z.",
                )
            })?,
    };
    let transacted_at =
        DateTime::from_timestamp(transacted_at.timestamp(), 0).ok_or_else(|| {
            StripeError::invalid_param("transacted_at", "transacted_at is out of range.")
        })?;
    Ok(BankTransfer {
        transaction_id: bank_transfer_reference(),
        member_id,
        amount_minor,
        currency,
        transacted_at,
    })
}

/// `bt_` and 24 random alphanumerics, shaped like the sandbox's Stripe ids.
fn bank_transfer_reference() -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("bt_{suffix}")
}

/// The query of `GET /sandbox/settlements/file`.
#[derive(Debug, PartialEq, Eq)]
struct FileQuery {
    settled_on: NaiveDate,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl FileQuery {
    /// Refuses unknown and repeated parameters; an empty value counts as absent. `now` gives
    /// the default `settled_on`.
    fn parse(query: &str, now: DateTime<Utc>) -> Result<Self, StripeError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
            StripeError::invalid_request("Invalid query string: expected name=value parameters.")
        })?;
        for (index, (name, _)) in pairs.iter().enumerate() {
            if !FILE_PARAMS.contains(&name.as_str()) {
                return Err(StripeError::invalid_param(
                    name,
                    format!("Received unknown parameter: {name}"),
                )
                .with_code("parameter_unknown"));
            }
            if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(StripeError::invalid_param(
                    name,
                    format!("Received the parameter {name} more than once."),
                ));
            }
        }
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.as_str())
        };
        let settled_on = match value("settled_on") {
            None => now.date_naive(),
            Some(text) => parse_date(text).ok_or_else(|| {
                StripeError::invalid_param(
                    "settled_on",
                    format!("Invalid settled_on: {text}. Use a date such as 2026-12-08."),
                )
            })?,
        };
        let timestamp = |name: &str| {
            value(name)
                .map(|text| {
                    DateTime::parse_from_rfc3339(text)
                        .map(|at| at.with_timezone(&Utc))
                        .map_err(|_| {
                            StripeError::invalid_param(
                                name,
                                format!(
                                    "Invalid {name}: {text}. Use an RFC 3339 timestamp such as \
                                     2026-12-07T00:00:00Z."
                                ),
                            )
                        })
                })
                .transpose()
        };
        let since = timestamp("since")?;
        let until = timestamp("until")?;
        if let (Some(since), Some(until)) = (since, until) {
            if since > until {
                return Err(StripeError::invalid_param(
                    "until",
                    "until must not be earlier than since.",
                ));
            }
        }
        Ok(Self {
            settled_on,
            since,
            until,
        })
    }

    /// Whether `at` is in `[since, until)`.
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }
}

/// Exactly `YYYY-MM-DD`, and a real date.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn param(error: StripeError) -> String {
        error.body().error.param.unwrap_or_default()
    }

    #[test]
    fn dates_must_be_exactly_year_month_day() {
        assert_eq!(
            parse_date("2026-12-08"),
            NaiveDate::from_ymd_opt(2026, 12, 8)
        );
        for bad in [
            "2026-12-8",
            "2026-13-01",
            "2026-02-30",
            "20261208",
            "2026/12/08",
            "2026-12-08T00:00:00Z",
            "",
            "+2026-1-08",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_query_defaults_settled_on_and_bounds_a_half_open_window() {
        let now = at("2026-12-08T01:02:03Z");
        let query = FileQuery::parse("", now).unwrap();
        assert_eq!(
            query.settled_on,
            NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()
        );
        assert!(query.covers(at("1970-01-01T00:00:00Z")));

        let query = FileQuery::parse(
            "settled_on=2026-12-09&since=2026-12-07T00:00:00Z&until=2026-12-08T00:00:00%2B10:00",
            now,
        )
        .unwrap();
        assert_eq!(
            query.settled_on,
            NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()
        );
        assert!(query.covers(at("2026-12-07T00:00:00Z")));
        assert!(query.covers(at("2026-12-07T13:59:59Z")));
        assert!(!query.covers(at("2026-12-07T14:00:00Z")));
        assert!(!query.covers(at("2026-12-06T23:59:59Z")));
    }

    #[test]
    fn bad_queries_name_the_param() {
        let now = at("2026-12-08T01:02:03Z");
        for (query, expected) in [
            ("settled_on=yesterday", "settled_on"),
            ("settled_on=2026-12-08&settled_on=2026-12-09", "settled_on"),
            ("since=2026-12-07", "since"),
            ("until=soon", "until"),
            (
                "since=2026-12-08T00:00:00Z&until=2026-12-07T00:00:00Z",
                "until",
            ),
            ("limit=10", "limit"),
        ] {
            assert_eq!(
                param(FileQuery::parse(query, now).unwrap_err()),
                expected,
                "{query}"
            );
        }
    }

    #[test]
    fn bank_transfers_are_validated_and_normalised() {
        let now = at("2026-12-08T01:02:03Z");
        let member = Uuid::new_v4();
        let transfer = parse_bank_transfer(
            json!({"member_id": member.to_string(), "amount_minor": 5000, "currency": "aud",
                   "transacted_at": "2026-12-07T20:15:00.750+10:00"})
            .to_string()
            .as_bytes(),
            now,
        )
        .unwrap();
        assert!(transfer.transaction_id.starts_with("bt_"));
        assert_eq!(transfer.transaction_id.len(), 27);
        assert!(transfer.transaction_id[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(transfer.member_id, member);
        assert_eq!(transfer.amount_minor, 5000);
        assert_eq!(transfer.currency, "AUD");
        assert_eq!(transfer.transacted_at, at("2026-12-07T10:15:00Z"));

        let defaulted = parse_bank_transfer(
            json!({"member_id": member.to_string(), "amount_minor": 1, "currency": "AUD",
                   "transacted_at": null})
            .to_string()
            .as_bytes(),
            now,
        )
        .unwrap();
        assert_eq!(defaulted.transacted_at, now);

        let member = member.to_string();
        for (body, expected) in [
            (json!({"amount_minor": 1, "currency": "AUD"}), "member_id"),
            (
                json!({"member_id": "m-1", "amount_minor": 1, "currency": "AUD"}),
                "member_id",
            ),
            (
                json!({"member_id": member, "amount_minor": 0, "currency": "AUD"}),
                "amount_minor",
            ),
            (
                json!({"member_id": member, "amount_minor": 12.5, "currency": "AUD"}),
                "amount_minor",
            ),
            (
                json!({"member_id": member, "amount_minor": "100", "currency": "AUD"}),
                "amount_minor",
            ),
            (
                json!({"member_id": member, "amount_minor": 100_000_000, "currency": "AUD"}),
                "amount_minor",
            ),
            (
                json!({"member_id": member, "amount_minor": 1, "currency": "AU"}),
                "currency",
            ),
            (json!({"member_id": member, "amount_minor": 1}), "currency"),
            (
                json!({"member_id": member, "amount_minor": 1, "currency": "AUD",
                       "transacted_at": "2026-12-07 10:15"}),
                "transacted_at",
            ),
            (
                json!({"member_id": member, "amount_minor": 1, "currency": "AUD", "type": "x"}),
                "type",
            ),
        ] {
            let error = parse_bank_transfer(body.to_string().as_bytes(), now).unwrap_err();
            assert_eq!(error.status().as_u16(), 400);
            assert_eq!(param(error), expected, "{body}");
        }
        for body in ["", "[]", "not json", "{\"member_id\": "] {
            let error = parse_bank_transfer(body.as_bytes(), now).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{body}");
        }
    }

    #[test]
    fn lines_sort_by_time_then_id_and_render_exactly() {
        let member = Uuid::parse_str("5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f").unwrap();
        let line = |at_text: &str, id: &str, load_type| Line {
            transacted_at: at(at_text),
            transaction_id: id.to_owned(),
            member_id: member,
            load_type,
            amount_minor: 2500,
            currency: "AUD".to_owned(),
        };
        let mut lines = vec![
            line("2026-12-07T11:00:00Z", "bt_a", LoadType::BankTransfer),
            line("2026-12-07T10:15:00Z", "c2", LoadType::Instant),
            line("2026-12-07T10:15:00Z", "c1", LoadType::Instant),
        ];
        lines.sort();
        assert_eq!(
            render(&lines, "2026-12-08"),
            "transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on\n\
             c1,5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f,instant,2500,AUD,2026-12-07T10:15:00Z,2026-12-08\n\
             c2,5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f,instant,2500,AUD,2026-12-07T10:15:00Z,2026-12-08\n\
             bt_a,5f0c2b1e-8a4d-4c3b-9e2f-1a2b3c4d5e6f,bank_transfer,2500,AUD,2026-12-07T11:00:00Z,2026-12-08\n"
        );
        assert_eq!(render(&[], "2026-12-08"), format!("{HEADER}\n"));
    }
}
