//! One way to page through a list: newest first, keyset on (time, id), with an opaque cursor.
//!
//! A list endpoint takes `limit` and `cursor` query parameters, turns them into a
//! [`PageRequest`] with [`PageRequest::parse`], fetches `limit + 1` rows after the cursor
//! (`WHERE (created_at, id) < ($after_time, $after_id) ORDER BY created_at DESC, id DESC`), and
//! hands them to [`PageRequest::finish`], which drops the extra row and says where the next
//! page starts. Clients pass `next_cursor` back unchanged; they never build one.

use crate::problem::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The position after the last item of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('|')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items on the page, 1 to the endpoint's maximum.
    pub limit: i64,
    /// Start after this position; `None` for the first page.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// From the `limit` and `cursor` query parameters: `limit` defaults to `default` and must be
    /// 1 to `max`; a cursor that is not one we issued is refused.
    pub fn parse(
        limit: Option<i64>,
        cursor: Option<&str>,
        default: i64,
        max: i64,
    ) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                format!("must be between 1 and {max}"),
            ));
        }
        let after = cursor
            .map(|raw| {
                Cursor::decode(raw).ok_or_else(|| {
                    ApiError::validation("cursor", "is not a cursor from a previous page")
                })
            })
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The time bound for the keyset query (far future on the first page).
    pub fn after_time(&self) -> DateTime<Utc> {
        self.after
            .map_or(DateTime::<Utc>::MAX_UTC, |c| c.created_at)
    }

    /// The id bound for the keyset query (the largest id on the first page).
    pub fn after_id(&self) -> Uuid {
        self.after.map_or(Uuid::max(), |c| c.id)
    }

    /// Cuts `rows` (fetched with [`Self::fetch_limit`], newest first) to the page and returns
    /// the cursor of the next page, if there is one.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        position: impl Fn(&T) -> Cursor,
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() <= limit {
            return (rows, None);
        }
        rows.truncate(limit);
        let next = rows.last().map(|last| position(last).encode());
        (rows, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12|nope")), None);
        assert!(PageRequest::parse(None, Some("garbage"), 20, 100).is_err());
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(PageRequest::parse(None, None, 20, 100).unwrap().limit, 20);
        assert!(PageRequest::parse(Some(0), None, 20, 100).is_err());
        assert!(PageRequest::parse(Some(101), None, 20, 100).is_err());
        assert!(PageRequest::parse(Some(-1), None, 20, 100).is_err());
    }

    #[test]
    fn finish_cuts_the_extra_row_and_points_after_the_last_kept() {
        let page = PageRequest::parse(Some(2), None, 20, 100).unwrap();
        let at = |s: i64| Cursor {
            created_at: DateTime::from_timestamp(s, 0).unwrap(),
            id: Uuid::from_u128(s as u128),
        };
        let (items, next) = page.finish(vec![3, 2, 1], |s| at(*s));
        assert_eq!(items, vec![3, 2]);
        assert_eq!(next.and_then(|n| Cursor::decode(&n)), Some(at(2)));
        let (items, next) = page.finish(vec![3, 2], |s| at(*s));
        assert_eq!(items, vec![3, 2]);
        assert_eq!(next, None);
    }
}
