//! Property tests of the amount grammar: parsing never panics, and formatting then
//! parsing returns the same amount.

use dingk3::mapping::money::{format_amount, parse_amount, parse_decimal, round_amount};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Inserts thousands separators into the integer part of a plain amount text.
fn group_thousands(text: &str) -> String {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut grouped = String::new();
    for (index, digit) in integer.chars().enumerate() {
        if index > 0 && (integer.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC*") {
        let _ = parse_amount(&text);
        let _ = parse_decimal(&text);
    }

    #[test]
    fn parse_never_panics_near_grammar(text in "[ -]?[0-9,.eE+-]{0,40}[ ]?") {
        if let Ok(amount) = parse_amount(&text) {
            prop_assert_eq!(amount.scale(), 2, "every parsed amount has two decimals");
        }
        let _ = parse_decimal(&text);
    }

    #[test]
    fn format_then_parse_is_identity(cents in any::<i64>()) {
        let amount = Decimal::new(cents, 2);
        let text = format_amount(amount);
        prop_assert_eq!(parse_amount(&text), Ok(amount));
        prop_assert_eq!(parse_amount(&group_thousands(&text)), Ok(amount), "grouped {}", text);
    }

    #[test]
    fn parse_matches_rounding_rule(mantissa in any::<i64>(), scale in 0u32..10) {
        let exact = Decimal::new(mantissa, scale);
        let parsed = parse_amount(&exact.to_string()).unwrap();
        prop_assert_eq!(parsed, round_amount(exact));
        prop_assert_eq!(format_amount(parsed), format_amount(exact));
    }
}

#[test]
fn group_thousands_inserts_separators() {
    assert_eq!(group_thousands("1234567.89"), "1,234,567.89");
    assert_eq!(group_thousands("-123.00"), "-123.00");
    assert_eq!(group_thousands("1000"), "1,000");
}
