//! Businesses (seed 001): one fleet runs the loyalty programs of many businesses.

use uuid::Uuid;

/// The business that owns everything created before the fleet knew businesses: the program,
/// members' points, charges, rewards. Migrations move today's single program into it, and every
/// resource not yet stored with its own business belongs to it.
pub const DEMO_BUSINESS_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

/// How an event envelope or a row written before businesses existed names its business: an
/// empty value means the demo business.
pub fn business_or_demo(value: &str) -> Option<Uuid> {
    if value.is_empty() {
        Some(DEMO_BUSINESS_ID)
    } else {
        Uuid::parse_str(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unnamed_business_is_the_demo_business_and_garbage_is_none() {
        assert_eq!(business_or_demo(""), Some(DEMO_BUSINESS_ID));
        let other = Uuid::now_v7();
        assert_eq!(business_or_demo(&other.to_string()), Some(other));
        assert_eq!(business_or_demo("not-a-business"), None);
    }
}
