//! The nightly settlement file (seed 000's reconciliation), free of I/O: its lines and their
//! rules. CSV, one header line, then one settled load per line:
//!
//! ```text
//! transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on
//! 0193a9c2-...,0193a9c1-...,instant,25000,AUD,2026-12-07T10:15:00Z,2026-12-08
//! bt_7f3kq9...,0193a9c1-...,bank_transfer,50000,AUD,2026-12-06T16:02:11Z,2026-12-08
//! ```
//!
//! `instant` lines settle a load already seen by `charge.succeeded` (same transaction id: our
//! charge id); `bank_transfer` lines are delayed loads seen only here.

use chrono::{DateTime, NaiveDate, Utc};
use kernel::money::{Currency, Money};
use uuid::Uuid;

pub const HEADER: &str =
    "transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on";
pub const TRANSACTION_ID_MAX: usize = 64;
/// Larger files are split by the sender; this keeps one upload's work bounded.
pub const MAX_LINES: usize = 100_000;

/// How the money reached the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Instant,
    BankTransfer,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Instant => "instant",
            Channel::BankTransfer => "bank_transfer",
        }
    }
}

/// One settled load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledLoad {
    /// 1-based, counting the header.
    pub line: usize,
    pub transaction_id: String,
    pub member_id: Uuid,
    pub channel: Channel,
    pub amount: Money,
    pub transacted_at: DateTime<Utc>,
    pub settled_on: NaiveDate,
}

/// A line that broke a rule: its number and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MalformedLine {
    pub line: usize,
    pub reason: String,
}

/// A file split into good lines and bad ones. A bad header makes the whole file bad.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub loads: Vec<SettledLoad>,
    pub malformed: Vec<MalformedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the first line must be the header {HEADER:?}")]
    BadHeader,
    #[error("the file has more than {MAX_LINES} lines; split it")]
    TooLong,
}

/// Parses every line, keeping going past bad ones.
pub fn parse_file(bytes: &[u8]) -> Result<ParsedFile, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let header = lines.next().ok_or(FileError::Empty)?;
    if header.trim_end_matches('\r').trim() != HEADER {
        return Err(FileError::BadHeader);
    }
    let mut parsed = ParsedFile::default();
    for (index, raw) in lines.enumerate() {
        let line = index + 2;
        if line > MAX_LINES + 1 {
            return Err(FileError::TooLong);
        }
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(line, raw) {
            Ok(load) => parsed.loads.push(load),
            Err(reason) => parsed.malformed.push(MalformedLine { line, reason }),
        }
    }
    Ok(parsed)
}

fn parse_line(line: usize, raw: &str) -> Result<SettledLoad, String> {
    let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
    let [transaction_id, member_id, channel, amount, currency, transacted_at, settled_on] =
        fields[..]
    else {
        return Err(format!("has {} fields; 7 are expected", fields.len()));
    };
    if transaction_id.is_empty()
        || transaction_id.len() > TRANSACTION_ID_MAX
        || !transaction_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(format!(
            "transaction_id must be 1 to {TRANSACTION_ID_MAX} letters, digits or - _ . :"
        ));
    }
    let member_id =
        Uuid::parse_str(member_id).map_err(|_| format!("member_id {member_id:?} is not a UUID"))?;
    let channel = match channel {
        "instant" => Channel::Instant,
        "bank_transfer" => Channel::BankTransfer,
        other => return Err(format!("type {other:?} is not instant or bank_transfer")),
    };
    let currency = Currency::parse(currency).map_err(|e| format!("currency: {e}"))?;
    let amount: i64 = amount
        .parse()
        .map_err(|_| format!("amount_minor {amount:?} is not a whole number"))?;
    let amount = Money::positive(amount, currency).map_err(|e| format!("amount_minor {e}"))?;
    let transacted_at = DateTime::parse_from_rfc3339(transacted_at)
        .map_err(|_| format!("transacted_at {transacted_at:?} is not an RFC 3339 time"))?
        .with_timezone(&Utc);
    let settled_on = NaiveDate::parse_from_str(settled_on, "%Y-%m-%d")
        .map_err(|_| format!("settled_on {settled_on:?} is not a date (YYYY-MM-DD)"))?;
    if settled_on < transacted_at.date_naive() {
        return Err("settled_on is before transacted_at".into());
    }
    Ok(SettledLoad {
        line,
        transaction_id: transaction_id.to_owned(),
        member_id,
        channel,
        amount,
        transacted_at,
        settled_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = "0193a9c1-0000-7000-8000-000000000001";

    #[test]
    fn good_lines_parse_and_bad_ones_are_reported_with_their_number() {
        let file = format!(
            "{HEADER}\r\n\
             c1,{MEMBER},instant,25000,aud,2026-12-07T10:15:00Z,2026-12-08\r\n\
             c2,{MEMBER},instant,-5,AUD,2026-12-07T10:15:00Z,2026-12-08\n\
             \n\
             c3,not-a-member,bank_transfer,5,AUD,2026-12-07T10:15:00Z,2026-12-08\n\
             c4,{MEMBER},cash,5,AUD,2026-12-07T10:15:00Z,2026-12-08\n\
             c5,{MEMBER},instant,5,AUD,2026-12-07T10:15:00Z\n\
             c6,{MEMBER},bank_transfer,5,AUD,2026-12-09T10:15:00Z,2026-12-08\n\
             c 7,{MEMBER},bank_transfer,5,AUD,2026-12-07T10:15:00Z,2026-12-08\n"
        );
        let parsed = parse_file(file.as_bytes()).unwrap();
        assert_eq!(parsed.loads.len(), 1);
        let load = &parsed.loads[0];
        assert_eq!(
            (
                load.line,
                load.amount.amount_minor,
                load.amount.currency.code()
            ),
            (2, 25_000, "AUD")
        );
        let lines: Vec<usize> = parsed.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, [3, 5, 6, 7, 8, 9]);
        assert!(parsed.malformed[0].reason.contains("amount_minor"));
        assert!(parsed.malformed[3].reason.contains("7 are expected"));
    }

    #[test]
    fn a_file_without_the_header_is_refused_whole() {
        assert_eq!(parse_file(b"").unwrap_err(), FileError::Empty);
        assert_eq!(
            parse_file(b"id,member\nc1,x").unwrap_err(),
            FileError::BadHeader
        );
        assert_eq!(parse_file(&[0xff, 0xfe]).unwrap_err(), FileError::NotText);
    }
}
