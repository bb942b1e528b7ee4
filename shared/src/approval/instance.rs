//! Approval instances (审批实例) decoded from either DingTalk API generation.
//!
//! The instance JSON is kept exactly as fetched (`raw`) and the typed view is derived
//! from it. The message envelope carries `raw`, so a consumer that runs a newer mapping
//! or a fixed decoder sees every byte DingTalk sent.

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::component::{FormComponent, FormValue, decode_component, value_to_string};
use super::table::Table;
use super::time::parse_instance_time;

/// Which DingTalk API produced an instance object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiGeneration {
    /// Legacy `oapi.dingtalk.com/topapi/…`: snake_case, `"null"` for empty values.
    Topapi,
    /// `api.dingtalk.com/v1.0/…`: camelCase, empty values omitted.
    V1,
}

/// Lifecycle status of an instance (`status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceStatus {
    /// Created, not yet running.
    New,
    /// Waiting for approvers (审批中).
    Running,
    /// Withdrawn or terminated (已撤销).
    Terminated,
    /// Finished; see [`ApprovalResult`] for agree or refuse.
    Completed,
    /// Cancelled.
    Canceled,
    /// A status this model does not know, kept verbatim.
    Other(String),
}

/// Outcome of a finished instance (`result`); empty while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalResult {
    /// Approved (同意).
    Agree,
    /// Refused (拒绝).
    Refuse,
    /// No result yet, or none (terminated instances have none).
    None,
    /// A result this model does not know, kept verbatim.
    Other(String),
}

/// Why an instance object could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The instance is not a JSON object.
    #[error("the approval instance is not a JSON object")]
    NotAnObject,
    /// The form values are present but not an array.
    #[error("the form values of the approval instance are not a JSON array")]
    FormNotAnArray,
}

/// One approval instance with its typed form.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalInstance {
    /// Process instance id. The `topapi` detail body does not carry it, so the caller
    /// passes the id it fetched with.
    pub process_instance_id: String,

    /// The API generation `raw` came from.
    pub generation: ApiGeneration,

    /// Title, e.g. "张三提交的费用报销".
    pub title: String,

    /// Business id (审批编号): 21 digits, the number people quote.
    pub business_id: String,

    /// Originator userid (发起人).
    pub originator_userid: String,

    /// Originator department id; `-1` is the root department.
    pub originator_dept_id: Option<String>,

    /// Originator department name.
    pub originator_dept_name: Option<String>,

    /// Lifecycle status.
    pub status: InstanceStatus,

    /// Agree or refuse, once finished.
    pub result: ApprovalResult,

    /// Creation time, Beijing wall clock.
    pub create_time: Option<NaiveDateTime>,

    /// Finish time, Beijing wall clock; `None` while running.
    pub finish_time: Option<NaiveDateTime>,

    /// `MODIFY` or `REVOKE` when this instance supersedes an approved one, else `NONE`.
    pub biz_action: Option<String>,

    /// Instances created by modifying or revoking this one after approval.
    pub attached_process_instance_ids: Vec<String>,

    /// The main instance, when this one is attached to another.
    pub main_process_instance_id: Option<String>,

    /// Form components in form order.
    pub form: Vec<FormComponent>,

    raw: Value,
}

impl ApprovalInstance {
    /// Decodes an instance object.
    ///
    /// Accepts the `process_instance` object of `topapi/processinstance/get`, the
    /// `result` object of the v1.0 detail, or either response body whole (the instance
    /// is taken out of it). Missing fields become empty values rather than errors,
    /// because the mapping decides which fields a bill needs and names the missing one.
    pub fn from_raw(
        process_instance_id: impl Into<String>,
        raw: Value,
    ) -> Result<ApprovalInstance, DecodeError> {
        let raw = unwrap_response_body(raw);
        let Value::Object(object) = &raw else {
            return Err(DecodeError::NotAnObject);
        };
        let generation = detect_generation(object);
        let text = |snake: &str, camel: &str| -> Option<String> {
            let value = match generation {
                ApiGeneration::Topapi => object.get(snake),
                ApiGeneration::V1 => object.get(camel),
            }?;
            Some(value_to_string(value)).filter(|text| !text.is_empty() && text != "null")
        };
        let form = match object
            .get("form_component_values")
            .or_else(|| object.get("formComponentValues"))
        {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_object)
                .map(decode_component)
                .collect(),
            Some(_) => return Err(DecodeError::FormNotAnArray),
        };
        let ids = |snake: &str, camel: &str| -> Vec<String> {
            object
                .get(snake)
                .or_else(|| object.get(camel))
                .and_then(Value::as_array)
                .map(|items| items.iter().map(value_to_string).collect())
                .unwrap_or_default()
        };

        Ok(ApprovalInstance {
            process_instance_id: process_instance_id.into(),
            generation,
            title: text("title", "title").unwrap_or_default(),
            business_id: text("business_id", "businessId").unwrap_or_default(),
            originator_userid: text("originator_userid", "originatorUserId").unwrap_or_default(),
            originator_dept_id: text("originator_dept_id", "originatorDeptId"),
            originator_dept_name: text("originator_dept_name", "originatorDeptName"),
            status: parse_status(text("status", "status").as_deref()),
            result: parse_result(text("result", "result").as_deref()),
            create_time: text("create_time", "createTime")
                .as_deref()
                .and_then(parse_instance_time),
            finish_time: text("finish_time", "finishTime")
                .as_deref()
                .and_then(parse_instance_time),
            biz_action: text("biz_action", "bizAction"),
            attached_process_instance_ids: ids(
                "attached_process_instance_ids",
                "attachedProcessInstanceIds",
            ),
            main_process_instance_id: text("main_process_instance_id", "mainProcessInstanceId"),
            form,
            raw,
        })
    }

    /// The instance object exactly as fetched.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Returns true when the instance is finished and approved: the only state that
    /// becomes a payment bill.
    pub fn is_approved(&self) -> bool {
        self.status == InstanceStatus::Completed && self.result == ApprovalResult::Agree
    }

    /// Returns true while approvers may still act, so the instance must be polled again.
    pub fn is_open(&self) -> bool {
        matches!(self.status, InstanceStatus::New | InstanceStatus::Running)
    }

    /// Finds a component by id, then by label, also among the children of approval
    /// suites.
    pub fn component(&self, id_or_label: &str) -> Option<&FormComponent> {
        let all = || self.components();
        all()
            .find(|component| component.id == id_or_label)
            .or_else(|| all().find(|component| component.name.as_deref() == Some(id_or_label)))
    }

    /// Iterates over all components, descending into approval suites.
    pub fn components(&self) -> impl Iterator<Item = &FormComponent> {
        let mut stack: Vec<&FormComponent> = self.form.iter().rev().collect();
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            if let FormValue::Suite(children) = &next.value {
                stack.extend(children.iter().rev());
            }
            Some(next)
        })
    }

    /// Returns the detail table with this id or label, if the component is a table.
    pub fn table(&self, id_or_label: &str) -> Option<&Table> {
        match &self.component(id_or_label)?.value {
            FormValue::Table(table) => Some(table),
            _ => None,
        }
    }
}

/// Serialized as `{"process_instance_id": …, "instance": <raw>}` so that the typed view
/// is rebuilt from the original bytes on the way back.
impl Serialize for ApprovalInstance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = Map::new();
        object.insert(
            "process_instance_id".into(),
            Value::String(self.process_instance_id.clone()),
        );
        object.insert("instance".into(), self.raw.clone());
        Value::Object(object).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ApprovalInstance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let id = value
            .get("process_instance_id")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| serde::de::Error::missing_field("process_instance_id"))?;
        let raw = value
            .get_mut("instance")
            .map(Value::take)
            .ok_or_else(|| serde::de::Error::missing_field("instance"))?;
        ApprovalInstance::from_raw(id, raw).map_err(serde::de::Error::custom)
    }
}

/// Takes the instance out of a whole response body; returns other values unchanged.
fn unwrap_response_body(mut raw: Value) -> Value {
    if let Some(instance) = raw.get_mut("process_instance").filter(|v| v.is_object()) {
        return instance.take();
    }
    let is_v1_body = raw
        .get("result")
        .and_then(Value::as_object)
        .is_some_and(|result| {
            result.contains_key("formComponentValues") || result.contains_key("businessId")
        });
    if is_v1_body && let Some(result) = raw.get_mut("result") {
        return result.take();
    }
    raw
}

fn detect_generation(object: &Map<String, Value>) -> ApiGeneration {
    const V1_KEYS: [&str; 4] = [
        "formComponentValues",
        "businessId",
        "originatorUserId",
        "createTime",
    ];
    if V1_KEYS.iter().any(|key| object.contains_key(*key)) {
        ApiGeneration::V1
    } else {
        ApiGeneration::Topapi
    }
}

fn parse_status(text: Option<&str>) -> InstanceStatus {
    match text.map(str::to_ascii_uppercase).as_deref() {
        Some("NEW") => InstanceStatus::New,
        Some("RUNNING") => InstanceStatus::Running,
        Some("TERMINATED") => InstanceStatus::Terminated,
        Some("COMPLETED") => InstanceStatus::Completed,
        Some("CANCELED") | Some("CANCELLED") => InstanceStatus::Canceled,
        Some(other) => InstanceStatus::Other(other.to_string()),
        None => InstanceStatus::Other(String::new()),
    }
}

fn parse_result(text: Option<&str>) -> ApprovalResult {
    match text.map(str::to_ascii_lowercase).as_deref() {
        Some("agree") => ApprovalResult::Agree,
        Some("refuse") => ApprovalResult::Refuse,
        None | Some("") => ApprovalResult::None,
        Some(other) => ApprovalResult::Other(other.to_string()),
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            InstanceStatus::New => "NEW",
            InstanceStatus::Running => "RUNNING",
            InstanceStatus::Terminated => "TERMINATED",
            InstanceStatus::Completed => "COMPLETED",
            InstanceStatus::Canceled => "CANCELED",
            InstanceStatus::Other(other) => other,
        };
        f.write_str(text)
    }
}

impl std::fmt::Display for ApprovalResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ApprovalResult::Agree => "agree",
            ApprovalResult::Refuse => "refuse",
            ApprovalResult::None => "",
            ApprovalResult::Other(other) => other,
        };
        f.write_str(text)
    }
}
