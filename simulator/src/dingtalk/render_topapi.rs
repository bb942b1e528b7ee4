//! Renders the model as topapi `processinstance/get` prints it.
//!
//! topapi spells keys in snake_case, prints times as `yyyy-MM-dd HH:mm:ss` in Beijing
//! time, prints empty form values as the string `"null"`, omits `ext_value` where the
//! component has none and omits `finish_time` while an instance runs. Keys come out in
//! alphabetical order, as in published real responses; clients must not rely on it.

use serde_json::{Map, Value, json};

use super::model::{FormComponent, Instance, OperationRecord, Task};
use super::time::format_topapi;

/// Renders the `process_instance` object.
pub fn render_instance(instance: &Instance) -> Value {
    let mut object = Map::new();
    if let Some(approvers) = &instance.approver_userids {
        object.insert("approver_userids".into(), json!(approvers));
    }
    object.insert(
        "attached_process_instance_ids".into(),
        json!(instance.attached_process_instance_ids),
    );
    object.insert("biz_action".into(), json!(instance.biz_action));
    object.insert("business_id".into(), json!(instance.business_id));
    object.insert("cc_userids".into(), json!(instance.cc_userids));

    object.insert(
        "create_time".into(),
        json!(format_topapi(instance.create_time)),
    );
    if let Some(finish) = instance.finish_time {
        object.insert("finish_time".into(), json!(format_topapi(finish)));
    }
    let components: Vec<Value> = instance
        .form_component_values
        .iter()
        .map(render_component)
        .collect();
    object.insert("form_component_values".into(), Value::Array(components));

    if let Some(main) = &instance.main_process_instance_id {
        object.insert("main_process_instance_id".into(), json!(main));
    }
    let records: Vec<Value> = instance
        .operation_records
        .iter()
        .map(render_record)
        .collect();
    object.insert("operation_records".into(), Value::Array(records));

    object.insert(
        "originator_dept_id".into(),
        json!(instance.originator_dept_id),
    );
    object.insert(
        "originator_dept_name".into(),
        json!(instance.originator_dept_name),
    );
    object.insert(
        "originator_userid".into(),
        json!(instance.originator_userid),
    );
    object.insert("result".into(), json!(instance.result.as_str()));
    object.insert("status".into(), json!(instance.status.as_str()));
    let tasks: Vec<Value> = instance.tasks.iter().map(render_task).collect();
    object.insert("tasks".into(), Value::Array(tasks));
    object.insert("title".into(), json!(instance.title));
    Value::Object(object)
}

/// Renders the whole `get` response body around the instance.
pub fn render_get_body(instance: &Instance, request_id: &str) -> Value {
    json!({
        "errcode": 0,
        "errmsg": "ok",
        "process_instance": render_instance(instance),
        "request_id": request_id,
    })
}

fn render_component(component: &FormComponent) -> Value {
    let mut object = Map::new();
    object.insert("component_type".into(), json!(component.component_type));
    if let Some(ext) = &component.ext_value {
        object.insert("ext_value".into(), json!(ext));
    }
    object.insert("id".into(), json!(component.id));
    if let Some(name) = &component.name {
        object.insert("name".into(), json!(name));
    }
    let value = component.value.as_deref().unwrap_or("null");
    object.insert("value".into(), json!(value));
    Value::Object(object)
}

fn render_record(record: &OperationRecord) -> Value {
    let mut object = Map::new();
    if let Some(attachments) = &record.attachments {
        object.insert("attachments".into(), attachments.clone());
    }
    object.insert("date".into(), json!(format_topapi(record.date)));
    object.insert("operation_result".into(), json!(record.operation_result));
    object.insert("operation_type".into(), json!(record.operation_type));
    if let Some(remark) = &record.remark {
        object.insert("remark".into(), json!(remark));
    }
    object.insert("userid".into(), json!(record.userid));
    Value::Object(object)
}

fn render_task(task: &Task) -> Value {
    let mut object = Map::new();
    if let Some(activity) = &task.activity_id {
        object.insert("activity_id".into(), json!(activity));
    }
    if let Some(created) = task.create_time {
        object.insert("create_time".into(), json!(format_topapi(created)));
    }
    if let Some(finished) = task.finish_time {
        object.insert("finish_time".into(), json!(format_topapi(finished)));
    }
    object.insert("task_result".into(), json!(task.task_result));
    object.insert("task_status".into(), json!(task.task_status));
    object.insert("taskid".into(), json!(task.taskid));
    if let Some(url) = &task.url {
        object.insert("url".into(), json!(url));
    }
    object.insert("userid".into(), json!(task.userid));
    Value::Object(object)
}
