//! Notification templates: plain text with `{{placeholder}}` substitution of the fields a kind
//! knows. A business may word each kind and channel its own way; otherwise the built-in default
//! below is used. For email the subject is the subject line, for push the notification's title.

use super::notifications::{NotificationChannel, NotificationKind};
use super::registration::InvalidField;
use kernel::text::TextRule;

/// A template whose placeholders are all known to its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// A template filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Subject and body limits per channel: a subject is one line; a push notification is short.
fn rules(channel: NotificationChannel) -> (TextRule, TextRule) {
    match channel {
        NotificationChannel::Email => (TextRule::line(200), TextRule::paragraph(10_000)),
        NotificationChannel::Push => (TextRule::line(100), TextRule::paragraph(1_000)),
    }
}

/// Checks a business's template: lengths, no control characters in the subject (so no header
/// can be added through it), and only the placeholders `kind` fills in.
pub fn parse(
    kind: NotificationKind,
    channel: NotificationChannel,
    subject: &str,
    body: &str,
) -> Result<Template, Vec<InvalidField>> {
    let (subject_rule, body_rule) = rules(channel);
    let mut errors = Vec::new();
    let mut check = |field: &'static str, rule: TextRule, raw: &str| match rule.parse(raw) {
        Err(e) => {
            errors.push(InvalidField::new(field, e));
            None
        }
        Ok(text) => match unknown_placeholders(kind, &text) {
            Ok(unknown) if unknown.is_empty() => Some(text),
            Ok(unknown) => {
                errors.push(InvalidField::new(
                    field,
                    format!(
                        "unknown placeholder {}; {} templates may use {}",
                        unknown
                            .iter()
                            .map(|p| format!("{{{{{p}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        kind.as_str(),
                        kind.placeholders()
                            .iter()
                            .map(|p| format!("{{{{{p}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
            Err(syntax) => {
                errors.push(InvalidField::new(field, syntax));
                None
            }
        },
    };
    let subject = check("subject", subject_rule, subject);
    let body = check("body", body_rule, body);
    match (subject, body) {
        (Some(subject), Some(body)) if errors.is_empty() => Ok(Template { subject, body }),
        _ => Err(errors),
    }
}

/// One piece of a template's text.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits `text` at its placeholders; `Err` says what is malformed.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "has a `{{` that is never closed with `}}`".to_owned())?;
        let name = after[..close].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!(
                "`{{{{{}}}}}` is not a placeholder: names are lower-case letters and `_`",
                &after[..close]
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("has a `}}` that closes nothing".to_owned());
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

fn unknown_placeholders(kind: NotificationKind, text: &str) -> Result<Vec<String>, String> {
    let mut unknown: Vec<String> = Vec::new();
    for piece in pieces(text)? {
        if let Piece::Placeholder(name) = piece {
            if !kind.placeholders().contains(&name) && !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_owned());
            }
        }
    }
    Ok(unknown)
}

/// A value as it may appear in a message: one line (control characters, CR and LF included,
/// become spaces, so a member's name cannot start a new header line) and bounded.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn fill(text: &str, values: &[(&str, String)]) -> String {
    let Ok(pieces) = pieces(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => match values.iter().find(|(k, _)| *k == name) {
                Some((_, value)) => out.push_str(&one_line(value)),
                None => {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
            },
        }
    }
    out
}

/// Fills `template` in with `values` (placeholder name, value).
pub fn render(template: &Template, values: &[(&str, String)]) -> Rendered {
    Rendered {
        subject: one_line(&fill(&template.subject, values)),
        body: fill(&template.body, values),
    }
}

/// A stored template, checked again before use (its kind's placeholders may have changed since
/// it was saved); `None` when it no longer passes, so the default is used.
pub fn stored(
    kind: NotificationKind,
    channel: NotificationChannel,
    subject: &str,
    body: &str,
) -> Option<Template> {
    parse(kind, channel, subject, body).ok()
}

/// The built-in template of `kind` on `channel`.
pub fn default_template(kind: NotificationKind, channel: NotificationChannel) -> Template {
    use NotificationChannel::{Email, Push};
    use NotificationKind::*;
    let (subject, body) = match (kind, channel) {
        (TierUpgraded, Email) => (
            "You have reached {{to_tier}}",
            "Hello {{first_name}},\n\nCongratulations: you have moved up from {{from_tier}} to \
             {{to_tier}}. The benefits of your new tier apply from today.\n",
        ),
        (TierUpgraded, Push) => (
            "You have reached {{to_tier}}",
            "Congratulations: you have moved up from {{from_tier}} to {{to_tier}}.",
        ),
        (TierDowngraded, Email) => (
            "Your tier is now {{to_tier}}",
            "Hello {{first_name}},\n\nYour tier has changed from {{from_tier}} to {{to_tier}}, \
             following your spending over the last 12 months. Every purchase counts towards \
             your next tier.\n",
        ),
        (TierDowngraded, Push) => (
            "Your tier is now {{to_tier}}",
            "Your tier has changed from {{from_tier}} to {{to_tier}}.",
        ),
        (PointsExpiring, Email) => (
            "{{points}} points expire on {{expires_on}}",
            "Hello {{first_name}},\n\n{{points}} of your points expire on {{expires_on}}. \
             Redeem them for a reward before then.\n",
        ),
        (PointsExpiring, Push) => (
            "Points expiring soon",
            "{{points}} points expire on {{expires_on}}.",
        ),
        (RewardRedeemed, Email) => (
            "Your reward: {{reward_name}}",
            "Hello {{first_name}},\n\nYou redeemed {{reward_name}} for {{points}} points.\n\n\
             Your code: {{code}}\nValid until: {{code_expires_at}}\n\n\
             Show this code when you collect your reward.\n",
        ),
        (RewardRedeemed, Push) => (
            "Your reward: {{reward_name}}",
            "Your code is {{code}}. Show it when you collect your reward.",
        ),
        (RewardCancelled, Email) => (
            "Your reward redemption was cancelled",
            "Hello {{first_name}},\n\nYour reward redemption was cancelled and {{points}} points \
             are back in your account.\n",
        ),
        (RewardCancelled, Push) => (
            "Redemption cancelled",
            "{{points}} points are back in your account.",
        ),
        (StampCardCompleted, Email) => (
            "Your card is full: {{reward}} is yours",
            "Hello {{first_name}},\n\nYou have filled your stamp card. {{reward}} is yours: ask \
             for it on your next visit.\n",
        ),
        (StampCardCompleted, Push) => (
            "Your card is full",
            "{{reward}} is yours: ask for it on your next visit.",
        ),
        (CampaignGoalAchieved, Email) => (
            "Goal reached: {{campaign_name}}",
            "Hello {{first_name}},\n\nYou did it: you have loaded {{total}} onto your card and \
             reached the {{target}} goal of {{campaign_name}}.\n\n\
             Your {{reward_points}} points are paid after the campaign window closes on \
             {{window_ends_at}}, once your loads have settled. Keep the money on your card until \
             then: a withdrawal ends the campaign without a reward.\n",
        ),
        (CampaignGoalAchieved, Push) => (
            "Goal reached: {{campaign_name}}",
            "You loaded {{total}} of {{target}}. {{reward_points}} points are on their way after \
             {{window_ends_at}}.",
        ),
        (CampaignWindowEnding, Email) => (
            "{{campaign_name}} ends soon: {{remaining}} to go",
            "Hello {{first_name}},\n\n{{campaign_name}} ends on {{window_ends_at}}. You have \
             loaded {{total}} of the {{target}} goal so far: load {{remaining}} more onto your \
             card before then to earn your reward.\n",
        ),
        (CampaignWindowEnding, Push) => (
            "{{campaign_name}} ends soon",
            "Load {{remaining}} more by {{window_ends_at}} to reach your goal.",
        ),
        (CampaignDisqualified, Email) => (
            "An update on {{campaign_name}}",
            "Hello {{first_name}},\n\n{{reason}}\n\nCampaign: {{campaign_name}}\n\
             Loaded: {{total}} of the {{target}} goal\n",
        ),
        (CampaignDisqualified, Push) => ("{{campaign_name}}", "{{reason}}"),
        (CampaignCompleted, Email) => (
            "{{points}} points from {{campaign_name}} are yours",
            "Hello {{first_name}},\n\nYour {{points}} points from {{campaign_name}} are in your \
             account now. Thank you for taking part.\n",
        ),
        (CampaignCompleted, Push) => (
            "{{points}} points are yours",
            "Your {{points}} points from {{campaign_name}} are in your account now.",
        ),
    };
    Template {
        subject: subject.to_owned(),
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotificationChannel::{Email, Push};
    use NotificationKind::*;

    fn values() -> Vec<(&'static str, String)> {
        vec![
            ("first_name", "Ada".to_owned()),
            ("reward_name", "Free coffee".to_owned()),
            ("code", "RW-1234".to_owned()),
            ("code_expires_at", "2026-12-31 23:59 UTC".to_owned()),
            ("points", "500".to_owned()),
        ]
    }

    #[test]
    fn every_default_template_is_valid_for_its_kind() {
        for kind in NotificationKind::ALL {
            for channel in NotificationChannel::ALL {
                let t = default_template(kind, channel);
                assert!(
                    parse(kind, channel, &t.subject, &t.body).is_ok(),
                    "{kind:?}/{channel:?}"
                );
            }
        }
    }

    #[test]
    fn placeholders_are_filled_in() {
        let t = default_template(RewardRedeemed, Email);
        let r = render(&t, &values());
        assert_eq!(r.subject, "Your reward: Free coffee");
        assert!(r.body.starts_with("Hello Ada,"));
        assert!(r.body.contains("Your code: RW-1234\n"));
        assert!(r.body.contains("Valid until: 2026-12-31 23:59 UTC"));
        assert!(!r.body.contains("{{"));
        let custom = parse(
            RewardRedeemed,
            Push,
            "{{ reward_name }}!",
            "Code {{code}}, {{code}} again",
        )
        .unwrap();
        let r = render(&custom, &values());
        assert_eq!(r.subject, "Free coffee!");
        assert_eq!(r.body, "Code RW-1234, RW-1234 again");
    }

    #[test]
    fn unknown_placeholders_are_refused_per_kind() {
        let errors = parse(TierUpgraded, Email, "Hi", "Your code is {{code}}").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "body");
        assert!(
            errors[0].message.contains("{{code}}"),
            "{}",
            errors[0].message
        );
        assert!(errors[0].message.contains("{{to_tier}}"));
        // The same placeholder is fine where the kind has it.
        assert!(parse(RewardRedeemed, Email, "Hi", "Your code is {{code}}").is_ok());
        let errors = parse(PointsExpiring, Email, "{{balance}}", "{{nope}}").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["subject", "body"]);
    }

    #[test]
    fn malformed_templates_are_refused() {
        for body in [
            "Hello {{first_name",
            "Hello {{}}",
            "Hello {{First Name}}",
            "Hello first_name}}",
        ] {
            assert!(
                parse(TierUpgraded, Email, "Subject", body).is_err(),
                "{body:?}"
            );
        }
        assert!(parse(TierUpgraded, Email, "", "Body").is_err());
        assert!(parse(TierUpgraded, Email, "Two\r\nlines", "Body").is_err());
        assert!(parse(TierUpgraded, Push, &"x".repeat(101), "Body").is_err());
        assert!(parse(TierUpgraded, Email, &"x".repeat(101), "Body").is_ok());
    }

    #[test]
    fn member_supplied_values_cannot_break_the_subject_or_add_headers() {
        let t = parse(
            TierUpgraded,
            Email,
            "Welcome {{first_name}}",
            "Dear {{first_name}}",
        )
        .unwrap();
        let values = vec![("first_name", "Eve\r\nBcc: victim@example.com\n".to_owned())];
        let r = render(&t, &values);
        assert!(!r.subject.contains('\r') && !r.subject.contains('\n'));
        assert_eq!(r.subject, "Welcome Eve  Bcc: victim@example.com");
        assert!(!r.body.contains('\n'));
        // A value that looks like a placeholder is not expanded again.
        let r = render(&t, &[("first_name", "{{first_name}}".to_owned())]);
        assert_eq!(r.body, "Dear {{first_name}}");
    }

    #[test]
    fn a_stored_template_that_no_longer_fits_its_kind_is_not_used() {
        assert!(stored(TierUpgraded, Email, "Hi", "{{to_tier}}").is_some());
        assert!(stored(TierUpgraded, Email, "Hi", "{{code}}").is_none());
    }
}
