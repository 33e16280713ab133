//! Stripe webhook signatures (`Stripe-Signature` header).
//!
//! Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 keyed by the endpoint's whole signing
//! secret (including its `whsec_` prefix) and sends `t=<timestamp>,v1=<lowercase hex>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Returns the complete `Stripe-Signature` header value for `payload` signed at `timestamp`
/// (unix seconds). Verifiers recompute it from the header's `t` and compare the `v1` part.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let digest = hex::encode(mac.finalize().into_bytes());
    format!("t={timestamp},v1={digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // Computed with Python: hmac.new(b"whsec_test", b"1700000000.{\"id\":\"evt_1\"}", sha256)
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }
}
