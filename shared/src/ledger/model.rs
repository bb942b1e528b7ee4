//! The values the ledger stores and returns: statuses, instance rows, audit events and
//! claim outcomes.
//!
//! Times are UTC with millisecond precision, because the database keeps them as
//! milliseconds since the Unix epoch on both SQLite and PostgreSQL.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::i18n::{Localize, Text};

/// Stage of an approval instance in the pipeline.
///
/// The order of the variants is the order of the pipeline, so sorted counts read from
/// the first stage to the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Seen while still running in DingTalk; the producer's poll window keeps covering it.
    Pending,
    /// Finished without approval (refused, terminated, cancelled): no bill is due.
    Skipped,
    /// Approved and published to the broker, and not claimed by any consumer.
    Published,
    /// A consumer holds a lease and is writing the bill.
    Saving,
    /// The bill exists in K3Cloud.
    Saved,
    /// K3Cloud rejected the bill; only a replay brings it back.
    Rejected,
    /// Dead-lettered (retries exhausted, invalid message, mapping error); only a replay
    /// brings it back.
    Dead,
}

impl Status {
    /// Every status in pipeline order.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Skipped,
        Status::Published,
        Status::Saving,
        Status::Saved,
        Status::Rejected,
        Status::Dead,
    ];

    /// Returns the spelling stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Skipped => "skipped",
            Status::Published => "published",
            Status::Saving => "saving",
            Status::Saved => "saved",
            Status::Rejected => "rejected",
            Status::Dead => "dead",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Status::from_str`] for a spelling that is not a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ledger status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(value: &str) -> Result<Status, UnknownStatus> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| UnknownStatus(value.to_string()))
    }
}

impl Localize for Status {
    fn localize(&self) -> Text {
        let zh = match self {
            Status::Pending => "审批中",
            Status::Skipped => "已跳过",
            Status::Published => "已发布",
            Status::Saving => "写入中",
            Status::Saved => "已保存",
            Status::Rejected => "被拒绝",
            Status::Dead => "死信",
        };
        Text::new(self.as_str(), zh)
    }
}

/// Facts about an approval instance, stored when the ledger first records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSummary {
    /// DingTalk process instance id, the ledger's key.
    pub process_instance_id: String,

    /// Approval template (`process_code`) the instance belongs to.
    pub process_code: String,

    /// Approval number (审批编号) that people search by.
    pub business_id: String,

    /// Title shown in DingTalk.
    pub title: String,

    /// DingTalk user id of the person who submitted the approval.
    pub originator_userid: String,

    /// Total amount of the claim where the form has one; stored exactly.
    pub total_amount: Option<Decimal>,

    /// When the instance was created in DingTalk, converted to UTC. The producer's poll
    /// window starts from the oldest pending creation time.
    pub create_time: DateTime<Utc>,
}

/// One ledger row: everything known about an approval instance and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// DingTalk process instance id.
    pub process_instance_id: String,

    /// Approval template; absent for a row created by dead-lettering a message whose
    /// content could not be read.
    pub process_code: Option<String>,

    /// Approval number (审批编号).
    pub business_id: Option<String>,

    /// Title shown in DingTalk.
    pub title: Option<String>,

    /// DingTalk user id of the submitter.
    pub originator_userid: Option<String>,

    /// Total amount, exact.
    pub total_amount: Option<Decimal>,

    /// Creation time of the instance in DingTalk.
    pub create_time: Option<DateTime<Utc>>,

    /// Current status.
    pub status: Status,

    /// Reason the producer skipped the instance (refused, terminated, …).
    pub skip_reason: Option<String>,

    /// K3Cloud bill number, once saved.
    pub bill_no: Option<String>,

    /// K3Cloud internal id (`FID`) of the bill, once saved.
    pub k3_id: Option<String>,

    /// Claims made since the instance was published or last replayed; each claim is one
    /// write attempt.
    pub attempts: u32,

    /// Machine-readable kind of the last failure (`transient`, `rejected`, `mapping`, …).
    pub last_error_kind: Option<String>,

    /// Human-readable text of the last failure.
    pub last_error: Option<String>,

    /// Consumer holding the claim while the status is `saving`.
    pub lease_owner: Option<String>,

    /// When the current claim expires.
    pub lease_until: Option<DateTime<Utc>>,

    /// How often the instance was replayed from the dead-letter queue.
    pub replay_count: u32,

    /// When the ledger first recorded the instance.
    pub created_at: DateTime<Utc>,

    /// Last change of the row.
    pub updated_at: DateTime<Utc>,

    /// When the instance was first published or claimed.
    pub published_at: Option<DateTime<Utc>>,

    /// When the bill was recorded as saved.
    pub saved_at: Option<DateTime<Utc>>,
}

/// Kind of change that one audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventAction {
    /// The instance was first recorded (by the producer, or by a consumer that received
    /// a message for an instance the ledger did not hold).
    Recorded,
    /// The producer skipped it.
    Skipped,
    /// The producer's publish was confirmed.
    Published,
    /// A consumer claimed it.
    Claimed,
    /// A consumer gave up its claim after a transient failure.
    Released,
    /// The bill was saved.
    Saved,
    /// K3Cloud rejected the bill.
    Rejected,
    /// The instance went to the dead-letter queue.
    Dead,
    /// An operator replayed it from the dead-letter queue.
    Reopened,
}

impl EventAction {
    /// Every action.
    pub const ALL: [EventAction; 9] = [
        EventAction::Recorded,
        EventAction::Skipped,
        EventAction::Published,
        EventAction::Claimed,
        EventAction::Released,
        EventAction::Saved,
        EventAction::Rejected,
        EventAction::Dead,
        EventAction::Reopened,
    ];

    /// Returns the spelling stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Recorded => "recorded",
            EventAction::Skipped => "skipped",
            EventAction::Published => "published",
            EventAction::Claimed => "claimed",
            EventAction::Released => "released",
            EventAction::Saved => "saved",
            EventAction::Rejected => "rejected",
            EventAction::Dead => "dead",
            EventAction::Reopened => "reopened",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<EventAction> {
        EventAction::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

impl fmt::Display for EventAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEvent {
    /// Increasing id; orders events of one instance.
    pub id: i64,

    /// Instance the event belongs to.
    pub process_instance_id: String,

    /// When it happened.
    pub occurred_at: DateTime<Utc>,

    /// Producer or consumer id that caused it.
    pub actor: String,

    /// What happened.
    pub action: EventAction,

    /// Status of the instance after the event.
    pub status: Status,

    /// Attempt number, bill number, error text or skip reason, as fits the action.
    pub detail: String,
}

/// Outcome of a consumer's claim on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the lease and may write the bill.
    Claimed {
        /// Number of this attempt, counting from 1 after publication or replay.
        attempts: u32,

        /// When the lease expires unless renewed by claiming again.
        until: DateTime<Utc>,
    },

    /// The bill already exists; the message is a duplicate.
    AlreadySaved {
        /// K3Cloud bill number.
        bill_no: String,

        /// K3Cloud internal id.
        k3_id: String,
    },

    /// Another consumer holds a lease that has not expired.
    HeldByOther {
        /// The other consumer's id.
        owner: String,

        /// When its lease expires.
        until: DateTime<Utc>,
    },

    /// The instance is skipped, rejected or dead; only a replay makes it claimable.
    Terminal {
        /// The terminal status.
        status: Status,
    },
}

/// Converts UTC to the stored milliseconds.
pub(crate) fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

/// Converts stored milliseconds back, or `None` outside chrono's range.
pub(crate) fn from_millis(millis: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_spelling_round_trips() {
        for status in Status::ALL {
            assert_eq!(
                status.as_str().parse::<Status>(),
                Ok(status),
                "{status} must parse back"
            );
        }
    }

    #[test]
    fn status_unknown_spelling_rejected() {
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn action_spelling_round_trips() {
        for action in EventAction::ALL {
            assert_eq!(EventAction::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn millis_round_trip_drops_sub_millisecond() {
        let time = DateTime::parse_from_rfc3339("2026-11-04T08:40:05.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let back = from_millis(to_millis(time)).unwrap();
        assert_eq!(back.to_rfc3339(), "2026-11-04T08:40:05.123+00:00");
    }
}
