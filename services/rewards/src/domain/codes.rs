//! Redemption codes: what a member shows and staff type in.
//!
//! A code is 19 random symbols of Crockford's base32 (95 random bits: unguessable) and one check
//! symbol (Luhn mod 32 over the same alphabet, so it catches every single mistyped symbol and
//! every swap of two neighbours but 0 and Z, as decimal Luhn misses 09 and 90), shown in five groups of four: `7KQ2-M9XD-4RTB-W3HV-P8N5`.
//! Reading one forgives what people do when typing: lower case, missing or extra dashes and
//! spaces, O for 0, I and L for 1.

use rand::Rng;
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_SYMBOLS: usize = 19;
const LENGTH: usize = RANDOM_SYMBOLS + 1;
const GROUP: usize = 4;

/// A well-formed code, normalised (upper case, no separators).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a code has {LENGTH} letters and digits; this one has {0}")]
    Length(usize),
    #[error("{0:?} is not a letter or digit used in codes")]
    Symbol(char),
    #[error("the code has a typo: its last symbol does not match the others")]
    Check,
}

impl Code {
    /// A fresh random code.
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let mut symbols: Vec<u8> = (0..RANDOM_SYMBOLS).map(|_| rng.gen_range(0..32)).collect();
        symbols.push(check_symbol(&symbols));
        Code(
            symbols
                .iter()
                .map(|&v| ALPHABET[v as usize] as char)
                .collect(),
        )
    }

    /// Reads a code as a person typed it.
    pub fn parse(typed: &str) -> Result<Self, CodeError> {
        let mut values = Vec::with_capacity(LENGTH);
        for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
            values.push(value_of(c).ok_or(CodeError::Symbol(c))?);
        }
        if values.len() != LENGTH {
            return Err(CodeError::Length(values.len()));
        }
        let (body, check) = values.split_at(RANDOM_SYMBOLS);
        if check_symbol(body) != check[0] {
            return Err(CodeError::Check);
        }
        Ok(Code(
            values
                .iter()
                .map(|&v| ALPHABET[v as usize] as char)
                .collect(),
        ))
    }

    /// Normalised, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored (normalised) code.
    pub fn from_stored(stored: String) -> Self {
        Code(stored)
    }
}

/// Grouped for people: `XXXX-XXXX-XXXX-XXXX-XXXX`.
impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.0.as_bytes().chunks(GROUP).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

fn value_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| a as char == c)
        .map(|p| p as u8)
}

/// Luhn mod 32: doubling every second symbol from the right, as the Luhn algorithm does for
/// decimal digits, over base 32.
fn check_symbol(values: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, &v) in values.iter().rev().enumerate() {
        let mut addend = u32::from(v);
        if i % 2 == 0 {
            addend *= 2;
            addend = addend / 32 + addend % 32;
        }
        sum += addend;
    }
    ((32 - sum % 32) % 32) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_read_back_in_any_form_people_type() {
        let code = Code::generate();
        let shown = code.to_string();
        assert_eq!(shown.len(), LENGTH + 4);
        assert_eq!(shown.matches('-').count(), 4);
        assert_eq!(Code::parse(&shown), Ok(code.clone()));
        assert_eq!(Code::parse(&shown.to_lowercase()), Ok(code.clone()));
        assert_eq!(Code::parse(code.as_str()), Ok(code.clone()));
        assert_eq!(Code::parse(&shown.replace('-', " ")), Ok(code.clone()));
        let confusable = code.as_str().replace('0', "o").replace('1', "l");
        assert_eq!(Code::parse(&confusable), Ok(code));
    }

    #[test]
    fn every_single_typo_and_almost_every_neighbour_swap_is_caught() {
        for _ in 0..50 {
            let code = Code::generate();
            let symbols: Vec<char> = code.as_str().chars().collect();
            for i in 0..LENGTH {
                for &replacement in ALPHABET {
                    let replacement = replacement as char;
                    if replacement == symbols[i] {
                        continue;
                    }
                    let mut typo = symbols.clone();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(Code::parse(&typo), Err(CodeError::Check), "{typo}");
                }
                // Luhn's one blind spot: the lowest and highest symbols swapped.
                let blind_spot = matches!(
                    (symbols[i], symbols.get(i + 1)),
                    ('0', Some('Z')) | ('Z', Some('0'))
                );
                if i + 1 < LENGTH && symbols[i] != symbols[i + 1] && !blind_spot {
                    let mut swapped = symbols.clone();
                    swapped.swap(i, i + 1);
                    let swapped: String = swapped.into_iter().collect();
                    assert!(Code::parse(&swapped).is_err(), "{swapped}");
                }
            }
        }
    }

    #[test]
    fn malformed_codes_say_what_is_wrong() {
        assert_eq!(Code::parse("ABC"), Err(CodeError::Length(3)));
        assert_eq!(Code::parse(""), Err(CodeError::Length(0)));
        assert_eq!(
            Code::parse("ABCD-EFGH-JKMN-PQRS-TVWU"),
            Err(CodeError::Symbol('U'))
        );
        assert_eq!(Code::parse("ABCD_EFGH"), Err(CodeError::Symbol('_')));
    }

    #[test]
    fn codes_do_not_repeat() {
        let codes: std::collections::HashSet<Code> =
            (0..10_000).map(|_| Code::generate()).collect();
        assert_eq!(codes.len(), 10_000);
    }
}
