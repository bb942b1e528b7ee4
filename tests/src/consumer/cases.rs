//! Envelopes for the consumer tests: the project's approval cases (with what each must
//! become) and generated claims with their ground truth.

use std::path::PathBuf;

use chrono::Utc;
use dingk3::approval::ApprovalInstance;
use dingk3::envelope::Envelope;
use dingk3::mapping::{RawRoutesConfig, Routes};
use dingk3_simulator::dingtalk::render_topapi::render_instance;
use dingk3_simulator::dingtalk::{DEFAULT_PROCESS_CODE, Expected, generate_claims};
use rust_decimal::Decimal;
use serde_json::Value;

/// Process code of the reference expense-claim template.
pub const PROCESS_CODE: &str = DEFAULT_PROCESS_CODE;

/// Names of the five reference cases.
pub const CASES: [&str; 5] = [
    "01-admin-two-rows",
    "02-project-travel",
    "03-refused",
    "04-missing-amount",
    "05-unknown-expense-type",
];

/// What a reference case must become, read from its `.expected.json`.
#[derive(Debug, Clone)]
pub struct CaseExpectation {
    /// Process instance id.
    pub process_instance_id: String,

    /// `saved`, `skipped` or `rejected`.
    pub expect: String,

    /// Entry rows of a saved bill.
    pub entries: Option<usize>,

    /// Row amounts of a saved bill.
    pub amounts: Vec<Decimal>,

    /// Total of a saved bill.
    pub total: Option<Decimal>,

    /// Form field a rejection must name.
    pub field: Option<String>,
}

/// Returns a path below the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Returns the routes of the example configuration.
pub fn example_routes() -> Routes {
    let raw = RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
        .unwrap_or_else(|error| panic!("example configuration does not load: {error}"));
    raw.validate()
        .unwrap_or_else(|errors| panic!("example configuration is invalid: {errors:?}"))
}

fn read_json(relative: &str) -> Value {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("{value} is not a decimal string"))
}

/// Reads the expectation of case `name`.
pub fn case_expectation(name: &str) -> CaseExpectation {
    let expected = read_json(&format!("tests/fixtures/cases/{name}.expected.json"));
    CaseExpectation {
        process_instance_id: expected["process_instance_id"]
            .as_str()
            .expect("the expectation names the instance")
            .to_string(),
        expect: expected["expect"].as_str().unwrap_or_default().to_string(),
        entries: expected["entries"].as_u64().map(|count| count as usize),
        amounts: expected["amounts"]
            .as_array()
            .map(|amounts| amounts.iter().map(decimal).collect())
            .unwrap_or_default(),
        total: expected.get("total").map(decimal),
        field: expected["field"].as_str().map(str::to_string),
    }
}

/// Builds the envelope the producer would publish for case `name`.
pub fn case_envelope(name: &str) -> Envelope {
    let expectation = case_expectation(name);
    let raw = read_json(&format!("tests/fixtures/cases/{name}.json"));
    let instance = ApprovalInstance::from_raw(expectation.process_instance_id, raw)
        .unwrap_or_else(|error| panic!("case {name} does not decode: {error}"));
    Envelope::new(PROCESS_CODE, &instance, Utc::now())
}

/// Generates `count` claims from `seed` and returns the envelopes of the approved ones
/// with what each must become.
pub fn generated_envelopes(count: usize, seed: u64) -> Vec<(Envelope, Expected)> {
    generate_claims(count, seed, PROCESS_CODE, Utc::now())
        .into_iter()
        .filter(|claim| claim.truth().approved)
        .map(|claim| {
            let raw = render_instance(&claim.instance);
            let id = claim.instance.process_instance_id.clone();
            let instance = ApprovalInstance::from_raw(id, raw).expect("generated claims decode");
            let envelope = Envelope::new(PROCESS_CODE, &instance, Utc::now());
            (envelope, claim.outcome_if_approved)
        })
        .collect()
}
