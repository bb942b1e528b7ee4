//! Evaluating one field rule against the instance (and the detail-table row being
//! mapped): reading its sources, applying `required`, the value map and the field kind.
//! Failures are pushed to the error list, so evaluation goes on after the first one.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::convert::{ConvertError, ReadValue, convert};
use super::error::{ErrorCode, MappingError, MappingErrors};
use super::read::{Context, Origin, Read, read};
use super::routes::{FieldRule, Producer};
use super::source::{Segment, Source, Template};
use crate::i18n::{Localize, Text};
use crate::text;

/// Evaluates one rule; `None` when the field is left out or an error was listed.
pub(super) fn evaluate(
    rule: &FieldRule,
    context: &Context<'_>,
    errors: &mut MappingErrors,
) -> Option<Value> {
    let (origin, value) = match &rule.producer {
        Producer::Const(value) => return Some(value.clone()),
        Producer::Source(source) => read_for(source, rule, context, errors)?,
        Producer::Template(template) => {
            let text = render_template(template, rule.required, &rule.key, context, errors)?;
            let origin = Origin {
                field: rule.key.clone(),
                row: context.row_number(),
            };
            (origin, ReadValue::text(text))
        }
        Producer::Switch { on, cases } => {
            let (origin, selector) = read_for(on, rule, context, errors)?;
            let selected = selector.text.trim();
            let Some(source) = cases.get(selected) else {
                let known: Vec<&str> = cases.keys().map(String::as_str).collect();
                let known = known.join(", ");
                let key = &rule.key;
                errors.push_unique(
                    MappingError::new(
                        origin.field,
                        origin.row,
                        ErrorCode::UnmappedValue,
                        text!(
                            en: "{selected:?} selects no case of the rule for {key} (cases: {known}); \
                                 add a case for it and replay the approval",
                            zh: "{selected:?} 没有对应 {key} 规则中的任何分支（已有：{known}）；请添加该分支后重放审批",
                        ),
                    )
                    .with_value(selected)
                    .with_target(rule.key.clone()),
                );
                return None;
            };
            read_for(source, rule, context, errors)?
        }
    };

    let value = match &rule.map {
        None => value,
        Some(map) => {
            let key = value.text.trim();
            match map.entries.get(key) {
                Some(mapped) => ReadValue::text(mapped.clone()),
                None => {
                    let name = &map.name;
                    errors.push_unique(
                        MappingError::new(
                            origin.field,
                            origin.row,
                            ErrorCode::UnmappedValue,
                            text!(
                                en: "no entry for {key:?} in value map {name}; add \
                                     \"{key}\" = \"<K3Cloud number>\" under [value_maps.{name}] \
                                     and replay the approval",
                                zh: "值映射 {name} 中没有 {key:?}；请在 [value_maps.{name}] 下添加 \
                                     \"{key}\" = \"<金蝶编码>\" 后重放该审批",
                            ),
                        )
                        .with_value(key)
                        .with_target(rule.key.clone()),
                    );
                    return None;
                }
            }
        }
    };

    match convert(&value, rule.kind) {
        Ok(json) if rule.positive && !is_positive_amount(&json) => {
            errors.push_unique(not_positive_error(rule, origin, &value.text));
            None
        }
        Ok(json) => Some(json),
        Err(error) => {
            errors.push_unique(conversion_error(error, rule, origin, &value.text));
            None
        }
    }
}

/// Reads a source for a rule, applying the rule's `required` to empty and absent values.
fn read_for(
    source: &Source,
    rule: &FieldRule,
    context: &Context<'_>,
    errors: &mut MappingErrors,
) -> Option<(Origin, ReadValue)> {
    match read(source, context) {
        Ok(read) => require(read, rule.required, &rule.key, errors),
        Err(error) => {
            errors.push_unique(error.with_target(rule.key.clone()));
            None
        }
    }
}

/// Turns an empty or absent value into an error when it is required, or into `None`.
pub(super) fn require(
    read: Read,
    required: bool,
    target: &str,
    errors: &mut MappingErrors,
) -> Option<(Origin, ReadValue)> {
    match read {
        Read::Value(origin, value) => Some((origin, value)),
        Read::Empty(_) | Read::Absent(_) if !required => None,
        Read::Empty(origin) => {
            errors.push_unique(
                MappingError::new(
                    origin.field,
                    origin.row,
                    ErrorCode::MissingValue,
                    text!(
                        en: "the value is empty but required; correct the approval in DingTalk, \
                             or make the rule optional with required = false",
                        zh: "该值为空，但为必填；请在钉钉中更正该审批，或用 required = false 把该规则设为可选",
                    ),
                )
                .with_target(target),
            );
            None
        }
        Read::Absent(origin) => {
            let name = origin.field.clone();
            errors.push_unique(
                MappingError::new(
                    origin.field,
                    origin.row,
                    ErrorCode::UnknownField,
                    text!(
                        en: "the approval form has no field {name:?}; check the mapping against \
                             the template's component ids and labels",
                        zh: "审批表单中没有字段 {name:?}；请对照审批模板的组件 ID 和标签检查映射",
                    ),
                )
                .with_target(target),
            );
            None
        }
    }
}

/// Renders a template; `None` when a required placeholder is empty (errors listed) or
/// an optional template renders to nothing.
pub(super) fn render_template(
    template: &Template,
    required: bool,
    target: &str,
    context: &Context<'_>,
    errors: &mut MappingErrors,
) -> Option<String> {
    let mut text = String::new();
    let mut complete = true;
    for segment in &template.segments {
        match segment {
            Segment::Literal(literal) => text.push_str(literal),
            Segment::Source(source) => {
                let read = match read(source, context) {
                    Ok(read) => read,
                    Err(error) => {
                        errors.push_unique(error.with_target(target));
                        complete = false;
                        continue;
                    }
                };
                match require(read, required, target, errors) {
                    Some((_, value)) => text.push_str(&value.text),
                    None if required => complete = false,
                    None => {}
                }
            }
        }
    }
    let text = text.trim().to_string();
    if !complete || text.is_empty() {
        return None;
    }
    Some(text)
}

/// Tells whether a converted money value is greater than zero.
pub(super) fn is_positive_amount(value: &Value) -> bool {
    match value {
        Value::Number(number) => {
            Decimal::from_str(&number.to_string()).is_ok_and(|amount| amount > Decimal::ZERO)
        }
        _ => false,
    }
}

fn not_positive_error(rule: &FieldRule, origin: Origin, value: &str) -> MappingError {
    MappingError::new(
        origin.field,
        origin.row,
        ErrorCode::InvalidAmount,
        text!(
            en: "{value:?} is not a valid line amount: a payment bill line must be greater than 0; \
                 the claim needs a corrected amount in DingTalk before it can become a bill",
            zh: "{value:?} 不是有效的分录金额：付款单分录金额必须大于 0；请先在钉钉中更正该报销的金额，才能生成付款单",
        ),
    )
    .with_value(value)
    .with_target(rule.key.clone())
}

fn conversion_error(
    error: ConvertError,
    rule: &FieldRule,
    origin: Origin,
    value: &str,
) -> MappingError {
    let kind = rule.kind.as_str();
    let (code, detail) = match error {
        ConvertError::Amount(reason) => {
            let Text {
                en: reason_en,
                zh: reason_zh,
            } = reason.localize();
            (
                ErrorCode::InvalidAmount,
                text!(
                    en: "{value:?} is not a valid amount: {reason_en}",
                    zh: "{value:?} 不是有效金额：{reason_zh}",
                ),
            )
        }
        ConvertError::Date => (
            ErrorCode::InvalidDate,
            text!(
                en: "{value:?} is not a date (yyyy-MM-dd, optionally with a time)",
                zh: "{value:?} 不是日期（yyyy-MM-dd，可带时间）",
            ),
        ),
        ConvertError::Integer | ConvertError::Bool => (
            ErrorCode::InvalidValue,
            text!(
                en: "{value:?} cannot be written as {kind}",
                zh: "{value:?} 无法按 {kind} 写入",
            ),
        ),
    };
    MappingError::new(origin.field, origin.row, code, detail)
        .with_value(value)
        .with_target(rule.key.clone())
}
