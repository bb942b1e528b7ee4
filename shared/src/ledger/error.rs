//! Errors of the ledger.
//!
//! Callers treat them in two groups: database trouble that may pass
//! ([`LedgerError::is_transient`], e.g. a restarted PostgreSQL), after which a consumer
//! sends the message to a retry tier, and refusals that protect the record (a saved
//! bill cannot be rejected, a lease held by someone else cannot be released).

use std::path::PathBuf;

use crate::i18n::{Localize, Text};
use crate::ledger::model::Status;

/// Failure of a ledger operation.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The folder of the SQLite file could not be created.
    #[error("failed to create the ledger folder {path}: {source}")]
    CreateFolder {
        /// Folder that was to be created.
        path: PathBuf,
        /// The file system error.
        #[source]
        source: std::io::Error,
    },

    /// The database could not be opened.
    #[error("failed to connect to the ledger database {url}: {source}")]
    Connect {
        /// Database location without password.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The embedded schema migrations could not be applied.
    #[error("failed to migrate the ledger database {url}: {source}")]
    Migrate {
        /// Database location without password.
        url: String,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A query failed.
    #[error("ledger operation {operation} failed: {source}")]
    Database {
        /// Ledger operation that ran the query, e.g. `claim`.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The instance has no row.
    #[error("approval instance {process_instance_id} is not in the ledger")]
    NotFound {
        /// The instance looked for.
        process_instance_id: String,
    },

    /// The change would move the instance out of a status it must keep, e.g. reject a
    /// saved bill.
    #[error("approval instance {process_instance_id} is {from} and cannot become {to}")]
    InvalidTransition {
        /// The instance.
        process_instance_id: String,
        /// Its current status.
        from: Status,
        /// The status that was requested.
        to: Status,
    },

    /// The caller does not hold the claim it tries to finish.
    #[error(
        "{owner} does not hold the claim on approval instance {process_instance_id} (status {status}, holder {})",
        holder.as_deref().unwrap_or("none")
    )]
    LeaseNotHeld {
        /// The instance.
        process_instance_id: String,
        /// The caller.
        owner: String,
        /// Current status of the instance.
        status: Status,
        /// Current lease holder, if any.
        holder: Option<String>,
    },

    /// The instance is already saved as another bill: a second bill exists in K3Cloud
    /// and needs an operator.
    #[error(
        "approval instance {process_instance_id} is already saved as bill {recorded_bill_no}; bill {bill_no} is a duplicate"
    )]
    DifferentBill {
        /// The instance.
        process_instance_id: String,
        /// Bill number in the ledger.
        recorded_bill_no: String,
        /// Bill number the caller reported.
        bill_no: String,
    },

    /// A stored value cannot be read back (unknown status, malformed amount).
    #[error("ledger row of approval instance {process_instance_id} is invalid: {problem}")]
    InvalidRow {
        /// The instance.
        process_instance_id: String,
        /// Description of the problem.
        problem: String,
    },

    /// A stored watermark cannot be read back.
    #[error("watermark of process code {process_code} is invalid: {problem}")]
    InvalidWatermark {
        /// The process code.
        process_code: String,
        /// Description of the problem.
        problem: String,
    },

    /// Concurrent changes kept invalidating the claim's view of the row.
    #[error("claim on approval instance {process_instance_id} kept racing with other consumers")]
    Contention {
        /// The instance.
        process_instance_id: String,
    },
}

impl LedgerError {
    /// Tells whether trying again later may succeed: lost connections, pool timeouts,
    /// lock conflicts. A consumer then retries the message instead of dead-lettering it.
    pub fn is_transient(&self) -> bool {
        match self {
            LedgerError::Connect { source, .. } | LedgerError::Database { source, .. } => {
                is_transient_sqlx(source)
            }
            LedgerError::Contention { .. } => true,
            _ => false,
        }
    }
}

fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => {
            let Some(code) = database.code() else {
                return false;
            };
            if database
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLite reports extended result codes; the low byte is the primary
                // code: SQLITE_BUSY (5) or SQLITE_LOCKED (6).
                return code
                    .parse::<i32>()
                    .is_ok_and(|extended| matches!(extended & 0xff, 5 | 6));
            }
            // PostgreSQL SQLSTATE: serialization_failure, deadlock_detected, shutdowns
            // and connection exceptions (class 08).
            matches!(&*code, "40001" | "40P01" | "57P01" | "57P02" | "57P03")
                || code.starts_with("08")
        }
        _ => false,
    }
}

impl Localize for LedgerError {
    fn localize(&self) -> Text {
        let en = self.to_string();
        let zh = match self {
            LedgerError::CreateFolder { path, source } => {
                let path = path.display();
                format!("无法创建台账目录 {path}：{source}")
            }
            LedgerError::Connect { url, source } => {
                format!("无法连接台账数据库 {url}：{source}")
            }
            LedgerError::Migrate { url, source } => {
                format!("台账数据库 {url} 迁移失败：{source}")
            }
            LedgerError::Database { operation, source } => {
                format!("台账操作 {operation} 失败：{source}")
            }
            LedgerError::NotFound {
                process_instance_id,
            } => format!("台账中没有审批实例 {process_instance_id}"),
            LedgerError::InvalidTransition {
                process_instance_id,
                from,
                to,
            } => {
                let (from, to) = (from.localize().zh, to.localize().zh);
                format!("审批实例 {process_instance_id} 当前为“{from}”，不能变为“{to}”")
            }
            LedgerError::LeaseNotHeld {
                process_instance_id,
                owner,
                status,
                holder,
            } => {
                let status = status.localize().zh;
                let holder = holder.as_deref().unwrap_or("无");
                format!(
                    "{owner} 未持有审批实例 {process_instance_id} 的处理权（状态“{status}”，持有者 {holder}）"
                )
            }
            LedgerError::DifferentBill {
                process_instance_id,
                recorded_bill_no,
                bill_no,
            } => format!(
                "审批实例 {process_instance_id} 已保存为单据 {recorded_bill_no}；单据 {bill_no} 是重复单据"
            ),
            LedgerError::InvalidRow {
                process_instance_id,
                problem,
            } => format!("审批实例 {process_instance_id} 的台账记录无效：{problem}"),
            LedgerError::InvalidWatermark {
                process_code,
                problem,
            } => format!("流程编码 {process_code} 的水位线无效：{problem}"),
            LedgerError::Contention {
                process_instance_id,
            } => format!("审批实例 {process_instance_id} 的认领持续与其他消费者冲突"),
        };
        Text::new(en, zh)
    }
}

/// Error for a query that failed inside `operation`.
pub(crate) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
    move |source| LedgerError::Database { operation, source }
}

/// Error for a column that cannot be decoded.
pub(crate) fn invalid_row(process_instance_id: &str, problem: impl ToString) -> LedgerError {
    LedgerError::InvalidRow {
        process_instance_id: process_instance_id.to_string(),
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeout_is_transient() {
        let error = LedgerError::Database {
            operation: "claim",
            source: sqlx::Error::PoolTimedOut,
        };
        assert!(error.is_transient(), "a pool timeout should be retried");
    }

    #[test]
    fn not_found_is_permanent() {
        let error = LedgerError::NotFound {
            process_instance_id: "a".into(),
        };
        assert!(!error.is_transient());
    }

    #[test]
    fn lease_error_names_holder_in_both_languages() {
        let error = LedgerError::LeaseNotHeld {
            process_instance_id: "pi-1".into(),
            owner: "consumer-a".into(),
            status: Status::Saving,
            holder: Some("consumer-b".into()),
        };
        let text = error.localize();
        assert!(text.en.contains("consumer-b"), "{}", text.en);
        assert!(text.zh.contains("consumer-b"), "{}", text.zh);
    }
}
