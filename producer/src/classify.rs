//! The producer's decision on a fetched instance: publish it, keep watching it, or
//! skip it with a reason an operator can read in the ledger.
//!
//! Only `COMPLETED` with result `agree` becomes a bill. `refuse` also ends in
//! `COMPLETED`, and a withdrawn (`TERMINATED`) instance has no result at all, so the
//! status alone is not enough. A status this build does not know is kept pending
//! rather than skipped: polling it again costs a call, skipping it could lose an
//! approval.

use chrono::{DateTime, Utc};
use dingk3::approval::time::beijing_to_utc;
use dingk3::approval::{ApprovalInstance, ApprovalResult, InstanceStatus};
use dingk3::ledger::InstanceSummary;
use rust_decimal::Decimal;

/// The decision on one fetched instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approved: record it, publish it, mark it published after the confirm.
    Publish,
    /// Still open (or in a state this build does not know): record it as pending, so
    /// the poll window keeps covering it.
    Pending,
    /// Finished without approval: record it as skipped with this reason.
    Skip(String),
}

/// Decides what to do with `instance`.
pub fn decide(instance: &ApprovalInstance) -> Decision {
    if instance.is_approved() {
        return Decision::Publish;
    }
    match &instance.status {
        InstanceStatus::New | InstanceStatus::Running | InstanceStatus::Other(_) => {
            Decision::Pending
        }
        InstanceStatus::Terminated => {
            Decision::Skip("terminated: the approval was withdrawn (撤销)".to_string())
        }
        InstanceStatus::Canceled => {
            Decision::Skip("canceled: the approval was cancelled".to_string())
        }
        InstanceStatus::Completed => match &instance.result {
            ApprovalResult::Refuse => {
                Decision::Skip("refused: an approver rejected the approval (拒绝)".to_string())
            }
            ApprovalResult::Agree => Decision::Publish,
            ApprovalResult::None => Decision::Skip(
                "completed without a result: only COMPLETED with result agree becomes a bill"
                    .to_string(),
            ),
            ApprovalResult::Other(result) => Decision::Skip(format!(
                "completed with result {result:?}: only COMPLETED with result agree becomes a bill"
            )),
        },
    }
}

/// Returns the DingTalk state as the `status` label of
/// `dingk3_producer_instances_total`.
pub fn state_label(instance: &ApprovalInstance) -> &'static str {
    if instance.is_approved() {
        return "approved";
    }
    match (&instance.status, &instance.result) {
        (InstanceStatus::New | InstanceStatus::Running, _) => "running",
        (InstanceStatus::Completed, ApprovalResult::Refuse) => "refused",
        (InstanceStatus::Terminated, _) => "terminated",
        (InstanceStatus::Canceled, _) => "canceled",
        _ => "other",
    }
}

/// Returns the DingTalk status as written, for logs.
pub fn status_text(instance: &ApprovalInstance) -> &str {
    match &instance.status {
        InstanceStatus::New => "NEW",
        InstanceStatus::Running => "RUNNING",
        InstanceStatus::Terminated => "TERMINATED",
        InstanceStatus::Completed => "COMPLETED",
        InstanceStatus::Canceled => "CANCELED",
        InstanceStatus::Other(status) => status,
    }
}

/// Builds the ledger summary of a fetched instance.
///
/// An instance without a readable creation time is recorded as created at
/// `listed_from`, the start of the window it was listed in. The listing filters by
/// creation time, so the real time is not earlier, and a pending instance keeps the
/// window open from there.
pub fn summary(
    process_code: &str,
    instance: &ApprovalInstance,
    total_amount: Option<Decimal>,
    listed_from: DateTime<Utc>,
) -> InstanceSummary {
    InstanceSummary {
        process_instance_id: instance.process_instance_id.clone(),
        process_code: process_code.to_string(),
        business_id: instance.business_id.clone(),
        title: instance.title.clone(),
        originator_userid: instance.originator_userid.clone(),
        total_amount,
        create_time: instance
            .create_time
            .map(beijing_to_utc)
            .unwrap_or(listed_from),
    }
}

/// Builds the summary of an instance that DingTalk no longer finds, from its id alone.
pub fn summary_of_missing(
    process_code: &str,
    process_instance_id: &str,
    listed_from: DateTime<Utc>,
) -> InstanceSummary {
    InstanceSummary {
        process_instance_id: process_instance_id.to_string(),
        process_code: process_code.to_string(),
        business_id: String::new(),
        title: String::new(),
        originator_userid: String::new(),
        total_amount: None,
        create_time: listed_from,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn instance(status: &str, result: &str) -> ApprovalInstance {
        let raw = json!({
            "title": "张三提交的费用报销",
            "business_id": "202611031015000123401",
            "originator_userid": "user-1001",
            "status": status,
            "result": result,
            "create_time": "2026-11-03 10:15:22",
            "form_component_values": [],
        });
        ApprovalInstance::from_raw("pi-1", raw).unwrap()
    }

    #[test]
    fn approved_published() {
        let approved = instance("COMPLETED", "agree");
        assert_eq!(decide(&approved), Decision::Publish);
        assert_eq!(state_label(&approved), "approved");
    }

    #[test]
    fn running_pending() {
        assert_eq!(decide(&instance("RUNNING", "")), Decision::Pending);
        assert_eq!(decide(&instance("NEW", "")), Decision::Pending);
    }

    #[test]
    fn refused_skipped_with_reason() {
        let refused = instance("COMPLETED", "refuse");
        let Decision::Skip(reason) = decide(&refused) else {
            panic!("a refused approval is skipped");
        };
        assert!(reason.starts_with("refused"), "reason: {reason}");
        assert_eq!(state_label(&refused), "refused");
    }

    #[test]
    fn terminated_skipped_with_reason() {
        let Decision::Skip(reason) = decide(&instance("TERMINATED", "")) else {
            panic!("a withdrawn approval is skipped");
        };
        assert!(reason.starts_with("terminated"), "reason: {reason}");
    }

    #[test]
    fn canceled_skipped() {
        assert!(matches!(
            decide(&instance("CANCELED", "")),
            Decision::Skip(_)
        ));
    }

    #[test]
    fn unknown_status_kept_pending() {
        let unknown = instance("SUSPENDED", "");
        assert_eq!(
            decide(&unknown),
            Decision::Pending,
            "an unknown state must not lose an approval"
        );
        assert_eq!(state_label(&unknown), "other");
        assert_eq!(status_text(&unknown), "SUSPENDED");
    }

    #[test]
    fn summary_converts_beijing_time() {
        let listed_from: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        let summary = summary("PROC-A", &instance("RUNNING", ""), None, listed_from);
        assert_eq!(
            summary.create_time,
            "2026-11-03T02:15:22Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(summary.business_id, "202611031015000123401");
    }

    #[test]
    fn summary_without_create_time_uses_window_start() {
        let raw = json!({"status": "RUNNING", "form_component_values": []});
        let instance = ApprovalInstance::from_raw("pi-2", raw).unwrap();
        let listed_from: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            summary("PROC-A", &instance, None, listed_from).create_time,
            listed_from
        );
    }
}
