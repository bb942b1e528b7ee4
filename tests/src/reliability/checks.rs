//! The invariants of a settled fault-suite run, checked against the DingTalk
//! simulator's ground truth, the K3Cloud simulator's bills, the ledger and the
//! dead-letter queue. Each broken invariant becomes one line naming the approval, the
//! bill or the dead letter concerned, so a failed run says what went wrong.

use std::collections::BTreeMap;

use dingk3_simulator::k3cloud::BillSnapshot;

use crate::consumer::DeadLetterView;
use crate::pipeline::{Expectation, Snapshot};

/// Most lines listed per kind of violation; the rest are counted.
const LISTED: usize = 20;

/// Counts and broken invariants of a settled run.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Approved claims the mapping can turn into a bill.
    pub approved_valid: usize,
    /// Approved claims the mapping must reject.
    pub approved_invalid: usize,
    /// Bills beyond the first with the same bill number.
    pub duplicates: usize,
    /// Approved claims that ended as neither their bill nor their dead letter.
    pub lost: usize,
    /// Broken invariants, one line each.
    pub violations: Vec<String>,
}

/// What the checks read, gathered once after the run settled.
pub struct Evidence<'a> {
    /// The settle snapshot: ground truth and ledger rows.
    pub snapshot: &'a Snapshot,
    /// Every bill in the K3Cloud simulator.
    pub bills: &'a [BillSnapshot],
    /// Bill number and K3Cloud id of every `saved` ledger row, by instance id.
    pub saved_rows: &'a BTreeMap<String, (Option<String>, Option<String>)>,
    /// Every dead letter, left in the queue.
    pub dead_letters: &'a [DeadLetterView],
}

/// Checks every invariant and counts duplicates and lost claims.
pub fn check(evidence: &Evidence<'_>) -> Verdict {
    let mut verdict = Verdict::default();
    let mut problems = Problems::default();

    let mut bills_by_number: BTreeMap<String, Vec<&BillSnapshot>> = BTreeMap::new();
    for bill in evidence.bills {
        bills_by_number
            .entry(bill.number.to_uppercase())
            .or_default()
            .push(bill);
    }
    for (number, bills) in &bills_by_number {
        if bills.len() > 1 {
            verdict.duplicates += bills.len() - 1;
            problems.add(
                "duplicate",
                format!("K3Cloud holds {} bills numbered {number}", bills.len()),
            );
        }
    }

    let mut letters_by_id: BTreeMap<&str, Vec<&DeadLetterView>> = BTreeMap::new();
    for letter in evidence.dead_letters {
        let id = letter.message_id.as_deref().unwrap_or("(no message_id)");
        letters_by_id.entry(id).or_default().push(letter);
    }

    for expectation in &evidence.snapshot.expectations {
        if !expectation.approved {
            check_not_approved(expectation, &bills_by_number, &letters_by_id, &mut problems);
            continue;
        }
        if let Some((amounts, total)) = expectation.saved() {
            verdict.approved_valid += 1;
            let number = bill_number(expectation);
            let Some(bills) = bills_by_number.get(&number) else {
                verdict.lost += 1;
                problems.add(
                    "lost",
                    format!(
                        "{}: approved and valid, but K3Cloud holds no bill {number}",
                        expectation.process_instance_id
                    ),
                );
                continue;
            };
            let bill = bills[0];
            let stored: Vec<_> = bill.entries.iter().map(|entry| entry.amount).collect();
            if stored.len() != amounts.len() {
                problems.add(
                    "content",
                    format!(
                        "bill {number}: {} entry rows, the claim has {}",
                        stored.len(),
                        amounts.len()
                    ),
                );
            } else if stored != amounts {
                problems.add(
                    "content",
                    format!("bill {number}: row amounts {stored:?}, the claim has {amounts:?}"),
                );
            }
            if bill.total != total {
                problems.add(
                    "content",
                    format!("bill {number}: total {}, the claim has {total}", bill.total),
                );
            }
            if let Some(letters) = letters_by_id.get(expectation.process_instance_id.as_str()) {
                problems.add(
                    "dead letter",
                    format!(
                        "{}: saved as {number}, yet dead-lettered as {:?}",
                        expectation.process_instance_id,
                        kinds(letters)
                    ),
                );
            }
        } else if let Some(field) = expectation.rejected_field() {
            verdict.approved_invalid += 1;
            let id = expectation.process_instance_id.as_str();
            let letters = letters_by_id.get(id).map(Vec::as_slice).unwrap_or_default();
            match letters {
                [] => {
                    verdict.lost += 1;
                    problems.add(
                        "lost",
                        format!("{id}: approved but invalid ({field}), yet not dead-lettered"),
                    );
                }
                [letter] => {
                    if letter.kind() != "mapping" {
                        problems.add(
                            "dead letter",
                            format!("{id}: dead-lettered as {}, expected mapping", letter.kind()),
                        );
                    }
                    if !letter.failure.error.contains(field) {
                        problems.add(
                            "dead letter",
                            format!(
                                "{id}: the dead letter's reason does not name {field}: {}",
                                letter.failure.error
                            ),
                        );
                    }
                }
                _ => problems.add(
                    "duplicate",
                    format!(
                        "{id}: {} dead letters {:?}, expected one",
                        letters.len(),
                        kinds(letters)
                    ),
                ),
            }
            let number = bill_number(expectation);
            if bills_by_number.contains_key(&number) {
                problems.add(
                    "content",
                    format!("{id}: invalid ({field}), yet K3Cloud holds bill {number}"),
                );
            }
        }
    }

    check_ledger_agrees(evidence, &bills_by_number, &mut problems);
    verdict.violations = problems.lines();
    verdict
}

/// Refused, withdrawn and running claims have no bill and no dead letter.
fn check_not_approved(
    expectation: &Expectation,
    bills_by_number: &BTreeMap<String, Vec<&BillSnapshot>>,
    letters_by_id: &BTreeMap<&str, Vec<&DeadLetterView>>,
    problems: &mut Problems,
) {
    let id = expectation.process_instance_id.as_str();
    let number = bill_number(expectation);
    if bills_by_number.contains_key(&number) {
        problems.add(
            "content",
            format!("{id}: not approved, yet K3Cloud holds bill {number}"),
        );
    }
    if let Some(letters) = letters_by_id.get(id) {
        problems.add(
            "dead letter",
            format!(
                "{id}: not approved, yet dead-lettered as {:?}",
                kinds(letters)
            ),
        );
    }
}

/// Every `saved` ledger row names a bill K3Cloud holds, with the same id, and every
/// bill K3Cloud holds has a `saved` row.
fn check_ledger_agrees(
    evidence: &Evidence<'_>,
    bills_by_number: &BTreeMap<String, Vec<&BillSnapshot>>,
    problems: &mut Problems,
) {
    let mut saved_numbers = BTreeMap::new();
    for (id, (bill_no, k3_id)) in evidence.saved_rows {
        let Some(bill_no) = bill_no else {
            problems.add(
                "ledger",
                format!("{id}: saved in the ledger without a bill number"),
            );
            continue;
        };
        saved_numbers.insert(bill_no.to_uppercase(), id.as_str());
        let Some(bills) = bills_by_number.get(&bill_no.to_uppercase()) else {
            problems.add(
                "ledger",
                format!("{id}: the ledger says saved as {bill_no}, K3Cloud holds no such bill"),
            );
            continue;
        };
        let found = bills[0].id.to_string();
        if k3_id.as_deref() != Some(found.as_str()) {
            problems.add(
                "ledger",
                format!(
                    "{id}: the ledger records K3Cloud id {k3_id:?} for {bill_no}, K3Cloud has id {found}"
                ),
            );
        }
    }
    for number in bills_by_number.keys() {
        if !saved_numbers.contains_key(number) {
            problems.add(
                "ledger",
                format!("K3Cloud holds bill {number}, but no ledger row is saved with it"),
            );
        }
    }
}

/// The bill number the example mapping gives an approval.
fn bill_number(expectation: &Expectation) -> String {
    format!("DD-{}", expectation.business_id).to_uppercase()
}

fn kinds(letters: &[&DeadLetterView]) -> Vec<String> {
    letters
        .iter()
        .map(|letter| letter.kind().to_string())
        .collect()
}

/// Violations grouped by kind, each kind listed up to [`LISTED`] lines.
#[derive(Default)]
struct Problems {
    by_kind: BTreeMap<&'static str, Vec<String>>,
}

impl Problems {
    fn add(&mut self, kind: &'static str, line: String) {
        self.by_kind.entry(kind).or_default().push(line);
    }

    fn lines(self) -> Vec<String> {
        let mut lines = Vec::new();
        for (kind, found) in self.by_kind {
            for line in found.iter().take(LISTED) {
                lines.push(format!("{kind}: {line}"));
            }
            if found.len() > LISTED {
                lines.push(format!("{kind}: … and {} more", found.len() - LISTED));
            }
        }
        lines
    }
}
