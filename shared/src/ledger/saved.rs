//! Recording that K3Cloud saved a bill, which ends the approval's claim.
//!
//! A consumer records the saved bills of a whole `BatchSave` in one transaction,
//! because one commit per bill bounded how fast a consumer could drain a backlog.

use std::time::Instant;

use chrono::Utc;
use sqlx::AnyConnection;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{EventAction, InstanceRecord, Status, to_millis};
use crate::ledger::rows::{NewEvent, insert_event, lock_order, require_record};

const OPERATION: &str = "mark_saved";

/// A bill that K3Cloud saved, to be recorded against its approval.
#[derive(Debug, Clone, Copy)]
pub struct SavedBill<'a> {
    /// The approval the bill was written for.
    pub process_instance_id: &'a str,

    /// The bill number K3Cloud stored, which operators search for in K3Cloud.
    pub bill_no: &'a str,

    /// K3Cloud's internal id of the bill, needed to view or delete it through the API.
    pub k3_id: &'a str,
}

/// Outcome of one bill's update, logged once the transaction commits.
struct Recorded {
    changed: bool,
}

impl Ledger {
    /// Records that the bill exists in K3Cloud, ending any claim.
    ///
    /// The bill is a fact, so it is recorded even when `owner` lost its lease to another
    /// consumer or the instance was rejected or dead-lettered meanwhile (that is logged
    /// as a warning). Recording the same bill again does nothing. A different bill for
    /// a saved instance fails with [`LedgerError::DifferentBill`], because K3Cloud then
    /// contains two bills for one approval.
    pub async fn mark_saved(
        &self,
        process_instance_id: &str,
        owner: &str,
        bill_no: &str,
        k3_id: &str,
    ) -> Result<(), LedgerError> {
        let bill = SavedBill {
            process_instance_id,
            bill_no,
            k3_id,
        };
        let mut results = self.mark_saved_all(owner, &[bill]).await?;
        results.remove(0)
    }

    /// Records several saved bills as [`Ledger::mark_saved`] does, in one transaction.
    ///
    /// The outer error means the database failed and no bill was recorded. Otherwise
    /// there is one result per bill, in order: a bill that contradicts the ledger
    /// (another bill number, an unknown instance) fails alone and the others are kept.
    pub async fn mark_saved_all(
        &self,
        owner: &str,
        bills: &[SavedBill<'_>],
    ) -> Result<Vec<Result<(), LedgerError>>, LedgerError> {
        let started = Instant::now();
        let result = self.mark_saved_inner(owner, bills).await;
        match &result {
            Ok(results) => {
                for item in results {
                    metrics::observe_result(OPERATION, started, item);
                }
            }
            Err(_) => {
                for _ in bills {
                    metrics::observe(OPERATION, "error", started);
                }
            }
        }
        result
    }

    async fn mark_saved_inner(
        &self,
        owner: &str,
        bills: &[SavedBill<'_>],
    ) -> Result<Vec<Result<(), LedgerError>>, LedgerError> {
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;
        let mut results: Vec<Option<Result<Recorded, LedgerError>>> =
            bills.iter().map(|_| None).collect();

        for index in lock_order(bills, |bill| bill.process_instance_id) {
            match mark_saved_row(&mut tx, owner, &bills[index], now).await {
                Ok(recorded) => results[index] = Some(Ok(recorded)),
                // A failed statement aborts a PostgreSQL transaction, so a database
                // error fails every bill of the call.
                Err(error @ LedgerError::Database { .. }) => return Err(error),
                Err(error) => results[index] = Some(Err(error)),
            }
        }

        tx.commit().await.map_err(database(OPERATION))?;
        let results = bills
            .iter()
            .zip(results)
            .map(|(bill, result)| {
                let recorded = result.expect("every bill was visited")?;
                if recorded.changed {
                    tracing::info!(
                        process_instance_id = bill.process_instance_id,
                        bill_no = bill.bill_no,
                        k3_id = bill.k3_id,
                        owner,
                        "ledger recorded saved bill"
                    );
                }
                Ok(())
            })
            .collect();
        Ok(results)
    }
}

/// Moves one instance to `saved` inside the caller's transaction.
///
/// A business error (another bill, an unknown instance) has changed nothing, so the
/// transaction can go on with the next bill.
async fn mark_saved_row(
    conn: &mut AnyConnection,
    owner: &str,
    bill: &SavedBill<'_>,
    now: i64,
) -> Result<Recorded, LedgerError> {
    let SavedBill {
        process_instance_id: id,
        bill_no,
        k3_id,
    } = *bill;
    let record = require_record(conn, OPERATION, id).await?;
    if record.status == Status::Saved {
        return same_bill(&record, bill_no).map(|()| Recorded { changed: false });
    }
    let overridden = record
        .lease_owner
        .as_deref()
        .filter(|holder| *holder != owner);
    if let Some(holder) = overridden {
        tracing::warn!(
            process_instance_id = id,
            bill_no,
            owner,
            holder,
            "ledger save recorded while another consumer holds the claim"
        );
    } else if matches!(record.status, Status::Rejected | Status::Dead) {
        tracing::warn!(process_instance_id = id, bill_no, owner, status = %record.status, "ledger save recorded for an instance that was rejected or dead-lettered");
    }

    let result = sqlx::query(
        "UPDATE ledger_instances SET status = 'saved', bill_no = $2, k3_id = $3, \
         lease_owner = NULL, lease_until = NULL, saved_at = $4, updated_at = $4 \
         WHERE process_instance_id = $1 AND status <> 'saved'",
    )
    .bind(id)
    .bind(bill_no)
    .bind(k3_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(database(OPERATION))?;
    if result.rows_affected() == 0 {
        // Another consumer recorded a save between the read and the update.
        let record = require_record(conn, OPERATION, id).await?;
        return same_bill(&record, bill_no).map(|()| Recorded { changed: false });
    }

    let mut detail = format!("bill {bill_no}, K3Cloud id {k3_id}");
    if let Some(holder) = overridden {
        detail.push_str(&format!(", recorded over the claim of {holder}"));
    }
    let event = NewEvent {
        process_instance_id: id,
        occurred_at_millis: now,
        actor: owner,
        action: EventAction::Saved,
        status: Status::Saved,
        detail: &detail,
    };
    insert_event(conn, OPERATION, event).await?;
    Ok(Recorded { changed: true })
}

/// Succeeds when the ledger already records `bill_no` for the instance.
fn same_bill(record: &InstanceRecord, bill_no: &str) -> Result<(), LedgerError> {
    match record.bill_no.as_deref() {
        Some(recorded) if recorded == bill_no => Ok(()),
        recorded => Err(LedgerError::DifferentBill {
            process_instance_id: record.process_instance_id.clone(),
            recorded_bill_no: recorded.unwrap_or_default().to_string(),
            bill_no: bill_no.to_string(),
        }),
    }
}
