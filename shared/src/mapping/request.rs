//! The K3Cloud request a mapped bill becomes, for previews and golden tests.

use serde_json::{Map, Value};

use super::routes::MappedBill;
use crate::k3cloud::batch_save_data;

/// Returns the named `BatchSave` body `{"formid": …, "data": {…}}` that writes `bill`
/// alone, with the same `data` the K3Cloud client sends.
///
/// `auto_submit_and_audit` is `k3cloud.auto_submit_and_audit` of the configuration.
pub fn batch_save_request(bill: &MappedBill, auto_submit_and_audit: bool) -> Value {
    let data = batch_save_data(std::slice::from_ref(&bill.model), auto_submit_and_audit);
    let mut body = Map::new();
    body.insert("formid".into(), Value::String(bill.form_id.clone()));
    body.insert("data".into(), data);
    Value::Object(body)
}
