//! Request URLs and bodies in the named form of Kingdee's official Python SDK:
//! `{"formid": …, "data": {…}}` for form services and `{"data": {…}}` for
//! `ExecuteBillQuery`, with `data` a nested JSON object rather than a JSON string.
//!
//! The builders are pure, so the mapping preview and the dead-letter tooling can show
//! the exact `data` a `BatchSave` would send without a server.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::operation::Operation;

/// Default page size of `ExecuteBillQuery`; K3Cloud documents 2000 as the default and
/// 10000 as the maximum.
pub const DEFAULT_QUERY_LIMIT: u64 = 2000;

/// Builds `{base}{service}.common.kdsvc`; `base` ends in `/` after validation.
pub fn service_url(base: &Url, operation: Operation) -> Result<Url, url::ParseError> {
    base.join(&format!("{}.common.kdsvc", operation.service_name()))
}

/// Returns the `data` object of a `BatchSave` for `models`, with the write defaults:
/// base data is verified (otherwise K3Cloud silently drops an unknown number), fields are
/// reordered by K3Cloud so that later fields cannot overwrite earlier ones, and
/// validation runs.
pub fn batch_save_data(models: &[Value], auto_submit_and_audit: bool) -> Value {
    write_data(Value::Array(models.to_vec()), auto_submit_and_audit)
}

/// Returns the `data` object of a `Save` of one model, with the same defaults as
/// [`batch_save_data`].
pub fn save_data(model: &Value, auto_submit_and_audit: bool) -> Value {
    write_data(model.clone(), auto_submit_and_audit)
}

/// Flags are strings, as in the templates of K3Cloud's own WebAPI pages; the server
/// accepts JSON booleans too. `BatchCount` is left out on purpose: with it, `DIndex`
/// counts within each server-side batch instead of the submitted array.
fn write_data(model: Value, auto_submit_and_audit: bool) -> Value {
    json!({
        "NeedUpDateFields": [],
        "NeedReturnFields": [],
        "IsDeleteEntry": "true",
        "IsVerifyBaseDataField": "true",
        "IsEntryBatchFill": "true",
        "ValidateFlag": "true",
        "NumberSearch": "true",
        "IsAutoAdjustField": "true",
        "IsAutoSubmitAndAudit": if auto_submit_and_audit { "true" } else { "false" },
        "Model": model,
    })
}

/// Returns the `data` of `Submit`, `Audit` or `Delete` for bill numbers.
pub fn numbers_data(bill_numbers: &[String]) -> Value {
    json!({
        "CreateOrgId": 0,
        "Numbers": bill_numbers,
        "Ids": "",
    })
}

/// Key of the bill a `View` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewKey {
    /// Bill number (`FBillNo`).
    Number(String),
    /// Internal id (`FID`).
    Id(i64),
}

/// Returns the `data` of `View`; K3Cloud takes either `Number` or `Id`.
pub fn view_data(key: &ViewKey) -> Value {
    let (number, id) = match key {
        ViewKey::Number(number) => (number.clone(), String::new()),
        ViewKey::Id(id) => (String::new(), id.to_string()),
    };
    json!({
        "CreateOrgId": 0,
        "Number": number,
        "Id": id,
        "IsSortBySeq": "false",
    })
}

/// Wraps a form service's `data` with its form id.
pub fn form_body(form_id: &str, data: Value) -> Value {
    json!({ "formid": form_id, "data": data })
}

/// An `ExecuteBillQuery` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillQuery {
    /// Form id, e.g. `AP_PAYBILL`.
    pub form_id: String,
    /// Columns of each row, in order; `FID`, `FBillNo`, `FSupplierId.FNumber`, ….
    pub field_keys: Vec<String>,
    /// SQL-like filter, e.g. `FBillNo in ('A','B')`; empty for none. K3Cloud's documentation
    /// requires a filter on every query because unbounded queries can time out.
    pub filter: String,
    /// Order clause, e.g. `FID DESC`; empty for the server's order.
    pub order: String,
    /// Rows to skip, for paging.
    pub start_row: u64,
    /// Rows per page (K3Cloud's maximum is 10000).
    pub limit: u64,
    /// Row cap over all pages; 0 for none.
    pub top_row_count: u64,
}

impl BillQuery {
    /// Creates a query of `field_keys` on `form_id` with no filter and the default page.
    pub fn new(form_id: impl Into<String>, field_keys: &[&str]) -> BillQuery {
        BillQuery {
            form_id: form_id.into(),
            field_keys: field_keys.iter().map(|key| key.to_string()).collect(),
            filter: String::new(),
            order: String::new(),
            start_row: 0,
            limit: DEFAULT_QUERY_LIMIT,
            top_row_count: 0,
        }
    }

    /// Sets the filter string.
    pub fn with_filter(mut self, filter: impl Into<String>) -> BillQuery {
        self.filter = filter.into();
        self
    }

    /// Returns the request body, `{"data": {...}}`.
    pub fn body(&self) -> Value {
        json!({
            "data": {
                "FormId": self.form_id,
                "FieldKeys": self.field_keys.join(","),
                "FilterString": self.filter,
                "OrderString": self.order,
                "TopRowCount": self.top_row_count,
                "StartRow": self.start_row,
                "Limit": self.limit,
                "SubSystemId": "",
            }
        })
    }
}

/// Builds `<field> in ('a','b')`, doubling single quotes as SQL string literals need.
pub fn in_filter(field: &str, values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|value| format!("'{}'", value.replace('\'', "''")))
        .collect();
    format!("{field} in ({})", quoted.join(","))
}

/// Body of `AuthService.LoginByAppSecret`, named after the service's parameters.
pub fn login_by_app_secret_body(
    acct_id: &str,
    username: &str,
    app_id: &str,
    app_secret: &SecretString,
    lcid: u32,
) -> Value {
    json!({
        "acctID": acct_id,
        "username": username,
        "appId": app_id,
        "appSecret": app_secret.expose_secret(),
        "lcid": lcid,
    })
}

/// Body of `AuthService.ValidateUser`.
pub fn validate_user_body(
    acct_id: &str,
    username: &str,
    password: &SecretString,
    lcid: u32,
) -> Value {
    json!({
        "acctID": acct_id,
        "username": username,
        "password": password.expose_secret(),
        "lcid": lcid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_url_appends_suffix() {
        let base = Url::parse("http://127.0.0.1:8080/k3cloud/").unwrap();
        let url = service_url(&base, Operation::Save).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
        );
    }

    #[test]
    fn batch_save_data_pins_defaults_and_order() {
        let models = vec![json!({"FBillNo": "DD-1"}), json!({"FBillNo": "DD-2"})];
        let data = batch_save_data(&models, false);
        let expected = r#"{"NeedUpDateFields":[],"NeedReturnFields":[],"IsDeleteEntry":"true","IsVerifyBaseDataField":"true","IsEntryBatchFill":"true","ValidateFlag":"true","NumberSearch":"true","IsAutoAdjustField":"true","IsAutoSubmitAndAudit":"false","Model":[{"FBillNo":"DD-1"},{"FBillNo":"DD-2"}]}"#;
        assert_eq!(data.to_string(), expected);
    }

    #[test]
    fn batch_save_data_follows_auto_submit() {
        let data = batch_save_data(&[], true);
        assert_eq!(data["IsAutoSubmitAndAudit"], "true");
    }

    #[test]
    fn model_key_order_is_kept() {
        let model: Value = serde_json::from_str(
            r#"{"FPAYORGID":{"FNumber":"100"},"FDATE":"2026-03-04","FBillNo":"X"}"#,
        )
        .unwrap();
        let data = save_data(&model, false);
        assert_eq!(
            data["Model"].to_string(),
            r#"{"FPAYORGID":{"FNumber":"100"},"FDATE":"2026-03-04","FBillNo":"X"}"#,
            "K3Cloud applies fields in JSON order"
        );
    }

    #[test]
    fn form_body_has_named_shape() {
        let body = form_body("AP_PAYBILL", numbers_data(&["DD-1".to_string()]));
        assert_eq!(
            body.to_string(),
            r#"{"formid":"AP_PAYBILL","data":{"CreateOrgId":0,"Numbers":["DD-1"],"Ids":""}}"#
        );
    }

    #[test]
    fn view_data_sets_number_or_id() {
        let by_number = view_data(&ViewKey::Number("DD-1".to_string()));
        assert_eq!(by_number["Number"], "DD-1");
        assert_eq!(by_number["Id"], "");
        let by_id = view_data(&ViewKey::Id(100029));
        assert_eq!(by_id["Id"], "100029");
    }

    #[test]
    fn query_body_joins_field_keys() {
        let query = BillQuery::new("AP_PAYBILL", &["FID", "FBillNo"]).with_filter("FID > 0");
        let body = query.body();
        assert_eq!(body["data"]["FieldKeys"], "FID,FBillNo");
        assert_eq!(body["data"]["FilterString"], "FID > 0");
        assert_eq!(body["data"]["Limit"], 2000);
    }

    #[test]
    fn in_filter_escapes_quotes() {
        let filter = in_filter("FBillNo", &["A".to_string(), "O'B".to_string()]);
        assert_eq!(filter, "FBillNo in ('A','O''B')");
    }
}
