//! Ledger operations of the producer: recording what each poll saw, choosing which
//! instances need their details fetched, and the watermark per process code.
//!
//! Every write is idempotent and only moves an instance forward. A poll that lists an
//! instance again (the window overlaps, a restart repeats a window) therefore never
//! resets a published or saved instance to `pending`.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{
    EventAction, InstanceRecord, InstanceSummary, Status, from_millis, to_millis,
};
use crate::ledger::rows::{
    NewEvent, fetch_record, fill_missing_summary, insert_event, insert_if_missing, lock_order,
    require_record,
};

/// Ids per `IN (…)` list; far below the bind limits of SQLite (32766) and PostgreSQL
/// (65535).
const IDS_PER_QUERY: usize = 500;

impl Ledger {
    /// Returns the row of an instance, or `None` if the ledger has never seen it.
    pub async fn get(
        &self,
        process_instance_id: &str,
    ) -> Result<Option<InstanceRecord>, LedgerError> {
        let started = Instant::now();
        let result = async {
            let mut conn = self.pool.acquire().await.map_err(database("get"))?;
            fetch_record(&mut conn, "get", process_instance_id).await
        }
        .await;
        metrics::observe_result("get", started, &result);
        result
    }

    /// Records an instance that is still running (`RUNNING`/`NEW`), so that the poll
    /// window keeps covering it until it finishes.
    ///
    /// An instance that is already recorded keeps its status. The returned status is
    /// the one in effect after the call.
    pub async fn record_pending(&self, summary: &InstanceSummary) -> Result<Status, LedgerError> {
        let statuses = self
            .record_pending_all(std::slice::from_ref(summary))
            .await?;
        Ok(statuses[0])
    }

    /// Records several instances as [`Ledger::record_pending`] does, in one transaction.
    ///
    /// The producer records a whole publish batch at once because a commit per
    /// approval bounded its rate. Either every row is recorded or, on an error, none.
    /// The statuses come back in the order of `summaries`.
    pub async fn record_pending_all(
        &self,
        summaries: &[InstanceSummary],
    ) -> Result<Vec<Status>, LedgerError> {
        let started = Instant::now();
        let result = self.record_pending_inner(summaries).await;
        metrics::observe_result("record_pending", started, &result);
        result
    }

    async fn record_pending_inner(
        &self,
        summaries: &[InstanceSummary],
    ) -> Result<Vec<Status>, LedgerError> {
        const OPERATION: &str = "record_pending";
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;
        let mut statuses = vec![Status::Pending; summaries.len()];

        for index in lock_order(summaries, |summary| &summary.process_instance_id) {
            let summary = &summaries[index];
            let id = summary.process_instance_id.as_str();
            let status =
                if insert_if_missing(&mut tx, OPERATION, summary, Status::Pending, now, None)
                    .await?
                {
                    let event = NewEvent {
                        process_instance_id: id,
                        occurred_at_millis: now,
                        actor: &self.actor,
                        action: EventAction::Recorded,
                        status: Status::Pending,
                        detail: "seen while the approval is running",
                    };
                    insert_event(&mut tx, OPERATION, event).await?;
                    Status::Pending
                } else {
                    fill_missing_summary(&mut tx, OPERATION, summary).await?;
                    require_record(&mut tx, OPERATION, id).await?.status
                };
            tracing::debug!(process_instance_id = id, business_id = %summary.business_id, %status, "ledger recorded pending instance");
            statuses[index] = status;
        }

        tx.commit().await.map_err(database(OPERATION))?;
        Ok(statuses)
    }

    /// Records an instance that finished without approval (refused, terminated,
    /// cancelled), with the reason shown to operators.
    ///
    /// Only a new or `pending` instance becomes `skipped`; the returned status is the
    /// one in effect after the call.
    pub async fn record_skipped(
        &self,
        summary: &InstanceSummary,
        reason: &str,
    ) -> Result<Status, LedgerError> {
        let started = Instant::now();
        let result = self.record_skipped_inner(summary, reason).await;
        metrics::observe_result("record_skipped", started, &result);
        result
    }

    async fn record_skipped_inner(
        &self,
        summary: &InstanceSummary,
        reason: &str,
    ) -> Result<Status, LedgerError> {
        const OPERATION: &str = "record_skipped";
        let id = summary.process_instance_id.as_str();
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;

        let mut changed = insert_if_missing(
            &mut tx,
            OPERATION,
            summary,
            Status::Skipped,
            now,
            Some(reason),
        )
        .await?;
        if !changed {
            let result = sqlx::query(
                "UPDATE ledger_instances SET status = 'skipped', skip_reason = $2, \
                 updated_at = $3 WHERE process_instance_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(database(OPERATION))?;
            changed = result.rows_affected() == 1;
            fill_missing_summary(&mut tx, OPERATION, summary).await?;
        }

        let status = if changed {
            let event = NewEvent {
                process_instance_id: id,
                occurred_at_millis: now,
                actor: &self.actor,
                action: EventAction::Skipped,
                status: Status::Skipped,
                detail: reason,
            };
            insert_event(&mut tx, OPERATION, event).await?;
            Status::Skipped
        } else {
            require_record(&mut tx, OPERATION, id).await?.status
        };

        tx.commit().await.map_err(database(OPERATION))?;
        tracing::debug!(process_instance_id = id, business_id = %summary.business_id, %status, reason, "ledger recorded skipped instance");
        Ok(status)
    }

    /// Records that the broker confirmed the publish of an instance.
    ///
    /// The producer records the instance (`record_pending`) before publishing, so a
    /// crash between publish and this call leaves a `pending` row that the next poll
    /// covers again. Only `pending` moves to `published`; an instance a consumer has
    /// already claimed or saved keeps its status, which is returned.
    pub async fn mark_published(&self, process_instance_id: &str) -> Result<Status, LedgerError> {
        let statuses = self.mark_published_all(&[process_instance_id]).await?;
        Ok(statuses[0])
    }

    /// Marks several instances as [`Ledger::mark_published`] does, in one transaction,
    /// after the broker confirmed their publish batch.
    ///
    /// On an error no row changes, and every instance stays `pending` for the next
    /// poll. The statuses come back in the order of `process_instance_ids`.
    pub async fn mark_published_all(
        &self,
        process_instance_ids: &[&str],
    ) -> Result<Vec<Status>, LedgerError> {
        let started = Instant::now();
        let result = self.mark_published_inner(process_instance_ids).await;
        metrics::observe_result("mark_published", started, &result);
        result
    }

    async fn mark_published_inner(&self, ids: &[&str]) -> Result<Vec<Status>, LedgerError> {
        const OPERATION: &str = "mark_published";
        let now = to_millis(Utc::now());
        let mut tx = self.begin().await.map_err(database(OPERATION))?;
        let mut statuses = vec![Status::Pending; ids.len()];

        for index in lock_order(ids, |id| id) {
            let id = ids[index];
            let result = sqlx::query(
                "UPDATE ledger_instances SET status = 'published', \
                 published_at = COALESCE(published_at, $2), updated_at = $2 \
                 WHERE process_instance_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(database(OPERATION))?;

            let status = if result.rows_affected() == 1 {
                let event = NewEvent {
                    process_instance_id: id,
                    occurred_at_millis: now,
                    actor: &self.actor,
                    action: EventAction::Published,
                    status: Status::Published,
                    detail: "publish confirmed by the broker",
                };
                insert_event(&mut tx, OPERATION, event).await?;
                Status::Published
            } else {
                require_record(&mut tx, OPERATION, id).await?.status
            };
            tracing::debug!(process_instance_id = id, %status, "ledger marked instance published");
            statuses[index] = status;
        }

        tx.commit().await.map_err(database(OPERATION))?;
        Ok(statuses)
    }

    /// Lists the `pending` instances of a process code with their DingTalk creation
    /// time, oldest first, so that the producer's poll window starts early enough to
    /// see them finish.
    pub async fn open_instances(
        &self,
        process_code: &str,
    ) -> Result<Vec<(String, DateTime<Utc>)>, LedgerError> {
        let started = Instant::now();
        let result = self.open_instances_inner(process_code).await;
        metrics::observe_result("open_instances", started, &result);
        result
    }

    async fn open_instances_inner(
        &self,
        process_code: &str,
    ) -> Result<Vec<(String, DateTime<Utc>)>, LedgerError> {
        const OPERATION: &str = "open_instances";
        let rows = sqlx::query(
            "SELECT process_instance_id, instance_created_at FROM ledger_instances \
             WHERE process_code = $1 AND status = 'pending' \
             AND instance_created_at IS NOT NULL \
             ORDER BY instance_created_at, process_instance_id",
        )
        .bind(process_code)
        .fetch_all(&self.pool)
        .await
        .map_err(database(OPERATION))?;

        let mut open = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0).map_err(database(OPERATION))?;
            let millis: i64 = row.try_get(1).map_err(database(OPERATION))?;
            let created = from_millis(millis).ok_or_else(|| LedgerError::InvalidRow {
                process_instance_id: id.clone(),
                problem: format!("instance_created_at {millis} is not a valid time"),
            })?;
            open.push((id, created));
        }
        Ok(open)
    }

    /// Returns the ids whose details the producer still has to fetch: those the ledger
    /// has never seen and those still `pending`. Instances that are published, skipped,
    /// claimed, saved, rejected or dead are left out.
    ///
    /// The result keeps the order of `process_instance_ids` and drops repeated ids.
    pub async fn needs_fetch(
        &self,
        process_instance_ids: &[String],
    ) -> Result<Vec<String>, LedgerError> {
        let started = Instant::now();
        let result = self.needs_fetch_inner(process_instance_ids).await;
        metrics::observe_result("needs_fetch", started, &result);
        result
    }

    async fn needs_fetch_inner(&self, ids: &[String]) -> Result<Vec<String>, LedgerError> {
        const OPERATION: &str = "needs_fetch";
        let mut settled = HashSet::new();

        for chunk in ids.chunks(IDS_PER_QUERY) {
            let placeholders = (1..=chunk.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT process_instance_id FROM ledger_instances \
                 WHERE status <> 'pending' AND process_instance_id IN ({placeholders})"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(database(OPERATION))?;
            for row in rows {
                let id: String = row.try_get(0).map_err(database(OPERATION))?;
                settled.insert(id);
            }
        }

        let mut seen = HashSet::new();
        let needed = ids
            .iter()
            .filter(|id| !settled.contains(*id) && seen.insert(id.as_str()))
            .cloned()
            .collect();
        Ok(needed)
    }

    /// Returns the producer's watermark for a process code, or `None` before the first
    /// fully confirmed poll.
    pub async fn watermark(
        &self,
        process_code: &str,
    ) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let started = Instant::now();
        let result = self.watermark_inner(process_code).await;
        metrics::observe_result("watermark", started, &result);
        result
    }

    async fn watermark_inner(
        &self,
        process_code: &str,
    ) -> Result<Option<DateTime<Utc>>, LedgerError> {
        const OPERATION: &str = "watermark";
        let millis: Option<i64> =
            sqlx::query_scalar("SELECT watermark FROM ledger_watermarks WHERE process_code = $1")
                .bind(process_code)
                .fetch_optional(&self.pool)
                .await
                .map_err(database(OPERATION))?;

        millis
            .map(|millis| {
                from_millis(millis).ok_or_else(|| LedgerError::InvalidWatermark {
                    process_code: process_code.to_string(),
                    problem: format!("{millis} is not a valid time"),
                })
            })
            .transpose()
    }

    /// Advances the watermark of a process code to `time`. An older `time` leaves it
    /// unchanged, so a slow poll that finishes late cannot move it backwards.
    ///
    /// Returns the watermark in effect after the call (millisecond precision).
    pub async fn set_watermark(
        &self,
        process_code: &str,
        time: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, LedgerError> {
        let started = Instant::now();
        let result = self.set_watermark_inner(process_code, time).await;
        metrics::observe_result("set_watermark", started, &result);
        result
    }

    async fn set_watermark_inner(
        &self,
        process_code: &str,
        time: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, LedgerError> {
        const OPERATION: &str = "set_watermark";
        sqlx::query(
            "INSERT INTO ledger_watermarks (process_code, watermark, updated_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (process_code) DO UPDATE \
             SET watermark = excluded.watermark, updated_at = excluded.updated_at \
             WHERE ledger_watermarks.watermark < excluded.watermark",
        )
        .bind(process_code)
        .bind(to_millis(time))
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(database(OPERATION))?;

        let current = self.watermark_inner(process_code).await?;
        let current = current.ok_or_else(|| LedgerError::InvalidWatermark {
            process_code: process_code.to_string(),
            problem: "missing right after it was written".to_string(),
        })?;
        tracing::debug!(process_code, watermark = %current, "ledger watermark stored");
        Ok(current)
    }
}
