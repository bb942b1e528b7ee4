//! Recording how a consumer's write ended: saved, rejected, released for a retry, or
//! dead-lettered, and reopening rejected or dead instances for a replay.

use std::time::Instant;

use chrono::Utc;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{EventAction, Status, to_millis};
use crate::ledger::rows::{NewEvent, insert_event, require_record};

impl Ledger {
    /// Records that K3Cloud rejected the bill; `owner` must hold the claim. Only a
    /// replay makes the instance claimable again.
    ///
    /// On an instance that is already rejected the call does nothing, so a repeated
    /// call succeeds. A saved instance fails with [`LedgerError::InvalidTransition`].
    /// Any other instance not claimed by `owner` fails with [`LedgerError::LeaseNotHeld`].
    pub async fn mark_rejected(
        &self,
        process_instance_id: &str,
        owner: &str,
        kind: &str,
        text: &str,
    ) -> Result<(), LedgerError> {
        let started = Instant::now();
        let result = self
            .end_claim(process_instance_id, owner, kind, text, Status::Rejected)
            .await;
        metrics::observe_result("mark_rejected", started, &result);
        result
    }

    /// Gives up a claim after a transient failure (timeout, network, lock conflict):
    /// the lease is cleared, the instance stays `published` for the retry, and the
    /// error is kept as its last error. The attempt was already counted by the claim,
    /// so a consumer that crashes before releasing is counted too.
    ///
    /// On an instance that is `published` without a claim the call does nothing, so a
    /// repeated call succeeds. Any other instance not claimed by `owner` fails with
    /// [`LedgerError::LeaseNotHeld`].
    pub async fn release(
        &self,
        process_instance_id: &str,
        owner: &str,
        kind: &str,
        text: &str,
    ) -> Result<(), LedgerError> {
        let started = Instant::now();
        let result = self
            .end_claim(process_instance_id, owner, kind, text, Status::Published)
            .await;
        metrics::observe_result("release", started, &result);
        result
    }

    /// Ends `owner`'s claim with `target` (`rejected` or `published`).
    async fn end_claim(
        &self,
        id: &str,
        owner: &str,
        kind: &str,
        text: &str,
        target: Status,
    ) -> Result<(), LedgerError> {
        let operation = if target == Status::Rejected {
            "mark_rejected"
        } else {
            "release"
        };
        let action = if target == Status::Rejected {
            EventAction::Rejected
        } else {
            EventAction::Released
        };
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(operation))?;

        let result = sqlx::query(
            "UPDATE ledger_instances SET status = $3, last_error_kind = $4, last_error = $5, \
             lease_owner = NULL, lease_until = NULL, updated_at = $6 \
             WHERE process_instance_id = $1 AND status = 'saving' AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(target.as_str())
        .bind(kind)
        .bind(text)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(database(operation))?;

        if result.rows_affected() == 0 {
            let record = require_record(&mut tx, operation, id).await?;
            tx.commit().await.map_err(database(operation))?;
            let repeated = record.status == target && record.lease_owner.is_none();
            if repeated {
                return Ok(());
            }
            if record.status == Status::Saved && target == Status::Rejected {
                return Err(LedgerError::InvalidTransition {
                    process_instance_id: id.to_string(),
                    from: Status::Saved,
                    to: target,
                });
            }
            return Err(LedgerError::LeaseNotHeld {
                process_instance_id: id.to_string(),
                owner: owner.to_string(),
                status: record.status,
                holder: record.lease_owner,
            });
        }

        let detail = format!("{kind}: {text}");
        let event = NewEvent {
            process_instance_id: id,
            occurred_at_millis: now,
            actor: owner,
            action,
            status: target,
            detail: &detail,
        };
        insert_event(&mut tx, operation, event).await?;
        tx.commit().await.map_err(database(operation))?;
        tracing::info!(process_instance_id = id, owner, error_kind = kind, error = text, status = %target, "ledger claim ended");
        Ok(())
    }

    /// Records that the instance went to the dead-letter queue (retries exhausted,
    /// invalid message, mapping error). It needs no claim, and an instance the ledger
    /// does not hold gets a row without summary, so that it still shows in the status
    /// counts.
    ///
    /// Repeating the call on a dead instance does nothing; a saved instance fails with
    /// [`LedgerError::InvalidTransition`].
    pub async fn mark_dead(
        &self,
        process_instance_id: &str,
        kind: &str,
        text: &str,
    ) -> Result<(), LedgerError> {
        let started = Instant::now();
        let result = self.mark_dead_inner(process_instance_id, kind, text).await;
        metrics::observe_result("mark_dead", started, &result);
        result
    }

    async fn mark_dead_inner(&self, id: &str, kind: &str, text: &str) -> Result<(), LedgerError> {
        const OPERATION: &str = "mark_dead";
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;

        let result = sqlx::query(
            "INSERT INTO ledger_instances (process_instance_id, status, last_error_kind, \
             last_error, attempts, replay_count, created_at, updated_at) \
             VALUES ($1, 'dead', $2, $3, 0, 0, $4, $4) \
             ON CONFLICT (process_instance_id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(text)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(database(OPERATION))?;
        let inserted = result.rows_affected() == 1;

        let mut changed = inserted;
        if !inserted {
            let result = sqlx::query(
                "UPDATE ledger_instances SET status = 'dead', last_error_kind = $2, \
                 last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                 WHERE process_instance_id = $1 AND status NOT IN ('saved', 'dead')",
            )
            .bind(id)
            .bind(kind)
            .bind(text)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(database(OPERATION))?;
            changed = result.rows_affected() == 1;
        }

        if !changed {
            let record = require_record(&mut tx, OPERATION, id).await?;
            tx.commit().await.map_err(database(OPERATION))?;
            return match record.status {
                Status::Dead => Ok(()),
                from => Err(LedgerError::InvalidTransition {
                    process_instance_id: id.to_string(),
                    from,
                    to: Status::Dead,
                }),
            };
        }

        let detail = format!("{kind}: {text}");
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
            error_kind = kind,
            error = text,
            "ledger recorded dead letter"
        );
        Ok(())
    }

    /// Makes a rejected or dead instance claimable again for a replay from the
    /// dead-letter queue: it becomes `published`, its attempt count restarts at zero,
    /// and its replay count grows by one, which is returned.
    ///
    /// Any other status fails with [`LedgerError::InvalidTransition`], so a replay that
    /// repeats cannot reopen an instance twice.
    pub async fn reopen_for_replay(&self, process_instance_id: &str) -> Result<u32, LedgerError> {
        let started = Instant::now();
        let result = self.reopen_inner(process_instance_id).await;
        metrics::observe_result("reopen_for_replay", started, &result);
        result
    }

    async fn reopen_inner(&self, id: &str) -> Result<u32, LedgerError> {
        const OPERATION: &str = "reopen_for_replay";
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;

        let replay_count: Option<i64> = sqlx::query_scalar(
            "UPDATE ledger_instances SET status = 'published', attempts = 0, \
             replay_count = replay_count + 1, published_at = COALESCE(published_at, $2), \
             updated_at = $2 \
             WHERE process_instance_id = $1 AND status IN ('rejected', 'dead') \
             RETURNING replay_count",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(database(OPERATION))?;

        let Some(replay_count) = replay_count else {
            let record = require_record(&mut tx, OPERATION, id).await?;
            tx.commit().await.map_err(database(OPERATION))?;
            return Err(LedgerError::InvalidTransition {
                process_instance_id: id.to_string(),
                from: record.status,
                to: Status::Published,
            });
        };
        let replay_count = u32::try_from(replay_count).unwrap_or(u32::MAX);

        let detail = format!("replay {replay_count}");
        let event = NewEvent {
            process_instance_id: id,
            occurred_at_millis: now,
            actor: &self.actor,
            action: EventAction::Reopened,
            status: Status::Published,
            detail: &detail,
        };
        insert_event(&mut tx, OPERATION, event).await?;
        tx.commit().await.map_err(database(OPERATION))?;
        tracing::info!(
            process_instance_id = id,
            replay_count,
            "ledger reopened instance for replay"
        );
        Ok(replay_count)
    }
}
