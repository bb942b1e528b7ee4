//! Changes to an instance after it was created: approval, refusal, withdrawal and
//! comments.
//!
//! A status change also updates what a real instance shows after the same action:
//! open tasks close with the result, an operation record is appended and the finish
//! time is set. A comment appends an `ADD_REMARK` record.

use chrono::NaiveDateTime;

use super::catalogue;
use super::errors::Failure;
use super::model::{ApprovalResult, Instance, OperationRecord, Status};

/// Maximum comment length DingTalk accepts, in characters.
pub const MAX_COMMENT_CHARS: usize = 1024;

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// New status.
    pub status: Status,
    /// New result: `Agree` or `Refuse` with `Completed`, otherwise `Empty`.
    pub result: ApprovalResult,
    /// Finish time (Beijing); defaults to now for finished states.
    pub finish_time: Option<NaiveDateTime>,
    /// Approver or refuser; defaults to the open task's approver.
    pub approver: Option<String>,
}

/// Applies `change` to `instance`, with `now` as the default finish time.
pub fn apply_status(
    instance: &mut Instance,
    change: &StatusChange,
    now: NaiveDateTime,
) -> Result<(), String> {
    let finished = matches!(
        change.status,
        Status::Completed | Status::Terminated | Status::Canceled
    );
    match (change.status, change.result) {
        (Status::Completed, ApprovalResult::Empty) => {
            return Err("COMPLETED needs result agree or refuse".to_string());
        }
        (Status::Completed, _) => {}
        (_, ApprovalResult::Empty) => {}
        (status, result) => {
            return Err(format!(
                "result {} is only valid with COMPLETED, not {}",
                result.as_str(),
                status.as_str()
            ));
        }
    }
    let finish_time = finished.then(|| change.finish_time.unwrap_or(now));
    if let Some(finish) = finish_time
        && finish < instance.create_time
    {
        return Err("finish_time is before create_time".to_string());
    }

    let open_task = instance
        .tasks
        .iter()
        .position(|task| task.task_status == "RUNNING" || task.task_status == "NEW");
    let approver = change
        .approver
        .clone()
        .or_else(|| open_task.map(|index| instance.tasks[index].userid.clone()))
        .unwrap_or_else(|| instance.originator_userid.clone());

    instance.status = change.status;
    instance.result = change.result;
    instance.finish_time = finish_time;
    let Some(finish) = finish_time else {
        return Ok(());
    };

    let (task_status, task_result) = match change.result {
        ApprovalResult::Agree => ("COMPLETED", "AGREE"),
        ApprovalResult::Refuse => ("COMPLETED", "REFUSE"),
        ApprovalResult::Empty => ("CANCELED", "NONE"),
    };
    for task in &mut instance.tasks {
        if task.task_status == "RUNNING" || task.task_status == "NEW" {
            task.task_status = task_status.to_string();
            task.task_result = task_result.to_string();
            task.finish_time = Some(finish);
        }
    }
    let record = match change.result {
        ApprovalResult::Agree | ApprovalResult::Refuse => OperationRecord {
            userid: approver,
            date: finish,
            operation_type: "EXECUTE_TASK_NORMAL".to_string(),
            operation_result: task_result.to_string(),
            remark: Some(String::new()),
            attachments: None,
        },
        ApprovalResult::Empty => OperationRecord {
            userid: instance.originator_userid.clone(),
            date: finish,
            operation_type: "TERMINATE_PROCESS_INSTANCE".to_string(),
            operation_result: "NONE".to_string(),
            remark: None,
            attachments: None,
        },
    };
    instance.operation_records.push(record);
    Ok(())
}

/// Checks a comment and appends its `ADD_REMARK` record.
///
/// NOTE: the documents do not say which states accept comments. This accepts every
/// state, so write-back after approval works.
pub fn add_comment(
    instance: &mut Instance,
    text: &str,
    user: &str,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    if text.trim().is_empty() {
        return Err(catalogue::comment_text_empty());
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(catalogue::comment_text_too_long());
    }
    instance.operation_records.push(OperationRecord {
        userid: user.to_string(),
        date: now,
        operation_type: "ADD_REMARK".to_string(),
        operation_result: "NONE".to_string(),
        remark: Some(text.to_string()),
        attachments: None,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dingtalk::time;

    fn running() -> Instance {
        let raw = json!({
            "create_time": "2026-11-03 10:15:22",
            "status": "RUNNING",
            "result": "",
            "originator_userid": "user-1001",
            "tasks": [{"taskid": "1", "userid": "user-2001", "task_status": "RUNNING",
                       "task_result": "NONE", "create_time": "2026-11-03 10:15:22"}]
        });
        Instance::from_topapi("id-1", "PROC-1", &raw).expect("valid")
    }

    fn at(text: &str) -> NaiveDateTime {
        time::parse_topapi(text).expect("valid time")
    }

    #[test]
    fn approve_closes_task_and_records() {
        let mut instance = running();
        let change = StatusChange {
            status: Status::Completed,
            result: ApprovalResult::Agree,
            finish_time: Some(at("2026-11-20 09:00:00")),
            approver: None,
        };
        apply_status(&mut instance, &change, at("2026-12-01 00:00:00")).expect("valid");
        assert!(instance.is_approved());
        assert_eq!(instance.finish_time, Some(at("2026-11-20 09:00:00")));
        assert_eq!(instance.tasks[0].task_result, "AGREE");
        let last = instance.operation_records.last().expect("record appended");
        assert_eq!(last.operation_type, "EXECUTE_TASK_NORMAL");
        assert_eq!(last.userid, "user-2001", "the open task's approver acts");
    }

    #[test]
    fn terminate_cancels_task() {
        let mut instance = running();
        let change = StatusChange {
            status: Status::Terminated,
            result: ApprovalResult::Empty,
            finish_time: None,
            approver: None,
        };
        let now = at("2026-11-04 08:00:00");
        apply_status(&mut instance, &change, now).expect("valid");
        assert_eq!(instance.finish_time, Some(now), "defaults to now");
        assert_eq!(instance.tasks[0].task_status, "CANCELED");
        let last = instance.operation_records.last().expect("record appended");
        assert_eq!(last.operation_type, "TERMINATE_PROCESS_INSTANCE");
    }

    #[test]
    fn completed_needs_result() {
        let mut instance = running();
        let change = StatusChange {
            status: Status::Completed,
            result: ApprovalResult::Empty,
            finish_time: None,
            approver: None,
        };
        assert!(apply_status(&mut instance, &change, at("2026-11-04 08:00:00")).is_err());
        assert_eq!(instance.status, Status::Running, "unchanged after an error");
    }

    #[test]
    fn finish_before_creation_is_rejected() {
        let mut instance = running();
        let change = StatusChange {
            status: Status::Completed,
            result: ApprovalResult::Refuse,
            finish_time: Some(at("2026-11-01 00:00:00")),
            approver: None,
        };
        assert!(apply_status(&mut instance, &change, at("2026-11-04 08:00:00")).is_err());
    }

    #[test]
    fn comment_appends_remark() {
        let mut instance = running();
        let now = at("2026-11-05 12:00:00");
        add_comment(&mut instance, "已生成付款单 FKD000123", "user-9", now).expect("valid");
        let last = instance.operation_records.last().expect("record appended");
        assert_eq!(last.operation_type, "ADD_REMARK");
        assert_eq!(last.remark.as_deref(), Some("已生成付款单 FKD000123"));
        assert_eq!(last.date, now);
    }

    #[test]
    fn comment_limit_counts_characters() {
        let mut instance = running();
        let now = at("2026-11-05 12:00:00");
        let exact = "评".repeat(MAX_COMMENT_CHARS);
        assert!(
            add_comment(&mut instance, &exact, "u", now).is_ok(),
            "1024 characters"
        );
        let over = "评".repeat(MAX_COMMENT_CHARS + 1);
        assert!(
            add_comment(&mut instance, &over, "u", now).is_err(),
            "1025 characters"
        );
        assert!(
            add_comment(&mut instance, "  ", "u", now).is_err(),
            "blank text"
        );
    }
}
