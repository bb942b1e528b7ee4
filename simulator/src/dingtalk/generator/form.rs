//! Form values of one generated expense claim, and what the pipeline must do with it.
//!
//! Most claims are clean. A few carry one known defect that must send an approved
//! claim to the dead-letter queue. The defects are an empty 报销明细 table, which
//! DingTalk returns as the table's schema array instead of rows, an expense type
//! without a K3Cloud mapping, and a row without an amount. Amounts come in the spellings seen in real forms:
//! `120.50`, `860` and `1,280.00`.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand::seq::IndexedRandom;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::ids;
use super::template::{
    ADMIN_PROJECTS, ADMIN_TYPE_FIELD, AMOUNT_COLUMN, CATEGORIES, CATEGORY_FIELD, DATE_COLUMN,
    DELIVERY_PROJECTS, DETAIL_COLUMN, ExpenseType, MAPPED_TYPES, NOTE_FIELD, PROJECT_FIELD,
    PROJECT_TYPE_FIELD, TABLE_FIELD, UNMAPPED_TYPE,
};
use crate::dingtalk::model::FormComponent;
use crate::dingtalk::time::DATE_FORMAT;
use crate::dingtalk::truth::Expected;

/// The one defect a generated claim may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// A clean claim.
    None,
    /// 报销明细 has no rows.
    EmptyTable,
    /// The expense type is 团建活动, which nothing maps.
    UnmappedType,
    /// One row has no amount, either the string `"null"` or no cell at all.
    MissingAmount,
}

/// Form values and the outcome they call for once approved.
pub struct Form {
    /// Components in template order.
    pub components: Vec<FormComponent>,
    /// Saved with the row amounts, or rejected naming a field.
    pub outcome: Expected,
}

struct Row {
    date: String,
    amount: Option<String>,
    omit_amount_cell: bool,
    detail: String,
}

/// Builds the form of a claim created at `created`.
pub fn build_form(rng: &mut impl Rng, created: NaiveDateTime, defect: Defect) -> Form {
    let is_admin = rng.random_bool(0.55);
    let (category, category_key) = if is_admin {
        CATEGORIES[0]
    } else {
        CATEGORIES[1]
    };
    let project = if is_admin {
        ADMIN_PROJECTS.choose(rng)
    } else {
        DELIVERY_PROJECTS.choose(rng)
    };
    let expense_type: &ExpenseType = if defect == Defect::UnmappedType {
        &UNMAPPED_TYPE
    } else {
        MAPPED_TYPES
            .choose(rng)
            .expect("the type list is not empty")
    };
    let type_field = if is_admin {
        ADMIN_TYPE_FIELD
    } else {
        PROJECT_TYPE_FIELD
    };

    let row_count = match rng.random_range(0..100) {
        0..35 => 1,
        35..70 => 2,
        70..90 => 3,
        _ => 4,
    };
    let mut amounts = Vec::new();
    let mut rows = Vec::new();
    for _ in 0..row_count {
        let cents = rng.random_range(expense_type.min_cents..=expense_type.max_cents);
        let (text, decimal) = spell_amount(rng, cents);
        let spent = created.date() - Duration::days(rng.random_range(0..=10));
        amounts.push(decimal);
        rows.push(Row {
            date: spent.format(DATE_FORMAT).to_string(),
            amount: Some(text),
            omit_amount_cell: false,
            detail: expense_type
                .details
                .choose(rng)
                .copied()
                .unwrap_or("")
                .to_string(),
        });
    }

    let outcome = match defect {
        Defect::None => Expected::saved(amounts),
        Defect::EmptyTable => {
            rows.clear();
            Expected::Rejected {
                field: TABLE_FIELD.1.to_string(),
                reason: format!("{} has no rows", TABLE_FIELD.1),
            }
        }
        Defect::UnmappedType => Expected::Rejected {
            field: type_field.1.to_string(),
            reason: format!(
                "no K3Cloud 费用项目 is configured for {}",
                UNMAPPED_TYPE.label
            ),
        },
        Defect::MissingAmount => {
            let index = rng.random_range(0..rows.len());
            rows[index].amount = None;
            rows[index].omit_amount_cell = rng.random_bool(0.3);
            Expected::Rejected {
                field: AMOUNT_COLUMN.1.to_string(),
                reason: format!("row {} has no amount", index + 1),
            }
        }
    };

    let (admin_type, project_type) = if is_admin {
        (Some(expense_type), None)
    } else {
        (None, Some(expense_type))
    };
    let components = vec![
        component(
            "TextField",
            PROJECT_FIELD,
            project.map(|p| p.to_string()),
            None,
        ),
        select(CATEGORY_FIELD, Some((category, category_key))),
        component(
            "TextNote",
            (NOTE_FIELD.0, NOTE_FIELD.0),
            Some(NOTE_FIELD.1.to_string()),
            None,
        ),
        select(ADMIN_TYPE_FIELD, admin_type.map(|t| (t.label, t.key))),
        select(PROJECT_TYPE_FIELD, project_type.map(|t| (t.label, t.key))),
        table(rng, &rows),
    ];
    Form {
        components,
        outcome,
    }
}

/// Spells an amount as a form would carry it and returns it with its decimal value.
///
/// A quarter of the amounts are whole yuan without decimals (`860`); half of those at
/// or above 1000 get thousands separators (`1,280.00`, `1,280`).
fn spell_amount(rng: &mut impl Rng, cents: i64) -> (String, Decimal) {
    let whole = rng.random_bool(0.25);
    let cents = if whole {
        (cents / 100).max(1) * 100
    } else {
        cents
    };
    let separators = cents >= 100_000 && rng.random_bool(0.5);
    let yuan = group_thousands(cents / 100, separators);
    let text = if whole {
        yuan
    } else {
        format!("{yuan}.{:02}", cents % 100)
    };
    (text, Decimal::new(cents, 2))
}

fn group_thousands(number: i64, separators: bool) -> String {
    let digits = number.to_string();
    if !separators {
        return digits;
    }
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn component(
    component_type: &str,
    (id, name): (&str, &str),
    value: Option<String>,
    ext_value: Option<String>,
) -> FormComponent {
    FormComponent {
        component_type: component_type.to_string(),
        id: id.to_string(),
        name: Some(name.to_string()),
        value,
        ext_value,
    }
}

fn select(field: (&str, &str), chosen: Option<(&str, &str)>) -> FormComponent {
    let ext = chosen.map(|(label, key)| json!({"label": label, "key": key}).to_string());
    component(
        "DDSelectField",
        field,
        chosen.map(|(label, _)| label.to_string()),
        ext,
    )
}

/// Builds the 报销明细 component: `rowValue` rows, or the column schema when empty.
fn table(rng: &mut impl Rng, rows: &[Row]) -> FormComponent {
    if rows.is_empty() {
        return component("TableField", TABLE_FIELD, Some(table_schema()), None);
    }
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![cell("DDDateField", DATE_COLUMN, &row.date)];
            if !row.omit_amount_cell {
                let amount = row.amount.as_deref().unwrap_or("null");
                cells.push(cell("MoneyField", AMOUNT_COLUMN, amount));
            }
            cells.push(cell("TextareaField", DETAIL_COLUMN, &row.detail));
            json!({
                "rowValue": cells,
                "rowNumber": format!("{}_{}", TABLE_FIELD.0, ids::row_id(rng)),
            })
        })
        .collect();
    let ext = json!({"statValue": [], "componentName": "TableField"}).to_string();
    component(
        "TableField",
        TABLE_FIELD,
        Some(Value::Array(rows).to_string()),
        Some(ext),
    )
}

fn cell(component_type: &str, (key, label): (&str, &str), value: &str) -> Value {
    json!({"componentType": component_type, "label": label, "value": value, "key": key})
}

/// The column definitions DingTalk returns in place of rows for an empty table.
fn table_schema() -> String {
    let column = |name: &str, (id, label): (&str, &str), required: bool| {
        json!({
            "componentName": name,
            "componentType": name,
            "props": {"bizAlias": "", "id": id, "label": label, "placeholder": "请输入", "required": required},
        })
    };
    json!([
        column("DDDateField", DATE_COLUMN, true),
        column("MoneyField", AMOUNT_COLUMN, true),
        column("TextareaField", DETAIL_COLUMN, false),
    ])
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_thousands_inserts_commas() {
        assert_eq!(group_thousands(1280, true), "1,280");
        assert_eq!(group_thousands(1_234_567, true), "1,234,567");
        assert_eq!(group_thousands(860, true), "860");
        assert_eq!(group_thousands(1280, false), "1280");
    }
}
