//! Reasons an approval instance cannot become a bill.
//!
//! A rejected approval goes to the dead-letter queue, and an operator decides from the
//! reason alone whether to fix the approval, extend a value map or change the mapping,
//! then replays it. So every reason names the form field, the detail-table row (1-based)
//! and the offending value, carries a machine-readable [`ErrorCode`], and all reasons of
//! one instance are reported together rather than one per replay.

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};

use crate::i18n::{Lang, Localize, Text};
use crate::text;

/// Kind of a [`MappingError`], with stable strings for tooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A required value is empty or absent.
    MissingValue,
    /// A value has no entry in the value map the rule uses.
    UnmappedValue,
    /// A money value does not follow the amount grammar.
    InvalidAmount,
    /// A date value is not a date.
    InvalidDate,
    /// A boolean, integer or decimal value cannot be read as one.
    InvalidValue,
    /// The detail table that gives the bill its lines has no rows.
    EmptyTable,
    /// The lines do not add up to the header total.
    SumMismatch,
    /// DingTalk sent a value that could not be decoded, or one that has no text form.
    MalformedValue,
    /// The form has no field with the id or label the mapping names.
    UnknownField,
    /// The instance carries no form values at all. DingTalk returns this for some forms
    /// when the detail was fetched incompletely, so fetching again may succeed.
    EmptyForm,
}

impl ErrorCode {
    /// Returns the code as it appears in JSON and dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingValue => "missing_value",
            ErrorCode::UnmappedValue => "unmapped_value",
            ErrorCode::InvalidAmount => "invalid_amount",
            ErrorCode::InvalidDate => "invalid_date",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::EmptyTable => "empty_table",
            ErrorCode::SumMismatch => "sum_mismatch",
            ErrorCode::MalformedValue => "malformed_value",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::EmptyForm => "empty_form",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason an instance cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The DingTalk field: a form label (or the id the mapping used when the form has no
    /// such field), a detail-table column label, or an instance field such as
    /// `finish_time`.
    pub field: String,

    /// Detail-table row, 1-based; `None` for header fields.
    pub row: Option<usize>,

    /// Kind of problem.
    pub code: ErrorCode,

    /// The offending value as DingTalk sent it, when there is one.
    pub value: Option<String>,

    /// The K3Cloud field the value was meant for, e.g. `FCOSTID`.
    pub target: Option<String>,

    /// Explanation of the problem and of the fix, in both languages.
    pub detail: Text,
}

impl MappingError {
    /// Creates an error without value or target; see the `with_*` methods.
    pub fn new(
        field: impl Into<String>,
        row: Option<usize>,
        code: ErrorCode,
        detail: Text,
    ) -> Self {
        MappingError {
            field: field.into(),
            row,
            code,
            value: None,
            target: None,
            detail,
        }
    }

    /// Adds the offending value.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Adds the K3Cloud field the value was meant for.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Returns the JSON object of this error with the message in `lang`:
    /// `{"field", "row", "code", "message", "value", "target"}`.
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        serde_json::json!({
            "field": self.field,
            "row": self.row,
            "code": self.code.as_str(),
            "message": self.localize().get(lang),
            "value": self.value,
            "target": self.target,
        })
    }
}

impl Localize for MappingError {
    fn localize(&self) -> Text {
        let field = &self.field;
        let (row_en, row_zh) = match self.row {
            Some(row) => (format!(" (row {row})"), format!("（第 {row} 行）")),
            None => (String::new(), String::new()),
        };
        let (target_en, target_zh) = match &self.target {
            Some(target) => (format!(" → {target}"), format!(" → {target}")),
            None => (String::new(), String::new()),
        };
        Text::new(
            format!("{field}{row_en}{target_en}: {}", self.detail.en),
            format!("{field}{row_zh}{target_zh}：{}", self.detail.zh),
        )
    }
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.localize().en)
    }
}

/// Serialized with the English message, because serialized errors feed logs and
/// dead-letter headers; [`MappingError::to_json`] picks the language.
impl Serialize for MappingError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("MappingError", 6)?;
        object.serialize_field("field", &self.field)?;
        object.serialize_field("row", &self.row)?;
        object.serialize_field("code", self.code.as_str())?;
        object.serialize_field("message", &self.localize().en)?;
        object.serialize_field("value", &self.value)?;
        object.serialize_field("target", &self.target)?;
        object.end()
    }
}

/// Every reason one instance cannot be mapped; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingErrors(pub Vec<MappingError>);

impl MappingErrors {
    /// Returns the errors in the order they were found: header fields, then entries by
    /// row.
    pub fn errors(&self) -> &[MappingError] {
        &self.0
    }

    /// Returns true when some error has `code`.
    pub fn has_code(&self, code: ErrorCode) -> bool {
        self.0.iter().any(|error| error.code == code)
    }

    /// Returns the JSON array of the errors with messages in `lang`.
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        serde_json::Value::Array(self.0.iter().map(|error| error.to_json(lang)).collect())
    }

    /// Adds an error unless one with the same field, row, code and value is already
    /// listed. A header value read for every row, or written to two K3Cloud fields (the
    /// originator as contact unit and as payee), would otherwise be reported repeatedly
    /// although one fix resolves all of them.
    pub(crate) fn push_unique(&mut self, error: MappingError) {
        let repeated = self.0.iter().any(|listed| {
            listed.field == error.field
                && listed.row == error.row
                && listed.code == error.code
                && listed.value == error.value
        });
        if !repeated {
            self.0.push(error);
        }
    }
}

impl Localize for MappingErrors {
    fn localize(&self) -> Text {
        let count = self.0.len();
        let problems = if count == 1 { "problem" } else { "problems" };
        let mut text = text!(
            en: "the approval cannot become a bill ({count} {problems}):",
            zh: "该审批无法生成单据（{count} 个问题）：",
        );
        for error in &self.0 {
            let line = error.localize();
            text.en.push_str(&format!("\n- {}", line.en));
            text.zh.push_str(&format!("\n- {}", line.zh));
        }
        text
    }
}

impl std::fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl std::error::Error for MappingErrors {}

/// Serialized as `[{"field", "row", "code", "message", "value", "target"}, …]`.
impl Serialize for MappingErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for error in &self.0 {
            seq.serialize_element(error)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MappingError {
        let value = "团建活动";
        MappingError::new(
            "行政报销类型",
            Some(2),
            ErrorCode::UnmappedValue,
            text!(
                en: "no entry for \"{value}\" in value map expense_item",
                zh: "值映射 expense_item 中没有“{value}”",
            ),
        )
        .with_value(value)
        .with_target("FCOSTID")
    }

    #[test]
    fn localize_names_field_row_and_target() {
        let text = sample().localize();
        assert_eq!(
            text.en,
            "行政报销类型 (row 2) → FCOSTID: no entry for \"团建活动\" in value map expense_item"
        );
        assert_eq!(
            text.zh,
            "行政报销类型（第 2 行） → FCOSTID：值映射 expense_item 中没有“团建活动”"
        );
    }

    #[test]
    fn serialize_has_stable_keys() {
        let json = serde_json::to_value(MappingErrors(vec![sample()])).unwrap();
        let keys: Vec<&str> = json[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["field", "row", "code", "message", "value", "target"]);
        assert_eq!(json[0]["code"], "unmapped_value");
        assert_eq!(json[0]["row"], 2);
    }

    #[test]
    fn to_json_uses_requested_language() {
        let json = MappingErrors(vec![sample()]).to_json(Lang::Zh);
        let message = json[0]["message"].as_str().unwrap();
        assert!(message.contains("值映射"), "{message}");
    }

    #[test]
    fn push_unique_drops_repeats() {
        let mut errors = MappingErrors(Vec::new());
        errors.push_unique(sample());
        errors.push_unique(sample());
        assert_eq!(errors.0.len(), 1);
    }
}
