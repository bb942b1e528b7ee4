//! The simulator's one internal model of an approval instance.
//!
//! Instances enter as topapi `processinstance/get` objects (case files, the admin API)
//! or from the generator, and leave rendered per API generation by `render_topapi` and
//! `render_v1`. Empty form values are `None` here: topapi prints them as the string
//! `"null"` and v1.0 omits the key, so the model must not hold either spelling.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::time;

/// Approval instance status as DingTalk spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Created but not started.
    New,
    /// Waiting for approvers.
    Running,
    /// Withdrawn (撤销); never approved.
    Terminated,
    /// Finished, either agreed or refused.
    Completed,
    /// Cancelled.
    Canceled,
}

impl Status {
    /// Returns the wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Running => "RUNNING",
            Status::Terminated => "TERMINATED",
            Status::Completed => "COMPLETED",
            Status::Canceled => "CANCELED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "NEW" => Some(Status::New),
            "RUNNING" => Some(Status::Running),
            "TERMINATED" => Some(Status::Terminated),
            "COMPLETED" => Some(Status::Completed),
            "CANCELED" => Some(Status::Canceled),
            _ => None,
        }
    }
}

/// Outcome of a finished instance; `Empty` is the `""` of running instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalResult {
    /// `agree`: with `COMPLETED` this is an approved claim.
    Agree,
    /// `refuse`: the instance is `COMPLETED` but rejected.
    Refuse,
    /// No result yet, or none for a withdrawn instance.
    #[serde(rename = "")]
    Empty,
}

impl ApprovalResult {
    /// Returns the wire spelling (`""` for no result).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalResult::Agree => "agree",
            ApprovalResult::Refuse => "refuse",
            ApprovalResult::Empty => "",
        }
    }

    /// Parses the wire spelling; anything unknown counts as no result.
    pub fn parse(text: &str) -> ApprovalResult {
        match text {
            "agree" => ApprovalResult::Agree,
            "refuse" => ApprovalResult::Refuse,
            _ => ApprovalResult::Empty,
        }
    }
}

/// One entry of `form_component_values`.
#[derive(Debug, Clone, PartialEq)]
pub struct FormComponent {
    /// Component type such as `TextField`, `DDSelectField` or `TableField`.
    pub component_type: String,
    /// Stable component id; mappings match on it.
    pub id: String,
    /// Label; v1.0 never prints it for `TextNote`.
    pub name: Option<String>,
    /// The value as DingTalk encodes it (tables are a JSON string); `None` when empty.
    pub value: Option<String>,
    /// Extra encoding such as the option key of a select; absent for most types.
    pub ext_value: Option<String>,
}

/// One entry of `operation_records`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRecord {
    /// Who acted.
    pub userid: String,
    /// When, in Beijing time.
    pub date: NaiveDateTime,
    /// `START_PROCESS_INSTANCE`, `EXECUTE_TASK_NORMAL`, `ADD_REMARK`, …; kept as text
    /// because real data carries values missing from the documented list.
    pub operation_type: String,
    /// `AGREE`, `REFUSE` or `NONE`.
    pub operation_result: String,
    /// Comment text; topapi prints it only when present.
    pub remark: Option<String>,
    /// Attachments in topapi spelling, passed through unchanged.
    pub attachments: Option<Value>,
}

/// One entry of `tasks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Task id; a number in v1.0, a string in topapi.
    pub taskid: String,
    /// Approver.
    pub userid: String,
    /// `NEW`, `RUNNING`, `PAUSED`, `CANCELED`, `COMPLETED` or `TERMINATED`.
    pub task_status: String,
    /// `AGREE`, `REFUSE`, `REDIRECTED` or `NONE`.
    pub task_result: String,
    /// When the task started.
    pub create_time: Option<NaiveDateTime>,
    /// When the task ended; absent while it runs.
    pub finish_time: Option<NaiveDateTime>,
    /// Approval node id.
    pub activity_id: Option<String>,
    /// Link to the task in the DingTalk client.
    pub url: Option<String>,
}

/// An approval instance with everything both API generations print.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Id the instance is fetched with; the detail body does not carry it.
    pub process_instance_id: String,
    /// Template code; listing filters on it.
    pub process_code: String,
    /// Title such as `张三提交的费用报销`.
    pub title: String,
    /// Human-visible approval number (审批编号).
    pub business_id: String,
    /// Creation time in Beijing time; listing filters on it.
    pub create_time: NaiveDateTime,
    /// Finish time; `None` while running.
    pub finish_time: Option<NaiveDateTime>,
    /// Originator's userid.
    pub originator_userid: String,
    /// Originator's department id (`-1` is the root department).
    pub originator_dept_id: String,
    /// Originator's department name.
    pub originator_dept_name: String,
    /// Lifecycle status.
    pub status: Status,
    /// Outcome; approved means `Completed` with `Agree`.
    pub result: ApprovalResult,
    /// Approvers, printed only when the source had them.
    pub approver_userids: Option<Vec<String>>,
    /// Users copied on the instance.
    pub cc_userids: Vec<String>,
    /// `NONE`, `MODIFY` or `REVOKE`.
    pub biz_action: String,
    /// Instances created by later modification or revocation.
    pub attached_process_instance_ids: Vec<String>,
    /// The main instance of an attached one.
    pub main_process_instance_id: Option<String>,
    /// Form values in template order.
    pub form_component_values: Vec<FormComponent>,
    /// History of the instance, oldest first.
    pub operation_records: Vec<OperationRecord>,
    /// Approval tasks.
    pub tasks: Vec<Task>,
}

impl Instance {
    /// Reports whether the claim is approved: `COMPLETED` with `agree`.
    pub fn is_approved(&self) -> bool {
        self.status == Status::Completed && self.result == ApprovalResult::Agree
    }

    /// Returns the creation time in epoch milliseconds, the unit of list filters.
    pub fn create_millis(&self) -> i64 {
        time::epoch_millis(self.create_time)
    }

    /// Returns the form component with `id`.
    pub fn component(&self, id: &str) -> Option<&FormComponent> {
        self.form_component_values.iter().find(|c| c.id == id)
    }
}

/// A topapi instance that cannot be read into the model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("instance field {field} is invalid: {problem}")]
pub struct ModelError {
    /// Path of the offending field, such as `tasks[0].create_time`.
    pub field: String,
    /// Description of the problem.
    pub problem: String,
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ModelError {
    ModelError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Returns a field as text; numbers are printed, the string `"null"` and JSON null are `None`.
pub(crate) fn text_of(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(text) if text == "null" => None,
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn required_text(object: &Map<String, Value>, key: &str, path: &str) -> Result<String, ModelError> {
    text_of(object, key).ok_or_else(|| invalid(format!("{path}{key}"), "missing"))
}

fn time_of(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<NaiveDateTime>, ModelError> {
    match text_of(object, key) {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => time::parse_topapi(&text).map(Some).ok_or_else(|| {
            invalid(
                format!("{path}{key}"),
                format!("{text:?} is not yyyy-MM-dd HH:mm:ss"),
            )
        }),
    }
}

fn strings_of(object: &Map<String, Value>, key: &str) -> Vec<String> {
    match object.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn objects_of<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<Vec<&'a Map<String, Value>>, ModelError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                item.as_object()
                    .ok_or_else(|| invalid(format!("{key}[{index}]"), "not an object"))
            })
            .collect(),
        Some(_) => Err(invalid(key, "not an array")),
    }
}

impl Instance {
    /// Reads a topapi `process_instance` object, or a whole `get` response body.
    pub fn from_topapi(
        process_instance_id: &str,
        process_code: &str,
        raw: &Value,
    ) -> Result<Instance, ModelError> {
        let object = raw
            .get("process_instance")
            .unwrap_or(raw)
            .as_object()
            .ok_or_else(|| invalid("process_instance", "not an object"))?;

        let status_text = required_text(object, "status", "")?;
        let status = Status::parse(&status_text)
            .ok_or_else(|| invalid("status", format!("unknown status {status_text:?}")))?;
        let create_time =
            time_of(object, "create_time", "")?.ok_or_else(|| invalid("create_time", "missing"))?;

        let mut form_component_values = Vec::new();
        for (index, item) in objects_of(object, "form_component_values")?
            .into_iter()
            .enumerate()
        {
            let path = format!("form_component_values[{index}].");
            form_component_values.push(FormComponent {
                component_type: required_text(item, "component_type", &path)?,
                id: required_text(item, "id", &path)?,
                name: text_of(item, "name"),
                value: text_of(item, "value"),
                ext_value: text_of(item, "ext_value"),
            });
        }

        let mut operation_records = Vec::new();
        for (index, item) in objects_of(object, "operation_records")?
            .into_iter()
            .enumerate()
        {
            let path = format!("operation_records[{index}].");
            operation_records.push(OperationRecord {
                userid: text_of(item, "userid").unwrap_or_default(),
                date: time_of(item, "date", &path)?
                    .ok_or_else(|| invalid(format!("{path}date"), "missing"))?,
                operation_type: required_text(item, "operation_type", &path)?,
                operation_result: text_of(item, "operation_result")
                    .unwrap_or_else(|| "NONE".to_string()),
                remark: match item.get("remark") {
                    Some(Value::String(text)) => Some(text.clone()),
                    _ => None,
                },
                attachments: item.get("attachments").cloned(),
            });
        }

        let mut tasks = Vec::new();
        for (index, item) in objects_of(object, "tasks")?.into_iter().enumerate() {
            let path = format!("tasks[{index}].");
            tasks.push(Task {
                taskid: text_of(item, "taskid").unwrap_or_default(),
                userid: text_of(item, "userid").unwrap_or_default(),
                task_status: text_of(item, "task_status").unwrap_or_default(),
                task_result: text_of(item, "task_result").unwrap_or_default(),
                create_time: time_of(item, "create_time", &path)?,
                finish_time: time_of(item, "finish_time", &path)?,
                activity_id: text_of(item, "activity_id"),
                url: text_of(item, "url"),
            });
        }

        Ok(Instance {
            process_instance_id: process_instance_id.to_string(),
            process_code: process_code.to_string(),
            title: text_of(object, "title").unwrap_or_default(),
            business_id: text_of(object, "business_id").unwrap_or_default(),
            create_time,
            finish_time: time_of(object, "finish_time", "")?,
            originator_userid: text_of(object, "originator_userid").unwrap_or_default(),
            originator_dept_id: text_of(object, "originator_dept_id").unwrap_or_default(),
            originator_dept_name: text_of(object, "originator_dept_name").unwrap_or_default(),
            status,
            result: ApprovalResult::parse(&text_of(object, "result").unwrap_or_default()),
            approver_userids: object
                .get("approver_userids")
                .map(|_| strings_of(object, "approver_userids")),
            cc_userids: strings_of(object, "cc_userids"),
            biz_action: text_of(object, "biz_action").unwrap_or_else(|| "NONE".to_string()),
            attached_process_instance_ids: strings_of(object, "attached_process_instance_ids"),
            main_process_instance_id: text_of(object, "main_process_instance_id"),
            form_component_values,
            operation_records,
            tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn minimal() -> Value {
        json!({
            "business_id": "202611031015000123401",
            "create_time": "2026-11-03 10:15:22",
            "status": "RUNNING",
            "result": "",
            "form_component_values": [
                {"component_type": "DDSelectField", "id": "DDSelectField_A", "name": "类型", "value": "null"}
            ],
            "tasks": [{"taskid": "1", "userid": "u", "task_status": "RUNNING", "task_result": "NONE",
                       "create_time": "2026-11-03 10:15:22"}]
        })
    }

    #[test]
    fn from_topapi_reads_null_literal_as_empty() {
        let instance = Instance::from_topapi("id-1", "PROC-1", &minimal()).expect("valid");
        let select = instance
            .component("DDSelectField_A")
            .expect("component present");
        assert_eq!(select.value, None, "the string \"null\" means empty");
        assert_eq!(
            instance.finish_time, None,
            "running instances have no finish time"
        );
        assert_eq!(instance.result, ApprovalResult::Empty);
    }

    #[test]
    fn from_topapi_accepts_whole_body() {
        let body = json!({"errcode": 0, "process_instance": minimal()});
        let instance = Instance::from_topapi("id-1", "PROC-1", &body).expect("valid");
        assert_eq!(instance.status, Status::Running);
    }

    #[test]
    fn from_topapi_names_bad_time_field() {
        let mut raw = minimal();
        raw["tasks"][0]["create_time"] = json!("2026/11/03");
        let error = Instance::from_topapi("id-1", "PROC-1", &raw).expect_err("bad time");
        assert_eq!(error.field, "tasks[0].create_time");
    }

    #[test]
    fn from_topapi_rejects_unknown_status() {
        let mut raw = minimal();
        raw["status"] = json!("DONE");
        let error = Instance::from_topapi("id-1", "PROC-1", &raw).expect_err("bad status");
        assert_eq!(error.field, "status");
    }
}
