//! The checks of a settled run against the ground truth. Every approved, valid claim
//! has one bill with the amounts and entry count the mapping gives. Every approval
//! the mapping cannot turn into a bill has one dead letter naming the field. Refused,
//! withdrawn and running ones have neither.

use std::collections::{BTreeMap, BTreeSet};

use dingk3::ledger::Status;

use super::run::Pipeline;
use super::settle::Snapshot;
use crate::consumer::DeadLetterView;

/// Counts of a settled run, for the test's own further checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndState {
    /// Approvals in the DingTalk simulator.
    pub approvals: usize,
    /// Approved ones: each must have been published once.
    pub approved: usize,
    /// Approved ones that became a bill.
    pub saved: usize,
    /// Approved ones the mapping rejected (dead-lettered as `mapping`).
    pub rejected: usize,
    /// Refused, terminated or cancelled ones, skipped by the producer.
    pub skipped: usize,
    /// Ones still running in DingTalk, pending in the ledger.
    pub running: usize,
    /// Bills in the K3Cloud simulator.
    pub bills: usize,
    /// Messages in the dead-letter queue.
    pub dead_letters: usize,
}

impl Pipeline {
    /// Checks a settled run (see [`Pipeline::wait_settled`]) against the ground truth
    /// and returns its counts. Each failed condition panics with the approval it
    /// concerns.
    pub async fn assert_end_state(&self, snapshot: &Snapshot) -> EndState {
        let bills = self.k3.handle().bills();
        let dead = self.dead_letters().await;
        let mut state = EndState {
            approvals: snapshot.expectations.len(),
            bills: bills.len(),
            dead_letters: dead.len(),
            ..EndState::default()
        };

        let mut letters: BTreeMap<&str, Vec<&DeadLetterView>> = BTreeMap::new();
        for letter in &dead {
            let id = letter.message_id.as_deref().unwrap_or("(no message_id)");
            letters.entry(id).or_default().push(letter);
        }
        let mut saved_numbers = BTreeSet::new();

        for expectation in &snapshot.expectations {
            let id = expectation.process_instance_id.as_str();
            let label = &expectation.label;
            let row = snapshot
                .rows
                .get(id)
                .unwrap_or_else(|| panic!("{id} ({label}) is not in the ledger"));
            let own_letters = letters.get(id).map(Vec::as_slice).unwrap_or_default();
            if expectation.approved {
                state.approved += 1;
            } else if expectation.running {
                state.running += 1;
            } else {
                state.skipped += 1;
            }

            if let Some((amounts, total)) = expectation.saved() {
                state.saved += 1;
                assert_eq!(row.status, Status::Saved, "{id} ({label}): ledger status");
                let bill_no = row
                    .bill_no
                    .clone()
                    .unwrap_or_else(|| panic!("{id} ({label}): a saved row names its bill"));
                let bill = self
                    .k3
                    .handle()
                    .bill(&bill_no)
                    .unwrap_or_else(|| panic!("{id} ({label}): K3Cloud holds bill {bill_no}"));
                let stored: Vec<_> = bill.entries.iter().map(|entry| entry.amount).collect();
                assert_eq!(
                    bill.entries.len(),
                    amounts.len(),
                    "{id} ({label}): entry rows of bill {bill_no}"
                );
                assert_eq!(
                    stored, amounts,
                    "{id} ({label}): row amounts of bill {bill_no}"
                );
                assert_eq!(bill.total, total, "{id} ({label}): total of bill {bill_no}");
                assert!(
                    own_letters.is_empty(),
                    "{id} ({label}): a saved approval has no dead letter: {own_letters:#?}"
                );
                saved_numbers.insert(bill_no.to_uppercase());
            } else if let Some(field) = expectation.rejected_field() {
                state.rejected += 1;
                assert_eq!(
                    row.status,
                    Status::Rejected,
                    "{id} ({label}): ledger status"
                );
                assert_eq!(
                    row.last_error_kind.as_deref(),
                    Some("mapping"),
                    "{id} ({label}): ledger error kind"
                );
                assert_eq!(
                    own_letters.len(),
                    1,
                    "{id} ({label}): one dead letter in {}",
                    self.broker.topology.dead_queue()
                );
                let letter = own_letters[0];
                assert_eq!(letter.kind(), "mapping", "{id} ({label}): dead-letter kind");
                assert!(
                    letter.failure.error.contains(field),
                    "{id} ({label}): the dead letter's reason names {field}: {}",
                    letter.failure.error
                );
                assert!(
                    letter.detail_text().contains(field),
                    "{id} ({label}): the dead letter's detail names {field}: {}",
                    letter.detail_text()
                );
            } else if expectation.approved {
                assert!(
                    matches!(row.status, Status::Saved | Status::Rejected | Status::Dead),
                    "{id} ({label}): an approved claim without known outcome ends saved, rejected or dead, not {}",
                    row.status
                );
            } else {
                let wanted = if expectation.running {
                    Status::Pending
                } else {
                    Status::Skipped
                };
                assert_eq!(row.status, wanted, "{id} ({label}): ledger status");
                assert!(
                    own_letters.is_empty(),
                    "{id} ({label}): an approval that is not approved is never published, yet it has a dead letter: {own_letters:#?}"
                );
                let number = format!("DD-{}", expectation.business_id);
                assert!(
                    self.k3.handle().bill(&number).is_none(),
                    "{id} ({label}): an approval that is not approved has no bill, yet K3Cloud holds {number}"
                );
            }
        }

        let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
        for bill in &bills {
            *numbers.entry(bill.number.to_uppercase()).or_default() += 1;
        }
        let duplicates: Vec<_> = numbers.iter().filter(|(_, count)| **count > 1).collect();
        assert!(
            duplicates.is_empty(),
            "K3Cloud holds bills more than once: {duplicates:?}"
        );
        let strangers: Vec<_> = numbers
            .keys()
            .filter(|number| !saved_numbers.contains(*number))
            .collect();
        assert!(
            strangers.is_empty(),
            "K3Cloud holds bills no saved approval names: {strangers:?}"
        );
        assert_eq!(
            bills.len(),
            state.saved,
            "one bill per approved, valid claim"
        );
        let unexpected: Vec<_> = letters
            .iter()
            .filter(|(id, _)| {
                !snapshot.expectations.iter().any(|expectation| {
                    expectation.process_instance_id == **id && expectation.approved
                })
            })
            .map(|(id, found)| {
                (
                    *id,
                    found.iter().map(|letter| letter.kind()).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert!(
            unexpected.is_empty(),
            "dead letters of approvals that are not approved: {unexpected:?}"
        );
        state
    }
}
