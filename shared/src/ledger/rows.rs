//! Reading ledger rows into typed values, and the statements that every operation
//! shares: fetching one instance and appending an audit event.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::ledger::error::{LedgerError, database, invalid_row};
use crate::ledger::model::{
    EventAction, InstanceRecord, InstanceSummary, LedgerEvent, Status, from_millis,
};

/// Columns of `ledger_instances` in the order [`decode_record`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "process_instance_id, process_code, business_id, \
    title, originator_userid, total_amount, instance_created_at, status, skip_reason, \
    bill_no, k3_id, attempts, last_error_kind, last_error, lease_owner, lease_until, \
    replay_count, created_at, updated_at, published_at, saved_at";

/// Inserts an instance row from a summary unless the instance already has one.
///
/// Binds `$1`–`$7` from the summary, `$8` status, `$9` time (created, updated and
/// published when the status is past `pending`), `$10` skip reason.
const INSERT_IF_MISSING: &str = "INSERT INTO ledger_instances \
    (process_instance_id, process_code, business_id, title, originator_userid, \
     total_amount, instance_created_at, status, skip_reason, attempts, replay_count, \
     created_at, updated_at, published_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, 0, 0, $9, $9, \
            CASE WHEN $8 = 'pending' OR $8 = 'skipped' THEN NULL ELSE $9 END) \
    ON CONFLICT (process_instance_id) DO NOTHING";

/// Inserts a row for `summary` with `status` unless one exists; returns whether it did.
pub(crate) async fn insert_if_missing(
    conn: &mut AnyConnection,
    operation: &'static str,
    summary: &InstanceSummary,
    status: Status,
    now_millis: i64,
    skip_reason: Option<&str>,
) -> Result<bool, LedgerError> {
    let result = sqlx::query(INSERT_IF_MISSING)
        .bind(&summary.process_instance_id)
        .bind(&summary.process_code)
        .bind(&summary.business_id)
        .bind(&summary.title)
        .bind(&summary.originator_userid)
        .bind(summary.total_amount.map(|amount| amount.to_string()))
        .bind(summary.create_time.timestamp_millis())
        .bind(status.as_str())
        .bind(now_millis)
        .bind(skip_reason)
        .execute(&mut *conn)
        .await
        .map_err(database(operation))?;
    Ok(result.rows_affected() == 1)
}

/// Fills the summary columns of a row that lacks them, which happens when a message
/// was dead-lettered before its content could be read.
pub(crate) async fn fill_missing_summary(
    conn: &mut AnyConnection,
    operation: &'static str,
    summary: &InstanceSummary,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE ledger_instances SET process_code = $2, business_id = $3, title = $4, \
         originator_userid = $5, total_amount = $6, instance_created_at = $7 \
         WHERE process_instance_id = $1 AND process_code IS NULL",
    )
    .bind(&summary.process_instance_id)
    .bind(&summary.process_code)
    .bind(&summary.business_id)
    .bind(&summary.title)
    .bind(&summary.originator_userid)
    .bind(summary.total_amount.map(|amount| amount.to_string()))
    .bind(summary.create_time.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(database(operation))?;
    Ok(())
}

/// Reads one instance row.
pub(crate) async fn fetch_record(
    conn: &mut AnyConnection,
    operation: &'static str,
    process_instance_id: &str,
) -> Result<Option<InstanceRecord>, LedgerError> {
    let sql =
        format!("SELECT {RECORD_COLUMNS} FROM ledger_instances WHERE process_instance_id = $1");
    let row = sqlx::query(&sql)
        .bind(process_instance_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(database(operation))?;
    row.as_ref().map(decode_record).transpose()
}

/// Reads one instance row, or fails with [`LedgerError::NotFound`].
pub(crate) async fn require_record(
    conn: &mut AnyConnection,
    operation: &'static str,
    process_instance_id: &str,
) -> Result<InstanceRecord, LedgerError> {
    fetch_record(conn, operation, process_instance_id)
        .await?
        .ok_or_else(|| LedgerError::NotFound {
            process_instance_id: process_instance_id.to_string(),
        })
}

/// One audit event to append.
pub(crate) struct NewEvent<'a> {
    pub(crate) process_instance_id: &'a str,
    pub(crate) occurred_at_millis: i64,
    pub(crate) actor: &'a str,
    pub(crate) action: EventAction,
    pub(crate) status: Status,
    pub(crate) detail: &'a str,
}

/// Appends an audit event; called inside the transaction that changed the row, so the
/// trail and the row cannot disagree.
pub(crate) async fn insert_event(
    conn: &mut AnyConnection,
    operation: &'static str,
    event: NewEvent<'_>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO ledger_events \
         (process_instance_id, occurred_at, actor, action, status, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.process_instance_id)
    .bind(event.occurred_at_millis)
    .bind(event.actor)
    .bind(event.action.as_str())
    .bind(event.status.as_str())
    .bind(event.detail)
    .execute(&mut *conn)
    .await
    .map_err(database(operation))?;
    Ok(())
}

/// Decodes a row selected with [`RECORD_COLUMNS`].
pub(crate) fn decode_record(row: &AnyRow) -> Result<InstanceRecord, LedgerError> {
    let id: String = row
        .try_get("process_instance_id")
        .map_err(|error| invalid_row("?", error))?;
    let columns = Columns { row, id: &id };

    Ok(InstanceRecord {
        process_code: columns.text("process_code")?,
        business_id: columns.text("business_id")?,
        title: columns.text("title")?,
        originator_userid: columns.text("originator_userid")?,
        total_amount: columns.amount("total_amount")?,
        create_time: columns.time("instance_created_at")?,
        status: columns.status("status")?,
        skip_reason: columns.text("skip_reason")?,
        bill_no: columns.text("bill_no")?,
        k3_id: columns.text("k3_id")?,
        attempts: columns.count("attempts")?,
        last_error_kind: columns.text("last_error_kind")?,
        last_error: columns.text("last_error")?,
        lease_owner: columns.text("lease_owner")?,
        lease_until: columns.time("lease_until")?,
        replay_count: columns.count("replay_count")?,
        created_at: columns.required_time("created_at")?,
        updated_at: columns.required_time("updated_at")?,
        published_at: columns.time("published_at")?,
        saved_at: columns.time("saved_at")?,
        process_instance_id: id,
    })
}

/// Decodes a row of `ledger_events`.
pub(crate) fn decode_event(row: &AnyRow) -> Result<LedgerEvent, LedgerError> {
    let id: String = row
        .try_get("process_instance_id")
        .map_err(|error| invalid_row("?", error))?;
    let columns = Columns { row, id: &id };

    let action_text: String = columns.get("action")?;
    let action = EventAction::parse(&action_text)
        .ok_or_else(|| invalid_row(&id, format!("unknown event action {action_text:?}")))?;

    Ok(LedgerEvent {
        id: columns.get("id")?,
        occurred_at: columns.required_time("occurred_at")?,
        actor: columns.get("actor")?,
        action,
        status: columns.status("status")?,
        detail: columns.get("detail")?,
        process_instance_id: id,
    })
}

/// Column access that names the instance in every decoding error.
struct Columns<'a> {
    row: &'a AnyRow,
    id: &'a str,
}

impl Columns<'_> {
    fn get<T>(&self, column: &str) -> Result<T, LedgerError>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.row
            .try_get(column)
            .map_err(|error| invalid_row(self.id, format!("column {column}: {error}")))
    }

    fn text(&self, column: &str) -> Result<Option<String>, LedgerError> {
        self.get(column)
    }

    fn status(&self, column: &str) -> Result<Status, LedgerError> {
        let text: String = self.get(column)?;
        Status::from_str(&text).map_err(|error| invalid_row(self.id, error))
    }

    fn amount(&self, column: &str) -> Result<Option<Decimal>, LedgerError> {
        let Some(text) = self.text(column)? else {
            return Ok(None);
        };
        Decimal::from_str(&text)
            .map(Some)
            .map_err(|error| invalid_row(self.id, format!("{column} {text:?}: {error}")))
    }

    fn count(&self, column: &str) -> Result<u32, LedgerError> {
        let value: i64 = self.get(column)?;
        u32::try_from(value)
            .map_err(|_| invalid_row(self.id, format!("{column} {value} is out of range")))
    }

    fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let Some(millis) = self.get::<Option<i64>>(column)? else {
            return Ok(None);
        };
        from_millis(millis)
            .map(Some)
            .ok_or_else(|| invalid_row(self.id, format!("{column} {millis} is not a valid time")))
    }

    fn required_time(&self, column: &str) -> Result<DateTime<Utc>, LedgerError> {
        self.time(column)?
            .ok_or_else(|| invalid_row(self.id, format!("{column} is empty")))
    }
}

/// Returns the indices of `items` sorted by instance id.
///
/// Calls that change several rows in one transaction visit them in this order, so two
/// such transactions lock their common rows in the same order and cannot deadlock.
pub(crate) fn lock_order<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&left, &right| id(&items[left]).cmp(id(&items[right])));
    order
}
