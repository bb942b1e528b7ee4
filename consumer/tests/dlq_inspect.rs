//! `consumer dlq list`, `show`, `export` and `purge` against the local RabbitMQ.
//! Reading never removes or reorders a dead letter, and the filters and formats work.
//! `show` explains a dead letter with its field errors, request and history. An export
//! reads back to the same messages, and a purge needs `--yes` and exports first.

mod dlq_support;
mod support;

use dingk3::ledger::Status;
use dingk3_consumer::dlq::export::parse_line;
use dlq_support::{Bed, DeadSpec, describe, message_ids, stdout, variant};
use serde_json::{Value, json};

/// Lists beyond RabbitMQ 4.x's default quorum delivery limit of 20.
const LISTINGS: usize = 25;

/// Publishes `count` dead letters of every kind; returns their ids in queue order.
async fn seed(bed: &Bed, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let suffix = format!("{n:03}");
        let (envelope, kind, reason) = match n % 4 {
            0 => (
                variant("05-unknown-expense-type", &suffix),
                "mapping",
                "the approval cannot become a bill: 团建活动 has no K3Cloud 费用项目",
            ),
            1 => (
                variant("01-admin-two-rows", &suffix),
                "rejected",
                "K3Cloud rejected bill: FCONTACTUNIT: 员工 EMP001 不存在",
            ),
            2 => (
                variant("02-project-travel", &suffix),
                "exhausted",
                "the write failed on attempt 5 after every retry tier",
            ),
            _ => (
                variant("01-admin-two-rows", &suffix),
                "invalid_message",
                "the message is not a dingk3 approval envelope",
            ),
        };
        if n % 5 == 4 {
            bed.foreign_dead_letter(
                envelope.to_bytes(),
                Some(&envelope.process_instance_id),
                "delivery_limit",
            )
            .await;
        } else {
            bed.dead_letter(&DeadSpec::of(&envelope, kind, reason))
                .await;
        }
        ids.push(envelope.process_instance_id);
    }
    ids
}

fn ids_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            row["process_instance_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_twice_keeps_queue() {
    let bed = Bed::start("dlq-list", "").await;
    let ids = seed(&bed, 30).await;
    let dead = bed.topology.dead_queue();

    for listing in 1..=LISTINGS {
        let rows = bed.list_json(&[]);
        assert_eq!(
            ids_of(&rows),
            ids,
            "listing {listing}: same ids in the same order"
        );
        assert_eq!(
            bed.ready(&dead).await,
            30,
            "listing {listing}: nothing removed"
        );
    }
    let peeked = message_ids(&bed.peek(&dead).await);
    assert_eq!(peeked, ids, "the queue itself keeps its order");
    let counts: Vec<u64> = bed
        .list_json(&[])
        .iter()
        .map(|row| row["position"].as_u64().unwrap())
        .collect();
    assert_eq!(
        counts,
        (1..=30).collect::<Vec<u64>>(),
        "positions count from 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_formats_and_filters() {
    let bed = Bed::start("dlq-filters", "").await;
    let ids = seed(&bed, 8).await;

    let mapping = bed.list_json(&["--kind", "mapping"]);
    assert_eq!(ids_of(&mapping), vec![ids[0].clone()], "--kind mapping");
    let foreign = bed.list_json(&["--kind", "exhausted"]);
    let origins: Vec<&str> = foreign
        .iter()
        .map(|row| row["kind_origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids_of(&foreign),
        vec![ids[2].clone(), ids[4].clone(), ids[6].clone()],
        "--kind exhausted"
    );
    assert_eq!(
        origins,
        vec!["pipeline", "x-death", "pipeline"],
        "the x-death one is derived"
    );
    assert_eq!(
        ids_of(&bed.list_json(&["--grep", "EMP001"])),
        vec![ids[1].clone(), ids[5].clone()],
        "--grep reads reasons"
    );
    assert!(
        bed.list_json(&["--process-code", "PROC-OTHER"]).is_empty(),
        "--process-code"
    );
    assert!(
        bed.list_json(&["--since", "2999-01-01"]).is_empty(),
        "--since in the future"
    );
    assert_eq!(
        bed.list_json(&["--since", "1h"]).len(),
        8,
        "--since an hour ago"
    );

    let row = &bed.list_json(&["--kind", "mapping"])[0];
    assert_eq!(row["amount"], json!("2000.00"), "amount read from the form");
    assert_eq!(row["title"], json!("孙七提交的费用报销"));
    assert_eq!(row["originator"], json!("user-1002"));
    assert_eq!(row["attempts"], json!(1));
    assert_eq!(row["replay_count"], json!(0));
    let foreign = &bed.list_json(&["--grep", &ids[4]])[0];
    assert_eq!(
        foreign["attempts"],
        Value::Null,
        "attempts of a foreign dead letter are unknown"
    );

    let csv = stdout(&bed.dlq(&["list", "--format", "csv"]));
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("position,process_instance_id,business_id"),
        "{csv}"
    );
    assert_eq!(lines.count(), 8, "one CSV line per dead letter");

    let table = bed.dlq(&["list"]);
    assert_eq!(table.status.code(), Some(0), "{}", describe(&table));
    let text = stdout(&table);
    assert!(
        text.contains("process instance") && text.contains(&ids[0]),
        "{text}"
    );
    assert!(text.contains("8 of 8 dead letters"), "{text}");
    let chinese = stdout(&bed.dlq_in("zh", &["list", "--kind", "rejected"]));
    assert!(
        chinese.contains("审批实例") && chinese.contains("原因"),
        "{chinese}"
    );
    assert!(chinese.contains("显示 2 条"), "{chinese}");
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        8,
        "nothing removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_explains_dead_letter() {
    let bed = Bed::start("dlq-show", "").await;
    let unmappable = variant("05-unknown-expense-type", "show");
    let detail = json!([{"field": "行政报销类型", "row": null, "code": "unmapped_value", "message": "no value_maps.expense_item entry for 团建活动"}]);
    bed.dead_letter(&DeadSpec {
        detail: Some(detail),
        ..DeadSpec::of(
            &unmappable,
            "mapping",
            "the approval cannot become a bill with mapping expense_claim",
        )
    })
    .await;
    let rejected = variant("01-admin-two-rows", "show");
    bed.dead_letter(&DeadSpec {
        detail: Some(json!({"bill_no": "DD-x", "msg_code": 0, "errors": [{"field": "FCONTACTUNIT", "message": "员工 EMP001 不存在"}]})),
        ..DeadSpec::of(&rejected, "rejected", "K3Cloud rejected bill")
    })
    .await;
    let id = &rejected.process_instance_id;
    bed.ledger
        .mark_dead(id, "rejected", "K3Cloud rejected bill")
        .await
        .unwrap();

    let output = bed.dlq(&["show", &unmappable.business_id]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    assert!(
        text.contains("行政报销类型: no value_maps.expense_item entry"),
        "field error listed: {text}"
    );
    assert!(
        text.contains("still rejects it"),
        "the current mapping is tried: {text}"
    );
    assert!(text.contains("团建活动"), "{text}");
    assert!(text.contains("The ledger has no row"), "{text}");

    let output = bed.dlq(&["show", id]);
    let text = stdout(&output);
    assert!(
        text.contains("FCONTACTUNIT: 员工 EMP001 不存在"),
        "K3Cloud field error: {text}"
    );
    assert!(
        text.contains("BatchSave request") && text.contains("FBillNo"),
        "request shown: {text}"
    );
    assert!(
        text.contains("dlq-test  dead  dead"),
        "ledger history: {text}"
    );

    let json: Value =
        serde_json::from_slice(&bed.dlq(&["show", id, "--format", "json"]).stdout).unwrap();
    let letter = &json["dead_letters"][0];
    assert_eq!(letter["preview"]["outcome"], json!("bill"));
    assert_eq!(
        letter["field_errors"],
        json!(["FCONTACTUNIT: 员工 EMP001 不存在"])
    );
    assert_eq!(json["ledger"][0]["status"], json!("dead"));

    let chinese = stdout(&bed.dlq_in("zh", &["show", id]));
    assert!(
        chinese.contains("原因") && chinese.contains("台账记录"),
        "{chinese}"
    );

    let missing = bed.dlq(&["show", "no-such-id"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
    assert!(
        stdout(&missing).contains("No dead letter"),
        "{}",
        describe(&missing)
    );
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        2,
        "nothing removed"
    );
}

/// Removes the one header each read changes.
fn without_delivery_count(properties: &lapin::BasicProperties) -> lapin::BasicProperties {
    let mut headers = properties.headers().clone().unwrap_or_default();
    let mut entries = headers.inner().clone();
    entries.remove("x-delivery-count");
    headers = entries.into();
    properties.clone().with_headers(headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reads_back() {
    let bed = Bed::start("dlq-export", "").await;
    let envelope = variant("01-admin-two-rows", "export");
    bed.dead_letter(&DeadSpec {
        detail: Some(json!({"errors": [{"field": "FCOSTID", "message": "费用项目不存在"}]})),
        ..DeadSpec::of(&envelope, "rejected", "K3Cloud rejected bill")
    })
    .await;
    bed.foreign_dead_letter(
        vec![0xff, 0xfe, 0x00, 0x7b],
        Some("binary-1"),
        "delivery_limit",
    )
    .await;
    bed.broker_dead_letter(
        variant("02-project-travel", "export").to_bytes(),
        "broker-1",
    )
    .await;

    let output = bed.dlq(&["export", "--out", "dead.jsonl"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let file = bed.folder.path().join("dead.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let exported: Vec<_> = text.lines().map(|line| parse_line(line).unwrap()).collect();
    let queued = bed.peek(&bed.topology.dead_queue()).await;
    assert_eq!(exported.len(), 3, "every dead letter exported");
    assert_eq!(queued.len(), 3, "nothing removed");
    for (exported, queued) in exported.iter().zip(&queued) {
        assert_eq!(exported.body, queued.data, "body byte for byte");
        assert_eq!(
            without_delivery_count(&exported.properties),
            without_delivery_count(&queued.properties),
            "every property and header"
        );
    }
    let broker = &exported[2].properties;
    let headers = broker.headers().as_ref().unwrap();
    assert!(
        headers.contains_key("x-death"),
        "the broker's x-death is kept"
    );
    assert!(
        headers.contains_key("x-delivery-count"),
        "x-delivery-count is kept"
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("\"encoding\":\"base64\""),
        "binary body as base64"
    );

    let again = bed.dlq(&["export", "--out", "dead.jsonl"]);
    assert_eq!(again.status.code(), Some(2), "{}", describe(&again));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "an export file is never overwritten"
    );
    let filtered = bed.dlq(&["export", "--out", "-", "--kind", "rejected"]);
    assert_eq!(
        stdout(&filtered).lines().count(),
        2,
        "--kind rejected: the pipeline one and the broker one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_needs_yes_and_exports_first() {
    let bed = Bed::start("dlq-purge", "").await;
    let ids = seed(&bed, 8).await;
    for id in &ids {
        bed.ledger.mark_dead(id, "mapping", "seeded").await.unwrap();
    }
    let dead = bed.topology.dead_queue();

    let refused = bed.dlq(&["purge", "--kind", "mapping"]);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(
        stdout(&refused).contains("needs --yes"),
        "{}",
        describe(&refused)
    );
    assert_eq!(bed.ready(&dead).await, 8, "nothing removed without --yes");
    assert_eq!(
        std::fs::read_dir(bed.folder.path())
            .unwrap()
            .filter(|entry| entry
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("dlq-purge"))
            .count(),
        0,
        "no export file without --yes"
    );

    let output = bed.dlq(&[
        "purge",
        "--kind",
        "mapping",
        "--yes",
        "--out",
        "purged.jsonl",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout(&output).contains("purged.jsonl"),
        "the file is named: {}",
        describe(&output)
    );
    let text = std::fs::read_to_string(bed.folder.path().join("purged.jsonl")).unwrap();
    let purged: Vec<String> = text
        .lines()
        .map(|line| {
            parse_line(line)
                .unwrap()
                .properties
                .message_id()
                .clone()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        purged,
        vec![ids[0].clone()],
        "the purged dead letter is in the file"
    );
    let left = message_ids(&bed.peek(&dead).await);
    let expected = ids[1..].to_vec();
    assert_eq!(left, expected, "the others stay, in order");
    let record = bed.record(&ids[0]).await.unwrap();
    assert_eq!(record.status, Status::Dead);
    assert_eq!(
        record.last_error_kind.as_deref(),
        Some("purged"),
        "the ledger row is marked"
    );
    let history = bed.ledger.history(&ids[0]).await.unwrap();
    assert!(
        history.last().unwrap().detail.contains("purged.jsonl"),
        "{history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_two() {
    let bed = Bed::start("dlq-usage", "").await;
    for (args, what) in [
        (vec!["replay"], "replay without a selection"),
        (vec!["purge", "--yes"], "purge without a selection"),
        (
            vec!["list", "--since", "yesterday"],
            "an unreadable --since",
        ),
        (vec!["list", "--kind", "lost"], "an unknown kind"),
        (vec!["replay", "--all", "--max", "0"], "--max 0"),
    ] {
        let output = bed.dlq(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            describe(&output)
        );
    }
    let text = std::fs::read_to_string(&bed.config).unwrap();
    std::fs::write(
        &bed.config,
        text.replacen("[consumer]\n", "[consumer]\nreplay_limit = 0\n", 1),
    )
    .unwrap();
    let output = bed.dlq(&["list"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("consumer.replay_limit"),
        "{}",
        describe(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_queue_is_explained() {
    let bed = Bed::start("dlq-missing", "").await;
    let text = std::fs::read_to_string(&bed.config).unwrap();
    let other = format!("{}-nothing", bed.prefix);
    std::fs::write(
        &bed.config,
        text.replace(
            &format!("prefix = \"{}\"", bed.prefix),
            &format!("prefix = \"{other}\""),
        ),
    )
    .unwrap();
    let output = bed.dlq_in("zh", &["list"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("死信队列") && stderr.contains("不存在"),
        "{stderr}"
    );
}

#[test]
fn unreachable_broker_exits_one() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("dingk3.toml");
    let text = format!(
        "[broker]\nurl = \"amqp://guest:guest@127.0.0.1:{}/%2f\"\nconnect_timeout_ms = 2000\n",
        support::free_port()
    );
    std::fs::write(&config, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", "en", "dlq", "list", "--config"])
        .arg(&config)
        .env_remove("DINGK3_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("connecting to"),
        "the broker failure is shown: {stderr}"
    );
}
