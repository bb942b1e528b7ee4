//! Read-only views for status output and the dead-letter tooling: how many instances
//! are in each status, which ones failed last, the audit trail of one instance, and
//! lookups by process instance id or approval number.

use std::collections::BTreeMap;
use std::time::Instant;

use sqlx::Row;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{InstanceRecord, LedgerEvent, Status};
use crate::ledger::rows::{RECORD_COLUMNS, decode_event, decode_record};

impl Ledger {
    /// Counts instances per status; every status is present, with zero where none.
    pub async fn counts_by_status(&self) -> Result<BTreeMap<Status, u64>, LedgerError> {
        let started = Instant::now();
        let result = self.counts_by_status_inner().await;
        metrics::observe_result("counts_by_status", started, &result);
        result
    }

    async fn counts_by_status_inner(&self) -> Result<BTreeMap<Status, u64>, LedgerError> {
        const OPERATION: &str = "counts_by_status";
        let rows = sqlx::query("SELECT status, COUNT(*) FROM ledger_instances GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(database(OPERATION))?;

        let mut counts: BTreeMap<Status, u64> =
            Status::ALL.into_iter().map(|status| (status, 0)).collect();
        for row in rows {
            let text: String = row.try_get(0).map_err(database(OPERATION))?;
            let count: i64 = row.try_get(1).map_err(database(OPERATION))?;
            let status = text
                .parse::<Status>()
                .map_err(|error| LedgerError::InvalidRow {
                    process_instance_id: "(status count)".to_string(),
                    problem: error.to_string(),
                })?;
            counts.insert(status, u64::try_from(count).unwrap_or_default());
        }
        Ok(counts)
    }

    /// Lists the most recently changed instances that carry an error and are not
    /// saved or skipped: rejected and dead instances, and published ones waiting for a
    /// retry. Newest first, at most `limit`.
    pub async fn last_errors(&self, limit: u32) -> Result<Vec<InstanceRecord>, LedgerError> {
        let started = Instant::now();
        let result = self.last_errors_inner(limit).await;
        metrics::observe_result("last_errors", started, &result);
        result
    }

    async fn last_errors_inner(&self, limit: u32) -> Result<Vec<InstanceRecord>, LedgerError> {
        const OPERATION: &str = "last_errors";
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM ledger_instances \
             WHERE last_error_kind IS NOT NULL AND status NOT IN ('saved', 'skipped') \
             ORDER BY updated_at DESC, process_instance_id LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(database(OPERATION))?;
        rows.iter().map(decode_record).collect()
    }

    /// Returns the audit trail of an instance, oldest event first; empty when the
    /// ledger has never seen it.
    pub async fn history(
        &self,
        process_instance_id: &str,
    ) -> Result<Vec<LedgerEvent>, LedgerError> {
        let started = Instant::now();
        let result = self.history_inner(process_instance_id).await;
        metrics::observe_result("history", started, &result);
        result
    }

    async fn history_inner(&self, id: &str) -> Result<Vec<LedgerEvent>, LedgerError> {
        const OPERATION: &str = "history";
        let rows = sqlx::query(
            "SELECT id, process_instance_id, occurred_at, actor, action, status, detail \
             FROM ledger_events WHERE process_instance_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(database(OPERATION))?;
        rows.iter().map(decode_event).collect()
    }

    /// Looks instances up by process instance id or by approval number (审批编号),
    /// which is what people quote; both may match different rows.
    pub async fn find(&self, id_or_business_id: &str) -> Result<Vec<InstanceRecord>, LedgerError> {
        let started = Instant::now();
        let result = self.find_inner(id_or_business_id).await;
        metrics::observe_result("find", started, &result);
        result
    }

    async fn find_inner(&self, key: &str) -> Result<Vec<InstanceRecord>, LedgerError> {
        const OPERATION: &str = "find";
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM ledger_instances \
             WHERE process_instance_id = $1 OR business_id = $1 \
             ORDER BY created_at, process_instance_id"
        );
        let rows = sqlx::query(&sql)
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(database(OPERATION))?;
        rows.iter().map(decode_record).collect()
    }
}
