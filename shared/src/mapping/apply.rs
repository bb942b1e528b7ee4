//! Applying a compiled [`Mapping`] to one approval instance.
//!
//! Every rule is evaluated even after a failure, so the caller gets every reason at once.
//! K3Cloud applies fields in JSON order, and a later field's value-change logic can
//! overwrite or reject an earlier one. So the model starts with the organisation fields
//! (keys ending in `ORGID`, such as `FPAYORGID`), then `FBillNo`, then the other header
//! fields in configured order, and ends with the entry entity.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tracing::debug;

use super::error::{ErrorCode, MappingError, MappingErrors};
use super::evaluate::{evaluate, render_template, require};
use super::money::round_amount;
use super::read::{Context, read};
use super::routes::{MappedBill, Mapping};
use super::source::Source;
use super::validate::BILL_NO_KEY;
use crate::approval::{ApprovalInstance, FormValue, TableRow};
use crate::i18n::{Localize, Text};
use crate::telemetry::mask_account_numbers;
use crate::text;

impl Mapping {
    /// Maps an approval instance to a bill, or returns every reason it cannot be one.
    ///
    /// Does not look at the approval status: callers decide which instances to map
    /// (only approved ones become bills).
    pub fn map(&self, instance: &ApprovalInstance) -> Result<MappedBill, MappingErrors> {
        let mut errors = MappingErrors(Vec::new());
        if self.reads_form && instance.form.is_empty() {
            errors.push_unique(MappingError::new(
                "form",
                None,
                ErrorCode::EmptyForm,
                text!(
                    en: "the approval carries no form values; DingTalk returns this when the \
                         detail was fetched incompletely, so fetch the approval again",
                    zh: "审批不含任何表单值；钉钉在详情未完整获取时会这样返回，请重新获取该审批",
                ),
            ));
            return Err(errors);
        }

        let header_context = Context {
            instance,
            row: None,
        };
        let bill_no = render_template(
            &self.bill_no,
            true,
            BILL_NO_KEY,
            &header_context,
            &mut errors,
        );
        let mut header = Vec::new();
        for rule in &self.header {
            if let Some(value) = evaluate(rule, &header_context, &mut errors) {
                header.push((rule.key.clone(), value));
            }
        }

        let rows = self.entry_rows(instance, &mut errors);
        let mut entries = Vec::new();
        let mut amounts = Vec::new();
        for row in &rows {
            let context = Context {
                instance,
                row: *row,
            };
            let mut fields = Vec::new();
            for rule in &self.entries.fields {
                let value = evaluate(rule, &context, &mut errors);
                if rule.key == self.entries.amount_key {
                    amounts.push(value.as_ref().and_then(amount_of));
                }
                if let Some(value) = value {
                    fields.push((rule.key.clone(), value));
                }
            }
            entries.push(Value::Object(ordered(fields)));
        }

        let total = self.sum_amounts(&amounts, &mut errors);
        if let (Some(total), Some(source)) = (total, &self.total) {
            check_total(total, source, &header_context, &mut errors);
        }

        let (Some(bill_no), Some(total), true) = (bill_no, total, errors.0.is_empty()) else {
            // A missing bill number or total always comes with its own listed error.
            debug_assert!(!errors.0.is_empty(), "a rejection lists its reasons");
            debug!(
                process_instance_id = %instance.process_instance_id,
                business_id = %instance.business_id,
                errors = %mask_account_numbers(&errors.to_string()),
                "approval rejected by mapping"
            );
            return Err(errors);
        };

        let entry_count = entries.len();
        let (organisations, others): (Vec<_>, Vec<_>) = header
            .into_iter()
            .partition(|(key, _)| is_organisation(key));
        let mut model = Map::new();
        for (key, value) in organisations {
            model.insert(key, value);
        }
        model.insert(BILL_NO_KEY.to_string(), Value::String(bill_no.clone()));
        for (key, value) in others {
            model.insert(key, value);
        }
        model.insert(self.entries.entity.clone(), Value::Array(entries));

        debug!(
            process_instance_id = %instance.process_instance_id,
            business_id = %instance.business_id,
            bill_no = %bill_no,
            entries = entry_count,
            "approval mapped"
        );
        Ok(MappedBill {
            form_id: self.form_id.clone(),
            bill_no,
            model: Value::Object(model),
            total,
            entries: entry_count,
        })
    }

    /// Lists the rows the entries are built from: the detail-table rows, or one
    /// header-only "row" when entries come from header fields. Returns none after an
    /// error.
    fn entry_rows<'a>(
        &self,
        instance: &'a ApprovalInstance,
        errors: &mut MappingErrors,
    ) -> Vec<Option<(usize, &'a TableRow)>> {
        let Some(table_ref) = &self.entries.from_table else {
            return vec![None];
        };
        let Some(component) = instance.component(table_ref) else {
            errors.push_unique(MappingError::new(
                table_ref,
                None,
                ErrorCode::UnknownField,
                text!(
                    en: "the approval form has no detail table {table_ref:?}; check entries.from_table \
                         against the template's component ids and labels",
                    zh: "审批表单中没有明细表 {table_ref:?}；请对照审批模板的组件 ID 和标签检查 entries.from_table",
                ),
            ));
            return Vec::new();
        };
        let field = component
            .name
            .clone()
            .unwrap_or_else(|| component.id.clone());
        match &component.value {
            FormValue::Table(table) if !table.rows.is_empty() => table
                .rows
                .iter()
                .enumerate()
                .map(|(index, row)| Some((index + 1, row)))
                .collect(),
            FormValue::Table(_) | FormValue::Empty => {
                errors.push_unique(MappingError::new(
                    field,
                    None,
                    ErrorCode::EmptyTable,
                    text!(
                        en: "the detail table has no rows, and a bill without lines is never \
                             created; the approval needs at least one row",
                        zh: "明细表没有任何行，不会生成没有分录的单据；该审批至少需要一行明细",
                    ),
                ));
                Vec::new()
            }
            FormValue::Malformed { reason, raw } => {
                errors.push_unique(
                    MappingError::new(
                        field,
                        None,
                        ErrorCode::MalformedValue,
                        text!(
                            en: "the detail table could not be decoded: {reason}",
                            zh: "明细表无法解析：{reason}",
                        ),
                    )
                    .with_value(raw.clone()),
                );
                Vec::new()
            }
            other => {
                let kind = &component.component_type;
                let mut error = MappingError::new(
                    field,
                    None,
                    ErrorCode::MalformedValue,
                    text!(
                        en: "the field is a {kind}, not a detail table; point entries.from_table \
                             at a TableField",
                        zh: "该字段是 {kind}，不是明细表；entries.from_table 必须指向明细（TableField）",
                    ),
                );
                if let Some(text) = other.as_text() {
                    error = error.with_value(text);
                }
                errors.push_unique(error);
                Vec::new()
            }
        }
    }

    /// Adds the entry amounts; `None` when one is missing (its error is already listed)
    /// or the sum overflows.
    fn sum_amounts(
        &self,
        amounts: &[Option<Decimal>],
        errors: &mut MappingErrors,
    ) -> Option<Decimal> {
        if amounts.is_empty() {
            return None;
        }
        let mut total = Decimal::ZERO;
        for amount in amounts {
            let amount = (*amount)?;
            let Some(sum) = total.checked_add(amount) else {
                errors.push_unique(
                    MappingError::new(
                        &self.entries.amount_key,
                        None,
                        ErrorCode::InvalidAmount,
                        text!(
                            en: "the entry amounts add up to more than a decimal can hold",
                            zh: "分录金额之和超出了十进制数的表示范围",
                        ),
                    )
                    .with_target(self.entries.amount_key.clone()),
                );
                return None;
            };
            total = sum;
        }
        Some(round_amount(total))
    }
}

/// Compares the entry total with the header total the mapping names.
fn check_total(total: Decimal, source: &Source, context: &Context<'_>, errors: &mut MappingErrors) {
    let read = match read(source, context) {
        Ok(read) => read,
        Err(error) => {
            errors.push_unique(*error);
            return;
        }
    };
    let Some(value) = require(read, true, "total", errors) else {
        return;
    };
    let (origin, value) = value;
    match super::money::parse_amount(&value.text) {
        Ok(expected) if expected == total => {}
        Ok(expected) => errors.push_unique(
            MappingError::new(
                origin.field,
                origin.row,
                ErrorCode::SumMismatch,
                text!(
                    en: "the entry amounts add up to {total} but the total is {expected}",
                    zh: "分录金额合计为 {total}，但合计字段为 {expected}",
                ),
            )
            .with_value(value.text),
        ),
        Err(error) => {
            let Text {
                en: reason_en,
                zh: reason_zh,
            } = error.localize();
            errors.push_unique(
                MappingError::new(
                    origin.field,
                    origin.row,
                    ErrorCode::InvalidAmount,
                    text!(
                        en: "the total is not a valid amount: {reason_en}",
                        zh: "合计不是有效金额：{reason_zh}",
                    ),
                )
                .with_value(value.text),
            );
        }
    }
}

/// Reads the exact decimal of an amount that [`convert`] wrote as a JSON number.
fn amount_of(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(number) => Decimal::from_str(&number.to_string()).ok(),
        _ => None,
    }
}

/// Organisation fields decide which base data the other fields resolve in.
fn is_organisation(key: &str) -> bool {
    key.to_ascii_uppercase().ends_with("ORGID")
}

/// Builds an object with organisation fields first and the rest in the given order.
fn ordered(fields: Vec<(String, Value)>) -> Map<String, Value> {
    let (organisations, others): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|(key, _)| is_organisation(key));
    organisations.into_iter().chain(others).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_puts_organisations_first() {
        let fields = vec![
            ("FDepartment".to_string(), Value::Null),
            ("FSETTLEORGID".to_string(), Value::Null),
            ("FDATE".to_string(), Value::Null),
            ("FPayOrgId".to_string(), Value::Null),
        ];
        let keys: Vec<String> = ordered(fields).keys().cloned().collect();
        assert_eq!(keys, ["FSETTLEORGID", "FPayOrgId", "FDepartment", "FDATE"]);
    }

    #[test]
    fn amount_of_reads_exact_number() {
        let value: Value = serde_json::from_str("120.50").unwrap();
        assert_eq!(amount_of(&value).unwrap().to_string(), "120.50");
        assert_eq!(amount_of(&Value::String("1".into())), None);
    }
}
