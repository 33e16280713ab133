//! The subset of Stripe's Search Query Language the sandbox understands, enough to find a
//! PaymentIntent by what the caller put in it:
//! `metadata['order_id']:'42' AND status:'succeeded'`. Supported fields are `metadata['key']`,
//! `status` and `currency`, all exact matches, joined by `AND` or plain spaces.

use std::iter::Peekable;
use std::str::Chars;

use super::types::PaymentIntent;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Clause {
    Metadata { key: String, value: String },
    Status(String),
    Currency(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    clauses: Vec<Clause>,
}

impl Query {
    /// Parses a query; the error says what is wrong in words fit for an API error message.
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut chars = query.chars().peekable();
        let mut clauses = Vec::new();
        loop {
            skip_spaces(&mut chars);
            if chars.peek().is_none() {
                break;
            }
            if !clauses.is_empty() {
                let word = peek_word(&chars);
                if word == "AND" {
                    chars.nth(2);
                    skip_spaces(&mut chars);
                } else if word == "OR" {
                    return Err("The sandbox only supports AND between clauses.".to_owned());
                }
            }
            clauses.push(parse_clause(&mut chars)?);
        }
        if clauses.is_empty() {
            return Err("The search query is empty.".to_owned());
        }
        Ok(Self { clauses })
    }

    pub fn matches(&self, intent: &PaymentIntent) -> bool {
        self.clauses.iter().all(|clause| match clause {
            Clause::Metadata { key, value } => intent.metadata.get(key) == Some(value),
            Clause::Status(status) => intent.status.as_str() == status,
            Clause::Currency(currency) => intent.currency.eq_ignore_ascii_case(currency),
        })
    }
}

fn skip_spaces(chars: &mut Peekable<Chars<'_>>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

fn peek_word(chars: &Peekable<Chars<'_>>) -> String {
    chars
        .clone()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect()
}

fn parse_clause(chars: &mut Peekable<Chars<'_>>) -> Result<Clause, String> {
    let field: String =
        std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_')).collect();
    let metadata_key = if field == "metadata" {
        expect(chars, '[')?;
        let key = parse_quoted(chars)?;
        expect(chars, ']')?;
        Some(key)
    } else {
        None
    };
    expect(chars, ':')?;
    let value = parse_quoted(chars)?;
    match (field.as_str(), metadata_key) {
        ("metadata", Some(key)) => Ok(Clause::Metadata { key, value }),
        ("status", None) => Ok(Clause::Status(value)),
        ("currency", None) => Ok(Clause::Currency(value)),
        ("", _) => Err("Expected a field name such as metadata['key'] or status.".to_owned()),
        (other, _) => Err(format!(
            "The sandbox cannot search on '{other}': use metadata['key'], status or currency."
        )),
    }
}

fn expect(chars: &mut Peekable<Chars<'_>>, wanted: char) -> Result<(), String> {
    match chars.next() {
        Some(c) if c == wanted => Ok(()),
        Some(c) => Err(format!("Expected '{wanted}' but found '{c}'.")),
        None => Err(format!("Expected '{wanted}' but the query ended.")),
    }
}

/// A `'single'` or `"double"` quoted string; a backslash escapes the next character.
fn parse_quoted(chars: &mut Peekable<Chars<'_>>) -> Result<String, String> {
    let quote = match chars.next() {
        Some(q @ ('\'' | '"')) => q,
        _ => return Err("Values must be quoted, as in status:'succeeded'.".to_owned()),
    };
    let mut value = String::new();
    loop {
        match chars.next() {
            Some('\\') => match chars.next() {
                Some(c) => value.push(c),
                None => break,
            },
            Some(c) if c == quote => return Ok(value),
            Some(c) => value.push(c),
            None => break,
        }
    }
    Err("A quoted value is not closed.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_clauses() {
        let query =
            Query::parse(r#"metadata['order id']:'o\'1' AND status:"succeeded" currency:'eur'"#)
                .unwrap();
        assert_eq!(
            query.clauses,
            vec![
                Clause::Metadata {
                    key: "order id".into(),
                    value: "o'1".into()
                },
                Clause::Status("succeeded".into()),
                Clause::Currency("eur".into()),
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "",
            "amount>100",
            "status:succeeded",
            "status:'succeeded' OR status:'canceled'",
            "metadata['k':'v'",
            "status:'open",
        ] {
            assert!(Query::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
