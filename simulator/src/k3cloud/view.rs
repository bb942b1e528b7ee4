//! The bill as `View` returns it, and as the admin endpoint and test handle list it.
//!
//! The real `View` reply nests the bill under `Result.Result` with `ResponseStatus:
//! null`; base-data references expand to `{"Id","Number","Name":[{"Key":2052,…}]}`
//! with a sibling `<Field>_Id`, and dates read `yyyy-MM-ddTHH:mm:ss`.
// NOTE: real View replies use the form's ORM property names, which are not published
// for AP_PAYBILL; this rendering uses the field keys instead.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::k3cloud::base_data::Resolved;
use crate::k3cloud::metadata::{ENTRY_FIELDS, ENTRY_KEY, FieldDef, HEADER_FIELDS};
use crate::k3cloud::paybill::{FieldValue, Fields};
use crate::k3cloud::store::{DocumentStatus, StoredBill};
use crate::k3cloud::values::{decimal_json, format_date};

/// Renders a saved bill in the `View` shape.
pub fn render_bill(bill: &StoredBill) -> Value {
    let mut object = Map::new();
    object.insert("Id".to_string(), json!(bill.id));
    object.insert("FBillNo".to_string(), json!(bill.number));
    object.insert("FDOCUMENTSTATUS".to_string(), json!(bill.status.code()));
    object.insert(
        "FCreateDate".to_string(),
        json!(format_date(&bill.created_at)),
    );
    object.insert(
        "FModifyDate".to_string(),
        json!(format_date(&bill.modified_at)),
    );
    render_fields(&mut object, HEADER_FIELDS, &bill.header);
    let entries: Vec<Value> = bill
        .entries
        .iter()
        .map(|entry| {
            let mut row = Map::new();
            row.insert("Id".to_string(), json!(entry.id));
            row.insert("Seq".to_string(), json!(entry.seq));
            render_fields(&mut row, ENTRY_FIELDS, &entry.fields);
            Value::Object(row)
        })
        .collect();
    object.insert(ENTRY_KEY.to_string(), Value::Array(entries));
    Value::Object(object)
}

fn render_fields(out: &mut Map<String, Value>, defs: &[FieldDef], fields: &Fields) {
    for def in defs {
        let Some(value) = fields.get(def.key) else {
            continue;
        };
        match value {
            FieldValue::Ref(found) => {
                out.insert(def.key.to_string(), reference_json(found));
                out.insert(format!("{}_Id", def.key), json!(found.id));
            }
            other => {
                out.insert(def.key.to_string(), scalar_json(other));
            }
        }
    }
}

fn reference_json(found: &Resolved) -> Value {
    json!({
        "Id": found.id,
        "Number": found.number,
        "Name": [{"Key": 2052, "Value": found.name}],
    })
}

fn scalar_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Ref(found) => json!(found.id),
        FieldValue::Decimal(amount) => decimal_json(*amount),
        FieldValue::Date(date) => json!(format_date(date)),
        FieldValue::Text(text) => json!(text),
        FieldValue::Bool(flag) => json!(flag),
        FieldValue::Integer(number) => json!(number),
    }
}

/// A saved bill as tests read it through the simulator handle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BillSnapshot {
    /// Internal id (`FID`).
    pub id: i64,
    /// Bill number (`FBillNo`).
    pub number: String,
    /// Document status.
    pub status: DocumentStatus,
    /// `FDATE` as `yyyy-MM-dd`, if set.
    pub date: Option<String>,
    /// Entry rows in order.
    pub entries: Vec<EntrySnapshot>,
    /// Sum of the entries' `FPAYTOTALAMOUNTFOR`.
    pub total: Decimal,
    /// The full bill in the `View` shape.
    pub view: Value,
}

/// One entry row of a [`BillSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntrySnapshot {
    /// Entry id.
    pub id: i64,
    /// `FPAYTOTALAMOUNTFOR`, zero if absent.
    pub amount: Decimal,
    /// Number of the expense item (`FCOSTID`), if resolved.
    pub cost_item: Option<String>,
    /// Number of the settlement type (`FSETTLETYPEID`), if resolved.
    pub settlement_type: Option<String>,
    /// `FCOMMENT`, if set.
    pub comment: Option<String>,
}

impl BillSnapshot {
    /// Takes a snapshot of a stored bill.
    pub fn of(bill: &StoredBill) -> BillSnapshot {
        let entries: Vec<EntrySnapshot> = bill
            .entries
            .iter()
            .map(|entry| EntrySnapshot {
                id: entry.id,
                amount: match entry.fields.get("FPAYTOTALAMOUNTFOR") {
                    Some(FieldValue::Decimal(amount)) => *amount,
                    _ => Decimal::ZERO,
                },
                cost_item: reference_number(&entry.fields, "FCOSTID"),
                settlement_type: reference_number(&entry.fields, "FSETTLETYPEID"),
                comment: match entry.fields.get("FCOMMENT") {
                    Some(FieldValue::Text(text)) => Some(text.clone()),
                    _ => None,
                },
            })
            .collect();
        BillSnapshot {
            id: bill.id,
            number: bill.number.clone(),
            status: bill.status,
            date: match bill.header.get("FDATE") {
                Some(FieldValue::Date(date)) => Some(date.format("%Y-%m-%d").to_string()),
                _ => None,
            },
            total: entries.iter().map(|entry| entry.amount).sum(),
            entries,
            view: render_bill(bill),
        }
    }

    /// Number of the base-data record header field `key` refers to (e.g.
    /// `FCONTACTUNIT`), if it resolved.
    pub fn reference(&self, key: &str) -> Option<&str> {
        self.view.get(key)?.get("Number")?.as_str()
    }
}

fn reference_number(fields: &Fields, key: &str) -> Option<String> {
    match fields.get(key) {
        Some(FieldValue::Ref(found)) => Some(found.number.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::k3cloud::base_data::BaseData;
    use crate::k3cloud::paybill::{SaveOptions, parse_model};
    use crate::k3cloud::store::BillStore;
    use crate::k3cloud::test_support::valid_model;

    fn saved() -> StoredBill {
        let model = valid_model("BX-1");
        let options = SaveOptions {
            verify_base_data: true,
            validate: true,
            auto_submit_and_audit: false,
        };
        let draft = parse_model(
            model.as_object().unwrap(),
            0,
            &options,
            &BaseData::reference(),
        )
        .unwrap();
        let now = NaiveDate::from_ymd_opt(2026, 11, 4)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let mut store = BillStore::default();
        store
            .insert(draft, DocumentStatus::Created, now)
            .unwrap()
            .clone()
    }

    #[test]
    fn render_expands_references() {
        let view = render_bill(&saved());
        assert_eq!(view["FBillNo"], json!("BX-1"));
        assert_eq!(view["FCURRENCYID"]["Number"], json!("PRE001"));
        assert_eq!(view["FCURRENCYID"]["Name"][0]["Value"], json!("人民币"));
        assert_eq!(view["FCURRENCYID_Id"], view["FCURRENCYID"]["Id"]);
        assert_eq!(view["FDATE"], json!("2026-11-04T00:00:00"));
        assert_eq!(
            view["FPAYBILLENTRY"][1]["FPAYTOTALAMOUNTFOR"].to_string(),
            "1280.0000000000"
        );
    }

    #[test]
    fn snapshot_sums_entries() {
        let snapshot = BillSnapshot::of(&saved());
        assert_eq!(snapshot.total, Decimal::new(140050, 2));
        assert_eq!(snapshot.date.as_deref(), Some("2026-11-04"));
        assert_eq!(snapshot.entries[0].cost_item.as_deref(), Some("FYXM001"));
        assert_eq!(snapshot.reference("FCONTACTUNIT"), Some("EMP001"));
    }
}
