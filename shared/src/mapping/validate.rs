//! Checking the routes part of the configuration and compiling it into [`Routes`].
//!
//! Every problem is collected, not just the first, because an operator editing a mapping
//! wants one list to work through. Keys are relative to the file, with array elements
//! numbered from 0 as TOML readers count them (`mappings.expense_claim.header.3.source`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::compile_rule::{compile_rules, rule_reads_form};
use super::config::{RawEntries, RawMapping, RawRoutesConfig, ValueKind};
use super::evaluate::is_positive_amount;
use super::routes::{Entries, Mapping, Producer, Route, Routes, ValueMap};
use super::source::{Segment, Source, Template, list};
use crate::config::ConfigError;
use crate::text;

/// Default bill number template: the business id is unique per approval and is the
/// number people quote.
pub const DEFAULT_BILL_NO: &str = "DD-{business_id}";

/// Model key of the bill number.
pub const BILL_NO_KEY: &str = "FBillNo";

/// Value maps by name, shared by every rule that uses one.
pub(super) type ValueMaps = BTreeMap<String, Arc<ValueMap>>;

impl RawRoutesConfig {
    /// Checks every route, mapping and value map and compiles them.
    ///
    /// Returns all problems found, each naming its key relative to the file. Mappings no
    /// route uses are checked too, so `consumer mapping check` finds their mistakes
    /// before a route is pointed at them.
    pub fn validate(&self) -> Result<Routes, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let value_maps = validate_value_maps(&self.value_maps, &mut errors);
        let mut mappings = BTreeMap::new();
        for (name, raw) in &self.mappings {
            if let Some(mapping) = compile_mapping(name, raw, &value_maps, &mut errors) {
                mappings.insert(name.clone(), mapping);
            }
        }
        let routes = self.validate_routes(&mappings, &mut errors);
        if errors.is_empty() {
            Ok(Routes { routes })
        } else {
            Err(errors)
        }
    }

    fn validate_routes(
        &self,
        mappings: &BTreeMap<String, Mapping>,
        errors: &mut Vec<ConfigError>,
    ) -> Vec<Route> {
        if self.routes.is_empty() {
            errors.push(ConfigError::new(
                "routes",
                text!(
                    en: "no route is configured; add a [[routes]] entry with process_code, \
                         form_id and mapping",
                    zh: "没有配置任何路由；请添加 [[routes]]，写明 process_code、form_id 和 mapping",
                ),
            ));
        }
        let mut routes = Vec::new();
        for (index, raw) in self.routes.iter().enumerate() {
            let path = format!("routes.{index}");
            let process_code = raw.process_code.trim();
            if process_code.is_empty() {
                errors.push(missing(&format!("{path}.process_code"), "PROC-…"));
            } else if let Some(first) = self.routes[..index]
                .iter()
                .position(|other| other.process_code.trim() == process_code)
            {
                errors.push(ConfigError::new(
                    format!("{path}.process_code"),
                    text!(
                        en: "process code {process_code} is already routed by routes.{first}; \
                             keep one route per process code",
                        zh: "审批模板 {process_code} 已由 routes.{first} 路由；每个审批模板只保留一条路由",
                    ),
                ));
            }
            let form_id = raw.form_id.trim();
            if form_id.is_empty() {
                errors.push(missing(&format!("{path}.form_id"), "AP_PAYBILL"));
            } else if !is_k3_key(form_id) {
                errors.push(ConfigError::new(
                    format!("{path}.form_id"),
                    text!(
                        en: "{form_id:?} is not a K3Cloud form id; use letters, digits and \
                             underscores, e.g. AP_PAYBILL",
                        zh: "{form_id:?} 不是金蝶云星空表单 ID；只能包含字母、数字和下划线，例如 AP_PAYBILL",
                    ),
                ));
            }
            let mapping_name = raw.mapping.trim();
            let mapping = if mapping_name.is_empty() {
                errors.push(missing(&format!("{path}.mapping"), "expense_claim"));
                None
            } else if let Some(mapping) = mappings.get(mapping_name) {
                Some(mapping)
            } else {
                if !self.mappings.contains_key(mapping_name) {
                    let known = list(self.mappings.keys());
                    errors.push(ConfigError::new(
                        format!("{path}.mapping"),
                        text!(
                            en: "no mapping named {mapping_name:?}; add [mappings.{mapping_name}] \
                                 or use one of: {known}",
                            zh: "没有名为 {mapping_name:?} 的映射；请添加 [mappings.{mapping_name}]，\
                                 或使用：{known}",
                        ),
                    ));
                }
                // A mapping that exists but failed validation has its own errors listed.
                None
            };
            if let Some(mapping) = mapping
                && !process_code.is_empty()
                && !form_id.is_empty()
            {
                let mut mapping = mapping.clone();
                mapping.form_id = form_id.to_string();
                routes.push(Route {
                    process_code: process_code.to_string(),
                    form_id: form_id.to_string(),
                    mapping,
                });
            }
        }
        routes
    }
}

fn validate_value_maps(
    raw: &BTreeMap<String, BTreeMap<String, String>>,
    errors: &mut Vec<ConfigError>,
) -> ValueMaps {
    let mut maps = ValueMaps::new();
    for (name, raw_entries) in raw {
        let path = format!("value_maps.{name}");
        if !is_name(name) {
            errors.push(bad_name(&path, name));
        }
        if raw_entries.is_empty() {
            errors.push(ConfigError::new(
                &path,
                text!(
                    en: "the value map is empty; add \"DingTalk value\" = \"K3Cloud value\" lines",
                    zh: "值映射为空；请添加 \"钉钉取值\" = \"金蝶取值\" 的行",
                ),
            ));
        }
        let mut entries = BTreeMap::new();
        for (from, to) in raw_entries {
            let key = format!("{path}.{from}");
            let trimmed = from.trim();
            if trimmed.is_empty() {
                errors.push(ConfigError::new(
                    &path,
                    text!(
                        en: "a key is empty; DingTalk values are looked up trimmed, so an empty \
                             key never matches",
                        zh: "存在空的键；钉钉取值会去掉首尾空白后查找，空键永远不会匹配",
                    ),
                ));
                continue;
            }
            if to.trim().is_empty() {
                errors.push(ConfigError::new(
                    &key,
                    text!(
                        en: "the K3Cloud value is empty; write the number or remove the line",
                        zh: "金蝶取值为空；请填写编码或删除该行",
                    ),
                ));
            }
            if entries
                .insert(trimmed.to_string(), to.trim().to_string())
                .is_some()
            {
                errors.push(ConfigError::new(
                    &key,
                    text!(
                        en: "{trimmed:?} is listed twice (keys are compared without surrounding \
                             spaces); keep one",
                        zh: "{trimmed:?} 出现了两次（比较时去掉首尾空白）；请只保留一个",
                    ),
                ));
            }
        }
        maps.insert(
            name.clone(),
            Arc::new(ValueMap {
                name: name.clone(),
                entries,
            }),
        );
    }
    maps
}

/// Compiles one mapping; `None` when it has errors (they are pushed to `errors`).
fn compile_mapping(
    name: &str,
    raw: &RawMapping,
    value_maps: &ValueMaps,
    errors: &mut Vec<ConfigError>,
) -> Option<Mapping> {
    let before = errors.len();
    let path = format!("mappings.{name}");
    if !is_name(name) {
        errors.push(bad_name(&path, name));
    }
    for (var, value) in &raw.vars {
        if !is_name(var) {
            errors.push(bad_name(&format!("{path}.vars.{var}"), var));
        }
        if value.trim().is_empty() {
            errors.push(ConfigError::new(
                format!("{path}.vars.{var}"),
                text!(
                    en: "the variable is empty; give it a value or remove it",
                    zh: "变量为空；请赋值或删除",
                ),
            ));
        }
    }

    let bill_no_text = raw.bill_no.as_deref().unwrap_or(DEFAULT_BILL_NO);
    let bill_no = match Template::parse(bill_no_text, &raw.vars, false) {
        Ok(template) if template.segments.iter().all(|s| !is_placeholder(s)) => {
            errors.push(ConfigError::new(
                format!("{path}.bill_no"),
                text!(
                    en: "{bill_no_text:?} has no placeholder, so every approval would get the \
                         same bill number; include {{business_id}}",
                    zh: "{bill_no_text:?} 不含占位符，所有审批会得到同一个单据编号；请包含 {{business_id}}",
                ),
            ));
            None
        }
        Ok(template) => Some(template),
        Err(problem) => {
            errors.push(ConfigError::new(format!("{path}.bill_no"), problem));
            None
        }
    };

    let total = match raw.total.as_deref() {
        None => None,
        Some(text) => match Source::parse(text, &raw.vars, false) {
            Ok(source) => Some(source),
            Err(problem) => {
                errors.push(ConfigError::new(format!("{path}.total"), problem));
                None
            }
        },
    };

    let header_path = format!("{path}.header");
    let header = compile_rules(
        &header_path,
        &raw.header,
        &raw.vars,
        false,
        value_maps,
        errors,
    );
    for (index, rule) in raw.header.iter().enumerate() {
        if rule.key.trim().eq_ignore_ascii_case(BILL_NO_KEY) {
            errors.push(ConfigError::new(
                format!("{header_path}.{index}.key"),
                text!(
                    en: "{BILL_NO_KEY} is written from bill_no; remove this rule and set \
                         bill_no instead",
                    zh: "{BILL_NO_KEY} 由 bill_no 生成；请删除此规则并改为设置 bill_no",
                ),
            ));
        }
    }

    let entries = match &raw.entries {
        None => {
            errors.push(ConfigError::new(
                format!("{path}.entries"),
                text!(
                    en: "missing; a bill needs entry rows: add [{path}.entries] with entity, \
                         amount and fields",
                    zh: "缺少该项；单据需要分录：请添加 [{path}.entries]，写明 entity、amount 和 fields",
                ),
            ));
            None
        }
        Some(raw_entries) => compile_entries(&path, raw_entries, raw, value_maps, errors),
    };

    let reads_form = header.iter().any(rule_reads_form)
        || total.as_ref().is_some_and(Source::reads_form)
        || entries.as_ref().is_some_and(|entries: &Entries| {
            entries.from_table.is_some() || entries.fields.iter().any(rule_reads_form)
        });
    if errors.len() > before {
        return None;
    }
    Some(Mapping {
        name: name.to_string(),
        form_id: String::new(),
        bill_no: bill_no?,
        total,
        header,
        entries: entries?,
        reads_form,
    })
}

fn compile_entries(
    mapping_path: &str,
    raw: &RawEntries,
    mapping: &RawMapping,
    value_maps: &ValueMaps,
    errors: &mut Vec<ConfigError>,
) -> Option<Entries> {
    let path = format!("{mapping_path}.entries");
    let before = errors.len();
    let entity = raw.entity.trim();
    if entity.is_empty() {
        errors.push(missing(&format!("{path}.entity"), "FPAYBILLENTRY"));
    } else if !is_k3_key(entity) {
        errors.push(bad_key(&format!("{path}.entity"), entity));
    } else if mapping
        .header
        .iter()
        .any(|rule| rule.key.trim().eq_ignore_ascii_case(entity))
    {
        errors.push(ConfigError::new(
            format!("{path}.entity"),
            text!(
                en: "{entity} is also a header field key; the entry entity needs its own key",
                zh: "{entity} 同时是表头字段；分录实体必须使用独立的键",
            ),
        ));
    }
    let from_table = match raw.from_table.as_deref().map(str::trim) {
        Some("") => {
            errors.push(ConfigError::new(
                format!("{path}.from_table"),
                text!(
                    en: "empty; name the detail table by component id or label, or remove the \
                         key to build one entry from header fields",
                    zh: "为空；请填写明细表的组件 ID 或标签，或删除该项以用表头字段生成一条分录",
                ),
            ));
            None
        }
        other => other.map(String::from),
    };
    let fields_path = format!("{path}.fields");
    if raw.fields.is_empty() {
        errors.push(ConfigError::new(
            &fields_path,
            text!(
                en: "no entry field is configured; add at least the amount field",
                zh: "没有配置分录字段；至少需要金额字段",
            ),
        ));
    }
    let mut fields = compile_rules(
        &fields_path,
        &raw.fields,
        &mapping.vars,
        from_table.is_some() || raw.from_table.is_some(),
        value_maps,
        errors,
    );

    let mut amount_key = raw.amount.trim();
    if amount_key.is_empty() {
        errors.push(missing(&format!("{path}.amount"), "FPAYTOTALAMOUNTFOR"));
    } else {
        match raw
            .fields
            .iter()
            .find(|rule| rule.key.trim().eq_ignore_ascii_case(amount_key))
        {
            None => {
                let known = list(raw.fields.iter().map(|rule| rule.key.as_str()));
                errors.push(ConfigError::new(
                    format!("{path}.amount"),
                    text!(
                        en: "{amount_key} is not one of the entry fields ({known}); add a rule \
                             for it with as = \"money\"",
                        zh: "{amount_key} 不在分录字段中（{known}）；请为它添加 as = \"money\" 的规则",
                    ),
                ));
            }
            Some(rule) if rule.kind != Some(ValueKind::Money) || rule.required == Some(false) => {
                errors.push(ConfigError::new(
                    format!("{path}.amount"),
                    text!(
                        en: "the rule for {amount_key} must have as = \"money\" and must not be \
                             optional, because the bill total is the sum of these amounts",
                        zh: "{amount_key} 的规则必须设置 as = \"money\" 且不能是可选的，因为单据合计是这些金额之和",
                    ),
                ));
            }
            // The rule's own spelling, because entries are matched to it exactly.
            Some(rule) => amount_key = rule.key.trim(),
        }
    }
    if let Some(rule) = fields.iter_mut().find(|rule| rule.key == amount_key) {
        rule.positive = true;
        if let Producer::Const(value) = &rule.producer
            && !is_positive_amount(value)
        {
            errors.push(ConfigError::new(
                format!("{path}.amount"),
                text!(
                    en: "the constant amount of {amount_key} is not greater than 0; a payment bill line must be positive",
                    zh: "{amount_key} 的常量金额不大于 0；付款单分录金额必须为正数",
                ),
            ));
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(Entries {
        entity: entity.to_string(),
        from_table,
        amount_key: amount_key.to_string(),
        fields,
    })
}

fn is_placeholder(segment: &Segment) -> bool {
    matches!(segment, Segment::Source(_))
}

/// K3Cloud field keys and form ids: ASCII letters, digits and underscores.
pub(super) fn is_k3_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Names of mappings, value maps and variables: they appear in dotted keys, so no dots.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(super) fn missing(key: &str, example: &str) -> ConfigError {
    ConfigError::new(
        key,
        text!(
            en: "missing; set it, e.g. {example:?}",
            zh: "缺少该项；请填写，例如 {example:?}",
        ),
    )
}

pub(super) fn bad_key(key: &str, value: &str) -> ConfigError {
    ConfigError::new(
        key,
        text!(
            en: "{value:?} is not a K3Cloud field key; use letters, digits and underscores, \
                 e.g. FCOSTID",
            zh: "{value:?} 不是金蝶云星空字段键；只能包含字母、数字和下划线，例如 FCOSTID",
        ),
    )
}

fn bad_name(key: &str, name: &str) -> ConfigError {
    ConfigError::new(
        key,
        text!(
            en: "{name:?} is not a valid name; use ASCII letters, digits, _ and -",
            zh: "{name:?} 不是有效的名称；只能使用 ASCII 字母、数字、_ 和 -",
        ),
    )
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
