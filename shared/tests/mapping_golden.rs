//! Golden test: the exact K3Cloud request of reference case 01, key order included,
//! because K3Cloud applies fields in JSON order.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite the golden file after an intended change, then
//! review the diff.

use std::path::PathBuf;

use dingk3::approval::ApprovalInstance;
use dingk3::mapping::{RawRoutesConfig, batch_save_request};
use serde_json::Value;

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn case_01_request_matches_golden() {
    let routes = RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let raw = read_json(repo_path("tests/fixtures/cases/01-admin-two-rows.json"));
    let instance = ApprovalInstance::from_raw("kNpmUavZQwSHP_ZJvVdL7g07561762136122", raw).unwrap();
    let route = routes
        .route_for("PROC-E322578D-5495-41BA-AED7-BBA841056F34")
        .unwrap();
    let bill = route.mapping.map(&instance).unwrap();
    let actual = serde_json::to_string_pretty(&batch_save_request(&bill, false)).unwrap() + "\n";

    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/01-admin-two-rows.request.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", golden.display()));
    assert_eq!(
        actual, expected,
        "the request of case 01 changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}
