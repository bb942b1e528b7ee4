//! Reading and validating one `AP_PAYBILL` model of a Save or BatchSave.
//!
//! The rules follow the real server:
//! - base-data references (`{"FNumber": …}`, any letter case, or `{"Id": …}`) resolve
//!   against the base data; `FCONTACTUNITTYPE`/`FRECTUNITTYPE` name the table of
//!   `FCONTACTUNIT`/`FRECTUNIT`;
//! - with `IsVerifyBaseDataField: true` an unresolved reference is an error naming the
//!   field. With the default `false` the value is dropped, so a required field then
//!   fails the required-field rule;
//! - required header and entry fields, and our bank account on every entry whose
//!   settlement type is a bank type, unless `ValidateFlag` is `false`.
//!
//! Only the "必填项", "字段必录" and "银行业务的结算方式" messages are verbatim server
//! wording. The messages for unresolved references and unreadable values are the
//! simulator's own, because no sample of the real text is known.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::k3cloud::base_data::{BaseData, Resolved, SettlementKind};
use crate::k3cloud::metadata::{
    ENTRY_FIELDS, ENTRY_KEY, ENTRY_LABEL, FieldDef, FieldKind, HEADER_FIELDS, REQUIRED_ENTRY,
    REQUIRED_HEADER, entry_field, entry_positions, header_field, header_positions, unit_type,
};
use crate::k3cloud::response::FieldError;
use crate::k3cloud::values::{as_bool, as_date, as_decimal, as_i64, as_text, get_ci};

/// A field value after reading and resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A resolved base-data reference.
    Ref(Resolved),
    /// An exact decimal.
    Decimal(Decimal),
    /// A date-time.
    Date(NaiveDateTime),
    /// A text or combo value.
    Text(String),
    /// A check box.
    Bool(bool),
    /// An integer.
    Integer(i64),
}

/// Field values keyed by the metadata's field key.
pub type Fields = BTreeMap<&'static str, FieldValue>;

/// Save options read from the `data` package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveOptions {
    /// `IsVerifyBaseDataField` (default false): unresolved references are errors.
    pub verify_base_data: bool,
    /// `ValidateFlag` (default true): run required-field and bank-account checks.
    pub validate: bool,
    /// `IsAutoSubmitAndAudit` (default false): save straight to status C.
    pub auto_submit_and_audit: bool,
}

impl SaveOptions {
    /// Reads the options from a Save or BatchSave `data` object.
    pub fn from_data(data: &Map<String, Value>) -> SaveOptions {
        SaveOptions {
            verify_base_data: as_bool(get_ci(data, "IsVerifyBaseDataField"), false),
            validate: as_bool(get_ci(data, "ValidateFlag"), true),
            auto_submit_and_audit: as_bool(get_ci(data, "IsAutoSubmitAndAudit"), false),
        }
    }
}

/// A model that passed validation, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillDraft {
    /// `FID`; 0 for a new bill.
    pub fid: i64,
    /// `FBillNo` if the caller gave one.
    pub bill_no: Option<String>,
    /// Header values.
    pub header: Fields,
    /// Entry rows in request order.
    pub entries: Vec<Fields>,
}

enum ReadError {
    Unresolved(String),
    Invalid(String),
}

/// Reads and validates model `index` of a request.
pub fn parse_model(
    model: &Map<String, Value>,
    index: usize,
    options: &SaveOptions,
    base: &BaseData,
) -> Result<BillDraft, Vec<FieldError>> {
    let mut errors = Vec::new();

    let mut header = Fields::new();
    let raw_header = slots(model, HEADER_FIELDS, header_positions());
    for (def, raw) in HEADER_FIELDS.iter().zip(raw_header) {
        match read_field(def, raw, &header, base) {
            Ok(Some(value)) => {
                header.insert(def.key, value);
            }
            Ok(None) => {}
            Err(error) => {
                if let Some(message) = header_message(def, &error, options) {
                    errors.push(FieldError::new(Some(def.key), message, index));
                }
            }
        }
    }
    // The settlement currency defaults to the bill currency, as on the entry screen.
    if !header.contains_key("FSETTLECUR")
        && let Some(currency) = header.get("FCURRENCYID").cloned()
    {
        header.insert("FSETTLECUR", currency);
    }
    if options.validate {
        for key in REQUIRED_HEADER {
            if is_empty(header.get(key)) {
                let label = header_field(key).map_or(key, |def| def.label);
                errors.push(FieldError::new(
                    Some(key),
                    format!("字段“{label}”是必填项"),
                    index,
                ));
            }
        }
    }

    let rows = entry_rows(model);
    if rows.is_empty() && options.validate {
        errors.push(FieldError::new(
            Some(ENTRY_KEY),
            format!("单据体实体【{ENTRY_LABEL}】至少需要录入一行分录"),
            index,
        ));
    }
    let mut entries = Vec::with_capacity(rows.len());
    for (row_index, row) in rows.iter().enumerate() {
        let row_number = row_index + 1;
        let fields = parse_entry(row, row_number, index, options, base, &mut errors);
        entries.push(fields);
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let bill_no = as_text(get_ci(model, "FBillNo"))
        .map(|number| number.trim().to_string())
        .filter(|number| !number.is_empty());
    Ok(BillDraft {
        fid: as_i64(get_ci(model, "FID")).unwrap_or(0),
        bill_no,
        header,
        entries,
    })
}

fn parse_entry(
    row: &Map<String, Value>,
    row_number: usize,
    index: usize,
    options: &SaveOptions,
    base: &BaseData,
    errors: &mut Vec<FieldError>,
) -> Fields {
    let mut fields = Fields::new();
    let raw_fields = slots(row, ENTRY_FIELDS, entry_positions());
    for (def, raw) in ENTRY_FIELDS.iter().zip(raw_fields) {
        match read_field(def, raw, &fields, base) {
            Ok(Some(value)) => {
                fields.insert(def.key, value);
            }
            Ok(None) => {}
            Err(error) => {
                if let Some(message) = entry_message(def, row_number, &error, options) {
                    errors.push(FieldError::new(Some(def.key), message, index));
                }
            }
        }
    }
    if let Some(entry_id) = as_i64(get_ci(row, "FEntryID")) {
        fields.insert("FEntryID", FieldValue::Integer(entry_id));
    }
    if !options.validate {
        return fields;
    }
    for key in REQUIRED_ENTRY {
        if is_empty(fields.get(key)) {
            let label = entry_field(key).map_or(key, |def| def.label);
            errors.push(FieldError::new(
                Some(key),
                format!("单据体实体【{ENTRY_LABEL}】第【{row_number}】行分录，【{label}】字段必录"),
                index,
            ));
        }
    }
    let is_bank = matches!(
        fields.get("FSETTLETYPEID"),
        Some(FieldValue::Ref(Resolved {
            kind: Some(SettlementKind::Bank),
            ..
        }))
    );
    if is_bank && is_empty(fields.get("FACCOUNTID")) {
        errors.push(FieldError::new(
            Some("FACCOUNTID"),
            format!("第{row_number}行分录，银行业务的结算方式，我方银行相关信息必录！"),
            index,
        ));
    }
    fields
}

/// Returns the value of each of `defs` in `object`, matching keys ignoring letter case.
fn slots<'a>(
    object: &'a Map<String, Value>,
    defs: &[FieldDef],
    positions: &HashMap<String, usize>,
) -> Vec<Option<&'a Value>> {
    let mut values = vec![None; defs.len()];
    for (key, value) in object {
        if let Some(position) = positions.get(&key.to_ascii_uppercase()) {
            values[*position] = Some(value);
        }
    }
    values
}

fn entry_rows(model: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    match get_ci(model, ENTRY_KEY) {
        Some(Value::Array(rows)) => rows.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(row)) => vec![row],
        _ => Vec::new(),
    }
}

/// Returns true if a required value is missing: absent, an empty text, or a zero amount.
fn is_empty(value: Option<&FieldValue>) -> bool {
    match value {
        None => true,
        Some(FieldValue::Text(text)) => text.trim().is_empty(),
        Some(FieldValue::Decimal(amount)) => amount.is_zero(),
        Some(_) => false,
    }
}

fn header_message(def: &FieldDef, error: &ReadError, options: &SaveOptions) -> Option<String> {
    let label = def.label;
    match error {
        ReadError::Unresolved(number) if options.verify_base_data => Some(format!(
            "字段“{label}”引用的基础资料“{number}”不存在或已禁用"
        )),
        ReadError::Unresolved(_) => None,
        ReadError::Invalid(text) => Some(format!("字段“{label}”的值“{text}”无效")),
    }
}

fn entry_message(
    def: &FieldDef,
    row_number: usize,
    error: &ReadError,
    options: &SaveOptions,
) -> Option<String> {
    let label = def.label;
    let prefix = format!("单据体实体【{ENTRY_LABEL}】第【{row_number}】行分录，");
    match error {
        ReadError::Unresolved(number) if options.verify_base_data => Some(format!(
            "{prefix}字段【{label}】引用的基础资料“{number}”不存在或已禁用"
        )),
        ReadError::Unresolved(_) => None,
        ReadError::Invalid(text) => Some(format!("{prefix}字段【{label}】的值“{text}”无效")),
    }
}

/// Reads one field; `Ok(None)` when the value is absent or empty.
fn read_field(
    def: &FieldDef,
    raw: Option<&Value>,
    earlier: &Fields,
    base: &BaseData,
) -> Result<Option<FieldValue>, ReadError> {
    let Some(raw) = raw.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    match def.kind {
        FieldKind::BaseData(form) => resolve(form, raw, base),
        FieldKind::UnitOf(type_key) => match earlier.get(type_key) {
            Some(FieldValue::Text(unit_form)) => match unit_type(unit_form) {
                Some(form) => resolve(form, raw, base),
                None => Ok(None),
            },
            // Without a valid unit type the unit cannot be looked up; the required
            // rule then reports both fields.
            _ => Ok(None),
        },
        FieldKind::Decimal => as_decimal(Some(raw))
            .map(|amount| amount.map(FieldValue::Decimal))
            .map_err(|invalid| ReadError::Invalid(invalid.0)),
        FieldKind::Date => as_date(Some(raw))
            .map(|date| date.map(FieldValue::Date))
            .map_err(|invalid| ReadError::Invalid(invalid.0)),
        FieldKind::Text => {
            let text = as_text(Some(raw)).filter(|text| !text.trim().is_empty());
            if def.key == "FCONTACTUNITTYPE" || def.key == "FRECTUNITTYPE" {
                // Combo value: anything outside the list is dropped like an unknown item.
                return Ok(text
                    .as_deref()
                    .and_then(unit_type)
                    .map(|form| FieldValue::Text(form.to_string())));
            }
            Ok(text.map(FieldValue::Text))
        }
        FieldKind::Bool => Ok(Some(FieldValue::Bool(as_bool(Some(raw), false)))),
        FieldKind::Integer => match as_i64(Some(raw)) {
            Some(number) => Ok(Some(FieldValue::Integer(number))),
            None if as_text(Some(raw)).is_some_and(|text| text.trim().is_empty()) => Ok(None),
            None => Err(ReadError::Invalid(raw.to_string())),
        },
    }
}

/// Resolves `{"FNumber": …}` (any letter case) or `{"Id": …}` / `{"FID": …}` in `form`.
fn resolve(
    form: &'static str,
    raw: &Value,
    base: &BaseData,
) -> Result<Option<FieldValue>, ReadError> {
    let Value::Object(reference) = raw else {
        // NOTE: a bare string is treated as an unresolvable reference; the real server's
        // handling of that shape is not documented.
        return match as_text(Some(raw)) {
            Some(text) if !text.trim().is_empty() => Err(ReadError::Unresolved(text)),
            _ => Ok(None),
        };
    };
    if let Some(number) = as_text(get_ci(reference, "FNumber")) {
        if number.trim().is_empty() {
            return Ok(None);
        }
        return base
            .lookup(form, &number)
            .map(|found| Some(FieldValue::Ref(found)))
            .ok_or(ReadError::Unresolved(number));
    }
    let id = as_i64(get_ci(reference, "Id").or_else(|| get_ci(reference, "FID")));
    match id {
        Some(0) | None => Ok(None),
        Some(id) => base
            .lookup_id(form, id)
            .map(|found| Some(FieldValue::Ref(found)))
            .ok_or(ReadError::Unresolved(id.to_string())),
    }
}

#[cfg(test)]
mod tests;
