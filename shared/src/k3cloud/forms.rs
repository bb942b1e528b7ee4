//! The form services of [`K3CloudClient`]: saving, submitting, auditing, deleting,
//! viewing and querying bills, and the idempotency probe.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::client::K3CloudClient;
use super::decode::{
    QueryReply, ReplyDefect, ResponseStatus, StatusReply, decode_query, decode_status,
};
use super::error::CallError;
use super::operation::Operation;
use super::outcome::{
    BillOutcome, ModelOutcome, bill_outcomes, match_items, model_outcomes, write_status,
};
use super::reason::Reason;
use super::request::{
    BillQuery, ViewKey, batch_save_data, form_body, in_filter, numbers_data, save_data, view_data,
};

/// Bill numbers per probe query. With K3Cloud's usual 20–30 character numbers the
/// filter stays around 1.5 KB, far from any request size limit.
pub const PROBE_CHUNK: usize = 50;

/// `MsgCode`s of a `View` failure that point at the request or the setup (permission,
/// empty operation or form id, unknown form, bad parameter, unknown field) rather than
/// at a missing bill.
const VIEW_SETUP_CODES: [i64; 6] = [2, 3, 4, 5, 8, 9];

impl K3CloudClient {
    /// Returns the exact `data` object [`batch_save`](Self::batch_save) would send.
    pub fn batch_save_preview(&self, models: &[Value]) -> Value {
        batch_save_data(models, self.settings().auto_submit_and_audit)
    }

    /// Saves several models with one `BatchSave`; returns one outcome per model, in
    /// input order. An empty slice sends nothing.
    pub async fn batch_save(
        &self,
        form_id: &str,
        models: &[Value],
    ) -> Result<Vec<ModelOutcome>, CallError> {
        if models.is_empty() {
            return Ok(Vec::new());
        }
        let body = form_body(form_id, self.batch_save_preview(models));
        let result = self
            .write_models(Operation::BatchSave, &body, models.len())
            .await;
        self.finish(Operation::BatchSave, result, |outcomes| {
            models_label(outcomes)
        })
    }

    /// Saves one model with `Save`.
    pub async fn save(&self, form_id: &str, model: &Value) -> Result<ModelOutcome, CallError> {
        let data = save_data(model, self.settings().auto_submit_and_audit);
        let body = form_body(form_id, data);
        let result = self
            .write_models(Operation::Save, &body, 1)
            .await
            .map(|mut outcomes| outcomes.remove(0));
        self.finish(Operation::Save, result, |outcome| {
            models_label(std::slice::from_ref(outcome))
        })
    }

    /// Submits bills by number (`Submit`).
    pub async fn submit(
        &self,
        form_id: &str,
        bill_numbers: &[String],
    ) -> Result<Vec<BillOutcome>, CallError> {
        self.by_numbers(Operation::Submit, form_id, bill_numbers)
            .await
    }

    /// Audits bills by number (`Audit`).
    pub async fn audit(
        &self,
        form_id: &str,
        bill_numbers: &[String],
    ) -> Result<Vec<BillOutcome>, CallError> {
        self.by_numbers(Operation::Audit, form_id, bill_numbers)
            .await
    }

    /// Deletes bills by number (`Delete`).
    pub async fn delete(
        &self,
        form_id: &str,
        bill_numbers: &[String],
    ) -> Result<Vec<BillOutcome>, CallError> {
        self.by_numbers(Operation::Delete, form_id, bill_numbers)
            .await
    }

    /// Reads one bill; `None` when K3Cloud reports no such bill or returns an empty
    /// one. An empty `View` never counts as found.
    pub async fn view(&self, form_id: &str, key: &ViewKey) -> Result<Option<Value>, CallError> {
        let body = form_body(form_id, view_data(key));
        let result = self.view_inner(&body).await;
        self.finish(Operation::View, result, |_| "ok")
    }

    /// Runs `ExecuteBillQuery`; rows come in the order of `query.field_keys`.
    pub async fn execute_bill_query(
        &self,
        query: &BillQuery,
    ) -> Result<Vec<Vec<Value>>, CallError> {
        let result = self.query_rows(query).await;
        self.finish(Operation::ExecuteBillQuery, result, |_| "ok")
    }

    /// Returns which of `bill_numbers` already exist in `form_id`, with their internal
    /// ids (`FID`), keyed by the number as K3Cloud stores it. Run it before sending a
    /// write again whose outcome is unknown.
    ///
    /// When two bills share a number, the smaller id is returned and a warning logged.
    pub async fn existing_bills(
        &self,
        form_id: &str,
        bill_numbers: &[String],
    ) -> Result<BTreeMap<String, i64>, CallError> {
        let mut seen = BTreeSet::new();
        let unique: Vec<String> = bill_numbers
            .iter()
            .filter(|number| seen.insert(number.as_str()))
            .cloned()
            .collect();
        let mut found = BTreeMap::new();
        for chunk in unique.chunks(PROBE_CHUNK) {
            let query = BillQuery::new(form_id, &["FID", "FBillNo"])
                .with_filter(in_filter("FBillNo", chunk));
            let result = self.query_rows(&query).await;
            let rows = self.finish(Operation::ExecuteBillQuery, result, |_| "ok")?;
            for row in &rows {
                let (bill_no, k3_id) = self.probe_row(row)?;
                insert_lowest(&mut found, bill_no, k3_id);
            }
        }
        Ok(found)
    }

    async fn write_models(
        &self,
        operation: Operation,
        body: &Value,
        count: usize,
    ) -> Result<Vec<ModelOutcome>, CallError> {
        let decoded = self
            .call(operation, body, decode_status, status_of_reply)
            .await?;
        let status = self.write_status(operation, &decoded.value, &decoded.excerpt)?;
        let items = match_items(&status, count);
        Ok(model_outcomes(items, status.msg_code, &decoded.excerpt))
    }

    async fn by_numbers(
        &self,
        operation: Operation,
        form_id: &str,
        bill_numbers: &[String],
    ) -> Result<Vec<BillOutcome>, CallError> {
        if bill_numbers.is_empty() {
            return Ok(Vec::new());
        }
        let body = form_body(form_id, numbers_data(bill_numbers));
        let result = self.write_numbers(operation, &body, bill_numbers).await;
        self.finish(operation, result, |outcomes| bills_label(outcomes))
    }

    async fn write_numbers(
        &self,
        operation: Operation,
        body: &Value,
        bill_numbers: &[String],
    ) -> Result<Vec<BillOutcome>, CallError> {
        let decoded = self
            .call(operation, body, decode_status, status_of_reply)
            .await?;
        let status = self.write_status(operation, &decoded.value, &decoded.excerpt)?;
        let items = match_items(&status, bill_numbers.len());
        Ok(bill_outcomes(items, bill_numbers, status.msg_code))
    }

    /// Returns the status of a write reply. `Save` names the saved bill in
    /// `Result.Id`/`Number`; that pair replaces a missing success entity.
    fn write_status(
        &self,
        operation: Operation,
        reply: &StatusReply,
        excerpt: &str,
    ) -> Result<ResponseStatus, CallError> {
        write_status(reply).ok_or_else(|| CallError::UnknownOutcome {
            operation,
            reason: Reason::UnexpectedReply {
                defect: ReplyDefect::UnexpectedShape,
                excerpt: excerpt.to_string(),
            },
        })
    }

    async fn view_inner(&self, body: &Value) -> Result<Option<Value>, CallError> {
        let decoded = self
            .call(Operation::View, body, decode_status, status_of_reply)
            .await?;
        let reply = decoded.value;
        if let Some(status) = &reply.status
            && status.succeeded() == Some(false)
        {
            if status
                .msg_code
                .is_some_and(|code| VIEW_SETUP_CODES.contains(&code))
            {
                return Err(CallError::Configuration {
                    operation: Operation::View,
                    reason: Reason::Refused {
                        msg_code: status.msg_code,
                        message: self.redact(&status.messages().join("; ")),
                    },
                });
            }
            // NOTE: the reply K3Cloud gives for an unknown bill number is not
            // documented; every other failure is read as "not found".
            return Ok(None);
        }
        Ok(reply.payload.filter(is_bill))
    }

    async fn query_rows(&self, query: &BillQuery) -> Result<Vec<Vec<Value>>, CallError> {
        let decoded = self
            .call(
                Operation::ExecuteBillQuery,
                &query.body(),
                decode_query,
                status_of_query,
            )
            .await?;
        match decoded.value {
            QueryReply::Rows(rows) => Ok(rows),
            QueryReply::Failed(status) => Err(CallError::Configuration {
                operation: Operation::ExecuteBillQuery,
                reason: Reason::Refused {
                    msg_code: status.msg_code,
                    message: self.redact(&status.messages().join("; ")),
                },
            }),
        }
    }

    /// Reads `[FID, FBillNo]`; ids may come as numbers or numeric strings.
    fn probe_row(&self, row: &[Value]) -> Result<(String, i64), CallError> {
        let id = row.first().and_then(|id| match id {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        });
        let bill_no = row.get(1).and_then(Value::as_str).map(str::to_string);
        match (bill_no, id) {
            (Some(bill_no), Some(id)) => Ok((bill_no, id)),
            _ => {
                let row_text = Value::Array(row.to_vec()).to_string();
                Err(CallError::UnknownOutcome {
                    operation: Operation::ExecuteBillQuery,
                    reason: Reason::UnexpectedReply {
                        defect: ReplyDefect::UnexpectedShape,
                        excerpt: self.masked_excerpt(&row_text),
                    },
                })
            }
        }
    }
}

/// Keeps the smallest id per number: when a number was saved twice, the first bill is
/// the one to keep.
fn insert_lowest(found: &mut BTreeMap<String, i64>, bill_no: String, k3_id: i64) {
    match found.get(&bill_no) {
        Some(&existing) if existing != k3_id => {
            tracing::warn!(bill_no = %bill_no, first_id = existing.min(k3_id), second_id = existing.max(k3_id), "k3cloud contains two bills with the same number");
            found.insert(bill_no, existing.min(k3_id));
        }
        Some(_) => {}
        None => {
            found.insert(bill_no, k3_id);
        }
    }
}

/// Tells whether a `View` payload is a bill: only a non-empty object is.
fn is_bill(payload: &Value) -> bool {
    payload.as_object().is_some_and(|object| !object.is_empty())
}

fn status_of_reply(reply: &StatusReply) -> Option<&ResponseStatus> {
    reply.status.as_ref()
}

fn status_of_query(reply: &QueryReply) -> Option<&ResponseStatus> {
    match reply {
        QueryReply::Failed(status) => Some(status),
        QueryReply::Rows(_) => None,
    }
}

fn models_label(outcomes: &[ModelOutcome]) -> &'static str {
    if outcomes
        .iter()
        .any(|outcome| matches!(outcome, ModelOutcome::Unknown { .. }))
    {
        "unknown_outcome"
    } else if outcomes
        .iter()
        .all(|outcome| matches!(outcome, ModelOutcome::Saved { .. }))
    {
        "ok"
    } else {
        "rejected"
    }
}

fn bills_label(outcomes: &[BillOutcome]) -> &'static str {
    let all_done = outcomes
        .iter()
        .all(|outcome| matches!(outcome, BillOutcome::Done { .. }));
    if all_done { "ok" } else { "rejected" }
}
