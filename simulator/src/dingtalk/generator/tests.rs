//! Tests of the claim generator: determinism, realism and the truth it records.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::template::{ADMIN_TYPE_FIELD, AMOUNT_COLUMN, PROJECT_TYPE_FIELD, TABLE_FIELD};
use super::*;

const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_400_000, 0).expect("valid instant")
}

fn claims(count: usize, seed: u64) -> Vec<GeneratedClaim> {
    generate_claims(count, seed, PROCESS_CODE, now())
}

/// Returns each row's amount cell: `Some(text)`, `Some("null")` or `None` when absent.
fn row_amounts(instance: &Instance) -> Option<Vec<Option<String>>> {
    let table = instance.component(TABLE_FIELD.0)?.value.as_deref()?;
    let rows: Value = serde_json::from_str(table).expect("table value is JSON");
    let rows = rows.as_array()?;
    if rows
        .first()
        .is_some_and(|row| row.get("rowValue").is_none())
    {
        return None;
    }
    let amounts = rows
        .iter()
        .map(|row| {
            row["rowValue"]
                .as_array()
                .expect("rowValue is an array")
                .iter()
                .find(|cell| cell["key"] == AMOUNT_COLUMN.0)
                .map(|cell| cell["value"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    Some(amounts)
}

#[test]
fn generator_is_deterministic_per_seed() {
    let first = claims(40, 7);
    let second = claims(40, 7);
    let first: Vec<&Instance> = first.iter().map(|claim| &claim.instance).collect();
    let second: Vec<&Instance> = second.iter().map(|claim| &claim.instance).collect();
    assert_eq!(
        first, second,
        "same seed and now must give the same instances"
    );
}

#[test]
fn generator_differs_between_seeds() {
    let first = claims(5, 1);
    let second = claims(5, 2);
    assert_ne!(
        first[0].instance.process_instance_id, second[0].instance.process_instance_id,
        "different seeds must give different ids"
    );
}

#[test]
fn generator_mixes_statuses() {
    let all = claims(300, 11);
    let count = |status: Status, result: ApprovalResult| {
        all.iter()
            .filter(|c| c.instance.status == status && c.instance.result == result)
            .count()
    };
    assert!(
        count(Status::Completed, ApprovalResult::Agree) > 150,
        "most are approved"
    );
    assert!(
        count(Status::Completed, ApprovalResult::Refuse) > 20,
        "a share is refused"
    );
    assert!(
        count(Status::Running, ApprovalResult::Empty) > 20,
        "a share still runs"
    );
    assert!(
        count(Status::Terminated, ApprovalResult::Empty) > 10,
        "some are withdrawn"
    );
}

#[test]
fn generator_times_fit_listing_limits() {
    let current = time::to_beijing(now());
    for claim in claims(200, 3) {
        let instance = &claim.instance;
        assert!(instance.create_time <= current, "created in the past");
        assert!(
            current - instance.create_time < Duration::days(60),
            "created within the last weeks"
        );
        if let Some(finished) = instance.finish_time {
            assert!(finished <= current, "finished in the past");
            assert!(finished >= instance.create_time, "finished after creation");
        }
    }
    let slow = claims(200, 3)
        .iter()
        .filter(|c| {
            c.instance
                .finish_time
                .is_some_and(|f| f - c.instance.create_time > Duration::days(14))
        })
        .count();
    assert!(
        slow > 10,
        "some claims waited weeks for approval, got {slow}"
    );
}

#[test]
fn generator_ids_embed_creation_time() {
    for claim in claims(50, 5) {
        let instance = &claim.instance;
        let seconds = time::from_beijing(instance.create_time).timestamp();
        assert!(
            instance.process_instance_id.ends_with(&seconds.to_string()),
            "instance id {} ends with creation seconds {seconds}",
            instance.process_instance_id
        );
        let minute = instance.create_time.format("%Y%m%d%H%M").to_string();
        assert!(
            instance.business_id.starts_with(&minute),
            "business id {} starts with {minute}",
            instance.business_id
        );
    }
}

#[test]
fn saved_truth_matches_table_amounts() {
    let mut checked = 0;
    for claim in claims(200, 9) {
        let Expected::Saved { amounts, total } = &claim.outcome_if_approved else {
            continue;
        };
        let cells = row_amounts(&claim.instance).expect("a saved claim has rows");
        let parsed: Vec<Decimal> = cells
            .iter()
            .map(|cell| {
                let text = cell.as_deref().expect("every row has an amount");
                Decimal::from_str(&text.replace(',', "")).expect("amount parses")
            })
            .collect();
        assert_eq!(
            &parsed, amounts,
            "row amounts of {}",
            claim.instance.business_id
        );
        assert_eq!(
            parsed.iter().copied().sum::<Decimal>(),
            *total,
            "total of {}",
            claim.instance.business_id
        );
        checked += 1;
    }
    assert!(checked > 100, "most claims are clean, checked {checked}");
}

#[test]
fn rejected_truth_names_the_defect() {
    let all = claims(300, 13);
    let mut fields = HashSet::new();
    for claim in &all {
        let Expected::Rejected { field, .. } = &claim.outcome_if_approved else {
            continue;
        };
        fields.insert(field.clone());
        if field == TABLE_FIELD.1 {
            assert_eq!(
                row_amounts(&claim.instance),
                None,
                "empty table is a schema array"
            );
        } else if field == AMOUNT_COLUMN.1 {
            let cells = row_amounts(&claim.instance).expect("rows present");
            let missing = cells
                .iter()
                .filter(|cell| cell.as_deref().is_none_or(|text| text == "null"))
                .count();
            assert_eq!(missing, 1, "exactly one row lacks an amount");
        } else {
            assert!(
                field == ADMIN_TYPE_FIELD.1 || field == PROJECT_TYPE_FIELD.1,
                "unexpected field {field}"
            );
            let value = all
                .iter()
                .find(|c| c.instance.process_instance_id == claim.instance.process_instance_id)
                .and_then(|c| {
                    c.instance
                        .form_component_values
                        .iter()
                        .find(|component| component.name.as_deref() == Some(field.as_str()))
                })
                .and_then(|component| component.value.clone());
            assert_eq!(
                value.as_deref(),
                Some("团建活动"),
                "unmapped type is 团建活动"
            );
        }
    }
    assert!(fields.contains(TABLE_FIELD.1), "some tables are empty");
    assert!(fields.contains(AMOUNT_COLUMN.1), "some rows lack amounts");
}

#[test]
fn generator_spells_awkward_amounts() {
    let cells: Vec<String> = claims(300, 17)
        .iter()
        .filter_map(|claim| row_amounts(&claim.instance))
        .flatten()
        .flatten()
        .collect();
    assert!(
        cells.iter().any(|text| text.contains(',')),
        "some amounts have thousands separators"
    );
    assert!(
        cells
            .iter()
            .any(|text| text != "null" && !text.contains('.')),
        "some amounts are whole yuan"
    );
    assert!(
        cells.iter().any(|text| text == "null"),
        "some amounts are the string null"
    );
}

#[test]
fn generator_leaves_other_type_null() {
    for claim in claims(50, 19) {
        let admin = claim
            .instance
            .component(ADMIN_TYPE_FIELD.0)
            .expect("admin type field");
        let project = claim
            .instance
            .component(PROJECT_TYPE_FIELD.0)
            .expect("project type field");
        assert!(
            admin.value.is_some() != project.value.is_some(),
            "exactly one expense type field is filled in {}",
            claim.instance.business_id
        );
    }
}

#[test]
fn truth_follows_status() {
    for claim in claims(100, 23) {
        let truth = claim.truth();
        assert_eq!(truth.approved, claim.instance.is_approved());
        if !truth.approved {
            assert!(
                matches!(truth.expected, Some(Expected::Skipped { .. })),
                "unapproved claims are skipped"
            );
        }
    }
}
