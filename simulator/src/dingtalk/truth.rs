//! Ground truth carried by simulated instances, for tests to assert against.
//!
//! An instance may carry what the pipeline must do with it once approved: save a bill
//! with known rows, or reject it naming a form field. Whether it is approved is read
//! from the instance's current status, so a claim that an admin call approves later
//! reports the new truth at once. The JSON form matches the `*.expected.json` files
//! next to the approval cases: `{"expect": "saved", "entries", "amounts", "total"}`,
//! `{"expect": "rejected", "field", "reason"}` or `{"expect": "skipped", "reason"}`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::model::{ApprovalResult, Instance, Status};

/// Expected pipeline outcome of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// One payment bill with one entry per detail row.
    Saved {
        /// Row amounts in row order, two decimals.
        amounts: Vec<Decimal>,
        /// Sum of the row amounts.
        total: Decimal,
    },
    /// Never published, because the claim is not approved.
    Skipped {
        /// `refused`, `terminated`, `running`, …
        reason: String,
    },
    /// Dead-lettered by the mapping, with a reason that names `field`.
    Rejected {
        /// Label of the form field the reason must name.
        field: String,
        /// Reason no bill may be created.
        reason: String,
    },
}

/// Truth of one instance as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundTruth {
    /// `COMPLETED` with `agree`.
    pub approved: bool,
    /// Expected outcome, or `None` for an approved instance whose content has no
    /// description.
    pub expected: Option<Expected>,
}

impl Expected {
    /// Builds a saved outcome from row amounts, rounding each to two decimals.
    pub fn saved(amounts: Vec<Decimal>) -> Expected {
        let amounts: Vec<Decimal> = amounts.into_iter().map(two_decimals).collect();
        let total = two_decimals(amounts.iter().copied().sum());
        Expected::Saved { amounts, total }
    }

    /// Returns the number of bill entries of a saved outcome, `None` for the others.
    pub fn entries(&self) -> Option<usize> {
        match self {
            Expected::Saved { amounts, .. } => Some(amounts.len()),
            _ => None,
        }
    }

    /// Renders the outcome in the `*.expected.json` format.
    pub fn to_json(&self) -> Value {
        match self {
            Expected::Saved { amounts, total } => json!({
                "expect": "saved",
                "entries": amounts.len(),
                "amounts": amounts.iter().map(|amount| amount.to_string()).collect::<Vec<_>>(),
                "total": total.to_string(),
            }),
            Expected::Skipped { reason } => json!({"expect": "skipped", "reason": reason}),
            Expected::Rejected { field, reason } => {
                json!({"expect": "rejected", "field": field, "reason": reason})
            }
        }
    }

    /// Reads the outcome an approved instance must have from `*.expected.json` content.
    ///
    /// Returns `Ok(None)` for `skipped`, which does not describe the approved case.
    pub fn outcome_if_approved(case: &Value) -> Result<Option<Expected>, String> {
        let expect = case
            .get("expect")
            .and_then(Value::as_str)
            .ok_or("\"expect\" is missing")?;
        match expect {
            "skipped" => Ok(None),
            "rejected" => Ok(Some(Expected::Rejected {
                field: string_field(case, "field")?,
                reason: string_field(case, "reason").unwrap_or_default(),
            })),
            "saved" => {
                let amounts = case
                    .get("amounts")
                    .and_then(Value::as_array)
                    .ok_or("\"amounts\" must be an array of decimal strings")?
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .and_then(|text| Decimal::from_str(text).ok())
                            .ok_or_else(|| format!("amount {item} is not a decimal string"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Expected::saved(amounts)))
            }
            other => Err(format!(
                "\"expect\" is {other:?}, expected saved, skipped or rejected"
            )),
        }
    }
}

impl GroundTruth {
    /// Derives the truth from the instance's status and its outcome if approved.
    pub fn of(instance: &Instance, outcome_if_approved: Option<&Expected>) -> GroundTruth {
        if instance.is_approved() {
            return GroundTruth {
                approved: true,
                expected: outcome_if_approved.cloned(),
            };
        }
        GroundTruth {
            approved: false,
            expected: Some(Expected::Skipped {
                reason: skip_reason(instance).to_string(),
            }),
        }
    }

    /// Renders `{"approved": …, "expected": …}`.
    pub fn to_json(&self) -> Value {
        json!({
            "approved": self.approved,
            "expected": self.expected.as_ref().map(Expected::to_json),
        })
    }
}

fn skip_reason(instance: &Instance) -> &'static str {
    match (instance.status, instance.result) {
        (Status::Completed, ApprovalResult::Refuse) => "refused",
        (Status::Completed, _) => "completed without agree",
        (Status::Terminated, _) => "terminated",
        (Status::Canceled, _) => "canceled",
        (Status::Running, _) | (Status::New, _) => "running",
    }
}

fn string_field(case: &Value, key: &str) -> Result<String, String> {
    case.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{key:?} is missing"))
}

fn two_decimals(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp(2);
    rounded.rescale(2);
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_json_matches_case_format() {
        let expected = Expected::saved(vec![Decimal::new(1205, 1), Decimal::new(1280, 0)]);
        let json = expected.to_json();
        assert_eq!(json["entries"], json!(2));
        assert_eq!(json["amounts"], json!(["120.50", "1280.00"]));
        assert_eq!(json["total"], json!("1400.50"));
    }

    #[test]
    fn outcome_reads_saved_case() {
        let case =
            json!({"expect": "saved", "entries": 1, "amounts": ["860.00"], "total": "860.00"});
        let outcome = Expected::outcome_if_approved(&case).expect("valid case");
        assert_eq!(outcome, Some(Expected::saved(vec![Decimal::new(860, 0)])));
    }

    #[test]
    fn outcome_of_skipped_case_is_unknown() {
        let case = json!({"expect": "skipped", "reason": "refused approvals never become bills"});
        let outcome = Expected::outcome_if_approved(&case).expect("valid case");
        assert_eq!(outcome, None);
    }

    #[test]
    fn outcome_rejects_unknown_expect() {
        let case = json!({"expect": "maybe"});
        assert!(Expected::outcome_if_approved(&case).is_err());
    }
}
