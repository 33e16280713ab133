//! The abuse limits on authentication: a fixed window of requests per minute per client IP and
//! per account, and a lockout that doubles with each further failure once an account has failed
//! too often in a row.
//!
//! Accounts are keyed by the keyed hash of the email, so the counters never hold an address,
//! and unknown emails are counted and locked exactly like real ones: the limits must not reveal
//! whether an account exists.

use super::pii::PiiCipher;

pub const WINDOW_SECS: u64 = 60;
/// Failures are forgotten an hour after the last one.
pub const FAILURE_MEMORY_SECS: u64 = 3600;
const FIRST_LOCKOUT_SECS: u64 = 30;
const MAX_LOCKOUT_SECS: u64 = 3600;

/// The key an email's rate limits and lockout are counted under.
pub fn account_key(pii: &PiiCipher, email: &str) -> String {
    let normalised = email.trim().to_lowercase();
    hex::encode(&pii.lookup_hash("email", &normalised)[..16])
}

/// The rate-limit window a moment falls in, and the seconds until the next one starts.
pub fn window(unix_secs: u64) -> (u64, u64) {
    (
        unix_secs / WINDOW_SECS,
        WINDOW_SECS - unix_secs % WINDOW_SECS,
    )
}

/// How long to lock an account after `failures` in a row: nothing below the threshold, then
/// 30 s, 60 s, 120 s, ... up to an hour.
pub fn lockout_secs(failures: u64, lockout_after: u32) -> Option<u64> {
    let threshold = u64::from(lockout_after);
    if failures < threshold {
        return None;
    }
    let doublings = (failures - threshold).min(16) as u32;
    Some((FIRST_LOCKOUT_SECS << doublings).min(MAX_LOCKOUT_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_from_the_threshold_up_to_an_hour() {
        assert_eq!(lockout_secs(4, 5), None);
        assert_eq!(lockout_secs(5, 5), Some(30));
        assert_eq!(lockout_secs(6, 5), Some(60));
        assert_eq!(lockout_secs(100, 5), Some(3600));
    }

    #[test]
    fn windows_are_calendar_minutes() {
        assert_eq!(window(120), (2, 60));
        assert_eq!(window(179), (2, 1));
    }
}
