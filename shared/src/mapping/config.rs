//! The routes, mappings and value maps as written in the configuration file, and loading
//! them from TOML.
//!
//! These structs only mirror the file. [`RawRoutesConfig::validate`] checks them and
//! compiles the checked [`Routes`](super::Routes); it reports every problem at once,
//! each naming its key relative to the file (`mappings.expense_claim.header.3.source`).
//! Field rules are TOML arrays rather than tables because their order is the order of
//! the keys in the K3Cloud request, and table order does not survive every TOML reader.

use std::collections::BTreeMap;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::text;

/// The `[[routes]]`, `[mappings.*]` and `[value_maps.*]` parts of the configuration file.
/// Other top-level sections are ignored here, so the whole file can be read with it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawRoutesConfig {
    /// One entry per approval template (process code) that becomes K3Cloud bills.
    pub routes: Vec<RawRoute>,

    /// Mappings by name; routes refer to them, and several routes may share one.
    pub mappings: BTreeMap<String, RawMapping>,

    /// Lookup tables by name: DingTalk value → K3Cloud value (usually a base-data number).
    pub value_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// `[[routes]]`: which approval template becomes which K3Cloud form through which mapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRoute {
    /// DingTalk process code (审批模板 code, `PROC-…`).
    pub process_code: String,

    /// K3Cloud form id (`FormId`) of the bills, e.g. `AP_PAYBILL`.
    pub form_id: String,

    /// Name of the mapping under `[mappings.<name>]`.
    pub mapping: String,
}

/// `[mappings.<name>]`: how one approval becomes one bill.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMapping {
    /// Template of the bill number (`FBillNo`); default `DD-{business_id}`. The number is
    /// the key K3Cloud is searched by before a save, so it must be unique per approval.
    pub bill_no: Option<String>,

    /// Source of a header total (e.g. `form:报销总额`) that the entry amounts must add
    /// up to; omit when the form has none.
    pub total: Option<String>,

    /// Named constants for `var:<name>` sources and `{var:<name>}` placeholders, so a
    /// deployment's organisation or bank account is written once.
    pub vars: BTreeMap<String, String>,

    /// Header field rules, in request order.
    pub header: Vec<RawFieldRule>,

    /// The entry rows of the bill.
    pub entries: Option<RawEntries>,
}

/// `[mappings.<name>.entries]`: the entry rows (分录) of the bill.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawEntries {
    /// Entry entity key in the model, e.g. `FPAYBILLENTRY`.
    pub entity: String,

    /// Detail table (by component id or label) giving one entry per row; when absent,
    /// the bill has one entry built from header fields.
    pub from_table: Option<String>,

    /// Key of the entry field (listed in `fields`, `as = "money"`) holding the line
    /// amount; the bill total is the sum of these.
    pub amount: String,

    /// Entry field rules, in request order.
    pub fields: Vec<RawFieldRule>,
}

/// One field of the K3Cloud model and where its value comes from.
///
/// Exactly one of `const`, `source`, `template` and `switch` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawFieldRule {
    /// K3Cloud field key, e.g. `FCOSTID`.
    pub key: String,

    /// A fixed value.
    #[serde(rename = "const")]
    pub constant: Option<RawConst>,

    /// One value: `instance:<field>`, `form:<id or label>`, `row:<id or label>` or
    /// `var:<name>`.
    pub source: Option<String>,

    /// Text with `{placeholder}`s, each a source; a bare name is an instance field.
    pub template: Option<String>,

    /// A source whose value selects the source to read from `cases`.
    pub switch: Option<String>,

    /// Value of `switch` → source to read.
    pub cases: Option<BTreeMap<String, String>>,

    /// Value map (`[value_maps.<name>]`) the value is looked up in before writing.
    pub map: Option<String>,

    /// Field kind the value is written as; default `text`.
    #[serde(rename = "as")]
    pub kind: Option<ValueKind>,

    /// Whether an empty value rejects the approval (default) or leaves the field out.
    pub required: Option<bool>,
}

/// A constant as TOML writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RawConst {
    /// `const = true`.
    Bool(bool),
    /// `const = 0`.
    Integer(i64),
    /// `const = "FKDLX02_SYS"`.
    Text(String),
}

/// Field kind: the JSON form a value takes in the K3Cloud model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A JSON string.
    #[default]
    Text,
    /// A base-data reference `{"FNumber": value}`.
    BaseData,
    /// An amount: strict grammar, two decimals, written as a JSON number.
    Money,
    /// A decimal kept at its own scale (e.g. an exchange rate), as a JSON number.
    Decimal,
    /// A whole number, as a JSON number.
    Integer,
    /// A JSON boolean, from `true`/`false`, `1`/`0`, `yes`/`no` or `是`/`否`.
    Bool,
    /// A day as `yyyy-MM-dd` (Beijing time).
    Date,
}

impl ValueKind {
    /// Returns the spelling used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::BaseData => "base_data",
            ValueKind::Money => "money",
            ValueKind::Decimal => "decimal",
            ValueKind::Integer => "integer",
            ValueKind::Bool => "bool",
            ValueKind::Date => "date",
        }
    }
}

impl RawRoutesConfig {
    /// Reads the routes part of a configuration file; other sections are ignored.
    pub fn load_file(path: &Path) -> Result<RawRoutesConfig, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new(
                "",
                text!(
                    en: "cannot read the configuration file {display}: {error}",
                    zh: "无法读取配置文件 {display}：{error}",
                ),
            )
        })?;
        RawRoutesConfig::from_toml_str(&text)
    }

    /// Reads the routes part of a configuration given as TOML text.
    pub fn from_toml_str(text: &str) -> Result<RawRoutesConfig, ConfigError> {
        Figment::from(Toml::string(text))
            .extract::<RawRoutesConfig>()
            .map_err(crate::config::from_figment_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_toml_ignores_other_sections() {
        let raw = RawRoutesConfig::from_toml_str(
            r#"
            [k3cloud]
            base_url = "http://127.0.0.1:1/k3cloud/"

            [[routes]]
            process_code = "PROC-1"
            form_id = "AP_PAYBILL"
            mapping = "m"
            "#,
        )
        .unwrap();
        assert_eq!(raw.routes.len(), 1);
        assert_eq!(raw.routes[0].process_code, "PROC-1");
    }

    #[test]
    fn from_toml_keeps_rule_order() {
        let raw = RawRoutesConfig::from_toml_str(
            r#"
            [mappings.m]
            header = [
              { key = "FZ", const = "1" },
              { key = "FA", const = true },
              { key = "FM", const = 0 },
            ]
            "#,
        )
        .unwrap();
        let keys: Vec<&str> = raw.mappings["m"]
            .header
            .iter()
            .map(|rule| rule.key.as_str())
            .collect();
        assert_eq!(keys, ["FZ", "FA", "FM"]);
        assert_eq!(
            raw.mappings["m"].header[1].constant,
            Some(RawConst::Bool(true))
        );
        assert_eq!(
            raw.mappings["m"].header[2].constant,
            Some(RawConst::Integer(0))
        );
    }

    #[test]
    fn unknown_key_names_its_path() {
        let error = RawRoutesConfig::from_toml_str(
            r#"
            [mappings.m]
            header = [ { key = "FA", sorce = "form:x" } ]
            "#,
        )
        .unwrap_err();
        assert_eq!(error.key, "mappings.m.header.0.sorce");
        assert!(error.problem.en.contains("source"), "{error}");
    }

    #[test]
    fn unknown_kind_names_its_path() {
        let error = RawRoutesConfig::from_toml_str(
            r#"
            [mappings.m]
            header = [ { key = "FA", const = "x", as = "number" } ]
            "#,
        )
        .unwrap_err();
        assert_eq!(error.key, "mappings.m.header.0.as");
        assert!(error.problem.en.contains("base_data"), "{error}");
    }

    #[test]
    fn float_const_is_explained() {
        let error = RawRoutesConfig::from_toml_str(
            r#"
            [mappings.m]
            header = [ { key = "FA", const = 1.5 } ]
            "#,
        )
        .unwrap_err();
        assert_eq!(error.key, "mappings.m.header.0.const");
        assert!(error.problem.en.contains("as = \"decimal\""), "{error}");
    }

    #[test]
    fn syntax_error_is_reported() {
        let error = RawRoutesConfig::from_toml_str("[[routes]\nprocess_code = 1").unwrap_err();
        assert!(error.problem.en.contains("cannot read"), "{error}");
    }

    #[test]
    fn load_file_names_missing_file() {
        let error = RawRoutesConfig::load_file(Path::new("/nonexistent/dingk3.toml")).unwrap_err();
        assert!(
            error.problem.en.contains("/nonexistent/dingk3.toml"),
            "{error}"
        );
    }
}
