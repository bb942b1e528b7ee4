//! `consumer dlq replay`: send dead letters through the consumer again.
//!
//! Only the messages present when the command started are read (see
//! [`crate::dlq::queue`]), so a replayed message that fails again and returns to the
//! dead-letter queue is not replayed twice by one run. An approval replayed
//! `consumer.replay_limit` times is refused, so one that keeps failing stops.
//!
//! # Steps per message, and why in this order
//!
//! 1. Reopen the ledger row (`rejected`/`dead` → `published`). It must come first: the
//!    consumer acknowledges a message whose row is `rejected` or `dead` as a duplicate,
//!    so a message published before the reopen could be dropped.
//! 2. Publish the new message to the approvals exchange and wait for the broker's
//!    confirm; `mandatory` makes an unroutable message a failure.
//! 3. Only then ack the dead copy.
//!
//! Killed between 1 and 2, the dead copy is still in the dead-letter queue and the row
//! is `published`. A new run finds the row reopened and goes on. Killed between 2 and 3,
//! the message is in both queues; the copy a new run replays again is acknowledged by
//! the consumer as a duplicate once the first one is saved, or fails the same way. No
//! order of failures leaves a message in neither queue.
//!
//! The replayed message goes through the consumer's usual path: the ledger claim, then
//! the K3Cloud lookup by bill number before any save, so a bill that already exists in
//! K3Cloud is recorded, not written a second time.

use std::collections::HashSet;

use chrono::Utc;
use dingk3::broker::{AckOutcome, PublishError, Publisher};
use dingk3::i18n::{Localize, Text};
use dingk3::ledger::{InstanceRecord, Ledger, LedgerError, Status};
use dingk3::text;
use tracing::{info, warn};

use crate::dlq::error::{DlqError, broker};
use crate::dlq::filter::Filter;
use crate::dlq::letter::Letter;
use crate::dlq::queue::DeadQueue;
use crate::dlq::replayed;
use crate::dlq::report::{Item, Outcome, Report};
use crate::dlq::settings::DlqSettings;

/// The progress bar a replay advances; [`ProgressBar::hidden`] shows nothing.
pub use indicatif::ProgressBar;

/// Selection and limits of a replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Conditions a dead letter must meet; an empty filter selects all.
    pub filter: Filter,

    /// Only report what would happen; nothing is changed.
    pub dry_run: bool,

    /// Replay at most this many; the rest are skipped.
    pub max: Option<usize>,
}

/// Replays the selected dead letters; `progress` counts them.
pub async fn replay(
    settings: &DlqSettings,
    options: &ReplayOptions,
    actor: &str,
    progress: &ProgressBar,
) -> Result<Report, DlqError> {
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

    let letters = || queue.held().iter().map(|held| &held.letter);
    let selected: Vec<usize> = (0..queue.held().len())
        .filter(|index| options.filter.matches(&queue.held()[*index].letter))
        .collect();
    let mut report = Report {
        depth_at_start: queue.depth_at_start(),
        read: queue.held().len(),
        unmatched_ids: options.filter.unmatched_ids(letters()),
        filter: options.filter.describe(),
        ..Report::default()
    };
    if selected.is_empty() {
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
    let publisher = if options.dry_run {
        None
    } else {
        match Publisher::open(queue.connection(), &settings.broker).await {
            Ok(publisher) => Some(publisher),
            Err(error) => {
                queue.release().await;
                ledger.close().await;
                return Err(broker("confirm.select")(error));
            }
        }
    };

    let mut run = Run {
        settings,
        options,
        actor,
        ledger: &ledger,
        publisher: publisher.as_ref(),
        replayed_ids: HashSet::new(),
        replayed: 0,
        broken: None,
    };
    progress.set_length(selected.len() as u64);
    for index in selected {
        let label = queue.held()[index].letter.label();
        progress.set_message(label);
        let item = run.one(&mut queue, index).await;
        report.items.push(item);
        progress.inc(1);
    }
    progress.finish_and_clear();

    let returned = queue.release().await;
    ledger.close().await;
    info!(
        replayed = report.count(Outcome::Replayed),
        refused = report.count(Outcome::Refused),
        failed = report.count(Outcome::Failed),
        returned,
        dry_run = options.dry_run,
        "dead-letter replay finished"
    );
    Ok(report)
}

/// State of one replay run.
struct Run<'a> {
    settings: &'a DlqSettings,
    options: &'a ReplayOptions,
    actor: &'a str,
    ledger: &'a Ledger,
    publisher: Option<&'a Publisher>,
    /// Instances replayed in this run; a second dead letter of one is skipped.
    replayed_ids: HashSet<String>,
    replayed: usize,
    /// Set after a failure of the broker channel; the rest is not attempted.
    broken: Option<String>,
}

impl Run<'_> {
    async fn one(&mut self, queue: &mut DeadQueue, index: usize) -> Item {
        let letter = queue.held()[index].letter.clone();
        let item = |outcome, note| Item::new(&letter, outcome, note);
        let limit = self.settings.replay_limit;

        if let Some(max) = self.options.max
            && self.replayed >= max
        {
            return item(
                Outcome::Skipped,
                text!(
                    en: "beyond --max {max}; it stays in the dead-letter queue",
                    zh: "超出 --max {max}；仍留在死信队列中",
                ),
            );
        }
        if let Some(id) = &letter.process_instance_id
            && self.replayed_ids.contains(id)
        {
            return item(
                Outcome::Skipped,
                text!(
                    en: "another dead letter of this approval was replayed in this run; this one stays in the dead-letter queue",
                    zh: "本次已重放该审批的另一条死信；这一条仍留在死信队列中",
                ),
            );
        }
        if let Some(problem) = &self.broken {
            return item(
                Outcome::Failed,
                text!(
                    en: "not attempted after a broker failure ({problem}); it stays in the dead-letter queue",
                    zh: "RabbitMQ 出错后未再尝试（{problem}）；仍留在死信队列中",
                ),
            );
        }

        let record = match self.record(&letter).await {
            Ok(record) => record,
            Err(error) => {
                let error = error.localize();
                return item(Outcome::Failed, ledger_failed(&error));
            }
        };
        let awaiting_replay = record
            .as_ref()
            .is_some_and(|record| matches!(record.status, Status::Rejected | Status::Dead));
        // A row waiting for a replay (`rejected`, `dead`) counts the approval's replays.
        // In any other status an earlier run reopened it, possibly for this very dead
        // letter, so only the dead letter's own count applies.
        let done = match &record {
            Some(record) if awaiting_replay => letter.replay_count.max(record.replay_count),
            _ => letter.replay_count,
        };
        if done >= limit {
            return item(
                Outcome::Refused,
                text!(
                    en: "replayed {done} times, the limit is {limit} (consumer.replay_limit); fix the cause, then purge it or raise the limit",
                    zh: "已重放 {done} 次，达到上限 {limit}（consumer.replay_limit）；请先排除原因，再清除该死信或调高上限",
                ),
            );
        }
        if record
            .as_ref()
            .is_some_and(|record| record.status == Status::Skipped)
        {
            return item(
                Outcome::Refused,
                text!(
                    en: "the ledger records this approval as not approved (skipped); a replay would be dropped, so it stays",
                    zh: "台账记录该审批未通过（已跳过）；重放的消息会被丢弃，因此保留原样",
                ),
            );
        }
        let next = done + 1;
        let state = ledger_note(record.as_ref());
        let (state_en, state_zh) = (&state.en, &state.zh);
        if self.options.dry_run {
            return item(
                Outcome::WouldReplay,
                text!(
                    en: "would be replayed, as replay {next} of at most {limit}{state_en}",
                    zh: "将被重放，为第 {next} 次重放（上限 {limit}）{state_zh}",
                ),
            );
        }

        // Step 1: reopen, so the consumer claims the new message instead of dropping it.
        if awaiting_replay && let Some(id) = &letter.process_instance_id {
            match self.ledger.reopen_for_replay(id).await {
                Ok(_) | Err(LedgerError::InvalidTransition { .. }) => {}
                Err(error) => {
                    let error = error.localize();
                    return item(Outcome::Failed, ledger_failed(&error));
                }
            }
        }

        // Step 2: publish with confirm.
        let held = &queue.held()[index];
        let message = replayed::build(
            queue.topology(),
            &held.message,
            &letter,
            next,
            self.actor,
            Utc::now(),
        );
        let Some(publisher) = self.publisher else {
            // Only a dry run has no publisher, and it returned above.
            return item(
                Outcome::Failed,
                Text::new("no confirm channel was opened", "未打开发布确认通道"),
            );
        };
        if let Err(error) = publisher.publish(&message).await {
            if matches!(
                error,
                PublishError::Channel(_) | PublishError::Timeout { .. }
            ) {
                self.broken = Some(error.to_string());
            }
            warn!(process_instance_id = %letter.label(), %error, "replay not published");
            return item(
                Outcome::Failed,
                text!(
                    en: "not published: {error}; the dead letter stays (if the broker stored the message anyway, the consumer treats the second copy as a duplicate)",
                    zh: "未能发布：{error}；死信保留（若 RabbitMQ 实际已保存该消息，消费者会把第二份当作重复消息）",
                ),
            );
        }

        // Step 3: only now remove the dead copy.
        if let Some(id) = &letter.process_instance_id {
            self.replayed_ids.insert(id.clone());
        }
        self.replayed += 1;
        info!(
            process_instance_id = %letter.label(),
            business_id = letter.business_id.as_deref().unwrap_or_default(),
            replay_count = next,
            "dead letter replayed"
        );
        match queue.ack(index).await {
            Some(AckOutcome::Sent) => item(
                Outcome::Replayed,
                text!(
                    en: "replay {next} of at most {limit}{state_en}",
                    zh: "第 {next} 次重放（上限 {limit}）{state_zh}",
                ),
            ),
            _ => item(
                Outcome::Replayed,
                text!(
                    en: "replay {next} of at most {limit}, but the dead copy could not be removed and stays; replaying it again is harmless",
                    zh: "第 {next} 次重放（上限 {limit}），但死信副本未能删除而仍在队列中；再次重放不会造成重复单据",
                ),
            ),
        }
    }

    /// Returns the ledger row of the letter's instance, if it has an id and a row.
    async fn record(&self, letter: &Letter) -> Result<Option<InstanceRecord>, LedgerError> {
        let Some(id) = &letter.process_instance_id else {
            return Ok(None);
        };
        let records = self.ledger.find(id).await?;
        Ok(records
            .into_iter()
            .find(|record| record.process_instance_id == *id))
    }
}

fn ledger_failed(error: &Text) -> Text {
    let (en, zh) = (&error.en, &error.zh);
    text!(
        en: "the ledger could not be read or changed: {en}; the dead letter stays",
        zh: "无法读取或修改台账：{zh}；死信保留",
    )
}

/// Describes the ledger row where it changes what the replay does.
fn ledger_note(record: Option<&InstanceRecord>) -> Text {
    match record {
        None => Text::new(
            "; the ledger has no row, the consumer creates it",
            "；台账中没有记录，消费者会新建",
        ),
        Some(record) if record.status == Status::Saved => {
            let bill = record.bill_no.as_deref().unwrap_or("?");
            text!(
                en: "; the ledger records bill {bill}, so the consumer acknowledges it as a duplicate",
                zh: "；台账已记录单据 {bill}，消费者会将其作为重复消息确认",
            )
        }
        Some(record) if matches!(record.status, Status::Published | Status::Saving) => {
            let status = record.status;
            text!(
                en: "; the ledger row was reopened before (status {status})",
                zh: "；台账记录此前已重新打开（状态 {status}）",
            )
        }
        Some(_) => Text::new("", ""),
    }
}
