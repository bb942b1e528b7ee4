//! `consumer dlq replay` and `purge` killed with SIGKILL midway, then run again: every
//! dead letter is always in the dead-letter queue, in the work queue, or in an export
//! file, and the final run finishes the job.

mod dlq_support;
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_consumer::dlq::export::parse_line;
use dlq_support::{Bed, DeadSpec, describe, message_ids, variant};
use support::wait_until;

/// Dead letters per test: enough that a run takes long enough to be killed midway.
const COUNT: usize = 300;

const WITHIN: Duration = Duration::from_secs(60);

async fn seed(bed: &Bed, kind: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for n in 0..COUNT {
        let envelope = variant("01-admin-two-rows", &format!("k{n:04}"));
        bed.dead_letter(&DeadSpec::of(&envelope, kind, "seeded"))
            .await;
        bed.ledger
            .mark_dead(&envelope.process_instance_id, kind, "seeded")
            .await
            .unwrap();
        ids.insert(envelope.process_instance_id);
    }
    ids
}

fn spawn(bed: &Bed, args: &[&str], log: &str) -> Child {
    let log = std::fs::File::create(bed.folder.path().join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", "en", "dlq"])
        .args(args)
        .arg("--config")
        .arg(&bed.config)
        .current_dir(bed.folder.path())
        .env_remove("DINGK3_CONFIG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the consumer binary starts")
}

/// Waits until `ready` holds, then kills `child` with SIGKILL. Fails if the child ends
/// first, because then nothing was interrupted.
async fn kill_when<F, Fut>(child: &mut Child, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        if ready().await {
            child.kill().expect("SIGKILL sent");
            let status = child.wait().unwrap();
            assert_eq!(status.code(), None, "killed by a signal, not exited");
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the command ended ({status}) before {what}; nothing was interrupted");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Returns the ids found in the queues (and files) now.
async fn accounted(bed: &Bed, files: &[&str]) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = message_ids(&bed.peek(&bed.topology.dead_queue()).await)
        .into_iter()
        .collect();
    found.extend(message_ids(
        &bed.peek(&bed.topology.approvals_queue()).await,
    ));
    for file in files {
        found.extend(exported_ids(&bed.folder.path().join(file)));
    }
    found
}

/// Reads the ids of the complete lines of an export file. A line cut by the kill is
/// ignored, because the message it describes was not removed yet.
fn exported_ids(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| parse_line(line).ok())
        .filter_map(|message| {
            message
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string())
        })
        .collect()
}

async fn assert_all_accounted(bed: &Bed, ids: &BTreeSet<String>, files: &[&str], when: &str) {
    wait_until(
        &format!("every dead letter is accounted for {when}"),
        Duration::from_secs(15),
        || async { accounted(bed, files).await.is_superset(ids) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_killed_then_rerun() {
    let bed = Bed::start("dlq-kill-replay", "").await;
    let ids = seed(&bed, "exhausted").await;
    let work = bed.topology.approvals_queue();

    for (round, threshold) in [(1, 20), (2, 150)] {
        let mut child = spawn(&bed, &["replay", "--all"], &format!("replay-{round}.log"));
        kill_when(&mut child, "the work queue filled", || async {
            bed.ready(&work).await >= threshold
        })
        .await;
        assert_all_accounted(&bed, &ids, &[], &format!("after kill {round}")).await;
    }

    let output = bed.dlq(&["replay", "--all"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the final run succeeds: {}",
        describe(&output)
    );
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        0,
        "the dead-letter queue is empty"
    );
    let replayed: BTreeSet<String> = message_ids(&bed.peek(&work).await).into_iter().collect();
    assert_eq!(replayed, ids, "every approval is in the work queue");
    for id in &ids {
        let record = bed.record(id).await.unwrap();
        assert_eq!(
            record.status,
            Status::Published,
            "{id} is reopened for the consumer"
        );
        assert_eq!(
            record.replay_count, 1,
            "{id} counts one replay, whatever the kills"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_killed_then_rerun() {
    let bed = Bed::start("dlq-kill-purge", "").await;
    let ids = seed(&bed, "mapping").await;
    let files = ["purge-1.jsonl", "purge-2.jsonl", "purge-3.jsonl"];

    let mut child = spawn(
        &bed,
        &["purge", "--kind", "mapping", "--yes", "--out", files[0]],
        "purge-1.log",
    );
    let first = bed.folder.path().join(files[0]);
    kill_when(&mut child, "the export file appeared", || async {
        first.exists()
    })
    .await;
    assert_all_accounted(&bed, &ids, &files, "after the kill during the export").await;

    let mut child = spawn(
        &bed,
        &["purge", "--kind", "mapping", "--yes", "--out", files[1]],
        "purge-2.log",
    );
    kill_when(&mut child, "20 ledger rows were marked purged", || async {
        let mut marked = 0;
        for id in ids.iter().take(40) {
            if bed
                .record(id)
                .await
                .is_some_and(|record| record.last_error_kind.as_deref() == Some("purged"))
            {
                marked += 1;
            }
        }
        marked >= 20
    })
    .await;
    assert_all_accounted(&bed, &ids, &files, "after the kill during the removal").await;

    let output = bed.dlq(&["purge", "--kind", "mapping", "--yes", "--out", files[2]]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the final run succeeds: {}",
        describe(&output)
    );
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        0,
        "the dead-letter queue is empty"
    );
    let saved: BTreeSet<String> = files
        .iter()
        .flat_map(|file| exported_ids(&bed.folder.path().join(file)))
        .collect();
    assert_eq!(saved, ids, "every purged dead letter is in an export file");
}
