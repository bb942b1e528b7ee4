//! A running `consumer` dead-letters reference case 05 (expense type 团建活动 has no
//! K3Cloud 费用项目). An operator adds the value to the mapping and the expense item to
//! K3Cloud, restarts the consumer, and `consumer dlq replay --id` turns the approval
//! into exactly one bill.

mod dlq_support;
mod support;

use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_simulator::k3cloud::BaseData;
use dlq_support::{Bed, describe, stdout, stop_consumer};
use serde_json::json;
use support::{case_envelope, wait_until};

const WITHIN: Duration = Duration::from_secs(30);

/// Adds `团建活动 = FYXM004` to `[value_maps.expense_item]` of the configuration.
fn map_team_building(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let mut table: toml::Table = text.parse().unwrap();
    let items = table["value_maps"]["expense_item"]
        .as_table()
        .unwrap()
        .clone();
    let mut items = items;
    items.insert(
        "团建活动".to_string(),
        toml::Value::String("FYXM004".to_string()),
    );
    table["value_maps"]
        .as_table_mut()
        .unwrap()
        .insert("expense_item".to_string(), toml::Value::Table(items));
    std::fs::write(config, toml::to_string(&table).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_05_replayed_after_fix() {
    let bed = Bed::start("dlq-case05", "").await;
    let envelope = case_envelope("05-unknown-expense-type");
    let id = envelope.process_instance_id.clone();
    let dead = bed.topology.dead_queue();
    bed.publish_work(&envelope).await;

    let consumer = bed.spawn_consumer("consumer-1.log");
    wait_until("case 05 is dead-lettered", WITHIN, || async {
        bed.ready(&dead).await == 1
            && bed
                .record(&id)
                .await
                .is_some_and(|record| record.status == Status::Rejected)
    })
    .await;
    stop_consumer(consumer).await;
    let rows = bed.list_json(&[]);
    assert_eq!(rows[0]["kind"], json!("mapping"), "{rows:#?}");
    assert!(
        rows[0]["reason"].as_str().unwrap().contains("团建活动"),
        "{rows:#?}"
    );

    map_team_building(&bed.config);
    let expense =
        BaseData::from_json(&json!({"BD_Expense": [{"number": "FYXM004", "name": "团建费"}]}))
            .unwrap();
    bed.k3.handle().add_base_data(&expense);
    let preview = stdout(&bed.dlq(&["show", &envelope.business_id]));
    assert!(
        preview.contains("The current mapping builds bill"),
        "the fix is visible before the replay: {preview}"
    );

    let consumer = bed.spawn_consumer("consumer-2.log");
    let output = bed.dlq(&["replay", "--id", &envelope.business_id]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    wait_until("the replayed approval is saved", WITHIN, || async {
        bed.record(&id)
            .await
            .is_some_and(|record| record.status == Status::Saved)
    })
    .await;
    stop_consumer(consumer).await;

    let record = bed.record(&id).await.unwrap();
    let bill_no = record.bill_no.expect("a saved row names its bill");
    assert_eq!(bed.k3.handle().bill_count(), 1, "exactly one bill");
    let bill = bed
        .k3
        .handle()
        .bill(&bill_no)
        .expect("K3Cloud holds the bill");
    assert_eq!(
        bill.entries[0].cost_item.as_deref(),
        Some("FYXM004"),
        "the new mapping applied"
    );
    assert_eq!(record.replay_count, 1, "one replay");
    assert_eq!(bed.ready(&dead).await, 0, "the dead-letter queue is empty");
}
