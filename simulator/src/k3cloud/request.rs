//! Service names and request bodies: every accepted shape becomes one positional call.
//!
//! K3Cloud is called as `POST {base}/{ServiceName}.common.kdsvc`. Clients send the
//! arguments in three shapes, and the server accepts all of them:
//!
//! - a `parameters` array, each element a JSON value or JSON text
//!   (`{"parameters": ["AP_PAYBILL", "{\"Model\":…}"]}`, the Java SDK);
//! - the legacy envelope whose `parameters` is JSON text of that array, beside
//!   `format`, `useragent`, `rid`, `timestamp` and `v`;
//! - named fields, matched to the service's parameter names ignoring letter case
//!   (`{"formid": …, "data": {…}}`, the Python SDK).
//!
//! Any argument that is JSON text of an object or array is parsed, so `data` may arrive
//! as an object or as a string.

use serde_json::{Map, Value};

use crate::k3cloud::values::{decode_json_text, get_ci};

/// An operation of the simulated WebAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `AuthService.ValidateUser`: session login with user name and password.
    ValidateUser,
    /// `AuthService.LoginByAppSecret`: session login with app id and app secret.
    LoginByAppSecret,
    /// `AuthService.LoginBySign`: session login with a SHA-256 sign.
    LoginBySign,
    /// `AuthService.Logout`: ends the caller's session.
    Logout,
    /// `AccountService.GetDataCenterList`: the account sets of the server.
    GetDataCenterList,
    /// `DynamicFormService.Save`: saves one bill.
    Save,
    /// `DynamicFormService.BatchSave`: saves many bills, each validated on its own.
    BatchSave,
    /// `DynamicFormService.Submit`: status A or D to B.
    Submit,
    /// `DynamicFormService.Audit`: status B to C.
    Audit,
    /// `DynamicFormService.UnAudit`: status C to D.
    UnAudit,
    /// `DynamicFormService.Delete`: removes bills in status A or D.
    Delete,
    /// `DynamicFormService.View`: one bill by number or id.
    View,
    /// `DynamicFormService.ExecuteBillQuery`: rows as arrays.
    ExecuteBillQuery,
    /// `DynamicFormService.BillQuery`: rows as objects.
    BillQuery,
}

const SERVICE_SUFFIX: &str = ".common.kdsvc";

impl Operation {
    /// Every operation, for listings and counters.
    pub const ALL: [Operation; 14] = [
        Operation::ValidateUser,
        Operation::LoginByAppSecret,
        Operation::LoginBySign,
        Operation::Logout,
        Operation::GetDataCenterList,
        Operation::Save,
        Operation::BatchSave,
        Operation::Submit,
        Operation::Audit,
        Operation::UnAudit,
        Operation::Delete,
        Operation::View,
        Operation::ExecuteBillQuery,
        Operation::BillQuery,
    ];

    /// Returns the full service name, as it appears in the URL before `.common.kdsvc`.
    pub fn service_name(self) -> &'static str {
        match self {
            Operation::ValidateUser => "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser",
            Operation::LoginByAppSecret => {
                "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret"
            }
            Operation::LoginBySign => "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginBySign",
            Operation::Logout => "Kingdee.BOS.WebApi.ServicesStub.AuthService.Logout",
            Operation::GetDataCenterList => {
                "Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList"
            }
            Operation::Save => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save",
            Operation::BatchSave => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave",
            Operation::Submit => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Submit",
            Operation::Audit => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Audit",
            Operation::UnAudit => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.UnAudit",
            Operation::Delete => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Delete",
            Operation::View => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.View",
            Operation::ExecuteBillQuery => {
                "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery"
            }
            Operation::BillQuery => "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BillQuery",
        }
    }

    /// Returns the short name used in counters and logs.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ValidateUser => "ValidateUser",
            Operation::LoginByAppSecret => "LoginByAppSecret",
            Operation::LoginBySign => "LoginBySign",
            Operation::Logout => "Logout",
            Operation::GetDataCenterList => "GetDataCenterList",
            Operation::Save => "Save",
            Operation::BatchSave => "BatchSave",
            Operation::Submit => "Submit",
            Operation::Audit => "Audit",
            Operation::UnAudit => "UnAudit",
            Operation::Delete => "Delete",
            Operation::View => "View",
            Operation::ExecuteBillQuery => "ExecuteBillQuery",
            Operation::BillQuery => "BillQuery",
        }
    }

    /// Finds the operation of a URL segment such as
    /// `Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc`.
    ///
    /// The namespace must be the real one; letter case is ignored.
    pub fn from_url_segment(segment: &str) -> Option<Operation> {
        let split = segment.len().checked_sub(SERVICE_SUFFIX.len())?;
        let (service, suffix) = segment.split_at_checked(split)?;
        if !suffix.eq_ignore_ascii_case(SERVICE_SUFFIX) {
            return None;
        }
        Operation::ALL
            .into_iter()
            .find(|op| op.service_name().eq_ignore_ascii_case(service))
    }

    /// Parameter names of the service, in positional order.
    fn parameter_names(self) -> &'static [&'static str] {
        match self {
            Operation::ValidateUser => &["acctID", "username", "password", "lcid"],
            Operation::LoginByAppSecret => &["acctID", "username", "appId", "appSecret", "lcid"],
            Operation::LoginBySign => &["acctID", "username", "appId", "timestamp", "sign", "lcid"],
            Operation::Logout | Operation::GetDataCenterList => &[],
            Operation::ExecuteBillQuery | Operation::BillQuery => &["data"],
            Operation::Save
            | Operation::BatchSave
            | Operation::Submit
            | Operation::Audit
            | Operation::UnAudit
            | Operation::Delete
            | Operation::View => &["formid", "data"],
        }
    }

    /// Returns true if the caller needs a session or valid signature headers.
    pub fn needs_auth(self) -> bool {
        !matches!(
            self,
            Operation::ValidateUser
                | Operation::LoginByAppSecret
                | Operation::LoginBySign
                | Operation::Logout
                | Operation::GetDataCenterList
        )
    }

    /// Returns true if the operation changes bills, so 网控 conflicts and lost replies apply.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::Save
                | Operation::BatchSave
                | Operation::Submit
                | Operation::Audit
                | Operation::UnAudit
                | Operation::Delete
        )
    }

    /// Returns true if error replies are wrapped as `[[{…}]]`, as `ExecuteBillQuery` does.
    pub fn wraps_errors(self) -> bool {
        self == Operation::ExecuteBillQuery
    }
}

/// One request reduced to positional arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Arguments in the service's positional order; missing named ones are `null`.
    pub args: Vec<Value>,

    /// The SDK's asynchronous "query" mode (`beginmethod: BeginQueryImpl`): the reply is
    /// wrapped in a completed task.
    pub async_task: bool,
}

impl Call {
    /// Returns argument `index`, or `null` when absent.
    pub fn arg(&self, index: usize) -> &Value {
        self.args.get(index).unwrap_or(&Value::Null)
    }
}

/// Reason a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is not JSON.
    #[error("request body is not valid JSON: {0}")]
    NotJson(String),

    /// The body is JSON but neither an object nor an array.
    #[error("request body must be a JSON object")]
    NotObject,

    /// `parameters` is neither an array nor JSON text of one.
    #[error("parameters must be an array or JSON text of an array")]
    BadParameters,
}

/// Reduces a request body to the positional arguments of `op`.
pub fn normalise(op: Operation, body: &[u8]) -> Result<Call, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Call {
            args: Vec::new(),
            async_task: false,
        });
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|error| BodyError::NotJson(error.to_string()))?;
    match value {
        Value::Object(mut map) => {
            let async_task = get_ci(&map, "beginmethod")
                .and_then(Value::as_str)
                .is_some_and(|method| method.eq_ignore_ascii_case("BeginQueryImpl"));
            let args = match take_ci(&mut map, "parameters") {
                Some(parameters) => positional(parameters)?,
                None => named(map, op.parameter_names()),
            };
            Ok(Call { args, async_task })
        }
        Value::Array(items) => Ok(Call {
            args: items.into_iter().map(decode_json_text).collect(),
            async_task: false,
        }),
        _ => Err(BodyError::NotObject),
    }
}

fn positional(parameters: Value) -> Result<Vec<Value>, BodyError> {
    match decode_json_text(parameters) {
        Value::Array(items) => Ok(items.into_iter().map(decode_json_text).collect()),
        Value::Null => Ok(Vec::new()),
        _ => Err(BodyError::BadParameters),
    }
}

fn named(mut map: Map<String, Value>, names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| take_ci(&mut map, name).map_or(Value::Null, decode_json_text))
        .collect()
}

/// Removes and returns the value of `key`, ignoring ASCII letter case, without copying
/// it (a `data` package can be megabytes).
fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = map
        .keys()
        .find(|candidate| candidate.eq_ignore_ascii_case(key))?
        .clone();
    map.remove(&actual)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(op: Operation, body: Value) -> Call {
        normalise(op, body.to_string().as_bytes()).expect("body is accepted")
    }

    #[test]
    fn url_segment_resolves_full_names_only() {
        assert_eq!(
            Operation::from_url_segment(
                "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc"
            ),
            Some(Operation::BatchSave)
        );
        assert_eq!(
            Operation::from_url_segment(
                "kingdee.bos.webapi.servicesstub.authservice.validateuser.common.kdsvc"
            ),
            Some(Operation::ValidateUser)
        );
        assert_eq!(
            Operation::from_url_segment(
                "Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList.common.kdsvc"
            ),
            Some(Operation::GetDataCenterList)
        );
        assert_eq!(
            Operation::from_url_segment("DynamicFormService.Save.common.kdsvc"),
            None
        );
        assert_eq!(
            Operation::from_url_segment("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save"),
            None
        );
    }

    #[test]
    fn positional_array_with_json_text_data() {
        let parsed = call(
            Operation::Save,
            json!({"parameters": ["AP_PAYBILL", "{\"Model\":{\"FBillNo\":\"X1\"}}"]}),
        );
        assert_eq!(parsed.args[0], json!("AP_PAYBILL"));
        assert_eq!(parsed.args[1], json!({"Model": {"FBillNo": "X1"}}));
    }

    #[test]
    fn legacy_envelope_with_parameters_text() {
        let parsed = call(
            Operation::ValidateUser,
            json!({
                "format": 1, "useragent": "ApiClient", "rid": "123",
                "parameters": "[\"66f0\",\"user\",\"pwd\",2052]",
                "timestamp": "2026-11-04", "v": "1.0"
            }),
        );
        assert_eq!(
            parsed.args,
            vec![json!("66f0"), json!("user"), json!("pwd"), json!(2052)]
        );
    }

    #[test]
    fn legacy_envelope_with_real_array() {
        let parsed = call(
            Operation::ValidateUser,
            json!({"format": 1, "parameters": ["66f0", "user", "pwd", 2052]}),
        );
        assert_eq!(parsed.args.len(), 4);
        assert_eq!(parsed.args[3], json!(2052));
    }

    #[test]
    fn named_fields_ignore_letter_case() {
        let parsed = call(
            Operation::LoginByAppSecret,
            json!({"acctid": "66f0", "UserName": "u", "appid": "a", "AppSecret": "s", "LCID": 2052}),
        );
        assert_eq!(
            parsed.args,
            vec![
                json!("66f0"),
                json!("u"),
                json!("a"),
                json!("s"),
                json!(2052)
            ]
        );
    }

    #[test]
    fn named_data_as_object_or_text() {
        let object = call(
            Operation::ExecuteBillQuery,
            json!({"data": {"FormId": "AP_PAYBILL"}}),
        );
        let text = call(
            Operation::ExecuteBillQuery,
            json!({"Data": "{\"FormId\":\"AP_PAYBILL\"}"}),
        );
        assert_eq!(object.args, text.args);
        assert_eq!(object.args[0], json!({"FormId": "AP_PAYBILL"}));
    }

    #[test]
    fn missing_named_fields_become_null() {
        let parsed = call(Operation::Save, json!({"data": {}}));
        assert_eq!(parsed.args, vec![Value::Null, json!({})]);
    }

    #[test]
    fn sdk_query_mode_is_detected() {
        let parsed = call(
            Operation::BatchSave,
            json!({"formid": "AP_PAYBILL", "data": {}, "beginmethod": "BeginQueryImpl",
                   "querymethod": "QueryAsyncResult"}),
        );
        assert!(parsed.async_task, "beginmethod marks the async task mode");
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        assert!(matches!(
            normalise(Operation::Save, b"{not json"),
            Err(BodyError::NotJson(_))
        ));
        assert_eq!(
            normalise(Operation::Save, b"\"text\""),
            Err(BodyError::NotObject)
        );
        assert_eq!(
            normalise(Operation::Save, br#"{"parameters": 5}"#),
            Err(BodyError::BadParameters)
        );
        assert_eq!(
            normalise(Operation::Save, br#"{"parameters": "not an array"}"#),
            Err(BodyError::BadParameters)
        );
    }

    #[test]
    fn empty_body_has_no_arguments() {
        let parsed = normalise(Operation::GetDataCenterList, b"").unwrap();
        assert!(parsed.args.is_empty(), "no arguments expected");
    }
}
