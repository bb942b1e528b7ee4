//! The amount column of a dead letter.
//!
//! The amount a bill carries is what the mapping computes, so the current mapping is
//! asked first. An approval that the mapping rejects, the very reason many dead letters
//! exist, still has money on its form. Then the one header money field is the amount,
//! or, without one, the money cells of the detail tables add up to it.

use dingk3::approval::{ApprovalInstance, FormValue};
use dingk3::mapping::Routes;
use dingk3::mapping::money::parse_amount;
use rust_decimal::Decimal;

/// Source of an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountSource {
    /// The total of the bill the current mapping builds.
    Mapping,
    /// The money fields of the DingTalk form.
    Form,
}

impl AmountSource {
    /// Returns the spelling in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            AmountSource::Mapping => "mapping",
            AmountSource::Form => "form",
        }
    }
}

/// Returns the amount of `instance`, or `None` when neither the mapping nor the form
/// gives one.
pub fn of(
    routes: Option<&Routes>,
    process_code: &str,
    instance: &ApprovalInstance,
) -> Option<(Decimal, AmountSource)> {
    let mapped = routes
        .and_then(|routes| routes.route_for(process_code))
        .and_then(|route| route.mapping.map(instance).ok())
        .map(|bill| (bill.total, AmountSource::Mapping));
    mapped.or_else(|| form_amount(instance).map(|amount| (amount, AmountSource::Form)))
}

/// Returns the single header money field, else the sum of the table money cells.
/// Several header money fields, an empty or unreadable cell, or no money at all give
/// `None`: a partial sum would understate the claim.
pub fn form_amount(instance: &ApprovalInstance) -> Option<Decimal> {
    let mut header: Vec<Option<&str>> = Vec::new();
    let mut cells: Vec<Option<&str>> = Vec::new();
    for component in instance.components() {
        match &component.value {
            FormValue::Table(table) => {
                for row in &table.rows {
                    for cell in &row.cells {
                        if cell.component_type.as_deref() == Some(MONEY_FIELD) {
                            cells.push(money_text(&cell.value));
                        }
                    }
                }
            }
            value if component.component_type == MONEY_FIELD => header.push(money_text(value)),
            _ => {}
        }
    }
    let filled: Vec<&str> = header.iter().flatten().copied().collect();
    match (header.len(), filled.as_slice()) {
        (1, [total]) => parse_amount(total).ok(),
        (0 | 1, []) if !cells.is_empty() => cells
            .iter()
            .map(|cell| cell.and_then(|text| parse_amount(text).ok()))
            .sum::<Option<Decimal>>(),
        _ => None,
    }
}

/// DingTalk's component type of money fields.
const MONEY_FIELD: &str = "MoneyField";

/// Returns the amount text of a money value, `None` when it is empty or malformed.
fn money_text(value: &FormValue) -> Option<&str> {
    match value {
        FormValue::Money { amount, .. } => Some(amount.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dingk3::mapping::RawRoutesConfig;

    use super::*;

    const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

    fn repo_path(relative: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative)
    }

    fn case(name: &str) -> ApprovalInstance {
        let path = repo_path(&format!("tests/fixtures/cases/{name}.json"));
        let raw = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        ApprovalInstance::from_raw("pi-1", raw).unwrap()
    }

    fn routes() -> Routes {
        RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
            .unwrap()
            .validate()
            .unwrap()
    }

    #[test]
    fn mapping_total_comes_first() {
        let amount = of(Some(&routes()), PROCESS_CODE, &case("01-admin-two-rows"));
        let expected: Decimal = "1400.50".parse().unwrap();
        assert_eq!(amount, Some((expected, AmountSource::Mapping)));
    }

    #[test]
    fn rejected_mapping_uses_form() {
        let amount = of(
            Some(&routes()),
            PROCESS_CODE,
            &case("05-unknown-expense-type"),
        );
        let expected: Decimal = "2000.00".parse().unwrap();
        assert_eq!(
            amount,
            Some((expected, AmountSource::Form)),
            "table money cells"
        );
    }

    #[test]
    fn no_routes_uses_form() {
        let amount = of(None, PROCESS_CODE, &case("02-project-travel"));
        assert!(
            matches!(amount, Some((_, AmountSource::Form))),
            "{amount:?}"
        );
    }

    #[test]
    fn unreadable_money_is_unknown() {
        let amount = form_amount(&case("04-missing-amount"));
        assert_eq!(amount, None, "an empty amount cell makes the sum unknown");
    }
}
