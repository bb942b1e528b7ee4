//! Checking and compiling one field rule: its key, its single producer (constant,
//! source, template or switch), its value map and its field kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::config::{RawConst, RawFieldRule, ValueKind};
use super::convert::{ReadValue, convert, parse_bool, to_k3_date};
use super::money::{amount_to_json, decimal_to_json, parse_amount, parse_decimal};
use super::routes::{FieldRule, Producer};
use super::source::{Source, Template, list};
use super::validate::{ValueMaps, bad_key, is_k3_key, missing};
use crate::config::ConfigError;
use crate::i18n::{Localize, Text};
use crate::text;

pub(super) fn compile_rules(
    path: &str,
    raw: &[RawFieldRule],
    vars: &BTreeMap<String, String>,
    rows_allowed: bool,
    value_maps: &ValueMaps,
    errors: &mut Vec<ConfigError>,
) -> Vec<FieldRule> {
    let mut rules = Vec::new();
    for (index, rule) in raw.iter().enumerate() {
        let rule_path = format!("{path}.{index}");
        let key = rule.key.trim();
        if let Some(first) = raw[..index]
            .iter()
            .position(|other| !key.is_empty() && other.key.trim().eq_ignore_ascii_case(key))
        {
            errors.push(ConfigError::new(
                format!("{rule_path}.key"),
                text!(
                    en: "{key} is already written by {path}.{first}; K3Cloud matches keys \
                         without regard to case, so keep one rule",
                    zh: "{key} 已由 {path}.{first} 写入；金蝶云星空比较键时不区分大小写，请只保留一条规则",
                ),
            ));
        }
        if let Some(compiled) =
            compile_rule(&rule_path, rule, vars, rows_allowed, value_maps, errors)
        {
            rules.push(compiled);
        }
    }
    rules
}

fn compile_rule(
    path: &str,
    raw: &RawFieldRule,
    vars: &BTreeMap<String, String>,
    rows_allowed: bool,
    value_maps: &ValueMaps,
    errors: &mut Vec<ConfigError>,
) -> Option<FieldRule> {
    let before = errors.len();
    let key = raw.key.trim();
    if key.is_empty() {
        errors.push(missing(&format!("{path}.key"), "FCOSTID"));
    } else if !is_k3_key(key) {
        errors.push(bad_key(&format!("{path}.key"), key));
    }

    let set = [
        raw.constant.is_some(),
        raw.source.is_some(),
        raw.template.is_some(),
        raw.switch.is_some(),
    ];
    let set_count = set.iter().filter(|is_set| **is_set).count();
    if set_count != 1 {
        errors.push(ConfigError::new(
            path,
            text!(
                en: "set exactly one of const, source, template and switch (found {set_count})",
                zh: "const、source、template、switch 必须且只能设置一个（当前 {set_count} 个）",
            ),
        ));
    }
    if raw.cases.is_some() && raw.switch.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.cases"),
            text!(
                en: "cases are read only with switch; add switch = \"form:<field>\" or remove cases",
                zh: "cases 只与 switch 一起使用；请添加 switch = \"form:<字段>\" 或删除 cases",
            ),
        ));
    }

    let kind = raw.kind.unwrap_or(match &raw.constant {
        Some(RawConst::Bool(_)) => ValueKind::Bool,
        Some(RawConst::Integer(_)) => ValueKind::Integer,
        _ => ValueKind::Text,
    });
    let map = match raw.map.as_deref() {
        None => None,
        Some(_) if raw.constant.is_some() => {
            errors.push(ConfigError::new(
                format!("{path}.map"),
                text!(
                    en: "a constant is not looked up in a value map; write the K3Cloud value \
                         as the constant and remove map",
                    zh: "常量不会经过值映射；请直接把金蝶取值写成常量并删除 map",
                ),
            ));
            None
        }
        Some(name) => match value_maps.get(name.trim()) {
            Some(map) => Some(Arc::clone(map)),
            None => {
                let known = list(value_maps.keys());
                errors.push(ConfigError::new(
                    format!("{path}.map"),
                    text!(
                        en: "no value map named {name:?}; add [value_maps.{name}] or use one \
                             of: {known}",
                        zh: "没有名为 {name:?} 的值映射；请添加 [value_maps.{name}]，或使用：{known}",
                    ),
                ));
                None
            }
        },
    };

    let producer = if let Some(constant) = &raw.constant {
        match const_to_json(constant, kind) {
            Ok(value) => Some(Producer::Const(value)),
            Err(problem) => {
                errors.push(ConfigError::new(format!("{path}.const"), problem));
                None
            }
        }
    } else if let Some(text) = &raw.source {
        match Source::parse(text, vars, rows_allowed) {
            // A variable without a value map is a constant, so a value that does not fit
            // the kind is a configuration error rather than a rejection of every approval.
            Ok(Source::Literal(value)) if map.is_none() => {
                match convert(&ReadValue::text(value), kind) {
                    Ok(json) => Some(Producer::Const(json)),
                    Err(_) => {
                        let kind_name = kind.as_str();
                        errors.push(ConfigError::new(
                            format!("{path}.source"),
                            text!(
                                en: "the variable's value cannot be written as {kind_name}",
                                zh: "该变量的值无法按 {kind_name} 写入",
                            ),
                        ));
                        None
                    }
                }
            }
            Ok(source) => Some(Producer::Source(source)),
            Err(problem) => {
                errors.push(ConfigError::new(format!("{path}.source"), problem));
                None
            }
        }
    } else if let Some(text) = &raw.template {
        match Template::parse(text, vars, rows_allowed) {
            Ok(template) => Some(Producer::Template(template)),
            Err(problem) => {
                errors.push(ConfigError::new(format!("{path}.template"), problem));
                None
            }
        }
    } else if let Some(text) = &raw.switch {
        compile_switch(path, text, raw.cases.as_ref(), vars, rows_allowed, errors)
    } else {
        None
    };

    if errors.len() > before {
        return None;
    }
    Some(FieldRule {
        key: key.to_string(),
        producer: producer?,
        map,
        kind,
        required: raw.required.unwrap_or(true),
        positive: false,
    })
}

fn compile_switch(
    path: &str,
    on: &str,
    cases: Option<&BTreeMap<String, String>>,
    vars: &BTreeMap<String, String>,
    rows_allowed: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<Producer> {
    let on = match Source::parse(on, vars, rows_allowed) {
        Ok(source) => Some(source),
        Err(problem) => {
            errors.push(ConfigError::new(format!("{path}.switch"), problem));
            None
        }
    };
    let raw_cases = cases.filter(|cases| !cases.is_empty());
    let Some(raw_cases) = raw_cases else {
        errors.push(ConfigError::new(
            format!("{path}.cases"),
            text!(
                en: "switch needs cases: cases = {{ \"<value>\" = \"form:<field>\", … }}",
                zh: "switch 需要 cases：cases = {{ \"<取值>\" = \"form:<字段>\", … }}",
            ),
        ));
        return None;
    };
    let mut compiled = BTreeMap::new();
    for (value, source) in raw_cases {
        match Source::parse(source, vars, rows_allowed) {
            Ok(source) => {
                compiled.insert(value.trim().to_string(), source);
            }
            Err(problem) => errors.push(ConfigError::new(format!("{path}.cases.{value}"), problem)),
        }
    }
    Some(Producer::Switch {
        on: on?,
        cases: compiled,
    })
}

/// Converts a constant to its JSON form for `kind`, or explains why it does not fit.
fn const_to_json(constant: &RawConst, kind: ValueKind) -> Result<Value, Text> {
    let kind_name = kind.as_str();
    let mismatch = || {
        text!(
            en: "this constant cannot be written as {kind_name}",
            zh: "该常量无法按 {kind_name} 写入",
        )
    };
    match (kind, constant) {
        (ValueKind::Text, RawConst::Text(text)) => Ok(Value::String(text.clone())),
        (ValueKind::BaseData, RawConst::Text(text)) if !text.trim().is_empty() => {
            let mut object = Map::new();
            object.insert("FNumber".into(), Value::String(text.trim().to_string()));
            Ok(Value::Object(object))
        }
        (ValueKind::Money, RawConst::Text(text)) => parse_amount(text)
            .map(|amount| Value::Number(amount_to_json(amount)))
            .map_err(|error| error.localize()),
        (ValueKind::Money, RawConst::Integer(number)) => {
            Ok(Value::Number(amount_to_json((*number).into())))
        }
        (ValueKind::Decimal, RawConst::Text(text)) => parse_decimal(text)
            .map(|value| Value::Number(decimal_to_json(value)))
            .map_err(|error| error.localize()),
        (ValueKind::Decimal | ValueKind::Integer, RawConst::Integer(number)) => {
            Ok(Value::from(*number))
        }
        (ValueKind::Integer, RawConst::Text(text)) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| mismatch()),
        (ValueKind::Bool, RawConst::Bool(flag)) => Ok(Value::Bool(*flag)),
        (ValueKind::Bool, RawConst::Text(text)) => {
            parse_bool(text).map(Value::Bool).ok_or_else(mismatch)
        }
        (ValueKind::Date, RawConst::Text(text)) => {
            to_k3_date(text).map(Value::String).ok_or_else(|| {
                text!(
                    en: "{text:?} is not a date; write yyyy-MM-dd",
                    zh: "{text:?} 不是日期；请写成 yyyy-MM-dd",
                )
            })
        }
        _ => Err(mismatch()),
    }
}

pub(super) fn rule_reads_form(rule: &FieldRule) -> bool {
    match &rule.producer {
        Producer::Const(_) => false,
        Producer::Source(source) => source.reads_form(),
        Producer::Template(template) => template.reads_form(),
        Producer::Switch { on, cases } => on.reads_form() || cases.values().any(Source::reads_form),
    }
}
