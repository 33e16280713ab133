//! The business directory's rules (seed 001): what makes a business, a brand and a store, and
//! which stores a caller sees. Inputs parse into these types before any query; every bad field of
//! a request is reported at once.

use kernel::text::TextRule;
use kernel::Currency;
use platform::FieldError;
use std::fmt;
use uuid::Uuid;

pub const BUSINESS_NAME: TextRule = TextRule::line(200);
pub const BRAND_NAME: TextRule = TextRule::line(120);
pub const STORE_NAME: TextRule = TextRule::line(200);
pub const ADDRESS: TextRule = TextRule::paragraph(500);

/// A business's handle in URLs and logins: lower-case ASCII letters, digits and hyphens, 2 to 63
/// characters, starting and ending with a letter or digit (a DNS label, so it can name a
/// subdomain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub const MIN_CHARS: usize = 2;
    pub const MAX_CHARS: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&length) {
            return Err(format!(
                "must be {} to {} characters",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("may contain only a-z, 0-9 and -".into());
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err("must start and end with a letter or a digit".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name, checked by its shape only (`Australia/Sydney`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+10`, `UTC`): the tz database changes, so the
/// stores' zones are not held against one copy of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone(String);

impl Timezone {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        const SHAPE: &str = "must be an IANA time zone name such as Australia/Sydney or UTC";
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(SHAPE.into());
        }
        let parts: Vec<&str> = raw.split('/').collect();
        let part_ok = |part: &&str| {
            part.starts_with(|c: char| c.is_ascii_uppercase())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        };
        let single = parts.len() == 1 && matches!(raw, "UTC" | "GMT");
        let nested = (2..=3).contains(&parts.len()) && parts.iter().all(part_ok);
        if single || nested {
            Ok(Self(raw.to_owned()))
        } else {
            Err(SHAPE.into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a business may run its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusinessStatus {
    Active,
    /// The platform stopped it: its directory can be read but not extended.
    Suspended,
}

impl BusinessStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            BusinessStatus::Active => "active",
            BusinessStatus::Suspended => "suspended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(BusinessStatus::Active),
            "suspended" => Some(BusinessStatus::Suspended),
            _ => None,
        }
    }

    /// Brands and stores are added only to an active business.
    pub fn accepts_new_places(&self) -> bool {
        *self == BusinessStatus::Active
    }
}

/// A business a platform operator is opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBusiness {
    pub name: String,
    pub slug: Slug,
    pub currency: Currency,
}

impl NewBusiness {
    pub fn parse(name: &str, slug: &str, currency: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = keep(&mut errors, "name", BUSINESS_NAME.parse(name));
        let slug = keep(&mut errors, "slug", Slug::parse(slug));
        let currency = keep(&mut errors, "currency", Currency::parse(currency));
        match (name, slug, currency) {
            (Some(name), Some(slug), Some(currency)) => Ok(Self {
                name,
                slug,
                currency,
            }),
            _ => Err(errors),
        }
    }
}

/// A brand a business is adding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBrand {
    pub name: String,
}

impl NewBrand {
    pub fn parse(name: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        match keep(&mut errors, "name", BRAND_NAME.parse(name)) {
            Some(name) => Ok(Self { name }),
            None => Err(errors),
        }
    }
}

/// A store a business is opening; its brand, if any, must be one of the business's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStore {
    pub name: String,
    pub brand_id: Option<Uuid>,
    pub address: Option<String>,
    pub timezone: Timezone,
}

impl NewStore {
    pub fn parse(
        name: &str,
        brand_id: Option<Uuid>,
        address: Option<&str>,
        timezone: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = keep(&mut errors, "name", STORE_NAME.parse(name));
        let address = keep(&mut errors, "address", ADDRESS.parse_optional(address));
        let timezone = keep(&mut errors, "timezone", Timezone::parse(timezone));
        match (name, address, timezone) {
            (Some(name), Some(address), Some(timezone)) => Ok(Self {
                name,
                brand_id,
                address,
                timezone,
            }),
            _ => Err(errors),
        }
    }
}

/// The stores of a business a caller sees: all of them (business-level staff, platform
/// operators), or only those a store-level role was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    All,
    Only(Vec<Uuid>),
}

impl StoreScope {
    pub fn includes(&self, store: Uuid) -> bool {
        match self {
            StoreScope::All => true,
            StoreScope::Only(stores) => stores.contains(&store),
        }
    }

    /// The stores to restrict a query to; `None` for every store.
    pub fn restriction(&self) -> Option<&[Uuid]> {
        match self {
            StoreScope::All => None,
            StoreScope::Only(stores) => Some(stores),
        }
    }
}

/// Keeps a parsed value, or records why the field was refused.
fn keep<T, E: fmt::Display>(
    errors: &mut Vec<FieldError>,
    field: &str,
    parsed: Result<T, E>,
) -> Option<T> {
    parsed
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn slugs_are_dns_labels() {
        for good in ["ab", "demo", "coffee-co-2", &"a".repeat(63)] {
            assert_eq!(Slug::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "a",
            &"a".repeat(64),
            "Coffee",
            "coffee co",
            "-coffee",
            "coffee-",
            "café",
            "cof\0fee",
            "cof_fee",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zones_are_checked_by_their_shape() {
        for good in [
            "UTC",
            "Australia/Sydney",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+10",
            "America/Port-au-Prince",
        ] {
            assert!(Timezone::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "sydney",
            "Australia/",
            "/Sydney",
            "Australia//Sydney",
            "australia/sydney",
            "Australia/Sydney\0",
            "A/B/C/D",
            "+10:00",
            &format!("Australia/{}", "S".repeat(60)),
        ] {
            assert!(Timezone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_business_reports_every_bad_field_at_once() {
        let ok = NewBusiness::parse(" Coffee Co ", "coffee-co", "aud").unwrap();
        assert_eq!(ok.name, "Coffee Co");
        assert_eq!(ok.currency.code(), "AUD");
        let bad = NewBusiness::parse("", "X", "XXX").unwrap_err();
        assert_eq!(fields(bad), ["name", "slug", "currency"]);
        let too_long = NewBusiness::parse(&"n".repeat(201), "ok", "AUD").unwrap_err();
        assert_eq!(fields(too_long), ["name"]);
        assert!(NewBusiness::parse("Co\0", "ok", "AUD").is_err());
    }

    #[test]
    fn stores_need_a_name_and_a_time_zone_and_may_have_an_address() {
        let store = NewStore::parse("George St", None, Some("  "), "Australia/Sydney").unwrap();
        assert_eq!(store.address, None);
        let store = NewStore::parse("George St", None, Some("1 George St\nSydney"), "UTC");
        assert_eq!(
            store.unwrap().address.as_deref(),
            Some("1 George St\nSydney")
        );
        let bad = NewStore::parse(" ", None, Some(&"a".repeat(501)), "Sydney").unwrap_err();
        assert_eq!(fields(bad), ["name", "address", "timezone"]);
        assert_eq!(fields(NewBrand::parse("b\0").unwrap_err()), ["name"]);
    }

    #[test]
    fn store_level_staff_see_only_their_stores() {
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        let scope = StoreScope::Only(vec![mine]);
        assert!(scope.includes(mine) && !scope.includes(other));
        assert_eq!(scope.restriction(), Some(&[mine][..]));
        assert!(StoreScope::All.includes(other));
        assert_eq!(StoreScope::All.restriction(), None);
    }
}
