//! Realistic expense claims for the template of the reference cases.
//!
//! Claims are spread over the days before `now`. Most finish within the last week, a
//! few hours to two days after they were filed. About one in five waited two to six
//! weeks for approval, which a poller that lists by creation time over a short window
//! would miss. Roughly 62 % are approved, 15 % refused, 13 % still running and
//! 10 % withdrawn; independently, about 6 % each have an empty detail table, an
//! unmapped expense type or a row without an amount. The same seed and `now` always
//! produce the same claims, ids included.

mod form;
mod ids;
pub mod template;

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

pub use form::Defect;

use super::model::{ApprovalResult, Instance, OperationRecord, Status, Task};
use super::time;
use super::truth::{Expected, GroundTruth};
use template::{APPROVER, ORIGINATORS, REFUSAL_REMARK};

/// A generated instance with what the pipeline must do with it once approved.
#[derive(Debug, Clone)]
pub struct GeneratedClaim {
    /// The instance as the APIs serve it.
    pub instance: Instance,
    /// Saved with known rows, or rejected naming a field, when approved.
    pub outcome_if_approved: Expected,
}

impl GeneratedClaim {
    /// Returns the truth for the instance's current status.
    pub fn truth(&self) -> GroundTruth {
        GroundTruth::of(&self.instance, Some(&self.outcome_if_approved))
    }
}

/// Final or current state of a claim's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Approved,
    Refused,
    Running,
    Terminated,
}

/// Generates `count` claims for `process_code`, created and finished before `now`.
pub fn generate_claims(
    count: usize,
    seed: u64,
    process_code: &str,
    now: DateTime<Utc>,
) -> Vec<GeneratedClaim> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = time::to_beijing(now);
    let now = now.with_nanosecond(0).unwrap_or(now);
    let mut seen = HashSet::new();
    let mut claims = Vec::with_capacity(count);
    while claims.len() < count {
        let claim = generate_one(&mut rng, process_code, now);
        if seen.insert(claim.instance.process_instance_id.clone()) {
            claims.push(claim);
        }
    }
    claims
}

fn generate_one(rng: &mut StdRng, process_code: &str, now: NaiveDateTime) -> GeneratedClaim {
    let fate = match rng.random_range(0..100) {
        0..62 => Fate::Approved,
        62..77 => Fate::Refused,
        77..90 => Fate::Running,
        _ => Fate::Terminated,
    };
    let defect = match rng.random_range(0..100) {
        0..6 => Defect::EmptyTable,
        6..12 => Defect::UnmappedType,
        12..18 => Defect::MissingAmount,
        _ => Defect::None,
    };
    let (created, finished) = pick_times(rng, fate, now);
    let originator = ORIGINATORS
        .choose(rng)
        .expect("originator list is not empty");
    let form = form::build_form(rng, created, defect);

    let process_instance_id = ids::process_instance_id(rng, created);
    let business_id = ids::business_id(rng, created);
    let taskid = ids::task_id(rng);
    let activity_id = ids::activity_id(rng);

    let (status, result) = match fate {
        Fate::Approved => (Status::Completed, ApprovalResult::Agree),
        Fate::Refused => (Status::Completed, ApprovalResult::Refuse),
        Fate::Running => (Status::Running, ApprovalResult::Empty),
        Fate::Terminated => (Status::Terminated, ApprovalResult::Empty),
    };
    let (task_status, task_result) = match fate {
        Fate::Approved => ("COMPLETED", "AGREE"),
        Fate::Refused => ("COMPLETED", "REFUSE"),
        Fate::Running => ("RUNNING", "NONE"),
        Fate::Terminated => ("CANCELED", "NONE"),
    };

    let mut operation_records = vec![record(
        originator.userid,
        created,
        "START_PROCESS_INSTANCE",
        "NONE",
        None,
    )];
    match (fate, finished) {
        (Fate::Approved, Some(at)) => operation_records.push(record(
            APPROVER,
            at,
            "EXECUTE_TASK_NORMAL",
            "AGREE",
            Some(""),
        )),
        (Fate::Refused, Some(at)) => operation_records.push(record(
            APPROVER,
            at,
            "EXECUTE_TASK_NORMAL",
            "REFUSE",
            Some(REFUSAL_REMARK),
        )),
        (Fate::Terminated, Some(at)) => operation_records.push(record(
            originator.userid,
            at,
            "TERMINATE_PROCESS_INSTANCE",
            "NONE",
            None,
        )),
        _ => {}
    }

    let url = format!(
        "aflow.dingtalk.com?procInsId={process_instance_id}&taskId={taskid}&businessId={business_id}"
    );
    let instance = Instance {
        process_instance_id,
        process_code: process_code.to_string(),
        title: format!("{}提交的费用报销", originator.name),
        business_id,
        create_time: created,
        finish_time: finished,
        originator_userid: originator.userid.to_string(),
        originator_dept_id: originator.dept_id.to_string(),
        originator_dept_name: originator.dept_name.to_string(),
        status,
        result,
        approver_userids: None,
        cc_userids: Vec::new(),
        biz_action: "NONE".to_string(),
        attached_process_instance_ids: Vec::new(),
        main_process_instance_id: None,
        form_component_values: form.components,
        operation_records,
        tasks: vec![Task {
            taskid,
            userid: APPROVER.to_string(),
            task_status: task_status.to_string(),
            task_result: task_result.to_string(),
            create_time: Some(created),
            finish_time: finished,
            activity_id: Some(activity_id),
            url: Some(url),
        }],
    };
    GeneratedClaim {
        instance,
        outcome_if_approved: form.outcome,
    }
}

/// Picks creation and finish times (Beijing, whole seconds) no later than `now`.
fn pick_times(
    rng: &mut StdRng,
    fate: Fate,
    now: NaiveDateTime,
) -> (NaiveDateTime, Option<NaiveDateTime>) {
    let minutes =
        |rng: &mut StdRng, low: i64, high: i64| Duration::minutes(rng.random_range(low..high));
    let slow = rng.random_bool(0.2);
    let waited = if slow {
        minutes(rng, 14 * 24 * 60, 42 * 24 * 60)
    } else {
        minutes(rng, 20, 2 * 24 * 60)
    };
    let seconds = Duration::seconds(rng.random_range(0..60));
    if fate == Fate::Running {
        let created = now - waited - seconds;
        return (created, None);
    }
    let finished = now - minutes(rng, 10, 7 * 24 * 60) - seconds;
    (finished - waited, Some(finished))
}

fn record(
    userid: &str,
    date: NaiveDateTime,
    operation_type: &str,
    operation_result: &str,
    remark: Option<&str>,
) -> OperationRecord {
    OperationRecord {
        userid: userid.to_string(),
        date,
        operation_type: operation_type.to_string(),
        operation_result: operation_result.to_string(),
        remark: remark.map(str::to_string),
        attachments: None,
    }
}

#[cfg(test)]
mod tests;
