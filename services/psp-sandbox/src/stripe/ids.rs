//! Object ids shaped like Stripe's: a type prefix and 24 random alphanumerics (`pi_3Mtw...`).

use rand::distributions::Alphanumeric;
use rand::Rng;

pub fn new(prefix: &str) -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}_{suffix}")
}
