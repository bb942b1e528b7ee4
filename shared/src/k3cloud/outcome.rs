//! Per-bill outcomes of write calls, matched to the request by `DIndex`.
//!
//! `BatchSave` is not atomic: models that pass are saved while others are rejected, and
//! the reply lists both with the position (`DIndex`) of each model in the request. One
//! model can have several errors (one per field or entry row). A model the reply does
//! not account for is reported as unknown rather than guessed, so the caller probes for
//! it by bill number.

use super::decode::{
    Malformed, ReplyDefect, ResponseStatus, StatusError, StatusReply, SuccessEntity, decode_status,
};
use super::excerpt::excerpt;

/// Message fragments of SQL Server's deadlock error ("…被死锁…请重新运行该事务" /
/// "…was deadlocked…Rerun the transaction"), which a later attempt can pass.
const DEADLOCK_MARKERS: [&str; 2] = ["死锁", "deadlock"];

/// `MsgCode` of a 网控 (network control) conflict: another writer has locked the bill.
pub const MSG_CODE_NETWORK_CONTROL: i64 = 13;

/// `MsgCode` of K3Cloud's call limit.
pub const MSG_CODE_CALL_LIMIT: i64 = 14;

/// One error K3Cloud reported for a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field key such as `FCONTACTUNIT`; `None` for errors about the whole bill.
    pub field_name: Option<String>,
    /// K3Cloud's message, in the locale of the request.
    pub message: String,
}

/// Outcome of one model of a `Save` or `BatchSave`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelOutcome {
    /// The bill exists now.
    Saved {
        /// Position of the model in the request.
        index: usize,
        /// Internal id (`FID`).
        k3_id: i64,
        /// Bill number (`FBillNo`).
        bill_no: String,
    },
    /// K3Cloud rejected the model; sending it again unchanged fails again.
    Rejected {
        /// Position of the model in the request.
        index: usize,
        /// Every error of this model.
        errors: Vec<FieldError>,
        /// `MsgCode` of the reply.
        msg_code: Option<i64>,
    },
    /// The model failed on a conflict a later attempt can pass (网控 conflict, call limit,
    /// deadlock) while other models of the same call were saved.
    Retryable {
        /// Position of the model in the request.
        index: usize,
        /// Every error of this model.
        errors: Vec<FieldError>,
        /// `MsgCode` of the reply.
        msg_code: Option<i64>,
    },
    /// The reply neither saved nor rejected the model, or named no id or number for it.
    /// The bill may exist, so probe by bill number before sending it again.
    Unknown {
        /// Position of the model in the request.
        index: usize,
        /// Excerpt of the reply, for the operator.
        excerpt: String,
    },
}

impl ModelOutcome {
    /// Returns the position of the model in the request.
    pub fn index(&self) -> usize {
        match self {
            ModelOutcome::Saved { index, .. }
            | ModelOutcome::Rejected { index, .. }
            | ModelOutcome::Retryable { index, .. }
            | ModelOutcome::Unknown { index, .. } => *index,
        }
    }
}

/// Outcome of one bill number of a `Submit`, `Audit` or `Delete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillOutcome {
    /// The operation ran on the bill.
    Done {
        /// Position of the number in the request.
        index: usize,
        /// Bill number as sent.
        bill_no: String,
        /// Internal id, when the reply names it.
        k3_id: Option<i64>,
    },
    /// K3Cloud refused the operation for this bill.
    Rejected {
        /// Position of the number in the request.
        index: usize,
        /// Bill number as sent.
        bill_no: String,
        /// Every error of this bill.
        errors: Vec<FieldError>,
        /// `MsgCode` of the reply.
        msg_code: Option<i64>,
    },
    /// The bill failed on a conflict a later attempt can pass.
    Retryable {
        /// Position of the number in the request.
        index: usize,
        /// Bill number as sent.
        bill_no: String,
        /// Every error of this bill.
        errors: Vec<FieldError>,
        /// `MsgCode` of the reply.
        msg_code: Option<i64>,
    },
    /// The reply does not mention the bill. K3Cloud reports success for a
    /// multi-number call and leaves out numbers that do not exist.
    NotReported {
        /// Position of the number in the request.
        index: usize,
        /// Bill number as sent.
        bill_no: String,
    },
}

/// Reply verdict on one item, before it becomes a public outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemResult {
    Succeeded(SuccessEntity),
    Failed {
        errors: Vec<FieldError>,
        retryable: bool,
    },
    Unreported,
}

/// Tells whether a message is SQL Server's deadlock error.
pub(crate) fn is_deadlock(message: &str) -> bool {
    let lower = message.to_lowercase();
    DEADLOCK_MARKERS.iter().any(|marker| lower.contains(marker))
}

/// Tells whether a failure with these messages can pass on a later attempt.
pub(crate) fn is_retryable(msg_code: Option<i64>, messages: &[&str]) -> bool {
    matches!(
        msg_code,
        Some(MSG_CODE_NETWORK_CONTROL | MSG_CODE_CALL_LIMIT)
    ) || messages.iter().any(|message| is_deadlock(message))
}

/// Matches successes and errors to `count` request items by `DIndex`.
///
/// An entry without a usable `DIndex` belongs to item 0 when the request had one item.
/// Otherwise unindexed errors apply to every item that has neither a success nor an
/// error of its own, but only when the reply reports a failed call.
pub(crate) fn match_items(status: &ResponseStatus, count: usize) -> Vec<ItemResult> {
    let slot = |index: Option<i64>| match index {
        Some(index) => usize::try_from(index).ok().filter(|index| *index < count),
        None if count == 1 => Some(0),
        None => None,
    };

    let mut successes: Vec<Option<SuccessEntity>> = vec![None; count];
    for entity in &status.success_entities {
        if let Some(index) = slot(entity.index)
            && successes[index].is_none()
        {
            successes[index] = Some(entity.clone());
        }
    }

    let mut errors: Vec<Vec<&StatusError>> = vec![Vec::new(); count];
    let mut unindexed: Vec<&StatusError> = Vec::new();
    for error in &status.errors {
        match slot(error.index) {
            Some(index) => errors[index].push(error),
            None => unindexed.push(error),
        }
    }

    let failed = status.succeeded() == Some(false);
    successes
        .into_iter()
        .zip(errors)
        .map(|(success, own_errors)| {
            if let Some(entity) = success {
                return ItemResult::Succeeded(entity);
            }
            let chosen = if own_errors.is_empty() && failed {
                &unindexed
            } else {
                &own_errors
            };
            if chosen.is_empty() {
                return ItemResult::Unreported;
            }
            let messages: Vec<&str> = chosen.iter().map(|error| error.message.as_str()).collect();
            ItemResult::Failed {
                retryable: is_retryable(status.msg_code, &messages),
                errors: chosen.iter().map(|error| field_error(error)).collect(),
            }
        })
        .collect()
}

fn field_error(error: &StatusError) -> FieldError {
    FieldError {
        field_name: error.field_name.clone(),
        message: error.message.clone(),
    }
}

/// Decodes the body of a `Save` or `BatchSave` reply sent for `count` models into one
/// outcome per model, exactly as [`K3CloudClient::batch_save`](super::K3CloudClient::batch_save)
/// does after the HTTP call. Fails when the body is not a form-service reply; a reply
/// without `ResponseStatus` fails with [`ReplyDefect::UnexpectedShape`] because it says
/// nothing about the models.
pub fn decode_write_reply(body: &str, count: usize) -> Result<Vec<ModelOutcome>, Malformed> {
    let reply = decode_status(body)?;
    let Some(status) = write_status(&reply) else {
        return Err(Malformed {
            defect: ReplyDefect::UnexpectedShape,
            excerpt: excerpt(body),
        });
    };
    let items = match_items(&status, count);
    Ok(model_outcomes(items, status.msg_code, &excerpt(body)))
}

/// Returns the status of a write reply, or `None` when it has none. A `Save` that
/// succeeded may report its bill only in `Result.Id` and `Result.Number`; that bill
/// becomes the success entity of model 0.
pub(crate) fn write_status(reply: &StatusReply) -> Option<ResponseStatus> {
    let mut status = reply.status.clone()?;
    if status.success_entities.is_empty() && status.succeeded() == Some(true) && reply.id.is_some()
    {
        status.success_entities.push(SuccessEntity {
            id: reply.id,
            number: reply.number.clone(),
            index: Some(0),
        });
    }
    Some(status)
}

/// Turns matched items into model outcomes; a success without id or number is unknown.
pub(crate) fn model_outcomes(
    items: Vec<ItemResult>,
    msg_code: Option<i64>,
    excerpt: &str,
) -> Vec<ModelOutcome> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            ItemResult::Succeeded(SuccessEntity {
                id: Some(k3_id),
                number: Some(bill_no),
                ..
            }) => ModelOutcome::Saved {
                index,
                k3_id,
                bill_no,
            },
            ItemResult::Failed {
                errors,
                retryable: false,
            } => ModelOutcome::Rejected {
                index,
                errors,
                msg_code,
            },
            ItemResult::Failed {
                errors,
                retryable: true,
            } => ModelOutcome::Retryable {
                index,
                errors,
                msg_code,
            },
            ItemResult::Succeeded(_) | ItemResult::Unreported => ModelOutcome::Unknown {
                index,
                excerpt: excerpt.to_string(),
            },
        })
        .collect()
}

/// Turns matched items into outcomes per bill number.
pub(crate) fn bill_outcomes(
    items: Vec<ItemResult>,
    bill_numbers: &[String],
    msg_code: Option<i64>,
) -> Vec<BillOutcome> {
    items
        .into_iter()
        .zip(bill_numbers)
        .enumerate()
        .map(|(index, (item, bill_no))| {
            let bill_no = bill_no.clone();
            match item {
                ItemResult::Succeeded(entity) => BillOutcome::Done {
                    index,
                    bill_no,
                    k3_id: entity.id,
                },
                ItemResult::Failed {
                    errors,
                    retryable: false,
                } => BillOutcome::Rejected {
                    index,
                    bill_no,
                    errors,
                    msg_code,
                },
                ItemResult::Failed {
                    errors,
                    retryable: true,
                } => BillOutcome::Retryable {
                    index,
                    bill_no,
                    errors,
                    msg_code,
                },
                ItemResult::Unreported => BillOutcome::NotReported { index, bill_no },
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
