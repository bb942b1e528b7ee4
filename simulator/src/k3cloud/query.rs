//! `ExecuteBillQuery` and `BillQuery` over saved payment bills.
//!
//! `FieldKeys` is a comma-separated list of header keys (`FBillNo`, `FDATE`), entry
//! keys (`FPAYTOTALAMOUNTFOR`, `FPAYBILLENTRY_FEntryID`) and base-data attributes
//! (`FCOSTID.FNumber`, `FCONTACTUNIT.FName`). A bare base-data key returns the
//! internal id of the record. Once any key, filter or sort field is an entry field, the query returns one row
//! per entry, like the server's join. `TopRowCount` (0 = all) cuts first, then
//! `StartRow` and `Limit` (default 2000, at most 10000) page.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::k3cloud::filter::{Filter, QueryValue};
use crate::k3cloud::metadata::{
    ENTRY_KEY, FORM_ID, FieldDef, FieldKind, entry_field, header_field,
};
use crate::k3cloud::paybill::FieldValue;
use crate::k3cloud::response::msg_code;
use crate::k3cloud::store::{BillStore, StoredBill, StoredEntry};
use crate::k3cloud::values::{as_i64, as_text, decimal_json, format_date, get_ci};

/// Rows returned when `Limit` is absent or not positive.
pub const DEFAULT_LIMIT: usize = 2000;

/// Most rows one call returns.
pub const MAX_LIMIT: usize = 10_000;

/// Attribute of a base-data reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// The field itself: the internal id for references, the value otherwise.
    Value,
    /// `.FNumber`
    Number,
    /// `.FName`
    Name,
}

/// A resolved field key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `FID`
    Id,
    /// `FBillNo`
    BillNo,
    /// `FDocumentStatus`
    DocumentStatus,
    /// `FCreateDate`
    CreateDate,
    /// `FModifyDate`
    ModifyDate,
    /// `FPAYBILLENTRY_FEntryID` or `FEntryID`
    EntryId,
    /// `FPAYBILLENTRY_FSeq` or `FSeq`
    EntrySeq,
    /// A header field.
    Header(&'static FieldDef, Attr),
    /// An entry field.
    Entry(&'static FieldDef, Attr),
}

impl Column {
    /// Resolves a field key, ignoring letter case; `None` if the bill has no such field.
    pub fn resolve(key: &str) -> Option<Column> {
        let key = key.trim();
        let upper = key.to_ascii_uppercase();
        let entry_prefix = format!("{ENTRY_KEY}_");
        let unprefixed = upper.strip_prefix(&entry_prefix).unwrap_or(&upper);
        match unprefixed {
            "FENTRYID" => return Some(Column::EntryId),
            "FSEQ" => return Some(Column::EntrySeq),
            _ => {}
        }
        match upper.as_str() {
            "FID" => return Some(Column::Id),
            "FBILLNO" => return Some(Column::BillNo),
            "FDOCUMENTSTATUS" => return Some(Column::DocumentStatus),
            "FCREATEDATE" => return Some(Column::CreateDate),
            "FMODIFYDATE" => return Some(Column::ModifyDate),
            _ => {}
        }
        let (field, attr) = match key.split_once('.') {
            None => (key, Attr::Value),
            Some((field, attr)) if attr.eq_ignore_ascii_case("FNumber") => (field, Attr::Number),
            Some((field, attr)) if attr.eq_ignore_ascii_case("FName") => (field, Attr::Name),
            Some(_) => return None,
        };
        let is_reference =
            |def: &FieldDef| matches!(def.kind, FieldKind::BaseData(_) | FieldKind::UnitOf(_));
        if let Some(def) = header_field(field) {
            return (attr == Attr::Value || is_reference(def)).then_some(Column::Header(def, attr));
        }
        let def = entry_field(field)?;
        (attr == Attr::Value || is_reference(def)).then_some(Column::Entry(def, attr))
    }

    /// Returns true if the column belongs to entry rows.
    pub fn is_entry(self) -> bool {
        matches!(self, Column::EntryId | Column::EntrySeq | Column::Entry(..))
    }

    /// Returns the value of this column in the row of `bill` and `entry`.
    pub fn value(self, bill: &StoredBill, entry: Option<&StoredEntry>) -> QueryValue {
        match self {
            Column::Id => QueryValue::Int(bill.id),
            Column::BillNo => QueryValue::Text(bill.number.clone()),
            Column::DocumentStatus => QueryValue::Text(bill.status.code().to_string()),
            Column::CreateDate => QueryValue::Date(bill.created_at),
            Column::ModifyDate => QueryValue::Date(bill.modified_at),
            Column::EntryId => entry.map_or(QueryValue::Null, |row| QueryValue::Int(row.id)),
            Column::EntrySeq => {
                entry.map_or(QueryValue::Null, |row| QueryValue::Int(i64::from(row.seq)))
            }
            Column::Header(def, attr) => field_value(def, attr, bill.header.get(def.key)),
            Column::Entry(def, attr) => match entry {
                Some(row) => field_value(def, attr, row.fields.get(def.key)),
                None => QueryValue::Null,
            },
        }
    }
}

/// Converts a stored value; absent values read as the database defaults (0, empty
/// text, unchecked), except dates and base-data attributes, which are `NULL`.
fn field_value(def: &FieldDef, attr: Attr, value: Option<&FieldValue>) -> QueryValue {
    match (value, attr) {
        (Some(FieldValue::Ref(found)), Attr::Value) => QueryValue::Int(found.id),
        (Some(FieldValue::Ref(found)), Attr::Number) => QueryValue::Text(found.number.clone()),
        (Some(FieldValue::Ref(found)), Attr::Name) => QueryValue::Text(found.name.clone()),
        (Some(FieldValue::Decimal(amount)), _) => QueryValue::Decimal(*amount),
        (Some(FieldValue::Date(date)), _) => QueryValue::Date(*date),
        (Some(FieldValue::Text(text)), _) => QueryValue::Text(text.clone()),
        (Some(FieldValue::Bool(flag)), _) => QueryValue::Bool(*flag),
        (Some(FieldValue::Integer(number)), _) => QueryValue::Int(*number),
        (None, Attr::Number | Attr::Name) => QueryValue::Null,
        (None, Attr::Value) => match def.kind {
            FieldKind::BaseData(_) | FieldKind::UnitOf(_) | FieldKind::Integer => {
                QueryValue::Int(0)
            }
            FieldKind::Decimal => QueryValue::Decimal(Default::default()),
            FieldKind::Text => QueryValue::Text(String::new()),
            FieldKind::Bool => QueryValue::Bool(false),
            FieldKind::Date => QueryValue::Null,
        },
    }
}

/// Converts a query value to its JSON form in replies.
pub fn to_json(value: &QueryValue) -> Value {
    match value {
        QueryValue::Null => Value::Null,
        QueryValue::Int(number) => Value::from(*number),
        QueryValue::Decimal(amount) => decimal_json(*amount),
        QueryValue::Text(text) => Value::String(text.clone()),
        QueryValue::Date(date) => Value::String(format_date(date)),
        QueryValue::Bool(flag) => Value::Bool(*flag),
    }
}

/// A query that could not run: the `MsgCode` and the server's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// `MsgCode` of the reply.
    pub code: i64,
    /// Message of the reply.
    pub message: String,
}

impl QueryError {
    fn new(code: i64, message: impl Into<String>) -> QueryError {
        QueryError {
            code,
            message: message.into(),
        }
    }
}

/// A checked query.
#[derive(Debug, Clone)]
pub struct BillQuery {
    /// Field keys as the caller wrote them, in order.
    pub keys: Vec<String>,
    columns: Vec<Column>,
    filter: Filter,
    filter_columns: HashMap<String, Column>,
    order: Vec<(Column, bool)>,
    top: usize,
    start: usize,
    limit: usize,
}

fn unknown_field(key: &str) -> QueryError {
    QueryError::new(
        msg_code::NO_SUCH_FIELD,
        format!("元数据中标识为{}的字段不存在", key.trim()),
    )
}

impl BillQuery {
    /// Checks the `data` package of a query.
    pub fn parse(data: &Value) -> Result<BillQuery, QueryError> {
        let Value::Object(data) = data else {
            return Err(QueryError::new(
                msg_code::BAD_PARAMETER,
                "data数据包中的参数FormId的值不能为空。",
            ));
        };
        let form_id = as_text(get_ci(data, "FormId")).unwrap_or_default();
        if form_id.trim().is_empty() {
            return Err(QueryError::new(
                msg_code::BAD_PARAMETER,
                "data数据包中的参数FormId的值不能为空。",
            ));
        }
        if !form_id.trim().eq_ignore_ascii_case(FORM_ID) {
            return Err(QueryError::new(
                msg_code::EXCEPTION,
                format!("标识为“{}”的业务对象不存在，或者被删除。", form_id.trim()),
            ));
        }
        let keys = field_keys(data);
        if keys.is_empty() {
            return Err(QueryError::new(
                msg_code::BAD_PARAMETER,
                "data数据包中的参数FieldKeys的值不能为空。",
            ));
        }
        let columns = keys
            .iter()
            .map(|key| Column::resolve(key).ok_or_else(|| unknown_field(key)))
            .collect::<Result<Vec<_>, _>>()?;

        let filter = Filter::parse(get_ci(data, "FilterString").unwrap_or(&Value::Null))
            .map_err(|error| QueryError::new(msg_code::EXCEPTION, error.0))?;
        let mut filter_columns = HashMap::new();
        for field in filter.fields() {
            let column = Column::resolve(field).ok_or_else(|| unknown_field(field))?;
            filter_columns.insert(field.to_ascii_uppercase(), column);
        }
        let order = parse_order(data)?;

        let number = |key: &str| as_i64(get_ci(data, key)).unwrap_or(0).max(0) as usize;
        let limit = match number("Limit") {
            0 => DEFAULT_LIMIT,
            requested => requested.min(MAX_LIMIT),
        };
        Ok(BillQuery {
            keys,
            columns,
            filter,
            filter_columns,
            order,
            top: number("TopRowCount"),
            start: number("StartRow"),
            limit,
        })
    }

    /// Runs the query and returns rows with one value per field key.
    pub fn run(&self, store: &BillStore) -> Vec<Vec<QueryValue>> {
        let per_entry = self.columns.iter().any(|column| column.is_entry())
            || self.filter_columns.values().any(|column| column.is_entry())
            || self.order.iter().any(|(column, _)| column.is_entry());

        let candidates: Vec<&StoredBill> = match self.filter.bill_numbers() {
            Some(numbers) => {
                let ids: BTreeSet<i64> = numbers
                    .iter()
                    .filter_map(|number| store.find_number(number))
                    .map(|bill| bill.id)
                    .collect();
                ids.into_iter().filter_map(|id| store.get(id)).collect()
            }
            None => store.iter().collect(),
        };

        let mut rows: Vec<(&StoredBill, Option<&StoredEntry>)> = Vec::new();
        for bill in candidates {
            if per_entry && !bill.entries.is_empty() {
                rows.extend(bill.entries.iter().map(|entry| (bill, Some(entry))));
            } else {
                rows.push((bill, None));
            }
        }
        rows.retain(|(bill, entry)| {
            let value_of = |field: &str| {
                self.filter_columns
                    .get(&field.to_ascii_uppercase())
                    .map_or(QueryValue::Null, |column| column.value(bill, *entry))
            };
            self.filter.matches(&value_of)
        });
        if !self.order.is_empty() {
            rows.sort_by(|left, right| {
                for (column, descending) in &self.order {
                    let ordering = order_values(
                        &column.value(left.0, left.1),
                        &column.value(right.0, right.1),
                    );
                    let ordering = if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    };
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        if self.top > 0 {
            rows.truncate(self.top);
        }
        rows.into_iter()
            .skip(self.start)
            .take(self.limit)
            .map(|(bill, entry)| {
                self.columns
                    .iter()
                    .map(|column| column.value(bill, entry))
                    .collect()
            })
            .collect()
    }
}

fn field_keys(data: &Map<String, Value>) -> Vec<String> {
    let raw = match get_ci(data, "FieldKeys") {
        Some(Value::String(text)) => text.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| as_text(Some(item)))
            .collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .map(|key: String| key.trim().to_string())
        .filter(|key| !key.is_empty())
        .collect()
}

fn parse_order(data: &Map<String, Value>) -> Result<Vec<(Column, bool)>, QueryError> {
    let text = as_text(get_ci(data, "OrderString")).unwrap_or_default();
    let mut order = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let mut words = part.split_whitespace();
        let key = words.next().unwrap_or_default();
        let descending = match words.next() {
            None => false,
            Some(word) if word.eq_ignore_ascii_case("ASC") => false,
            Some(word) if word.eq_ignore_ascii_case("DESC") => true,
            Some(word) => {
                return Err(QueryError::new(
                    msg_code::EXCEPTION,
                    format!("排序字段“{part}”中的“{word}”无效"),
                ));
            }
        };
        let column = Column::resolve(key).ok_or_else(|| unknown_field(key))?;
        order.push((column, descending));
    }
    Ok(order)
}

/// Sort order of two values of one column; `NULL` first, as SQL Server sorts.
fn order_values(left: &QueryValue, right: &QueryValue) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (left, right) {
        (QueryValue::Null, QueryValue::Null) => Ordering::Equal,
        (QueryValue::Null, _) => Ordering::Less,
        (_, QueryValue::Null) => Ordering::Greater,
        (QueryValue::Int(a), QueryValue::Int(b)) => a.cmp(b),
        (QueryValue::Decimal(a), QueryValue::Decimal(b)) => a.cmp(b),
        (QueryValue::Date(a), QueryValue::Date(b)) => a.cmp(b),
        (QueryValue::Bool(a), QueryValue::Bool(b)) => a.cmp(b),
        (QueryValue::Text(a), QueryValue::Text(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests;
