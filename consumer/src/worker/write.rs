//! Writing claimed bills to K3Cloud: the idempotency probe, `BatchSave`, the per-model
//! outcomes, and short in-process retries.
//!
//! Each round of one form's bills:
//!
//! 1. Probe (`existing_bills`) when a bill may already exist: always before the first
//!    save, and after any write whose outcome is unknown (lost reply, timeout, lost
//!    session). Found bills are saved as far as the pipeline is concerned.
//! 2. `BatchSave` the rest and match the outcomes by `DIndex`. Saved and rejected bills
//!    are done. Retryable ones (网控, deadlock) and unknown ones stay for the next round.
//! 3. Pause with a jittered exponential back-off and start again, at most
//!    `in_process_retries` times. What is left goes to a retry queue.
//!
//! A save is only started while every lease of the batch outlasts one K3Cloud request,
//! except in the first round, which starts right after the claim.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, TimeDelta, Utc};
use dingk3::k3cloud::{CallError, FieldError, ModelOutcome};
use dingk3::telemetry::mask_account_numbers;
use serde_json::{Value, json};
use tracing::{error, info, warn};

use crate::metrics::WRITE_FAILURES;
use crate::worker::claim::Claimed;
use crate::worker::outcome::{DeadKind, DeadLetter, RetryCause};
use crate::worker::shared::Shared;

/// Smallest in-process pause.
const MIN_PAUSE: Duration = Duration::from_millis(100);

/// Outcome of one claimed bill.
#[derive(Debug)]
pub(crate) enum Written {
    /// The bill exists in K3Cloud.
    Saved {
        /// Bill number as K3Cloud stores it.
        bill_no: String,
        /// Internal id (`FID`).
        k3_id: String,
    },

    /// K3Cloud rejected the bill.
    Rejected(DeadLetter),

    /// Not written yet; goes to a retry queue.
    Failed(RetryCause),
}

/// Writes every claimed bill, form by form, and returns how each ended.
pub(crate) async fn write_all(shared: &Shared, claimed: Vec<Claimed>) -> Vec<(Claimed, Written)> {
    let mut by_form: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for item in claimed {
        by_form
            .entry(item.bill.form_id.clone())
            .or_default()
            .push(item);
    }
    let mut done = Vec::new();
    for (form_id, group) in by_form {
        done.extend(write_form(shared, &form_id, group).await);
    }
    done
}

/// Writes the bills of one form with probes and in-process retries.
async fn write_form(
    shared: &Shared,
    form_id: &str,
    mut pending: Vec<Claimed>,
) -> Vec<(Claimed, Written)> {
    let mut done = Vec::with_capacity(pending.len());
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(MIN_PAUSE.min(shared.settings.in_process_retry_max))
        .with_max_delay(shared.settings.in_process_retry_max)
        .with_max_times(shared.settings.in_process_retries as usize)
        .with_jitter()
        .build();
    let save_deadline = save_deadline(shared, &pending);
    let mut need_probe = true;
    let mut last = RetryCause::new("transient", "no write was attempted");
    let mut first_round = true;

    loop {
        if need_probe {
            match probe(shared, form_id, &mut pending, &mut done).await {
                Ok(()) => need_probe = false,
                Err(cause) => last = cause,
            }
        }
        if pending.is_empty() {
            break;
        }
        if !need_probe {
            if !first_round && Utc::now() >= save_deadline {
                last = RetryCause::new(
                    "lease",
                    "the ledger lease would end during another K3Cloud write",
                );
                break;
            }
            match save(shared, form_id, &mut pending, &mut done).await {
                Ok(()) => {}
                Err((cause, unknown)) => {
                    need_probe |= unknown;
                    last = cause;
                }
            }
        }
        if pending.is_empty() {
            break;
        }
        first_round = false;
        let Some(pause) = pauses.next() else { break };
        if shared.shutdown.is_cancelled() {
            break;
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }

    for item in pending {
        done.push((item, Written::Failed(last.clone())));
    }
    done
}

/// Returns the last moment a save may start: the earliest lease end minus one request.
fn save_deadline(shared: &Shared, pending: &[Claimed]) -> DateTime<Utc> {
    let earliest = pending
        .iter()
        .map(|item| item.until)
        .min()
        .unwrap_or_else(Utc::now);
    let request = TimeDelta::from_std(shared.request_timeout).unwrap_or(TimeDelta::MAX);
    earliest
        .checked_sub_signed(request)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Moves every pending bill that already exists in K3Cloud to `done` as saved.
async fn probe(
    shared: &Shared,
    form_id: &str,
    pending: &mut Vec<Claimed>,
    done: &mut Vec<(Claimed, Written)>,
) -> Result<(), RetryCause> {
    let numbers: Vec<String> = pending
        .iter()
        .map(|item| item.bill.bill_no.clone())
        .collect();
    let found = match shared.k3cloud.existing_bills(form_id, &numbers).await {
        Ok(found) => found,
        Err(failure) => return Err(call_failed(shared, &failure)),
    };
    shared.set_k3cloud_ready(true);
    let found: HashMap<String, (String, i64)> = found
        .into_iter()
        .map(|(number, id)| (number.to_uppercase(), (number, id)))
        .collect();
    let mut remaining = Vec::with_capacity(pending.len());
    for item in pending.drain(..) {
        match found.get(&item.bill.bill_no.to_uppercase()) {
            Some((bill_no, k3_id)) => {
                info!(process_instance_id = item.item.ids.id(), bill_no = %bill_no, k3_id, "bill already exists in k3cloud; recording it without saving again");
                let written = Written::Saved {
                    bill_no: bill_no.clone(),
                    k3_id: k3_id.to_string(),
                };
                done.push((item, written));
            }
            None => remaining.push(item),
        }
    }
    *pending = remaining;
    Ok(())
}

/// Sends one `BatchSave` of every pending bill. Saved and rejected bills move to
/// `done`. On failure returns the cause and whether a bill may have been written.
async fn save(
    shared: &Shared,
    form_id: &str,
    pending: &mut Vec<Claimed>,
    done: &mut Vec<(Claimed, Written)>,
) -> Result<(), (RetryCause, bool)> {
    let models: Vec<Value> = pending.iter().map(|item| item.bill.model.clone()).collect();
    let outcomes = match shared.k3cloud.batch_save(form_id, &models).await {
        Ok(outcomes) => outcomes,
        Err(failure) => {
            let unknown = matches!(
                failure,
                CallError::SessionLost { .. } | CallError::UnknownOutcome { .. }
            );
            return Err((call_failed(shared, &failure), unknown));
        }
    };
    shared.set_k3cloud_ready(true);

    let mut by_index: HashMap<usize, ModelOutcome> = outcomes
        .into_iter()
        .map(|outcome| (outcome.index(), outcome))
        .collect();
    let mut remaining = Vec::new();
    let mut cause: Option<(RetryCause, bool)> = None;
    for (index, item) in pending.drain(..).enumerate() {
        let outcome = by_index.remove(&index).unwrap_or(ModelOutcome::Unknown {
            index,
            excerpt: "the reply named no outcome for this bill".to_string(),
        });
        match outcome {
            ModelOutcome::Saved { k3_id, bill_no, .. } => {
                if !bill_no.eq_ignore_ascii_case(&item.bill.bill_no) {
                    // The probe searches by the mapped number, so a bill stored under
                    // another number could be written again by a redelivery.
                    error!(process_instance_id = item.item.ids.id(), mapped = %item.bill.bill_no, stored = %bill_no, "k3cloud stored the bill under another number than the mapping set");
                }
                done.push((
                    item,
                    Written::Saved {
                        bill_no,
                        k3_id: k3_id.to_string(),
                    },
                ));
            }
            ModelOutcome::Rejected {
                errors, msg_code, ..
            } => {
                let dead = rejected(&item, &errors, msg_code);
                done.push((item, Written::Rejected(dead)));
            }
            ModelOutcome::Retryable { errors, .. } => {
                let text = field_errors_text(&errors);
                warn!(process_instance_id = item.item.ids.id(), bill_no = %item.bill.bill_no, error = %mask_account_numbers(&text), "k3cloud asked to retry the bill");
                cause.get_or_insert((RetryCause::new("retryable", text), false));
                remaining.push(item);
            }
            ModelOutcome::Unknown { excerpt, .. } => {
                warn!(process_instance_id = item.item.ids.id(), bill_no = %item.bill.bill_no, excerpt = %mask_account_numbers(&excerpt), "k3cloud reply left the bill's outcome unknown");
                let unknown = RetryCause::new(
                    "unknown_outcome",
                    format!("the K3Cloud reply left the outcome unknown: {excerpt}"),
                );
                match &mut cause {
                    Some((_, may_exist)) => *may_exist = true,
                    None => cause = Some((unknown, true)),
                }
                remaining.push(item);
            }
        }
    }
    *pending = remaining;
    match cause {
        Some(cause) => Err(cause),
        None => Ok(()),
    }
}

/// Logs and counts a whole-call failure and turns it into a retry cause.
fn call_failed(shared: &Shared, failure: &CallError) -> RetryCause {
    let kind = failure.kind_label();
    WRITE_FAILURES.with_label_values(&[kind]).inc();
    let text = mask_account_numbers(&failure.to_string());
    if let CallError::Configuration { .. } = failure {
        // Retrying does not help until an operator fixes the settings, but the message
        // must not loop forever: it takes the retry tiers and ends as exhausted.
        shared.set_k3cloud_ready(false);
        error!(error_kind = kind, error = %text, "k3cloud rejected the configuration; fix the [k3cloud] settings");
    } else {
        warn!(error_kind = kind, error = %text, "k3cloud call failed");
    }
    RetryCause::new(kind, failure.to_string())
}

/// Builds the dead letter of a bill K3Cloud rejected.
fn rejected(item: &Claimed, errors: &[FieldError], msg_code: Option<i64>) -> DeadLetter {
    let bill_no = &item.bill.bill_no;
    let text = field_errors_text(errors);
    let detail = json!({
        "bill_no": bill_no,
        "msg_code": msg_code,
        "errors": errors
            .iter()
            .map(|error| json!({"field": error.field_name, "message": error.message}))
            .collect::<Vec<_>>(),
    });
    DeadLetter::new(
        DeadKind::Rejected,
        format!("K3Cloud rejected bill {bill_no}: {text}"),
        Some(detail),
    )
}

/// Joins field errors as `FIELD: message; …`.
fn field_errors_text(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return "no reason given".to_string();
    }
    errors
        .iter()
        .map(|error| match &error.field_name {
            Some(field) => format!("{field}: {}", error.message),
            None => error.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_fields() {
        let errors = vec![
            FieldError {
                field_name: Some("FCONTACTUNIT".to_string()),
                message: "员工 EMP009 不存在".to_string(),
            },
            FieldError {
                field_name: None,
                message: "单据保存失败".to_string(),
            },
        ];
        assert_eq!(
            field_errors_text(&errors),
            "FCONTACTUNIT: 员工 EMP009 不存在; 单据保存失败"
        );
    }

    #[test]
    fn field_errors_without_reason() {
        assert_eq!(field_errors_text(&[]), "no reason given");
    }
}
