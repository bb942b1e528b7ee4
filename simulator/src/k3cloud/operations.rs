//! The business operations: Save, BatchSave, Submit, Audit, UnAudit, Delete, View and
//! the two queries, on positional arguments already authenticated.
//!
//! Only `AP_PAYBILL` exists in the simulator; any other form id gets the server's
//! "业务对象不存在" reply.

use chrono::{Local, NaiveDateTime};
use serde_json::{Map, Value, json};
use tracing::debug;

use crate::k3cloud::metadata::FORM_ID;
use crate::k3cloud::paybill::{SaveOptions, parse_model};
use crate::k3cloud::query::{BillQuery, Column, to_json};
use crate::k3cloud::request::{Call, Operation};
use crate::k3cloud::response::{
    FieldError, SuccessEntity, batch_reply, failure, msg_code, save_reply, status, status_reply,
};
use crate::k3cloud::state::Shared;
use crate::k3cloud::stats::Outcome;
use crate::k3cloud::store::{DocumentStatus, StatusAction, StoredBill};
use crate::k3cloud::values::{as_i64, as_text, get_ci};
use crate::k3cloud::view::render_bill;

/// Result of one executed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// Reply body.
    pub reply: Value,
    /// Outcome for the counters.
    pub outcome: Outcome,
    /// Whether bills changed, so a lost reply leaves an unknown outcome behind.
    pub wrote: bool,
}

impl Executed {
    fn new(reply: Value, outcome: Outcome) -> Executed {
        Executed {
            reply,
            outcome,
            wrote: false,
        }
    }

    fn error(reply: Value) -> Executed {
        Executed::new(reply, Outcome::BusinessError)
    }
}

/// Runs a business operation (not a login).
pub(crate) fn execute(shared: &Shared, op: Operation, call: &Call) -> Executed {
    match op {
        Operation::Save | Operation::BatchSave => save(shared, op, call),
        Operation::Submit => change_status(shared, call, StatusAction::Submit),
        Operation::Audit => change_status(shared, call, StatusAction::Audit),
        Operation::UnAudit => change_status(shared, call, StatusAction::UnAudit),
        Operation::Delete => change_status(shared, call, StatusAction::Delete),
        Operation::View => view(shared, call),
        Operation::ExecuteBillQuery | Operation::BillQuery => query(shared, op, call),
        _ => Executed::error(failure(
            msg_code::EXCEPTION,
            None,
            &format!("{} is not a business operation", op.name()),
        )),
    }
}

fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

/// Checks `formid` and `data`; the error is the whole-call reply.
fn form_and_data(call: &Call) -> Result<&Map<String, Value>, Value> {
    let form_id = as_text(Some(call.arg(0))).unwrap_or_default();
    if form_id.trim().is_empty() {
        return Err(failure(
            msg_code::BAD_PARAMETER,
            None,
            "参数formid的值不能为空。",
        ));
    }
    if !form_id.trim().eq_ignore_ascii_case(FORM_ID) {
        return Err(failure(
            msg_code::EXCEPTION,
            None,
            &format!("标识为“{}”的业务对象不存在，或者被删除。", form_id.trim()),
        ));
    }
    match call.arg(1) {
        Value::Object(data) => Ok(data),
        _ => Err(failure(
            msg_code::BAD_PARAMETER,
            None,
            "参数data的值不能为空，且必须是JSON对象。",
        )),
    }
}

fn save(shared: &Shared, op: Operation, call: &Call) -> Executed {
    let data = match form_and_data(call) {
        Ok(data) => data,
        Err(reply) => return Executed::error(reply),
    };
    // A model that is not an object keeps its place, so DIndex stays the request index.
    let models: Vec<Option<&Map<String, Value>>> = match (op, get_ci(data, "Model")) {
        (_, Some(Value::Object(model))) => vec![Some(model)],
        (Operation::BatchSave, Some(Value::Array(items))) if !items.is_empty() => {
            items.iter().map(Value::as_object).collect()
        }
        (Operation::Save, Some(Value::Array(_))) => {
            return Executed::error(failure(
                msg_code::BAD_PARAMETER,
                None,
                "Save的参数Model必须是单个单据对象；多张单据请调用BatchSave。",
            ));
        }
        _ => {
            return Executed::error(failure(
                msg_code::BAD_PARAMETER,
                None,
                "data数据包中的参数Model的值不能为空。",
            ));
        }
    };
    let options = SaveOptions::from_data(data);
    let status_after_save = if options.auto_submit_and_audit {
        DocumentStatus::Audited
    } else {
        DocumentStatus::Created
    };
    let return_keys: Vec<String> = match get_ci(data, "NeedReturnFields") {
        Some(Value::Array(keys)) => keys.iter().filter_map(|key| as_text(Some(key))).collect(),
        _ => Vec::new(),
    };

    let mut errors = Vec::new();
    let mut successes = Vec::new();
    let mut return_data = Vec::new();
    let mut update_refused = false;
    {
        let base = shared.base_data();
        let mut bills = shared.bills();
        let now = now();
        for (index, model) in models.into_iter().enumerate() {
            let Some(model) = model else {
                let message = format!("Model中第{}个单据数据包不是JSON对象", index + 1);
                errors.push(FieldError::new(None, message, index));
                continue;
            };
            let draft = match parse_model(model, index, &options, &base) {
                Ok(draft) => draft,
                Err(model_errors) => {
                    debug!(index, errors = model_errors.len(), "model rejected");
                    errors.extend(model_errors);
                    continue;
                }
            };
            if draft.fid > 0 {
                // NOTE: updating saved bills (FID > 0) is not simulated.
                update_refused = true;
                errors.push(FieldError::new(
                    Some("FID"),
                    format!("模拟器不支持修改已保存的单据（FID={}）", draft.fid),
                    index,
                ));
                continue;
            }
            match bills.insert(draft, status_after_save, now) {
                Ok(bill) => {
                    debug!(bill_no = %bill.number, k3_id = bill.id, "bill saved");
                    return_data.push(need_return_data(bill, &return_keys));
                    successes.push(SuccessEntity {
                        id: bill.id,
                        number: bill.number.clone(),
                        index,
                    });
                }
                Err(message) => {
                    debug!(index, %message, "bill number already used");
                    errors.push(FieldError::new(Some("FBillNo"), message, index));
                }
            }
        }
    }
    let rejected_models = errors
        .iter()
        .map(|error| error.index)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    {
        let mut stats = shared.stats();
        stats.models_saved += successes.len() as u64;
        stats.models_rejected += rejected_models as u64;
    }

    let wrote = !successes.is_empty();
    let outcome = match (errors.is_empty(), wrote) {
        (true, _) => Outcome::Success,
        (false, true) => Outcome::PartialSuccess,
        (false, false) => Outcome::BusinessError,
    };
    let code = if errors.is_empty() || wrote {
        msg_code::DEFAULT
    } else if update_refused && errors.len() == 1 {
        msg_code::NOT_ALLOWED
    } else {
        msg_code::VALIDATION
    };
    let reply = match (op, successes.first()) {
        (Operation::Save, Some(entity)) => save_reply(entity, Value::Array(return_data)),
        (Operation::Save, None) => status_reply(status(&errors, &[], code)),
        _ => {
            let batch_data = if return_keys.is_empty() {
                Vec::new()
            } else {
                return_data
            };
            batch_reply(status(&errors, &successes, code), batch_data)
        }
    };
    Executed {
        reply,
        outcome,
        wrote,
    }
}

/// Values of `NeedReturnFields` for a saved bill (header values, first entry row).
fn need_return_data(bill: &StoredBill, keys: &[String]) -> Value {
    let mut object = Map::new();
    for key in keys {
        if let Some(column) = Column::resolve(key) {
            object.insert(
                key.clone(),
                to_json(&column.value(bill, bill.entries.first())),
            );
        }
    }
    Value::Object(object)
}

enum Target {
    Number(String),
    Id(i64),
}

fn targets(data: &Map<String, Value>) -> Vec<Target> {
    let mut targets = Vec::new();
    match get_ci(data, "Numbers") {
        Some(Value::Array(items)) => targets.extend(
            items
                .iter()
                .filter_map(|item| as_text(Some(item)))
                .map(Target::Number),
        ),
        Some(Value::String(text)) => targets.extend(
            text.split(',')
                .map(str::trim)
                .filter(|number| !number.is_empty())
                .map(|number| Target::Number(number.to_string())),
        ),
        _ => {}
    }
    match get_ci(data, "Ids") {
        Some(Value::String(text)) => targets.extend(
            text.split(',')
                .filter_map(|id| id.trim().parse().ok())
                .map(Target::Id),
        ),
        Some(Value::Array(items)) => {
            targets.extend(
                items
                    .iter()
                    .filter_map(|item| as_i64(Some(item)))
                    .map(Target::Id),
            );
        }
        Some(number @ Value::Number(_)) => targets.extend(as_i64(Some(number)).map(Target::Id)),
        _ => {}
    }
    targets
}

fn change_status(shared: &Shared, call: &Call, action: StatusAction) -> Executed {
    let data = match form_and_data(call) {
        Ok(data) => data,
        Err(reply) => return Executed::error(reply),
    };
    let targets = targets(data);
    if targets.is_empty() {
        return Executed::error(failure(
            msg_code::BAD_PARAMETER,
            None,
            "data数据包中的参数Numbers或Ids的值不能为空。",
        ));
    }

    let applied = apply_to_targets(shared, targets, action);
    let wrote = !applied.successes.is_empty();

    // Numbers that do not exist are skipped silently when others succeed, as the
    // server does for multi-number operations.
    let (reply, outcome) = if !applied.refused.is_empty() {
        let mut errors = applied.refused;
        if !wrote {
            errors.extend(applied.not_found);
        }
        let outcome = if wrote {
            Outcome::PartialSuccess
        } else {
            Outcome::BusinessError
        };
        let reply = status(&errors, &applied.successes, msg_code::NOT_ALLOWED);
        (status_reply(reply), outcome)
    } else if !wrote {
        let reply = status(&applied.not_found, &[], msg_code::NOT_FOUND);
        (status_reply(reply), Outcome::BusinessError)
    } else {
        let reply = status(&[], &applied.successes, msg_code::DEFAULT);
        (status_reply(reply), Outcome::Success)
    };
    Executed {
        reply,
        outcome,
        wrote,
    }
}

struct Applied {
    successes: Vec<SuccessEntity>,
    refused: Vec<FieldError>,
    not_found: Vec<FieldError>,
}

// NOTE: the not-found and status refusal messages are the simulator's wording.
fn apply_to_targets(shared: &Shared, targets: Vec<Target>, action: StatusAction) -> Applied {
    let mut applied = Applied {
        successes: Vec::new(),
        refused: Vec::new(),
        not_found: Vec::new(),
    };
    let mut bills = shared.bills();
    let now = now();
    for (index, target) in targets.into_iter().enumerate() {
        let (id, label) = match &target {
            Target::Number(number) => (
                bills.find_number(number).map(|bill| bill.id),
                format!("编码为[{number}]"),
            ),
            Target::Id(id) => (bills.get(*id).map(|bill| bill.id), format!("内码为[{id}]")),
        };
        let Some(id) = id else {
            let message = format!("{label}的单据不存在");
            applied
                .not_found
                .push(FieldError::new(None, message, index));
            continue;
        };
        match bills.apply(id, action, now) {
            Ok((id, number)) => applied.successes.push(SuccessEntity { id, number, index }),
            Err(message) => applied.refused.push(FieldError::new(None, message, index)),
        }
    }
    applied
}

fn view(shared: &Shared, call: &Call) -> Executed {
    let data = match form_and_data(call) {
        Ok(data) => data,
        Err(reply) => return Executed::error(reply),
    };
    let number = as_text(get_ci(data, "Number")).filter(|number| !number.trim().is_empty());
    let id = as_i64(get_ci(data, "Id")).filter(|id| *id > 0);
    let bills = shared.bills();
    let (found, label) = match (number, id) {
        (Some(number), _) => (bills.find_number(&number), format!("编码为[{number}]")),
        (None, Some(id)) => (bills.get(id), format!("内码为[{id}]")),
        (None, None) => {
            return Executed::error(failure(
                msg_code::BAD_PARAMETER,
                None,
                "data数据包中的参数Number或Id的值不能为空。",
            ));
        }
    };
    match found {
        Some(bill) => Executed::new(
            json!({"Result": {"ResponseStatus": null, "Result": render_bill(bill)}}),
            Outcome::Success,
        ),
        None => Executed::error(failure(
            msg_code::NOT_FOUND,
            None,
            &format!("{label}的单据不存在或已被删除"),
        )),
    }
}

fn query(shared: &Shared, op: Operation, call: &Call) -> Executed {
    let query = match BillQuery::parse(call.arg(0)) {
        Ok(query) => query,
        // The HTTP layer wraps the error as `[[…]]` for ExecuteBillQuery.
        Err(error) => return Executed::error(failure(error.code, None, &error.message)),
    };
    let rows = query.run(&shared.bills());
    let reply: Vec<Value> = match op {
        Operation::BillQuery => rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = query
                    .keys
                    .iter()
                    .cloned()
                    .zip(row.iter().map(to_json))
                    .collect();
                Value::Object(object)
            })
            .collect(),
        _ => rows
            .iter()
            .map(|row| Value::Array(row.iter().map(to_json).collect()))
            .collect(),
    };
    Executed::new(Value::Array(reply), Outcome::Success)
}
