//! Catalog rules, free of I/O.

use kernel::text::TextRule;
use serde::Deserialize;

pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
pub const POINTS_COST_MAX: i64 = 10_000_000;
pub const INVENTORY_MAX: i64 = 1_000_000;

const NAME: TextRule = TextRule::line(NAME_MAX_CHARS);
const DESCRIPTION: TextRule = TextRule::paragraph(DESCRIPTION_MAX_CHARS);

/// A field of a request that broke a rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

/// A new catalog item as an admin sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReward {
    /// 1 to 200 characters once trimmed.
    pub name: String,
    /// Up to 2,000 characters; blank is the same as absent.
    #[serde(default)]
    pub description: Option<String>,
    /// 1 to 10,000,000 points.
    pub points_cost: i64,
    /// Units available, 0 to 1,000,000; absent means unlimited.
    #[serde(default)]
    pub inventory: Option<i64>,
}

/// A catalog item that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReward {
    pub name: String,
    pub description: Option<String>,
    pub points_cost: i64,
    /// `None` is unlimited.
    pub inventory: Option<i32>,
}

impl TryFrom<CreateReward> for NewReward {
    type Error = Vec<InvalidField>;

    /// Checks every field and reports all that are wrong, not just the first.
    fn try_from(request: CreateReward) -> Result<Self, Self::Error> {
        let name = parse_name(&request.name);
        let description = request
            .description
            .as_deref()
            .map(parse_description)
            .transpose()
            .map(Option::flatten);
        let points_cost = parse_points_cost(request.points_cost);
        let inventory = request.inventory.map(parse_inventory).transpose();
        match (name, description, points_cost, inventory) {
            (Ok(name), Ok(description), Ok(points_cost), Ok(inventory)) => Ok(NewReward {
                name,
                description,
                points_cost,
                inventory,
            }),
            (name, description, points_cost, inventory) => Err([
                ("name", name.err()),
                ("description", description.err()),
                ("points_cost", points_cost.err()),
                ("inventory", inventory.err()),
            ]
            .into_iter()
            .filter_map(|(field, error)| error.map(|message| InvalidField { field, message }))
            .collect()),
        }
    }
}

/// Trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    NAME.parse(raw).map_err(|e| e.to_string())
}

/// Trimmed; blank becomes `None`. Line breaks and tabs are allowed, other control characters not.
pub fn parse_description(raw: &str) -> Result<Option<String>, String> {
    DESCRIPTION
        .parse_optional(Some(raw))
        .map_err(|e| e.to_string())
}

pub fn parse_points_cost(points: i64) -> Result<i64, String> {
    if (1..=POINTS_COST_MAX).contains(&points) {
        Ok(points)
    } else {
        Err(format!("must be between 1 and {POINTS_COST_MAX} points"))
    }
}

pub fn parse_inventory(units: i64) -> Result<i32, String> {
    if (0..=INVENTORY_MAX).contains(&units) {
        // INVENTORY_MAX fits an i32 (the column's type).
        Ok(units as i32)
    } else {
        Err(format!(
            "must be between 0 and {INVENTORY_MAX}, or absent for unlimited"
        ))
    }
}

/// Whether an item can be redeemed now as far as stock goes: unlimited, or some left.
pub fn is_available(inventory: Option<i32>) -> bool {
    inventory.is_none_or(|units| units > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, points_cost: i64) -> CreateReward {
        CreateReward {
            name: name.into(),
            description: None,
            points_cost,
            inventory: None,
        }
    }

    fn fields(result: Result<NewReward, Vec<InvalidField>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_reward_is_trimmed() {
        let reward = NewReward::try_from(CreateReward {
            name: "  Coffee voucher ".into(),
            description: Some(" One flat white.\nAny size. ".into()),
            points_cost: 500,
            inventory: Some(20),
        })
        .unwrap();
        assert_eq!(
            reward,
            NewReward {
                name: "Coffee voucher".into(),
                description: Some("One flat white.\nAny size.".into()),
                points_cost: 500,
                inventory: Some(20),
            }
        );
    }

    #[test]
    fn names_are_1_to_200_characters_after_trimming() {
        assert_eq!(fields(NewReward::try_from(request("   ", 10))), ["name"]);
        assert_eq!(fields(NewReward::try_from(request("", 10))), ["name"]);
        assert!(
            NewReward::try_from(request(&"é".repeat(NAME_MAX_CHARS), 10)).is_ok(),
            "characters, not bytes"
        );
        assert!(
            NewReward::try_from(request(&format!("  {}  ", "x".repeat(NAME_MAX_CHARS)), 10))
                .is_ok()
        );
        assert_eq!(
            fields(NewReward::try_from(request(
                &"x".repeat(NAME_MAX_CHARS + 1),
                10
            ))),
            ["name"]
        );
        assert_eq!(
            fields(NewReward::try_from(request("Mug\u{0}", 10))),
            ["name"]
        );
    }

    #[test]
    fn points_cost_bounds() {
        assert!(NewReward::try_from(request("Mug", 1)).is_ok());
        assert!(NewReward::try_from(request("Mug", POINTS_COST_MAX)).is_ok());
        for bad in [0, -1, POINTS_COST_MAX + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                fields(NewReward::try_from(request("Mug", bad))),
                ["points_cost"],
                "{bad}"
            );
        }
    }

    #[test]
    fn inventory_bounds_and_unlimited() {
        let with = |inventory| {
            NewReward::try_from(CreateReward {
                inventory,
                ..request("Mug", 10)
            })
        };
        assert_eq!(with(None).unwrap().inventory, None);
        assert_eq!(with(Some(0)).unwrap().inventory, Some(0));
        assert_eq!(
            with(Some(INVENTORY_MAX)).unwrap().inventory,
            Some(1_000_000)
        );
        for bad in [-1, INVENTORY_MAX + 1, i64::from(i32::MAX) + 1] {
            assert_eq!(fields(with(Some(bad))), ["inventory"], "{bad}");
        }
    }

    #[test]
    fn descriptions() {
        let with = |description: &str| {
            NewReward::try_from(CreateReward {
                description: Some(description.into()),
                ..request("Mug", 10)
            })
        };
        assert_eq!(with("   ").unwrap().description, None, "blank is absent");
        assert!(with(&"d".repeat(DESCRIPTION_MAX_CHARS)).is_ok());
        assert_eq!(
            fields(with(&"d".repeat(DESCRIPTION_MAX_CHARS + 1))),
            ["description"]
        );
        assert_eq!(fields(with("bell\u{7}")), ["description"]);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = CreateReward {
            name: " ".into(),
            description: Some("\u{0}".into()),
            points_cost: 0,
            inventory: Some(-3),
        };
        assert_eq!(
            fields(NewReward::try_from(bad)),
            ["name", "description", "points_cost", "inventory"]
        );
    }

    #[test]
    fn the_request_body_refuses_unknown_fields_and_allows_optional_ones_to_be_absent() {
        let minimal: CreateReward =
            serde_json::from_str(r#"{"name":"Mug","points_cost":10}"#).unwrap();
        assert_eq!((minimal.description, minimal.inventory), (None, None));
        let nulls: CreateReward = serde_json::from_str(
            r#"{"name":"Mug","points_cost":10,"description":null,"inventory":null}"#,
        )
        .unwrap();
        assert_eq!((nulls.description, nulls.inventory), (None, None));
        assert!(serde_json::from_str::<CreateReward>(
            r#"{"name":"Mug","points_cost":10,"active":false}"#
        )
        .is_err());
    }

    #[test]
    fn availability() {
        assert!(is_available(None), "unlimited");
        assert!(is_available(Some(3)));
        assert!(!is_available(Some(0)));
    }
}
