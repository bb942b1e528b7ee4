//! Renders the model as the v1.0 `GET /v1.0/workflow/processInstances` prints it.
//!
//! v1.0 spells keys in camelCase. It prints times as `yyyy-MM-ddTHH:mmZ`, which is
//! Beijing time truncated to the minute despite the `Z`. Empty components lose their
//! `value`/`extValue` keys instead of printing `"null"`, and `TextNote` has no `name`.
//! Every component gets `bizAlias` (`""`) and the instance gets `bizData` (`"{}"`).
//! Task ids are numbers, and the instance is wrapped in `{"result": …, "success": true}`.

use serde_json::{Map, Value, json};

use super::model::{FormComponent, Instance, OperationRecord, Task};
use super::time::format_v1;

/// Renders the `result` object.
pub fn render_instance(instance: &Instance) -> Value {
    let mut object = Map::new();
    if let Some(finish) = instance.finish_time {
        object.insert("finishTime".into(), json!(format_v1(finish)));
    }
    object.insert(
        "attachedProcessInstanceIds".into(),
        json!(instance.attached_process_instance_ids),
    );

    object.insert("businessId".into(), json!(instance.business_id));
    object.insert("title".into(), json!(instance.title));
    object.insert(
        "originatorDeptId".into(),
        json!(instance.originator_dept_id),
    );
    let records: Vec<Value> = instance
        .operation_records
        .iter()
        .map(render_record)
        .collect();
    object.insert("operationRecords".into(), Value::Array(records));
    let components: Vec<Value> = instance
        .form_component_values
        .iter()
        .map(render_component)
        .collect();
    object.insert("formComponentValues".into(), Value::Array(components));

    // NOTE: both real v1.0 samples are finished instances. Omitting an empty `result`
    // follows the v1.0 habit of dropping empty values but is not observed in real data.
    if !instance.result.as_str().is_empty() {
        object.insert("result".into(), json!(instance.result.as_str()));
    }
    object.insert("bizAction".into(), json!(instance.biz_action));
    object.insert("createTime".into(), json!(format_v1(instance.create_time)));
    object.insert("originatorUserId".into(), json!(instance.originator_userid));
    object.insert("bizData".into(), json!("{}"));

    let tasks: Vec<Value> = instance
        .tasks
        .iter()
        .map(|task| render_task(task, &instance.process_instance_id))
        .collect();
    object.insert("tasks".into(), Value::Array(tasks));
    object.insert(
        "originatorDeptName".into(),
        json!(instance.originator_dept_name),
    );
    object.insert("status".into(), json!(instance.status.as_str()));

    if let Some(approvers) = &instance.approver_userids {
        object.insert("approverUserIds".into(), json!(approvers));
    }
    if !instance.cc_userids.is_empty() {
        object.insert("ccUserIds".into(), json!(instance.cc_userids));
    }
    if let Some(main) = &instance.main_process_instance_id {
        object.insert("mainProcessInstanceId".into(), json!(main));
    }
    Value::Object(object)
}

/// Renders the whole response body around the instance.
pub fn render_get_body(instance: &Instance) -> Value {
    json!({"result": render_instance(instance), "success": true})
}

fn render_component(component: &FormComponent) -> Value {
    let mut object = Map::new();
    object.insert("componentType".into(), json!(component.component_type));
    if component.component_type != "TextNote"
        && let Some(name) = &component.name
    {
        object.insert("name".into(), json!(name));
    }
    object.insert("bizAlias".into(), json!(""));
    object.insert("id".into(), json!(component.id));
    if let Some(value) = &component.value {
        object.insert("value".into(), json!(value));
    }
    if let Some(ext) = &component.ext_value {
        object.insert("extValue".into(), json!(ext));
    }
    Value::Object(object)
}

/// Node name shown in the DingTalk client; real data has `提交申请` for the start.
fn show_name(operation_type: &str) -> Option<&'static str> {
    // NOTE: only `提交申请` is observed; the other names are the client's usual labels.
    match operation_type {
        "START_PROCESS_INSTANCE" => Some("提交申请"),
        "EXECUTE_TASK_NORMAL" | "EXECUTE_TASK_AGENT" | "EXECUTE_TASK_AUTO" => Some("审批人"),
        "ADD_REMARK" => Some("评论"),
        _ => None,
    }
}

fn render_record(record: &OperationRecord) -> Value {
    let mut object = Map::new();
    object.insert("date".into(), json!(format_v1(record.date)));
    object.insert("result".into(), json!(record.operation_result));
    object.insert("images".into(), json!([]));
    if let Some(name) = show_name(&record.operation_type) {
        object.insert("showName".into(), json!(name));
    }
    object.insert("type".into(), json!(record.operation_type));
    object.insert("userId".into(), json!(record.userid));
    if let Some(remark) = record.remark.as_deref().filter(|text| !text.is_empty()) {
        object.insert("remark".into(), json!(remark));
    }
    if let Some(Value::Array(files)) = &record.attachments {
        let files: Vec<Value> = files.iter().map(camel_case_keys).collect();
        object.insert("attachments".into(), Value::Array(files));
    }
    Value::Object(object)
}

fn camel_case_keys(value: &Value) -> Value {
    let Some(object) = value.as_object() else {
        return value.clone();
    };
    let mut renamed = Map::new();
    for (key, item) in object {
        let mut camel = String::new();
        let mut upper = false;
        for character in key.chars() {
            if character == '_' {
                upper = true;
            } else if upper {
                camel.extend(character.to_uppercase());
                upper = false;
            } else {
                camel.push(character);
            }
        }
        renamed.insert(camel, item.clone());
    }
    Value::Object(renamed)
}

fn render_task(task: &Task, process_instance_id: &str) -> Value {
    let mut object = Map::new();
    object.insert("result".into(), json!(task.task_result));
    if let Some(activity) = &task.activity_id {
        object.insert("activityId".into(), json!(activity));
    }
    if let Some(created) = task.create_time {
        object.insert("createTime".into(), json!(format_v1(created)));
    }
    if let Some(finished) = task.finish_time {
        object.insert("finishTime".into(), json!(format_v1(finished)));
    }
    if let Some(url) = &task.url {
        object.insert("mobileUrl".into(), json!(url));
        object.insert("pcUrl".into(), json!(url));
    }
    object.insert("processInstanceId".into(), json!(process_instance_id));
    object.insert("status".into(), json!(task.task_status));
    let task_id = match task.taskid.parse::<u64>() {
        Ok(number) => json!(number),
        Err(_) => json!(task.taskid),
    };
    object.insert("taskId".into(), task_id);
    object.insert("userId".into(), json!(task.userid));
    Value::Object(object)
}
