//! Stamp cards (seed 001): a business's stamp programs, the stamps a purchase is worth, and the
//! arithmetic of filling a card, of taking an issue back and of stamps lapsing. No I/O.
//!
//! Expiry, when a program sets `stamp_expiry_days`: the stamps on a card lapse together that
//! many days after the card's last stamp (each visit renews them all); rewards already given
//! never lapse. It is applied lazily rather than by a job: reads show a lapsed card empty
//! ([`on_card`]) and the next issue empties it before adding its stamps ([`lapse`]). The void
//! window must be shorter than the expiry, so no card lapses between an issue and its void and
//! [`unfill`] never needs stamps that lapsed.

use super::program::InvalidField;
use chrono::{DateTime, Duration, Utc};
use kernel::text::TextRule;

pub const PROGRAM_NAME: TextRule = TextRule::line(100);
/// What a full card gives ("a free coffee").
pub const REWARD: TextRule = TextRule::line(200);
/// The store's own id of the purchase.
pub const TRANSACTION_ID: TextRule = TextRule::line(100);

pub const MAX_STAMPS_REQUIRED: i32 = 100;
/// Items one purchase may stamp for: a basket, not a warehouse.
pub const MAX_ITEMS: i32 = 100;
pub const DEFAULT_VOID_WINDOW_MINUTES: i32 = 30;
/// A week.
pub const MAX_VOID_WINDOW_MINUTES: i32 = 10_080;
pub const MAX_EXPIRY_DAYS: i32 = 3650;

/// Why a stamp request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    #[error("no such store at this business")]
    UnknownStore,
    #[error("no such stamp program at this business")]
    UnknownProgram,
    #[error("the stamp program is no longer active")]
    ProgramInactive,
    #[error("a per-item program needs the number of items")]
    ItemsRequired,
    #[error("this store's transaction {0} was already stamped with a different request")]
    TransactionConflict(String),
    #[error("no such stamp issue at this store")]
    UnknownIssue,
    #[error("the void window of this issue closed at {0}")]
    VoidWindowClosed(DateTime<Utc>),
    #[error("the card's numbers would leave the range they can hold")]
    OutOfRange,
    #[error("store {store} belongs to business {known}, not {claimed}")]
    StoreOfAnotherBusiness {
        store: uuid::Uuid,
        known: uuid::Uuid,
        claimed: uuid::Uuid,
    },
}

/// How a program stamps: once per purchase, or once per item bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampMode {
    PerPurchase,
    PerItem,
}

impl StampMode {
    pub const ALL: [StampMode; 2] = [StampMode::PerPurchase, StampMode::PerItem];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StampMode::PerPurchase => "per_purchase",
            StampMode::PerItem => "per_item",
        }
    }

    /// The stamps a purchase of `items` earns. A per-purchase program gives one whatever the
    /// basket; a per-item program one per item and needs the count.
    pub fn stamps_for(self, items: Option<Items>) -> Result<i32, StampError> {
        match (self, items) {
            (StampMode::PerPurchase, _) => Ok(1),
            (StampMode::PerItem, Some(items)) => Ok(items.get()),
            (StampMode::PerItem, None) => Err(StampError::ItemsRequired),
        }
    }
}

/// The items of one purchase: 1 to [`MAX_ITEMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Items(i32);

impl Items {
    pub fn parse(raw: i64) -> Result<Self, String> {
        i32::try_from(raw)
            .ok()
            .filter(|n| (1..=MAX_ITEMS).contains(n))
            .map(Self)
            .ok_or_else(|| format!("must be between 1 and {MAX_ITEMS}"))
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A stamp program as its business defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStampProgram {
    pub name: String,
    pub stamps_required: i32,
    pub reward: String,
    pub mode: StampMode,
    /// Days after a card's last stamp that its stamps lapse (see the module's doc).
    pub stamp_expiry_days: Option<i32>,
    pub void_window_minutes: i32,
}

impl NewStampProgram {
    /// The bounds of every number, all reported at once.
    pub fn invalid_fields(&self) -> Vec<InvalidField> {
        let mut errors = Vec::new();
        if !(1..=MAX_STAMPS_REQUIRED).contains(&self.stamps_required) {
            errors.push(InvalidField::new(
                "stamps_required",
                format!("must be between 1 and {MAX_STAMPS_REQUIRED}"),
            ));
        }
        if !(0..=MAX_VOID_WINDOW_MINUTES).contains(&self.void_window_minutes) {
            errors.push(InvalidField::new(
                "void_window_minutes",
                format!("must be between 0 and {MAX_VOID_WINDOW_MINUTES}"),
            ));
        }
        if self
            .stamp_expiry_days
            .is_some_and(|days| !(1..=MAX_EXPIRY_DAYS).contains(&days))
        {
            errors.push(InvalidField::new(
                "stamp_expiry_days",
                format!("must be between 1 and {MAX_EXPIRY_DAYS}"),
            ));
        } else if let Some(days) = self.stamp_expiry_days {
            // A void must find the issue's stamps still on the card.
            if i64::from(self.void_window_minutes) >= i64::from(days) * MINUTES_A_DAY {
                errors.push(InvalidField::new(
                    "void_window_minutes",
                    "must be shorter than stamp_expiry_days",
                ));
            }
        }
        errors
    }
}

const MINUTES_A_DAY: i64 = 24 * 60;

/// `at` plus `by`, or the end of time where that overflows (a deadline that never comes).
fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Until when an issue may be voided; an issue of a program with a window of 0 never may.
pub fn void_until(issued_at: DateTime<Utc>, window_minutes: i32) -> DateTime<Utc> {
    later(
        issued_at,
        Duration::minutes(i64::from(window_minutes.max(0))),
    )
}

pub fn may_void(issued_at: DateTime<Utc>, window_minutes: i32, now: DateTime<Utc>) -> bool {
    now < void_until(issued_at, window_minutes)
}

/// When the stamps on a card lapse: `expiry_days` after its last stamp; never without an expiry
/// or a stamp.
pub fn lapses_at(
    last_stamped_at: Option<DateTime<Utc>>,
    expiry_days: Option<i32>,
) -> Option<DateTime<Utc>> {
    let days = expiry_days?;
    Some(later(
        last_stamped_at?,
        Duration::days(i64::from(days.max(0))),
    ))
}

/// The stamps a card shows at `now`, and when they lapse (`None`: they never do, or the card
/// holds none).
pub fn on_card(
    stamps: i32,
    last_stamped_at: Option<DateTime<Utc>>,
    expiry_days: Option<i32>,
    now: DateTime<Utc>,
) -> (i32, Option<DateTime<Utc>>) {
    match lapses_at(last_stamped_at, expiry_days).filter(|_| stamps > 0) {
        Some(at) if at <= now => (0, None),
        lapses => (stamps, lapses),
    }
}

/// What lapsing did to a card before an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lapsed {
    pub card: Card,
    /// Every stamp that ever lapsed on the card, these included.
    pub expired: i32,
}

/// Empties `card` if its stamps lapsed by `now`, counting them into `expired`; its rewards stay.
pub fn lapse(
    card: Card,
    expired: i32,
    last_stamped_at: Option<DateTime<Utc>>,
    expiry_days: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Lapsed, StampError> {
    let (shown, _) = on_card(card.stamps, last_stamped_at, expiry_days, now);
    if shown == card.stamps {
        return Ok(Lapsed { card, expired });
    }
    Ok(Lapsed {
        card: Card {
            stamps: 0,
            completed: card.completed,
        },
        expired: expired
            .checked_add(card.stamps)
            .ok_or(StampError::OutOfRange)?,
    })
}

/// A card's numbers: the stamps on it now, and how many times it was filled (its rewards still
/// issued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    pub stamps: i32,
    pub completed: i32,
}

impl Card {
    /// Every stamp the card was ever given and kept: `completed * required + stamps`.
    fn lifetime(self, required: i32) -> Option<i64> {
        i64::from(self.completed)
            .checked_mul(i64::from(required))?
            .checked_add(i64::from(self.stamps))
    }

    fn from_lifetime(lifetime: i64, required: i32) -> Option<Card> {
        let required = i64::from(required);
        if lifetime < 0 || required <= 0 {
            return None;
        }
        Some(Card {
            stamps: i32::try_from(lifetime % required).ok()?,
            completed: i32::try_from(lifetime / required).ok()?,
        })
    }
}

/// What giving stamps did to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    pub card: Card,
    /// Rewards now due: each time the card filled. The rest carries over to the next card.
    pub rewards: i32,
}

/// Gives `stamps` to `card` of a program needing `required`: 10 required, 9 on the card, 3
/// given: one reward, 2 stamps left; 25 given to 2: two rewards, 7 left.
pub fn fill(card: Card, stamps: i32, required: i32) -> Result<Filled, StampError> {
    let before = card.lifetime(required).ok_or(StampError::OutOfRange)?;
    let after = before
        .checked_add(i64::from(stamps))
        .filter(|_| stamps > 0)
        .ok_or(StampError::OutOfRange)?;
    let filled = Card::from_lifetime(after, required).ok_or(StampError::OutOfRange)?;
    Ok(Filled {
        rewards: filled
            .completed
            .checked_sub(card.completed)
            .ok_or(StampError::OutOfRange)?,
        card: filled,
    })
}

/// What voiding an issue did to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfilled {
    pub card: Card,
    /// Rewards to take back.
    pub rewards: i32,
}

/// Takes an issue's `stamps` back off `card`, leaving it exactly as if the issue had never
/// happened: the card keeps the rewards its remaining stamps fill, and no more.
///
/// Right after the issue this is the issue reversed: its stamps come off and the rewards it
/// filled are voided (10 required, 9 + 3 gave a reward and left 2; the void leaves 9 and no
/// reward). Later issues can make the plain reversal impossible, and the rule then is still
/// the card as if the issue never happened, so the arithmetic stays exact and never negative:
/// - later stamps were spent on another full card (10 required, 5 + 5 filled it; voiding the
///   first 5 would leave -5): that later reward is taken back too, and the later issue's
///   stamps stay on the card (5 left);
/// - later stamps would have filled the card this issue filled (9 + 3 gave a reward and left 2,
///   then 5 more left 7; without the 3 the card still fills at 9 + 5): the reward stays, now
///   earned by the later stamps, and the card keeps 4.
///
/// Which reward rows are taken back is the caller's (the issue's own first); this says how many.
pub fn unfill(card: Card, stamps: i32, required: i32) -> Result<Unfilled, StampError> {
    let before = card.lifetime(required).ok_or(StampError::OutOfRange)?;
    let after = before
        .checked_sub(i64::from(stamps))
        .filter(|_| stamps > 0)
        .ok_or(StampError::OutOfRange)?;
    // A card holding fewer stamps than one of its issues gave cannot be: refuse, never go below.
    let unfilled = Card::from_lifetime(after, required).ok_or(StampError::OutOfRange)?;
    Ok(Unfilled {
        rewards: card
            .completed
            .checked_sub(unfilled.completed)
            .ok_or(StampError::OutOfRange)?,
        card: unfilled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(stamps: i32, completed: i32) -> Card {
        Card { stamps, completed }
    }

    #[test]
    fn a_full_card_gives_its_reward_and_carries_the_rest_over() {
        assert_eq!(
            fill(card(9, 0), 3, 10).unwrap(),
            Filled {
                card: card(2, 1),
                rewards: 1
            }
        );
        assert_eq!(
            fill(card(2, 1), 25, 10).unwrap(),
            Filled {
                card: card(7, 3),
                rewards: 2
            }
        );
        assert_eq!(
            fill(card(0, 0), 4, 1).unwrap(),
            Filled {
                card: card(0, 4),
                rewards: 4
            }
        );
        assert_eq!(fill(card(3, 0), 1, 10).unwrap().rewards, 0);
        assert_eq!(fill(card(3, 0), 0, 10), Err(StampError::OutOfRange));
        assert_eq!(fill(card(0, i32::MAX), 1, 1), Err(StampError::OutOfRange));
    }

    #[test]
    fn a_void_right_after_its_issue_reverses_it_exactly() {
        let filled = fill(card(9, 0), 3, 10).unwrap();
        assert_eq!(
            unfill(filled.card, 3, 10).unwrap(),
            Unfilled {
                card: card(9, 0),
                rewards: 1
            }
        );
        let several = fill(card(2, 1), 25, 10).unwrap();
        assert_eq!(
            unfill(several.card, 25, 10).unwrap(),
            Unfilled {
                card: card(2, 1),
                rewards: 2
            }
        );
    }

    #[test]
    fn a_void_after_later_issues_leaves_the_card_as_if_the_issue_never_happened() {
        // 5, then 5 more filled the card: voiding the first 5 takes the reward back.
        let first = fill(card(0, 0), 5, 10).unwrap().card;
        let second = fill(first, 5, 10).unwrap().card;
        assert_eq!(second, card(0, 1));
        assert_eq!(
            unfill(second, 5, 10).unwrap(),
            Unfilled {
                card: card(5, 0),
                rewards: 1
            }
        );
        // 9 + 3 filled it, 5 more came: without the 3 the card still fills at 9 + 5.
        let filled = fill(fill(card(9, 0), 3, 10).unwrap().card, 5, 10)
            .unwrap()
            .card;
        assert_eq!(filled, card(7, 1));
        assert_eq!(
            unfill(filled, 3, 10).unwrap(),
            Unfilled {
                card: card(4, 1),
                rewards: 0
            }
        );
        // 9 + 3 filled it, 8 more filled another: the plain reversal, the issue's reward back.
        let twice = fill(fill(card(9, 0), 3, 10).unwrap().card, 8, 10)
            .unwrap()
            .card;
        assert_eq!(
            unfill(twice, 3, 10).unwrap(),
            Unfilled {
                card: card(7, 1),
                rewards: 1
            }
        );
        // Never below zero.
        assert_eq!(unfill(card(2, 0), 3, 10), Err(StampError::OutOfRange));
    }

    #[test]
    fn any_order_of_issues_and_voids_ends_as_the_kept_issues_alone() {
        let required = 7;
        let issues = [3, 9, 1, 6, 14, 2];
        let mut all = card(0, 0);
        for stamps in issues {
            all = fill(all, stamps, required).unwrap().card;
        }
        // Void the 2nd and 5th, in either order.
        for order in [[1, 4], [4, 1]] {
            let mut voided = all;
            for i in order {
                voided = unfill(voided, issues[i], required).unwrap().card;
            }
            let kept: i32 = [0, 2, 3, 5].iter().map(|&i| issues[i]).sum();
            assert_eq!(voided, card(kept % required, kept / required), "{order:?}");
        }
    }

    #[test]
    fn a_purchase_is_worth_one_stamp_or_one_per_item() {
        let three = Items::parse(3).unwrap();
        assert_eq!(StampMode::PerPurchase.stamps_for(Some(three)), Ok(1));
        assert_eq!(StampMode::PerPurchase.stamps_for(None), Ok(1));
        assert_eq!(StampMode::PerItem.stamps_for(Some(three)), Ok(3));
        assert_eq!(
            StampMode::PerItem.stamps_for(None),
            Err(StampError::ItemsRequired)
        );
        assert!(Items::parse(0).is_err());
        assert!(Items::parse(i64::from(MAX_ITEMS) + 1).is_err());
        assert!(Items::parse(i64::MAX).is_err());
        assert_eq!(StampMode::parse("per_item"), Some(StampMode::PerItem));
        assert_eq!(StampMode::parse("per_visit"), None);
    }

    #[test]
    fn a_program_reports_every_bad_number() {
        let program = NewStampProgram {
            name: "Coffee".into(),
            stamps_required: 0,
            reward: "A coffee".into(),
            mode: StampMode::PerPurchase,
            stamp_expiry_days: Some(0),
            void_window_minutes: MAX_VOID_WINDOW_MINUTES + 1,
        };
        let fields: Vec<_> = program.invalid_fields().iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                "stamps_required",
                "void_window_minutes",
                "stamp_expiry_days"
            ]
        );
    }

    #[test]
    fn a_per_item_purchase_can_fill_several_cards_at_once() {
        let stamps = StampMode::PerItem
            .stamps_for(Some(Items::parse(25).unwrap()))
            .unwrap();
        assert_eq!(
            fill(card(8, 1), stamps, 10).unwrap(),
            Filled {
                card: card(3, 4),
                rewards: 3
            }
        );
        // Voided straight after, all three rewards go back.
        assert_eq!(
            unfill(card(3, 4), stamps, 10).unwrap(),
            Unfilled {
                card: card(8, 1),
                rewards: 3
            }
        );
    }

    #[test]
    fn numbers_past_what_a_card_holds_are_refused_not_wrapped() {
        // 2^31 - 1 completions of 100: the lifetime fits an i64, the next completion an i32 not.
        assert_eq!(
            fill(card(99, i32::MAX), 1, 100),
            Err(StampError::OutOfRange)
        );
        assert_eq!(fill(card(0, 0), -1, 10), Err(StampError::OutOfRange));
        assert_eq!(unfill(card(5, 0), -1, 10), Err(StampError::OutOfRange));
        assert_eq!(fill(card(0, 0), 1, 0), Err(StampError::OutOfRange));
        let far = DateTime::<Utc>::MAX_UTC - Duration::minutes(1);
        assert_eq!(
            void_until(far, MAX_VOID_WINDOW_MINUTES),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            lapses_at(Some(far), Some(MAX_EXPIRY_DAYS)),
            Some(DateTime::<Utc>::MAX_UTC)
        );
        assert_eq!(
            lapse(
                card(3, 0),
                i32::MAX,
                Some(Utc::now() - Duration::days(2)),
                Some(1),
                Utc::now()
            ),
            Err(StampError::OutOfRange)
        );
    }

    #[test]
    fn stamps_lapse_together_after_the_last_stamp_and_rewards_stay() {
        let last = Utc::now();
        let lapses = last + Duration::days(7);
        assert_eq!(on_card(4, Some(last), Some(7), last), (4, Some(lapses)));
        assert_eq!(
            on_card(4, Some(last), Some(7), lapses - Duration::seconds(1)),
            (4, Some(lapses))
        );
        assert_eq!(on_card(4, Some(last), Some(7), lapses), (0, None));
        // No expiry, or nothing on the card: nothing to lapse.
        assert_eq!(on_card(4, Some(last), None, lapses), (4, None));
        assert_eq!(on_card(0, Some(last), Some(7), last), (0, None));

        assert_eq!(
            lapse(card(4, 2), 5, Some(last), Some(7), lapses).unwrap(),
            Lapsed {
                card: card(0, 2),
                expired: 9
            }
        );
        let kept = lapse(
            card(4, 2),
            5,
            Some(last),
            Some(7),
            lapses - Duration::minutes(1),
        );
        assert_eq!(
            kept.unwrap(),
            Lapsed {
                card: card(4, 2),
                expired: 5
            }
        );
        // The next purchase then starts a fresh card.
        let fresh = lapse(card(9, 0), 0, Some(last), Some(7), lapses)
            .unwrap()
            .card;
        assert_eq!(fill(fresh, 1, 10).unwrap().rewards, 0);
    }

    #[test]
    fn a_program_voids_within_less_than_its_expiry() {
        let program = |expiry, window| NewStampProgram {
            name: "Coffee".into(),
            stamps_required: 10,
            reward: "A coffee".into(),
            mode: StampMode::PerPurchase,
            stamp_expiry_days: expiry,
            void_window_minutes: window,
        };
        assert!(program(Some(1), 1439).invalid_fields().is_empty());
        assert!(program(None, MAX_VOID_WINDOW_MINUTES)
            .invalid_fields()
            .is_empty());
        let fields: Vec<_> = program(Some(1), 1440)
            .invalid_fields()
            .iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["void_window_minutes"]);
    }

    #[test]
    fn the_void_window_is_open_until_its_last_minute_and_zero_closes_it() {
        let issued = Utc::now();
        assert!(may_void(issued, 30, issued + Duration::minutes(29)));
        assert!(!may_void(issued, 30, issued + Duration::minutes(30)));
        assert!(!may_void(issued, 0, issued));
    }
}
