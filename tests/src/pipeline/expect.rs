//! What every approval of a run must end as, read from the DingTalk simulator's ground
//! truth at the moment of the check. The cases carry their `.expected.json` and
//! generated claims the outcome the generator built them for. An approval that an
//! admin call approved later reports its new truth at once.

use dingk3::ledger::Status;
use dingk3_simulator::dingtalk::{DingTalkHandle, Expected, Origin, Status as DingTalkStatus};

use super::ledger_view::LedgerRow;

/// The end one approval must reach.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// DingTalk process instance id.
    pub process_instance_id: String,
    /// Approval number (审批编号); the example mapping numbers bills `DD-<it>`.
    pub business_id: String,
    /// Where the approval comes from, for messages: the case name or `generated`.
    pub label: String,
    /// `COMPLETED` with `agree`: it must be published and end as a bill or a dead
    /// letter.
    pub approved: bool,
    /// Still `NEW` or `RUNNING` in DingTalk: it must stay `pending` in the ledger.
    pub running: bool,
    /// The outcome once approved, when the simulator records one.
    pub outcome: Option<Expected>,
}

impl Expectation {
    /// Returns the saved bill's row amounts and total, when it must become a bill.
    pub fn saved(&self) -> Option<(&[rust_decimal::Decimal], rust_decimal::Decimal)> {
        match (&self.outcome, self.approved) {
            (Some(Expected::Saved { amounts, total }), true) => Some((amounts, *total)),
            _ => None,
        }
    }

    /// Returns the form field a mapping rejection must name, when it must be rejected.
    pub fn rejected_field(&self) -> Option<&str> {
        match (&self.outcome, self.approved) {
            (Some(Expected::Rejected { field, .. }), true) => Some(field),
            _ => None,
        }
    }

    /// Returns the ledger statuses that end this approval.
    pub fn final_statuses(&self) -> &'static [Status] {
        if !self.approved {
            return if self.running {
                &[Status::Pending]
            } else {
                &[Status::Skipped]
            };
        }
        match self.outcome {
            Some(Expected::Saved { .. }) => &[Status::Saved],
            Some(Expected::Rejected { .. }) => &[Status::Rejected],
            _ => &[Status::Saved, Status::Rejected, Status::Dead],
        }
    }

    /// Describes why the approval has not reached its end, or `None` when it has.
    pub fn unsettled(&self, row: Option<&LedgerRow>) -> Option<String> {
        let wanted = self.final_statuses();
        let wanted_text = wanted
            .iter()
            .map(|status| status.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let Some(row) = row else {
            return Some(format!(
                "{} ({}): not in the ledger, expected {wanted_text}",
                self.process_instance_id, self.label
            ));
        };
        if wanted.contains(&row.status) {
            return None;
        }
        let error = match (&row.last_error_kind, &row.last_error) {
            (Some(kind), Some(text)) => format!("; last error {kind}: {text}"),
            _ => String::new(),
        };
        Some(format!(
            "{} ({}): {} after {} attempts, expected {wanted_text}{error}",
            self.process_instance_id, self.label, row.status, row.attempts
        ))
    }
}

/// Reads the expectation of every approval the simulator holds, in id order.
pub fn expectations(dingtalk: &DingTalkHandle) -> Vec<Expectation> {
    dingtalk
        .entries()
        .into_iter()
        .map(|entry| {
            let truth = entry.truth();
            let instance = &entry.instance;
            let label = match &entry.origin {
                Origin::Case { name } => name.clone(),
                Origin::Generated { .. } => "generated".to_string(),
                Origin::Added => "added".to_string(),
            };
            Expectation {
                process_instance_id: instance.process_instance_id.clone(),
                business_id: instance.business_id.clone(),
                label,
                approved: truth.approved,
                running: matches!(
                    instance.status,
                    DingTalkStatus::New | DingTalkStatus::Running
                ),
                outcome: entry.outcome_if_approved.clone(),
            }
        })
        .collect()
}
