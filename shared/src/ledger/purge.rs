//! Recording that an operator removed an instance's dead letter from the dead-letter
//! queue for good.

use std::time::Instant;

use chrono::Utc;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{EventAction, Status, to_millis};
use crate::ledger::rows::{NewEvent, insert_event, require_record};

/// `last_error_kind` of a purged instance.
pub const PURGED_KIND: &str = "purged";

impl Ledger {
    /// Records that an operator purged the instance's dead letter; `detail` names the
    /// file the message was saved in. A `rejected` or `dead` row becomes `dead` with
    /// error kind `purged`. An audit event is written every time, so the trail shows
    /// each removal even when the row was dead already. An instance the ledger does not
    /// hold gets a `dead` row without summary.
    ///
    /// Any other status fails with [`LedgerError::InvalidTransition`] and leaves the
    /// row unchanged: a `published` or `saving` instance has a live copy in the
    /// pipeline that a `dead` row would make the consumer drop, and a `saved` one has
    /// its bill.
    pub async fn mark_purged(
        &self,
        process_instance_id: &str,
        detail: &str,
    ) -> Result<(), LedgerError> {
        let started = Instant::now();
        let result = self.mark_purged_inner(process_instance_id, detail).await;
        metrics::observe_result("mark_purged", started, &result);
        result
    }

    async fn mark_purged_inner(&self, id: &str, detail: &str) -> Result<(), LedgerError> {
        const OPERATION: &str = "mark_purged";
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;

        let inserted = sqlx::query(
            "INSERT INTO ledger_instances (process_instance_id, status, last_error_kind, \
             last_error, attempts, replay_count, created_at, updated_at) \
             VALUES ($1, 'dead', $2, $3, 0, 0, $4, $4) \
             ON CONFLICT (process_instance_id) DO NOTHING",
        )
        .bind(id)
        .bind(PURGED_KIND)
        .bind(detail)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(database(OPERATION))?
        .rows_affected()
            == 1;

        if !inserted {
            let updated = sqlx::query(
                "UPDATE ledger_instances SET status = 'dead', last_error_kind = $2, \
                 last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                 WHERE process_instance_id = $1 AND status IN ('rejected', 'dead')",
            )
            .bind(id)
            .bind(PURGED_KIND)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(database(OPERATION))?
            .rows_affected();
            if updated == 0 {
                let record = require_record(&mut tx, OPERATION, id).await?;
                tx.commit().await.map_err(database(OPERATION))?;
                return Err(LedgerError::InvalidTransition {
                    process_instance_id: id.to_string(),
                    from: record.status,
                    to: Status::Dead,
                });
            }
        }

        let detail = format!("{PURGED_KIND}: {detail}");
        let event = NewEvent {
            process_instance_id: id,
            occurred_at_millis: now,
            actor: &self.actor,
            action: EventAction::Dead,
            status: Status::Dead,
            detail: &detail,
        };
        insert_event(&mut tx, OPERATION, event).await?;
        tx.commit().await.map_err(database(OPERATION))?;
        tracing::info!(
            process_instance_id = id,
            actor = %self.actor,
            "ledger recorded purged dead letter"
        );
        Ok(())
    }
}
