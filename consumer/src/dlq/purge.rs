//! `consumer dlq purge`: remove dead letters for good, after saving them.
//!
//! # Steps, and why in this order
//!
//! 1. Write every selected message to a new export file, flushed and synced to disk
//!    with its folder. Nothing is removed when this fails.
//! 2. Per message, mark the ledger row `dead` with a `purged` detail naming the file.
//! 3. Only then ack the dead copy.
//!
//! Killed before the file is synced, every message is still in the dead-letter queue.
//! Killed later, each message is in the file, and also still in the queue if its ack
//! was not sent. A ledger row marked before a crash may belong to a message that is
//! still in the queue. A later purge or replay of that message works the same.

use std::path::PathBuf;

use chrono::Utc;
use dingk3::broker::AckOutcome;
use dingk3::i18n::Localize;
use dingk3::ledger::{Ledger, LedgerError};
use dingk3::text;
use tracing::info;

use crate::dlq::error::DlqError;
use crate::dlq::export::{self, Destination};
use crate::dlq::filter::Filter;
use crate::dlq::letter::Letter;
use crate::dlq::queue::DeadQueue;
use crate::dlq::report::{Item, Outcome, Report};
use crate::dlq::settings::DlqSettings;

/// Selection and confirmation of a purge.
#[derive(Debug, Clone)]
pub struct PurgeOptions {
    /// Conditions a dead letter must meet.
    pub filter: Filter,

    /// `--yes`: without it nothing is removed, and the report lists what would be.
    pub confirmed: bool,

    /// The export file written before anything is removed; it must not exist.
    pub out: PathBuf,
}

/// Returns the default export file of a purge started at `now`, in the current folder.
pub fn default_export_file(now: chrono::DateTime<Utc>) -> PathBuf {
    PathBuf::from(format!("dlq-purge-{}.jsonl", now.format("%Y%m%dT%H%M%SZ")))
}

/// Purges the selected dead letters.
pub async fn purge(
    settings: &DlqSettings,
    options: &PurgeOptions,
    actor: &str,
) -> Result<Report, DlqError> {
    if options.confirmed && options.out.exists() {
        return Err(DlqError::OutputExists {
            path: options.out.clone(),
        });
    }
    let mut queue = DeadQueue::open(&settings.broker).await?;
    let routes = settings.routes();
    let max_bytes = settings.max_message_bytes;
    if let Err(error) = queue
        .take(|message, position| Letter::read(message, position, max_bytes, routes))
        .await
    {
        queue.release().await;
        return Err(error);
    }

    let selected: Vec<usize> = (0..queue.held().len())
        .filter(|index| options.filter.matches(&queue.held()[*index].letter))
        .collect();
    let mut report = Report {
        depth_at_start: queue.depth_at_start(),
        read: queue.held().len(),
        unmatched_ids: options
            .filter
            .unmatched_ids(queue.held().iter().map(|held| &held.letter)),
        filter: options.filter.describe(),
        ..Report::default()
    };
    if selected.is_empty() || !options.confirmed {
        for index in selected {
            let note = text!(
                en: "would be saved to the export file and removed; add --yes to purge",
                zh: "将保存到导出文件并删除；加 --yes 才会执行清除",
            );
            report.items.push(Item::new(
                &queue.held()[index].letter,
                Outcome::WouldPurge,
                note,
            ));
        }
        queue.release().await;
        return Ok(report);
    }

    let ledger = match Ledger::connect(&settings.ledger).await {
        Ok(ledger) => ledger.with_actor(actor),
        Err(error) => {
            queue.release().await;
            return Err(error.into());
        }
    };

    // Step 1: save every selected message before anything is removed.
    let queue_name = queue.topology().dead_queue();
    let now = Utc::now();
    let lines: Vec<String> = selected
        .iter()
        .map(|index| export::line(&queue.held()[*index], &queue_name, now))
        .collect();
    if let Err(error) = export::write_lines(&Destination::File(options.out.clone()), &lines) {
        queue.release().await;
        ledger.close().await;
        return Err(error);
    }
    report.export_file = Some(options.out.clone());
    let file = options.out.display().to_string();

    for index in selected {
        let letter = queue.held()[index].letter.clone();
        // Step 2: mark the ledger row.
        let mut note = text!(en: "saved in {file} and removed", zh: "已保存到 {file} 并删除");
        if let Some(id) = &letter.process_instance_id {
            let detail = format!("dead letter removed by {actor}; saved in {file}");
            match ledger.mark_purged(id, &detail).await {
                Ok(()) => {}
                Err(LedgerError::InvalidTransition { from, .. }) => {
                    note = text!(
                        en: "saved in {file} and removed; the ledger row stays {from}, because the approval is not waiting in the dead-letter queue alone",
                        zh: "已保存到 {file} 并删除；台账记录保持为 {from}，因为该审批并非只在死信队列中",
                    );
                }
                Err(error) => {
                    let error = error.localize();
                    let (en, zh) = (&error.en, &error.zh);
                    let failed = text!(
                        en: "the ledger could not be changed: {en}; the dead letter stays (it is also in {file})",
                        zh: "无法修改台账：{zh}；死信保留（也已保存在 {file} 中）",
                    );
                    report
                        .items
                        .push(Item::new(&letter, Outcome::Failed, failed));
                    continue;
                }
            }
        }
        // Step 3: only now remove the dead copy.
        let item = match queue.ack(index).await {
            Some(AckOutcome::Sent) => Item::new(&letter, Outcome::Purged, note),
            _ => Item::new(
                &letter,
                Outcome::Failed,
                text!(
                    en: "could not be removed and stays in the dead-letter queue (it is also in {file})",
                    zh: "未能删除，仍留在死信队列中（也已保存在 {file} 中）",
                ),
            ),
        };
        report.items.push(item);
    }

    let returned = queue.release().await;
    ledger.close().await;
    info!(
        purged = report.count(Outcome::Purged),
        failed = report.count(Outcome::Failed),
        returned,
        file = %file,
        "dead letters purged"
    );
    Ok(report)
}
