//! State of the optional write-back: a DingTalk comment naming the K3Cloud bill number,
//! added after the bill is saved.
//!
//! A write-back never changes the instance's status. It is requested once the bill is
//! saved (`pending`), then ends `done`, or `failed` to be tried again after a pause,
//! or `abandoned` once its attempts are used up. The retry sweep of a consumer reads
//! the due ones from here, so a write-back survives a restart.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database, invalid_row};
use crate::ledger::metrics;
use crate::ledger::model::to_millis;

/// Stage of a write-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WriteBackStatus {
    /// Requested; the first attempt is under way or due.
    Pending,
    /// The comment was added.
    Done,
    /// The last attempt failed; another follows after the retry pause.
    Failed,
    /// Every allowed attempt failed; an operator has to add the comment by hand.
    Abandoned,
}

impl WriteBackStatus {
    /// Every status, in order.
    pub const ALL: [WriteBackStatus; 4] = [
        WriteBackStatus::Pending,
        WriteBackStatus::Done,
        WriteBackStatus::Failed,
        WriteBackStatus::Abandoned,
    ];

    /// Returns the spelling stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteBackStatus::Pending => "pending",
            WriteBackStatus::Done => "done",
            WriteBackStatus::Failed => "failed",
            WriteBackStatus::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Option<WriteBackStatus> {
        WriteBackStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl fmt::Display for WriteBackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A write-back that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWriteBack {
    /// The approval to comment on.
    pub process_instance_id: String,

    /// Its approval number, for the comment text and logs.
    pub business_id: Option<String>,

    /// The saved bill's number.
    pub bill_no: String,

    /// Attempts made so far.
    pub attempts: u32,
}

impl Ledger {
    /// Requests the write-back of a saved instance at `now`. Returns false when the
    /// instance is not saved or a write-back was already requested, so a redelivered
    /// message does not comment twice.
    pub async fn request_write_back(
        &self,
        process_instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let started = Instant::now();
        let result = sqlx::query(
            "UPDATE ledger_instances SET write_back_status = 'pending', write_back_at = $2 \
             WHERE process_instance_id = $1 AND status = 'saved' AND write_back_status IS NULL",
        )
        .bind(process_instance_id)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected() == 1)
        .map_err(database("request_write_back"));
        metrics::observe_result("request_write_back", started, &result);
        result
    }

    /// Records one write-back attempt made at `now`: `Ok(())` makes it `done`; an error
    /// text makes it `failed`, or `abandoned` once `max_attempts` attempts were made.
    /// Returns the new status.
    pub async fn record_write_back(
        &self,
        process_instance_id: &str,
        outcome: Result<(), &str>,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<WriteBackStatus, LedgerError> {
        let started = Instant::now();
        let result = self
            .record_write_back_inner(process_instance_id, outcome, max_attempts, now)
            .await;
        metrics::observe_result("record_write_back", started, &result);
        result
    }

    async fn record_write_back_inner(
        &self,
        id: &str,
        outcome: Result<(), &str>,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<WriteBackStatus, LedgerError> {
        const OPERATION: &str = "record_write_back";
        let (attempt_status, error) = match outcome {
            Ok(()) => (WriteBackStatus::Done, None),
            Err(text) => (WriteBackStatus::Failed, Some(text)),
        };
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE ledger_instances SET \
             write_back_attempts = write_back_attempts + 1, \
             write_back_status = CASE \
                 WHEN $2 = 'done' THEN 'done' \
                 WHEN write_back_attempts + 1 >= $4 THEN 'abandoned' \
                 ELSE 'failed' END, \
             write_back_error = $3, write_back_at = $5 \
             WHERE process_instance_id = $1 AND write_back_status IN ('pending', 'failed') \
             RETURNING write_back_status",
        )
        .bind(id)
        .bind(attempt_status.as_str())
        .bind(error)
        .bind(i64::from(max_attempts))
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(database(OPERATION))?;
        let Some(status) = status else {
            return Err(LedgerError::NotFound {
                process_instance_id: id.to_string(),
            });
        };
        WriteBackStatus::parse(&status)
            .ok_or_else(|| invalid_row(id, format!("unknown write-back status {status:?}")))
    }

    /// Lists write-backs that are pending or failed and whose last request or attempt
    /// was at or before `last_attempt_before`, oldest first, at most `limit`.
    pub async fn due_write_backs(
        &self,
        last_attempt_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueWriteBack>, LedgerError> {
        const OPERATION: &str = "due_write_backs";
        let started = Instant::now();
        let result = sqlx::query(
            "SELECT process_instance_id, business_id, bill_no, write_back_attempts \
             FROM ledger_instances \
             WHERE write_back_status IN ('pending', 'failed') AND status = 'saved' \
             AND write_back_at <= $1 \
             ORDER BY write_back_at, process_instance_id LIMIT $2",
        )
        .bind(to_millis(last_attempt_before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database(OPERATION))
        .and_then(|rows| rows.iter().map(decode_due).collect());
        metrics::observe_result(OPERATION, started, &result);
        result
    }

    /// Counts write-backs per status; every status is present, with zero where none.
    pub async fn write_back_counts(&self) -> Result<BTreeMap<WriteBackStatus, u64>, LedgerError> {
        const OPERATION: &str = "write_back_counts";
        let started = Instant::now();
        let result = self.write_back_counts_inner().await;
        metrics::observe_result(OPERATION, started, &result);
        result
    }

    async fn write_back_counts_inner(&self) -> Result<BTreeMap<WriteBackStatus, u64>, LedgerError> {
        const OPERATION: &str = "write_back_counts";
        let rows = sqlx::query(
            "SELECT write_back_status, COUNT(*) FROM ledger_instances \
             WHERE write_back_status IS NOT NULL GROUP BY write_back_status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database(OPERATION))?;
        let mut counts: BTreeMap<WriteBackStatus, u64> = WriteBackStatus::ALL
            .into_iter()
            .map(|status| (status, 0))
            .collect();
        for row in rows {
            let text: String = row.try_get(0).map_err(database(OPERATION))?;
            let count: i64 = row.try_get(1).map_err(database(OPERATION))?;
            let status = WriteBackStatus::parse(&text).ok_or_else(|| {
                invalid_row(
                    "(write-back count)",
                    format!("unknown write-back status {text:?}"),
                )
            })?;
            counts.insert(status, u64::try_from(count).unwrap_or_default());
        }
        Ok(counts)
    }
}

fn decode_due(row: &sqlx::any::AnyRow) -> Result<DueWriteBack, LedgerError> {
    let id: String = row
        .try_get("process_instance_id")
        .map_err(|error| invalid_row("?", error))?;
    let business_id: Option<String> = row
        .try_get("business_id")
        .map_err(|error| invalid_row(&id, error))?;
    let bill_no: Option<String> = row
        .try_get("bill_no")
        .map_err(|error| invalid_row(&id, error))?;
    let attempts: i64 = row
        .try_get("write_back_attempts")
        .map_err(|error| invalid_row(&id, error))?;
    let bill_no = bill_no.ok_or_else(|| invalid_row(&id, "saved without bill number"))?;
    Ok(DueWriteBack {
        process_instance_id: id,
        business_id,
        bill_no,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
    })
}
