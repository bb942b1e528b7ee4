//! Form components and their typed values.
//!
//! DingTalk returns every form value as a string, and several component types nest JSON
//! inside that string (`["a","b"]` for a multi-select, row objects for a detail table).
//! Each component type gets one [`FormValue`] variant here, decoded once, so the mapping
//! never parses DingTalk's encodings itself. An absent value arrives as the literal
//! string `"null"` (`topapi`) or as a missing key (v1.0); both become [`FormValue::Empty`].

use chrono::{NaiveDate, NaiveTime};
use serde_json::{Map, Value};

use super::table::Table;
use super::time::parse_form_date;

/// One field of an approval form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormComponent {
    /// Component id, e.g. `TableField_1A2B3C4D5E6F0`. Stable across label edits, so
    /// mappings should prefer it; templates created through old APIs use the label.
    pub id: String,

    /// Label shown on the form (`name`). v1.0 omits it for text notes.
    pub name: Option<String>,

    /// DingTalk component type, e.g. `MoneyField`, kept verbatim for unknown types.
    pub component_type: String,

    /// Business alias of the component (v1.0 `bizAlias`); identifies suite children.
    pub biz_alias: Option<String>,

    /// The decoded value.
    pub value: FormValue,
}

/// The value of a form component, typed by component type.
#[derive(Debug, Clone, PartialEq)]
pub enum FormValue {
    /// No value: the literal `"null"`, an empty string, or a missing key.
    Empty,
    /// `TextField` / `TextareaField`.
    Text(String),
    /// `NumberField` / `CalculateField`: the text as sent; parsing is the reader's job
    /// because the accepted grammar depends on what the number means.
    Number(String),
    /// `MoneyField`: the amount as sent (e.g. `"1,280.00"`) and the upper-case Chinese
    /// amount DingTalk adds in `ext_value`.
    Money {
        /// Amount text exactly as DingTalk sent it.
        amount: String,
        /// Chinese upper-case amount (大写), when present.
        upper: Option<String>,
    },
    /// `DDSelectField`.
    Select(SelectOption),
    /// `DDMultiSelectField`.
    MultiSelect(Vec<SelectOption>),
    /// `DDDateField`.
    Date(FormDate),
    /// `DDDateRangeField`.
    DateRange {
        /// Start as sent.
        start: FormDate,
        /// End as sent.
        end: FormDate,
    },
    /// `DDAttachment`.
    Attachments(Vec<Attachment>),
    /// `DDPhotoField`: image URLs.
    Photos(Vec<String>),
    /// `InnerContactField`.
    Contacts(Vec<Contact>),
    /// `DepartmentField`.
    Departments(Vec<Department>),
    /// `RelateField`: links to other approval instances.
    RelatedApprovals(Vec<RelatedApproval>),
    /// `TextNote`: explanatory text of the form itself, not user input.
    TextNote(String),
    /// `PhoneField`.
    Phone {
        /// The number as entered.
        number: String,
        /// Country calling code such as `+86`, when present.
        country_code: Option<String>,
    },
    /// `TableField`: the detail table.
    Table(Table),
    /// `DDBizSuite`: an approval suite whose children are nested components.
    Suite(Vec<FormComponent>),
    /// A component type this model does not know; the raw strings are kept.
    Unknown {
        /// `value` as sent.
        value: Option<String>,
        /// `ext_value` / `extValue` as sent.
        ext_value: Option<String>,
    },
    /// A value of a known type that could not be decoded; mapping it is an error that
    /// names the field, instead of a silently empty value.
    Malformed {
        /// What could not be decoded.
        reason: String,
        /// The value as sent.
        raw: String,
    },
}

/// A chosen option of a select component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    /// Option label as shown to the user.
    pub label: String,
    /// Option key (`option_0`), when DingTalk sent it.
    pub key: Option<String>,
}

/// A date component's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormDate {
    /// The day.
    pub date: NaiveDate,
    /// The time of day, for date components whose unit is hours.
    pub time: Option<NaiveTime>,
}

/// A file attached to a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name.
    pub file_name: String,
    /// File id in DingDrive.
    pub file_id: Option<String>,
    /// DingDrive space id.
    pub space_id: Option<String>,
    /// Size in bytes.
    pub file_size: Option<u64>,
    /// File type, e.g. `xlsx`.
    pub file_type: Option<String>,
}

/// A person chosen in a contact component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// DingTalk userid (`emplId`), when DingTalk sent it.
    pub userid: Option<String>,
    /// Display name.
    pub name: String,
}

/// A department chosen in a department component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// DingTalk department id (sent as a number at top level, a string in tables).
    pub id: Option<String>,
    /// Department name.
    pub name: String,
}

/// A link to another approval instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedApproval {
    /// Title of the linked instance.
    pub title: Option<String>,
    /// Business id (审批编号) of the linked instance.
    pub business_id: Option<String>,
    /// Process instance id of the linked instance.
    pub process_instance_id: Option<String>,
}

impl FormValue {
    /// Returns the value as one line of text, the way DingTalk shows it: labels for
    /// selects, names for contacts and departments, amounts as sent. Returns `None` for
    /// empty values and for values without a text form (tables, suites, files).
    pub fn as_text(&self) -> Option<String> {
        match self {
            FormValue::Text(text)
            | FormValue::Number(text)
            | FormValue::TextNote(text)
            | FormValue::Money { amount: text, .. }
            | FormValue::Phone { number: text, .. } => Some(text.clone()),
            FormValue::Select(option) => Some(option.label.clone()),
            FormValue::MultiSelect(options) => Some(join(options.iter().map(|o| &o.label))),
            FormValue::Date(date) => Some(date.to_string()),
            FormValue::DateRange { start, end } => Some(format!("{start} ~ {end}")),
            FormValue::Contacts(contacts) => Some(join(contacts.iter().map(|c| &c.name))),
            FormValue::Departments(departments) => Some(join(departments.iter().map(|d| &d.name))),
            FormValue::Photos(urls) => Some(join(urls.iter())),
            FormValue::Unknown { value, .. } => value.clone(),
            FormValue::Empty
            | FormValue::Attachments(_)
            | FormValue::RelatedApprovals(_)
            | FormValue::Table(_)
            | FormValue::Suite(_)
            | FormValue::Malformed { .. } => None,
        }
    }

    /// Returns true for [`FormValue::Empty`] and for a table without rows.
    pub fn is_empty(&self) -> bool {
        match self {
            FormValue::Empty => true,
            FormValue::Table(table) => table.rows.is_empty(),
            _ => false,
        }
    }
}

impl std::fmt::Display for FormDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.time {
            Some(time) => write!(
                f,
                "{} {}",
                self.date.format("%Y-%m-%d"),
                time.format("%H:%M")
            ),
            None => write!(f, "{}", self.date.format("%Y-%m-%d")),
        }
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a String>) -> String {
    parts.map(String::as_str).collect::<Vec<_>>().join(",")
}

/// Reads a component object of either API generation.
pub(crate) fn decode_component(object: &Map<String, Value>) -> FormComponent {
    let field = |snake: &str, camel: &str| -> Option<&Value> {
        object.get(snake).or_else(|| object.get(camel))
    };
    let component_type = field("component_type", "componentType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let id = field("id", "key").map(value_to_string).unwrap_or_default();
    let name = object
        .get("name")
        .or_else(|| object.get("label"))
        .map(value_to_string);
    let biz_alias = field("biz_alias", "bizAlias").map(value_to_string);
    let value = field("value", "value").map(value_to_string);
    let ext_value = field("ext_value", "extValue");
    let value = decode_value(&component_type, value.as_deref(), ext_value);
    FormComponent {
        id,
        name,
        component_type,
        biz_alias,
        value,
    }
}

/// Renders a JSON scalar as DingTalk's string form; other values as compact JSON.
pub(crate) fn value_to_string(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Decodes a value given its component type, the value text and the extension value.
///
/// `ext_value` is a JSON string at top level and a JSON value inside table cells;
/// both are accepted.
pub(crate) fn decode_value(
    component_type: &str,
    value: Option<&str>,
    ext_value: Option<&Value>,
) -> FormValue {
    let Some(text) = value
        .map(str::trim)
        .filter(|text| !text.is_empty() && *text != "null")
    else {
        return FormValue::Empty;
    };
    let ext = ext_value.and_then(ext_as_json);
    match component_type {
        "TextField" | "TextareaField" => FormValue::Text(text.to_string()),
        "NumberField" | "CalculateField" => FormValue::Number(text.to_string()),
        "MoneyField" => FormValue::Money {
            amount: text.to_string(),
            upper: ext
                .as_ref()
                .and_then(|e| e.get("upper"))
                .and_then(Value::as_str)
                .map(String::from),
        },
        "DDSelectField" => FormValue::Select(SelectOption {
            label: text.to_string(),
            key: ext
                .as_ref()
                .and_then(|e| e.get("key"))
                .and_then(Value::as_str)
                .map(String::from),
        }),
        "DDMultiSelectField" => decode_multi_select(text, ext.as_ref()),
        "DDDateField" => match parse_form_date(text) {
            Some((date, time)) => FormValue::Date(FormDate { date, time }),
            None => malformed("not a date (yyyy-MM-dd or yyyy-MM-dd HH:mm)", text),
        },
        "DDDateRangeField" => decode_date_range(text),
        "DDAttachment" => decode_attachments(text),
        "DDPhotoField" => match serde_json::from_str::<Vec<String>>(text) {
            Ok(urls) => FormValue::Photos(urls),
            Err(_) => malformed("not a JSON array of image URLs", text),
        },
        "InnerContactField" => decode_contacts(text, ext.as_ref()),
        "DepartmentField" => decode_departments(text, ext.as_ref()),
        "RelateField" => decode_related(text, ext.as_ref()),
        "TextNote" => FormValue::TextNote(text.to_string()),
        "PhoneField" => FormValue::Phone {
            number: text.to_string(),
            country_code: ext
                .as_ref()
                .and_then(|e| e.get("countryCode"))
                .and_then(Value::as_str)
                .map(String::from),
        },
        "TableField" => match Table::decode(text) {
            Ok(table) => FormValue::Table(table),
            Err(reason) => malformed(&reason, text),
        },
        "DDBizSuite" => decode_suite(text),
        _ => FormValue::Unknown {
            value: Some(text.to_string()),
            ext_value: ext_value.map(value_to_string),
        },
    }
}

fn malformed(reason: &str, raw: &str) -> FormValue {
    FormValue::Malformed {
        reason: reason.to_string(),
        raw: raw.to_string(),
    }
}

/// Reads `ext_value`: a JSON string holding JSON, or (inside tables) JSON itself.
fn ext_as_json(ext: &Value) -> Option<Value> {
    match ext {
        Value::String(text) if text == "null" || text.is_empty() => None,
        Value::String(text) => serde_json::from_str(text).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

fn decode_multi_select(text: &str, ext: Option<&Value>) -> FormValue {
    let Ok(labels) = serde_json::from_str::<Vec<String>>(text) else {
        return malformed("not a JSON array of option labels", text);
    };
    let keys: Vec<(String, String)> = ext
        .and_then(Value::as_array)
        .map(|options| {
            options
                .iter()
                .filter_map(|o| {
                    Some((
                        o.get("label")?.as_str()?.to_string(),
                        o.get("key")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    FormValue::MultiSelect(
        labels
            .into_iter()
            .map(|label| {
                let key = keys
                    .iter()
                    .find(|(l, _)| *l == label)
                    .map(|(_, k)| k.clone());
                SelectOption { label, key }
            })
            .collect(),
    )
}

fn decode_date_range(text: &str) -> FormValue {
    let Ok(parts) = serde_json::from_str::<Vec<String>>(text) else {
        return malformed("not a JSON array of two dates", text);
    };
    match parts.as_slice() {
        [start, end] => match (parse_form_date(start), parse_form_date(end)) {
            (Some((sd, st)), Some((ed, et))) => FormValue::DateRange {
                start: FormDate { date: sd, time: st },
                end: FormDate { date: ed, time: et },
            },
            _ => malformed("a date of the range is not a date", text),
        },
        _ => malformed("a date range needs exactly two dates", text),
    }
}

fn decode_attachments(text: &str) -> FormValue {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return malformed("not a JSON array of files", text);
    };
    let files = items
        .iter()
        .filter_map(|item| {
            Some(Attachment {
                file_name: item.get("fileName").map(value_to_string)?,
                file_id: item.get("fileId").map(value_to_string),
                space_id: item.get("spaceId").map(value_to_string),
                file_size: item.get("fileSize").and_then(|size| match size {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }),
                file_type: item.get("fileType").map(value_to_string),
            })
        })
        .collect();
    FormValue::Attachments(files)
}

fn decode_contacts(text: &str, ext: Option<&Value>) -> FormValue {
    let from_ext: Vec<Contact> = ext
        .and_then(Value::as_array)
        .map(|people| {
            people
                .iter()
                .filter_map(|p| {
                    Some(Contact {
                        userid: p
                            .get("emplId")
                            .or_else(|| p.get("userId"))
                            .map(value_to_string),
                        name: p.get("name").map(value_to_string)?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_ext.is_empty() {
        return FormValue::Contacts(from_ext);
    }
    FormValue::Contacts(
        split_names(text)
            .map(|name| Contact { userid: None, name })
            .collect(),
    )
}

fn decode_departments(text: &str, ext: Option<&Value>) -> FormValue {
    let from_ext: Vec<Department> = ext
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|d| {
                    Some(Department {
                        id: d.get("id").or_else(|| d.get("itemId")).map(value_to_string),
                        name: d
                            .get("name")
                            .or_else(|| d.get("deptName"))
                            .map(value_to_string)?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_ext.is_empty() {
        return FormValue::Departments(from_ext);
    }
    FormValue::Departments(
        split_names(text)
            .map(|name| Department { id: None, name })
            .collect(),
    )
}

fn split_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split([',', '，'])
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(String::from)
}

fn decode_related(text: &str, ext: Option<&Value>) -> FormValue {
    let titles: Vec<String> = serde_json::from_str(text).unwrap_or_else(|_| vec![text.to_string()]);
    let links: Vec<&Value> = ext
        .and_then(|e| e.get("list"))
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    let count = titles.len().max(links.len());
    FormValue::RelatedApprovals(
        (0..count)
            .map(|i| RelatedApproval {
                title: titles.get(i).cloned(),
                business_id: links
                    .get(i)
                    .and_then(|l| l.get("businessId"))
                    .map(value_to_string),
                process_instance_id: links
                    .get(i)
                    .and_then(|l| l.get("procInstId"))
                    .map(value_to_string),
            })
            .collect(),
    )
}

fn decode_suite(text: &str) -> FormValue {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(children)) => FormValue::Suite(
            children
                .iter()
                .filter_map(Value::as_object)
                .map(decode_component)
                .collect(),
        ),
        Ok(_) => malformed(
            "an approval suite value must be a JSON array of components",
            text,
        ),
        Err(_) => malformed("an approval suite value is not valid JSON", text),
    }
}

#[cfg(test)]
#[path = "component_tests.rs"]
mod tests;
