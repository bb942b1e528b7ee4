//! The first step of every message, before the ledger is asked: read the envelope,
//! find the route of its process code, check that the approval is approved, and map it
//! to a bill.
//!
//! Anything another client may have published is handled here without panicking and
//! without holding more than the one body in memory: bodies over `max_message_bytes`
//! are refused before parsing.

use dingk3::approval::ApprovalInstance;
use dingk3::approval::time::beijing_to_utc;
use dingk3::envelope::Envelope;
use dingk3::ledger::InstanceSummary;
use dingk3::mapping::MappedBill;
use dingk3::telemetry::mask_account_numbers;
use serde_json::json;
use tracing::debug;

use crate::worker::item::Item;
use crate::worker::outcome::{DeadKind, DeadLetter};
use crate::worker::shared::Shared;

/// A message whose approval may become a bill, waiting for its ledger claim.
#[derive(Debug)]
pub(crate) struct Candidate {
    /// The delivery, with its ids filled in.
    pub(crate) item: Item,

    /// Ledger row of the instance, used when the ledger has none yet.
    pub(crate) summary: InstanceSummary,

    /// Next step once the claim is held.
    pub(crate) plan: Plan,
}

/// Next step of a claimed candidate.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Write this bill to K3Cloud.
    Write(MappedBill),

    /// Record the approval as rejected and dead-letter it: no route, or the mapping
    /// failed. The claim comes first so that an approval already saved is acked as a
    /// duplicate instead.
    Reject(DeadLetter),
}

/// Result of inspecting one message.
#[derive(Debug)]
pub(crate) enum Inspected {
    /// Goes on to the ledger claim.
    Candidate(Candidate),

    /// Cannot be processed: dead-letter it as `invalid_message`.
    Invalid(Item, DeadLetter),
}

/// Inspects one delivery.
pub(crate) fn inspect(shared: &Shared, mut item: Item) -> Inspected {
    let max = shared.settings.max_message_bytes;
    let envelope = match Envelope::decode(&item.message.data, max) {
        Ok(envelope) => envelope,
        Err(error) => {
            let dead = DeadLetter::new(
                DeadKind::InvalidMessage,
                format!("the message is not a dingk3 approval envelope: {error}"),
                Some(json!({"problem": error.to_string(), "bytes": item.message.data.len()})),
            );
            return Inspected::Invalid(item, dead);
        }
    };
    item.ids.process_instance_id = Some(envelope.process_instance_id.clone());
    item.ids.business_id = Some(envelope.business_id.clone()).filter(|id| !id.is_empty());

    let instance = match envelope.approval() {
        Ok(instance) => instance,
        Err(error) => {
            let dead = DeadLetter::new(
                DeadKind::InvalidMessage,
                format!("the approval instance in the envelope cannot be read: {error}"),
                Some(json!({"problem": error.to_string()})),
            );
            return Inspected::Invalid(item, dead);
        }
    };
    if item.ids.business_id.is_none() && !instance.business_id.is_empty() {
        item.ids.business_id = Some(instance.business_id.clone());
    }

    if !instance.is_approved() {
        let status = instance.status.to_string();
        let result = match instance.result.to_string() {
            empty if empty.is_empty() => "none".to_string(),
            result => result,
        };
        let dead = DeadLetter::new(
            DeadKind::InvalidMessage,
            format!(
                "the approval is not approved (status {status}, result {result}); only approved instances become bills, so it was published by mistake"
            ),
            Some(json!({"status": status, "result": result})),
        );
        return Inspected::Invalid(item, dead);
    }

    let plan = plan(shared, &envelope, &instance);
    if let Plan::Write(bill) = &plan {
        item.ids.bill_no = Some(bill.bill_no.clone());
    }
    let summary = summary(&envelope, &instance, &plan);
    debug!(
        process_instance_id = item.ids.id(),
        business_id = item.ids.business(),
        bill_no = item.ids.bill(),
        "message inspected"
    );
    Inspected::Candidate(Candidate {
        item,
        summary,
        plan,
    })
}

/// Finds the route and maps the approval.
fn plan(shared: &Shared, envelope: &Envelope, instance: &ApprovalInstance) -> Plan {
    let process_code = &envelope.process_code;
    let Some(route) = shared.routes.route_for(process_code) else {
        return Plan::Reject(DeadLetter::new(
            DeadKind::Mapping,
            format!(
                "no route for process code {process_code}; add a [[routes]] entry for it and replay the message"
            ),
            Some(json!({"process_code": process_code})),
        ));
    };
    match route.mapping.map(instance) {
        Ok(bill) => Plan::Write(bill),
        Err(errors) => {
            let count = errors.errors().len();
            let problems = if count == 1 { "problem" } else { "problems" };
            let detail = serde_json::to_value(&errors).ok();
            let reason = format!(
                "the approval cannot become a bill with mapping {} ({count} {problems}): {errors}",
                route.mapping.name
            );
            debug!(process_instance_id = %instance.process_instance_id, reason = %mask_account_numbers(&reason), "mapping failed");
            Plan::Reject(DeadLetter::new(DeadKind::Mapping, reason, detail))
        }
    }
}

/// Builds the ledger row of an instance the ledger may not know yet.
fn summary(envelope: &Envelope, instance: &ApprovalInstance, plan: &Plan) -> InstanceSummary {
    let create_time = instance
        .create_time
        .map(beijing_to_utc)
        .unwrap_or(envelope.fetched_at);
    let total_amount = match plan {
        Plan::Write(bill) => Some(bill.total),
        Plan::Reject(_) => None,
    };
    InstanceSummary {
        process_instance_id: envelope.process_instance_id.clone(),
        process_code: envelope.process_code.clone(),
        business_id: instance.business_id.clone(),
        title: instance.title.clone(),
        originator_userid: instance.originator_userid.clone(),
        total_amount,
        create_time,
    }
}
