//! `consumer dlq show ID`: everything about one dead letter.
//!
//! It gathers every dead letter that the id names: a process instance id, approval
//! number or message id, duplicates included. For each it builds the request that the
//! mapping in force now sends, or lists every reason the mapping rejects it. It adds
//! the ledger rows with their audit trail. The request sent at the time is not stored
//! anywhere, because the mapping then in force built it the same way. Rendering is in
//! [`crate::dlq::show_render`].

use dingk3::approval::ApprovalInstance;
use dingk3::config::ConfigError;
use dingk3::envelope::Envelope;
use dingk3::i18n::{Localize, Text};
use dingk3::ledger::{InstanceRecord, Ledger, LedgerEvent};
use dingk3::mapping::{MappedBill, MappingErrors, batch_save_request};
use serde_json::Value;

use crate::dlq::error::DlqError;
use crate::dlq::letter::Letter;
use crate::dlq::queue::DeadQueue;
use crate::dlq::settings::DlqSettings;

/// Result of mapping a dead letter with the mapping in force now.
#[derive(Debug, Clone)]
pub enum Preview {
    /// The bill and the `BatchSave` request that would be sent.
    Bill {
        /// The mapped bill.
        bill: MappedBill,
        /// The request body.
        request: Value,
    },
    /// The mapping rejects the approval, with every reason.
    Rejected(MappingErrors),
    /// No route for the process code.
    NoRoute(String),
    /// The routes in the configuration are invalid.
    Configuration(Vec<ConfigError>),
    /// The approval is not approved, so no bill is due.
    NotApproved {
        /// DingTalk status.
        status: String,
        /// DingTalk result.
        result: String,
    },
    /// The body is not a readable approval envelope.
    Unreadable(String),
}

/// One dead letter with its preview and the headers as delivered.
#[derive(Debug, Clone)]
pub struct Shown {
    /// Its interpretation.
    pub letter: Letter,
    /// Result of the current mapping.
    pub preview: Preview,
    /// Every header, typed, for the JSON output.
    pub headers: Value,
}

/// A ledger row with its audit trail.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    /// The row.
    pub record: InstanceRecord,
    /// Its events, oldest first.
    pub history: Vec<LedgerEvent>,
}

/// Everything `show` prints.
#[derive(Debug, Clone)]
pub struct ShowReport {
    /// The id asked for.
    pub id: String,
    /// Name of the dead-letter queue.
    pub queue: String,
    /// Messages read from the queue.
    pub read: usize,
    /// The dead letters the id names, in queue order.
    pub letters: Vec<Shown>,
    /// Ledger rows of the id and of the letters' instances.
    pub ledger: Vec<LedgerEntry>,
    /// Parts that could not be read, and why.
    pub problems: Vec<Text>,
}

/// Gathers everything about `id` and puts every dead letter back.
pub async fn gather(settings: &DlqSettings, id: &str) -> Result<ShowReport, DlqError> {
    let mut queue = DeadQueue::open(&settings.broker).await?;
    let routes = settings.routes();
    let max_bytes = settings.max_message_bytes;
    let taken = queue
        .take(|message, position| Letter::read(message, position, max_bytes, routes))
        .await;
    let letters: Vec<Shown> = queue
        .held()
        .iter()
        .filter(|held| held.letter.is_named(id))
        .map(|held| Shown {
            letter: held.letter.clone(),
            preview: preview(settings, &held.message.data),
            headers: held
                .message
                .properties
                .headers()
                .as_ref()
                .map(crate::dlq::amqp_json::table_to_json)
                .unwrap_or(Value::Null),
        })
        .collect();
    let read = queue.held().len();
    let queue_name = queue.topology().dead_queue();
    queue.release().await;
    taken?;

    let mut report = ShowReport {
        id: id.to_string(),
        queue: queue_name,
        read,
        letters,
        ledger: Vec::new(),
        problems: Vec::new(),
    };
    match Ledger::connect(&settings.ledger).await {
        Ok(ledger) => {
            if let Err(error) = read_ledger(&ledger, &mut report).await {
                report.problems.push(error.localize());
            }
            ledger.close().await;
        }
        Err(error) => report.problems.push(error.localize()),
    }
    Ok(report)
}

/// Finds the rows of the id and of every instance the letters name, with histories.
async fn read_ledger(
    ledger: &Ledger,
    report: &mut ShowReport,
) -> Result<(), dingk3::ledger::LedgerError> {
    let mut keys = vec![report.id.clone()];
    for shown in &report.letters {
        if let Some(id) = &shown.letter.process_instance_id
            && !keys.contains(id)
        {
            keys.push(id.clone());
        }
    }
    for key in keys {
        for record in ledger.find(&key).await? {
            let known = report
                .ledger
                .iter()
                .any(|entry| entry.record.process_instance_id == record.process_instance_id);
            if !known {
                let history = ledger.history(&record.process_instance_id).await?;
                report.ledger.push(LedgerEntry { record, history });
            }
        }
    }
    Ok(())
}

/// Maps the body with the routes in force.
pub fn preview(settings: &DlqSettings, body: &[u8]) -> Preview {
    let envelope = match Envelope::decode(body, settings.max_message_bytes) {
        Ok(envelope) => envelope,
        Err(error) => return Preview::Unreadable(error.to_string()),
    };
    let instance: ApprovalInstance = match envelope.approval() {
        Ok(instance) => instance,
        Err(error) => return Preview::Unreadable(error.to_string()),
    };
    if !instance.is_approved() {
        return Preview::NotApproved {
            status: instance.status.to_string(),
            result: instance.result.to_string(),
        };
    }
    let routes = match &settings.routes {
        Ok(routes) => routes,
        Err(errors) => return Preview::Configuration(errors.clone()),
    };
    let Some(route) = routes.route_for(&envelope.process_code) else {
        return Preview::NoRoute(envelope.process_code);
    };
    match route.mapping.map(&instance) {
        Ok(bill) => {
            let request = batch_save_request(&bill, settings.auto_submit_and_audit);
            Preview::Bill { bill, request }
        }
        Err(errors) => Preview::Rejected(errors),
    }
}

/// Returns the field errors a detail carries, as `field: message` lines: K3Cloud's
/// `errors` list of a rejected bill, or the list of mapping errors.
pub fn field_errors(detail: &Value) -> Vec<String> {
    let list = match detail {
        Value::Array(list) => list,
        Value::Object(object) => match object.get("errors") {
            Some(Value::Array(list)) => list,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    list.iter()
        .map(|error| {
            let field = error.get("field").and_then(Value::as_str);
            let row = error.get("row").and_then(Value::as_u64);
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| error.to_string());
            match (field, row) {
                (Some(field), Some(row)) => format!("{field} (row {row}): {message}"),
                (Some(field), None) => format!("{field}: {message}"),
                _ => message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn k3cloud_errors_name_fields() {
        let detail = json!({
            "bill_no": "DD-1",
            "errors": [
                {"field": "FCONTACTUNIT", "message": "员工 EMP009 不存在"},
                {"field": null, "message": "单据保存失败"},
            ],
        });
        assert_eq!(
            field_errors(&detail),
            vec!["FCONTACTUNIT: 员工 EMP009 不存在", "单据保存失败"]
        );
    }

    #[test]
    fn mapping_errors_name_rows() {
        let detail = json!([
            {"field": "行政报销类型", "row": 1, "code": "unmapped_value", "message": "no entry for 团建活动"},
        ]);
        assert_eq!(
            field_errors(&detail),
            vec!["行政报销类型 (row 1): no entry for 团建活动"]
        );
    }

    #[test]
    fn other_detail_has_no_field_errors() {
        assert!(field_errors(&json!({"attempts": 5})).is_empty());
        assert!(field_errors(&json!("text")).is_empty());
    }
}
