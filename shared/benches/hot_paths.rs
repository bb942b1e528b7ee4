//! Micro-benchmarks of the consumer's CPU work per approval: mapping the reference case
//! `01-admin-two-rows` through the example mapping, decoding its message first as the
//! consumer does, and decoding a K3Cloud write reply: a `Save` reply for one bill and a
//! `BatchSave` reply for a batch of ten.
//!
//! `cargo bench -p dingk3 --bench hot_paths`; results and the machine they were taken on
//! are in `docs/BENCHMARKS.md`.

use std::hint::black_box;
use std::path::PathBuf;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use dingk3::approval::ApprovalInstance;
use dingk3::envelope::{DEFAULT_MAX_ENVELOPE_BYTES, Envelope};
use dingk3::k3cloud::{ModelOutcome, decode_write_reply};
use dingk3::mapping::{RawRoutesConfig, Routes};
use serde_json::Value;

/// Process code of the example template, as routed by `config/dingk3.example.toml`.
const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

/// Bills of the benchmarked `BatchSave`; the consumer's default batch size.
const BATCH: usize = 10;

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn example_routes() -> Routes {
    RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
        .expect("the example configuration loads")
        .validate()
        .expect("the example configuration is valid")
}

fn reference_case() -> ApprovalInstance {
    let path = repo_path("tests/fixtures/cases/01-admin-two-rows.json");
    let text = std::fs::read_to_string(&path).expect("case 01 is readable");
    let raw: Value = serde_json::from_str(&text).expect("case 01 is JSON");
    ApprovalInstance::from_raw("kNpmUavZQwSHP_ZJvVdL7g07561762136122".to_string(), raw)
        .expect("case 01 decodes as an approval")
}

/// A `BatchSave` reply for `BATCH` models: all saved but the last two, which K3Cloud
/// rejected with field errors, in the shape K3Cloud sends.
fn batch_save_reply() -> String {
    let saved: Vec<String> = (0..BATCH - 2)
        .map(|index| {
            format!(
                r#"{{"Id":{},"Number":"DK-2026110310150001234{index:02}","DIndex":{index}}}"#,
                100_100 + index
            )
        })
        .collect();
    let errors: Vec<String> = (BATCH - 2..BATCH)
        .map(|index| {
            format!(
                r#"{{"FieldName":"FCONTACTUNIT","Message":"第1行字段“往来单位”的值“EMP9{index:02}”在基础资料中不存在","DIndex":{index}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"Result":{{"ResponseStatus":{{"ErrorCode":500,"IsSuccess":false,"Errors":[{}],"SuccessEntitys":[{}],"SuccessMessages":[],"MsgCode":11}},"Id":"","Number":"","NeedReturnData":[{{}}]}}}}"#,
        errors.join(","),
        saved.join(",")
    )
}

/// A `Save` reply for one bill that K3Cloud saved, with the bill in `Result.Id` and
/// `Result.Number` as well as in `SuccessEntitys`.
fn save_reply() -> String {
    r#"{"Result":{"ResponseStatus":{"ErrorCode":0,"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100100,"Number":"DK-202611031015000123400","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100100,"Number":"DK-202611031015000123400","NeedReturnData":[{}]}}"#.to_string()
}

fn mapping(c: &mut Criterion) {
    let routes = example_routes();
    let route = routes
        .route_for(PROCESS_CODE)
        .expect("the example configuration routes the reference template");
    let instance = reference_case();
    route
        .mapping
        .map(&instance)
        .expect("case 01 maps to a bill");
    c.bench_function("mapping/case_01", |b| {
        b.iter(|| route.mapping.map(black_box(&instance)))
    });

    let body = Envelope::new(PROCESS_CODE, &instance, Utc::now()).to_bytes();
    c.bench_function("message_to_bill/case_01", |b| {
        b.iter(|| {
            let envelope = Envelope::decode(black_box(&body), DEFAULT_MAX_ENVELOPE_BYTES)
                .expect("the message decodes");
            let approval = envelope.approval().expect("the approval decodes");
            route.mapping.map(&approval)
        })
    });
}

fn k3cloud_reply(c: &mut Criterion) {
    let body = save_reply();
    let outcomes = decode_write_reply(&body, 1).expect("the reply decodes");
    assert!(
        matches!(outcomes.as_slice(), [ModelOutcome::Saved { .. }]),
        "the reply saves its bill: {outcomes:?}"
    );
    c.bench_function("k3cloud_reply/save_1", |b| {
        b.iter(|| decode_write_reply(black_box(&body), 1))
    });

    let body = batch_save_reply();
    let outcomes = decode_write_reply(&body, BATCH).expect("the reply decodes");
    let saved = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, ModelOutcome::Saved { .. }))
        .count();
    assert_eq!(saved, BATCH - 2, "the reply saves all but two bills");
    c.bench_function("k3cloud_reply/batch_save_10", |b| {
        b.iter(|| decode_write_reply(black_box(&body), BATCH))
    });
}

criterion_group!(benches, mapping, k3cloud_reply);
criterion_main!(benches);
