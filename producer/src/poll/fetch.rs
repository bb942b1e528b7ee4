//! Fetching the listed instances and settling each one: queued for publishing when
//! approved, recorded as pending while running, recorded as skipped otherwise.

use chrono::{DateTime, Utc};
use dingk3::approval::{ApprovalInstance, InstanceStatus};
use dingk3::dingtalk::DingTalkError;
use futures::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::failure::{dingtalk_failure, ledger_failure};
use super::{Approved, Poller};
use crate::classify::{self, Decision};
use crate::metrics;
use crate::outbox::Outbox;
use crate::progress::Progress;
use crate::report::{PollOutcome, RouteReport};
use crate::window::PollWindow;

impl Poller {
    /// Fetches `due`, records what each instance is, and publishes the approvals in
    /// batches. Returns whether `stop` ended the fetching early.
    pub(super) async fn fetch_and_publish(
        &self,
        report: &mut RouteReport,
        outbox: &mut Outbox<'_>,
        window: PollWindow,
        due: Vec<String>,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> bool {
        let code = report.process_code.clone();
        let dingtalk = &self.dingtalk;
        let mut fetches = futures::stream::iter(due)
            .map(|id| async move {
                let result = dingtalk.get_instance(&id).await;
                (id, result, Utc::now())
            })
            .buffer_unordered(self.settings.fetch_concurrency);

        let mut batch: Vec<Approved> = Vec::new();
        let mut interrupted = false;
        while let Some((id, result, fetched_at)) = fetches.next().await {
            match result {
                Ok(instance) => {
                    report.fetched += 1;
                    progress.fetched(&code);
                    self.settle(report, window, instance, fetched_at, &mut batch, progress)
                        .await;
                }
                Err(DingTalkError::InstanceNotFound { message, .. }) => {
                    self.skip_missing(report, window, &id, &message, progress)
                        .await;
                }
                Err(error) => {
                    // NOTE: an instance whose every fetch fails (e.g. a lasting
                    // `Rejected` reply) keeps the watermark where it is, so the window
                    // grows until the error is fixed. The error is logged and counted
                    // at every poll, and the lag gauge grows.
                    let hopeless = matches!(
                        error,
                        DingTalkError::QuotaExhausted { .. }
                            | DingTalkError::Configuration { .. }
                            | DingTalkError::Throttled { .. }
                    );
                    dingtalk_failure(report, Some(&id), error);
                    if hopeless {
                        // Further calls would fail the same way and spend quota.
                        break;
                    }
                }
            }
            if batch.len() >= self.settings.publish_batch_size {
                self.publish(report, outbox, window, &mut batch, progress)
                    .await;
            }
            if stop.is_cancelled() {
                interrupted = true;
                break;
            }
        }
        // Dropping the stream cancels fetches still in flight; their instances stay
        // as the ledger has them and the next poll fetches them.
        drop(fetches);
        self.publish(report, outbox, window, &mut batch, progress)
            .await;
        interrupted
    }

    /// Records one fetched instance, or queues it for publishing when approved.
    async fn settle(
        &self,
        report: &mut RouteReport,
        window: PollWindow,
        instance: ApprovalInstance,
        fetched_at: DateTime<Utc>,
        batch: &mut Vec<Approved>,
        progress: &dyn Progress,
    ) {
        let code = report.process_code.clone();
        let id = instance.process_instance_id.clone();
        let business_id = instance.business_id.clone();
        metrics::INSTANCES
            .with_label_values(&[code.as_str(), classify::state_label(&instance)])
            .inc();

        match classify::decide(&instance) {
            Decision::Publish => {
                // Until its publish is confirmed, an approval is fetched at every poll.
                self.recheck.finished(&id);
                if !instance.attached_process_instance_ids.is_empty() {
                    metrics::CHANGED_AFTER_APPROVAL
                        .with_label_values(&[code.as_str()])
                        .inc();
                    warn!(
                        process_instance_id = %id,
                        business_id = %business_id,
                        process_code = %code,
                        attached_process_instance_ids = ?instance.attached_process_instance_ids,
                        "approval was modified or revoked after approval; it is published, but its bill may need a manual correction in K3Cloud"
                    );
                }
                batch.push(Approved {
                    instance,
                    fetched_at,
                });
            }
            Decision::Pending => {
                if let InstanceStatus::Other(status) = &instance.status {
                    warn!(
                        process_instance_id = %id,
                        business_id = %business_id,
                        process_code = %code,
                        status = %status,
                        "approval has a status this build does not know; it stays pending"
                    );
                }
                let summary =
                    classify::summary(&code, &instance, self.total(&code, &instance), window.start);
                match self.ledger.record_pending(&summary).await {
                    Ok(_) => {
                        report.pending += 1;
                        progress.pending(&code);
                        self.recheck.fetched_running(&id, Instant::now());
                        debug!(process_instance_id = %id, business_id = %business_id, process_code = %code, status = classify::status_text(&instance), "approval still running");
                    }
                    Err(error) => {
                        ledger_failure(report, Some(&id), PollOutcome::Incomplete, &error);
                    }
                }
            }
            Decision::Skip(reason) => {
                let summary =
                    classify::summary(&code, &instance, self.total(&code, &instance), window.start);
                match self.ledger.record_skipped(&summary, &reason).await {
                    Ok(status) => {
                        report.skipped += 1;
                        progress.skipped(&code);
                        self.recheck.finished(&id);
                        info!(process_instance_id = %id, business_id = %business_id, process_code = %code, %status, reason = %reason, "approval skipped");
                    }
                    Err(error) => {
                        ledger_failure(report, Some(&id), PollOutcome::Incomplete, &error);
                    }
                }
            }
        }
    }

    /// Records an instance DingTalk no longer has as skipped, so it stops holding the
    /// window open.
    async fn skip_missing(
        &self,
        report: &mut RouteReport,
        window: PollWindow,
        id: &str,
        message: &str,
        progress: &dyn Progress,
    ) {
        let code = report.process_code.clone();
        metrics::INSTANCES
            .with_label_values(&[code.as_str(), "not_found"])
            .inc();
        let reason = format!("not found: DingTalk no longer has this instance ({message})");
        let summary = classify::summary_of_missing(&code, id, window.start);
        match self.ledger.record_skipped(&summary, &reason).await {
            Ok(status) => {
                report.skipped += 1;
                progress.skipped(&code);
                self.recheck.finished(id);
                warn!(process_instance_id = id, process_code = %code, %status, reason = %reason, "listed approval not found in DingTalk; skipped");
            }
            Err(error) => ledger_failure(report, Some(id), PollOutcome::Incomplete, &error),
        }
    }
}
