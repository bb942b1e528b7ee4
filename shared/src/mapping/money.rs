//! Money amounts: strict parsing of DingTalk amount strings into [`Decimal`] and their
//! two-decimal form for K3Cloud.
//!
//! DingTalk sends every amount as text, and people type them with thousands separators
//! (`1,280.00`) or paste them from spreadsheets in exponent notation (`1.58975E+7`).
//! Lenient parsers read the latter as `1.58975` and pay the wrong sum, so the grammar here
//! is strict: after trimming whitespace the text must match
//! `^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$` with ASCII digits. Anything else is rejected.
//!
//! Rounding rule: amounts are rounded to two decimals, half away from zero
//! (`0.125` → `0.13`, `-0.125` → `-0.13`), and always carry exactly two decimals
//! (`860` → `860.00`). Rounding at two decimals depends only on the third decimal digit
//! under this rule, so digits beyond the third are dropped before the decimal is built,
//! which keeps any number of typed decimals within `Decimal`'s 28 significant digits.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::i18n::{Localize, Text};

/// Decimals of every amount written to K3Cloud.
pub const AMOUNT_DECIMALS: u32 = 2;

/// Maximum integer digits of an amount. A `Decimal` has 28 significant digits, and three
/// are kept for the decimals while rounding. K3Cloud's own amount columns store far fewer
/// integer digits than the 25 that remain.
pub const MAX_INTEGER_DIGITS: usize = 25;

/// Reason a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing but whitespace.
    #[error("the amount is empty")]
    Empty,
    /// Exponent notation such as `1.5E+3`, which lenient parsers misread.
    #[error("exponent notation is not accepted; write the amount out in digits")]
    Exponent,
    /// Letters, misplaced separators or other characters outside the grammar.
    #[error(
        "not an amount; write digits with an optional minus sign, thousands separators \
         in groups of three and a decimal point (e.g. 1,280.00)"
    )]
    Invalid,
    /// More integer digits than [`MAX_INTEGER_DIGITS`].
    #[error("the amount has more than {MAX_INTEGER_DIGITS} integer digits")]
    TooLarge,
}

impl Localize for AmountError {
    fn localize(&self) -> Text {
        let zh = match self {
            AmountError::Empty => "金额为空".to_string(),
            AmountError::Exponent => "不接受科学计数法，请直接写出数字".to_string(),
            AmountError::Invalid => {
                "不是金额；只能包含数字、可选的负号、每三位一组的千分位逗号和小数点（例如 1,280.00）"
                    .to_string()
            }
            AmountError::TooLarge => format!("金额的整数部分超过 {MAX_INTEGER_DIGITS} 位"),
        };
        Text::new(self.to_string(), zh)
    }
}

/// Parses an amount and rounds it to two decimals (half away from zero).
///
/// The result always has scale 2, so `to_string` gives the K3Cloud form.
pub fn parse_amount(text: &str) -> Result<Decimal, AmountError> {
    let number = read_grammar(text)?;
    // Only the third decimal digit decides the rounding, so at most three are kept.
    let kept_fraction: String = number.fraction.chars().take(3).collect();
    let value = Decimal::from_str_exact(&number.to_text(&kept_fraction))
        .map_err(|_| AmountError::TooLarge)?;
    Ok(round_amount(value))
}

/// Parses a decimal with the amount grammar and keeps it exact, at its written scale
/// (e.g. an exchange rate `1.0`). Fails with [`AmountError::TooLarge`] when the digits
/// do not fit the 28 significant digits of a `Decimal`.
pub fn parse_decimal(text: &str) -> Result<Decimal, AmountError> {
    let number = read_grammar(text)?;
    Decimal::from_str_exact(&number.to_text(number.fraction)).map_err(|_| AmountError::TooLarge)
}

/// A number that matched the grammar, split into its parts.
struct Grammar<'a> {
    negative: bool,
    /// Integer digits without separators and leading zeros; empty for zero.
    integer: String,
    /// Decimal digits as written; empty when there is no decimal point.
    fraction: &'a str,
}

impl Grammar<'_> {
    fn to_text(&self, fraction: &str) -> String {
        let mut text = String::with_capacity(self.integer.len() + fraction.len() + 3);
        if self.negative {
            text.push('-');
        }
        text.push_str(if self.integer.is_empty() {
            "0"
        } else {
            &self.integer
        });
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        text
    }
}

fn read_grammar(text: &str) -> Result<Grammar<'_>, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let Some(digits) = integer_digits(integer) else {
        return Err(classify_invalid(text));
    };
    if let Some(fraction) = fraction
        && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(classify_invalid(text));
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > MAX_INTEGER_DIGITS {
        return Err(AmountError::TooLarge);
    }
    Ok(Grammar {
        negative,
        integer: significant.to_string(),
        fraction: fraction.unwrap_or(""),
    })
}

/// Rounds to two decimals, half away from zero, with scale exactly 2 and no negative
/// zero.
pub fn round_amount(value: Decimal) -> Decimal {
    let mut rounded =
        value.round_dp_with_strategy(AMOUNT_DECIMALS, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(AMOUNT_DECIMALS);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded
}

/// Formats an amount the way K3Cloud receives it: rounded, two decimals, no separators.
pub fn format_amount(value: Decimal) -> String {
    round_amount(value).to_string()
}

/// Returns the amount as a JSON number whose text is exactly [`format_amount`]'s, so
/// `120.5` is sent as `120.50` and never passes through a binary float.
pub fn amount_to_json(value: Decimal) -> serde_json::Number {
    decimal_to_json(round_amount(value))
}

/// Returns a decimal as a JSON number carrying its exact text.
pub fn decimal_to_json(value: Decimal) -> serde_json::Number {
    serde_json::Number::from_str(&value.to_string())
        .expect("the text of a Decimal is a valid JSON number")
}

/// Returns the integer digits of `integer` without separators, if it is either plain
/// ASCII digits or groups of three separated by commas after a lead group of one to
/// three digits.
fn integer_digits(integer: &str) -> Option<String> {
    if integer.is_empty() {
        return None;
    }
    if integer.bytes().all(|b| b.is_ascii_digit()) {
        return Some(integer.to_string());
    }
    let mut groups = integer.split(',');
    let lead = groups.next()?;
    if lead.is_empty() || lead.len() > 3 || !lead.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = lead.to_string();
    for group in groups {
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

/// Tells exponent notation apart from other invalid text, so the message can name the
/// fix.
fn classify_invalid(text: &str) -> AmountError {
    let looks_like_exponent = text.contains(['e', 'E'])
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'e' | b'E' | b'+' | b'-' | b'.' | b','));
    if looks_like_exponent {
        AmountError::Exponent
    } else {
        AmountError::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> String {
        parse_amount(text).map(|value| value.to_string()).unwrap()
    }

    #[test]
    fn parse_accepts_plain_and_grouped() {
        assert_eq!(amount("860"), "860.00", "integer gains two decimals");
        assert_eq!(amount("120.50"), "120.50");
        assert_eq!(amount("1,280.00"), "1280.00", "thousands separators");
        assert_eq!(amount("430,851.10"), "430851.10");
        assert_eq!(amount("1,234,567"), "1234567.00");
        assert_eq!(amount(" 76 "), "76.00", "surrounding whitespace is trimmed");
        assert_eq!(
            amount("-15.5"),
            "-15.50",
            "negative amounts keep their sign"
        );
    }

    #[test]
    fn parse_rounds_half_away_from_zero() {
        assert_eq!(amount("0.125"), "0.13");
        assert_eq!(amount("-0.125"), "-0.13");
        assert_eq!(amount("0.124999"), "0.12");
        assert_eq!(amount("2.675"), "2.68", "no binary float involved");
        assert_eq!(amount("0.0049"), "0.00");
        assert_eq!(amount("-0.001"), "0.00", "no negative zero");
    }

    #[test]
    fn parse_rejects_exponent() {
        assert_eq!(parse_amount("1.58975E+7"), Err(AmountError::Exponent));
        assert_eq!(parse_amount("1e3"), Err(AmountError::Exponent));
    }

    #[test]
    fn parse_rejects_bad_text() {
        for text in [
            "abc",
            "12a",
            "1,23",
            "1,2345",
            ",123",
            "1.",
            ".5",
            "--1",
            "+1",
            "1.2.3",
            "１２",
            "1 000",
            "¥12",
            "1,000.5,0",
        ] {
            assert_eq!(
                parse_amount(text),
                Err(AmountError::Invalid),
                "{text:?} must be rejected as invalid"
            );
        }
    }

    #[test]
    fn parse_rejects_empty() {
        assert_eq!(parse_amount(""), Err(AmountError::Empty));
        assert_eq!(parse_amount("   "), Err(AmountError::Empty));
    }

    #[test]
    fn parse_rejects_too_many_digits() {
        let huge = "9".repeat(MAX_INTEGER_DIGITS + 1);
        assert_eq!(parse_amount(&huge), Err(AmountError::TooLarge));
        let largest = "9".repeat(MAX_INTEGER_DIGITS);
        assert!(parse_amount(&format!("{largest}.999")).is_ok());
        let padded = format!("{}1", "0".repeat(40));
        assert_eq!(amount(&padded), "1.00", "leading zeros are not significant");
    }

    #[test]
    fn parse_decimal_keeps_scale() {
        assert_eq!(parse_decimal("1.0").unwrap().to_string(), "1.0");
        assert_eq!(
            parse_decimal("1,000.12345").unwrap().to_string(),
            "1000.12345"
        );
        assert_eq!(parse_decimal("1e2"), Err(AmountError::Exponent));
        let too_precise = format!("0.{}", "1".repeat(40));
        assert_eq!(parse_decimal(&too_precise), Err(AmountError::TooLarge));
    }

    #[test]
    fn json_number_keeps_two_decimals() {
        let number = amount_to_json(parse_amount("120.5").unwrap());
        assert_eq!(number.to_string(), "120.50");
        let value = serde_json::json!({ "amount": number });
        assert_eq!(value.to_string(), r#"{"amount":120.50}"#);
    }
}
