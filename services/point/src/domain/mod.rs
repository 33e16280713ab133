//! Earning rules, free of I/O.

use platform::money::Money;

/// A tier's earn multiplier in basis points: 100 is 1.00x, 125 is 1.25x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier(i32);

impl Multiplier {
    pub fn from_basis_points(bp: i32) -> Self {
        Self(bp)
    }

    pub fn basis_points(&self) -> i32 {
        self.0
    }

    /// For display only (`1.25`); arithmetic stays in basis points.
    pub fn as_decimal(&self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

/// Points for a purchase: `points_per_unit` per whole unit of currency, times the tier
/// multiplier, rounded down. Integer arithmetic throughout, wide enough not to overflow.
pub fn points_for_purchase(amount: Money, points_per_unit: i32, multiplier: Multiplier) -> i64 {
    let numerator =
        i128::from(amount.amount_minor) * i128::from(points_per_unit) * i128::from(multiplier.0);
    let denominator = i128::from(amount.currency.minor_per_major()) * 100;
    // Amounts are capped (platform::money::MAX_AMOUNT_MINOR), so the quotient fits an i64.
    i64::try_from(numerator / denominator).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::money::Currency;

    fn money(amount: i64, currency: &str) -> Money {
        Money::positive(amount, Currency::parse(currency).unwrap()).unwrap()
    }

    #[test]
    fn one_point_per_whole_unit_rounded_down() {
        assert_eq!(
            points_for_purchase(money(12345, "AUD"), 1, Multiplier::from_basis_points(100)),
            123
        );
        assert_eq!(
            points_for_purchase(money(99, "AUD"), 1, Multiplier::from_basis_points(100)),
            0
        );
    }

    #[test]
    fn tier_multipliers_apply_before_rounding() {
        // 123.45 AUD at 1.25x is 154.31 points, so 154.
        assert_eq!(
            points_for_purchase(money(12345, "AUD"), 1, Multiplier::from_basis_points(125)),
            154
        );
        assert_eq!(
            points_for_purchase(money(12345, "AUD"), 1, Multiplier::from_basis_points(200)),
            246
        );
    }

    #[test]
    fn currencies_without_minor_units() {
        assert_eq!(
            points_for_purchase(money(1500, "JPY"), 1, Multiplier::from_basis_points(100)),
            1500
        );
        assert_eq!(
            points_for_purchase(money(1500, "KWD"), 1, Multiplier::from_basis_points(100)),
            1
        );
    }
}
