//! Publishing a batch of approvals: recorded pending first, published with confirms,
//! marked published after the confirm.

use chrono::Utc;
use dingk3::envelope::Envelope;
use dingk3::ledger::Status;
use dingk3::text;
use tracing::{debug, error, info, warn};

use super::failure::ledger_failure;
use super::{Approved, Poller};
use crate::classify;
use crate::metrics;
use crate::outbox::{Outbox, failure_reason};
use crate::progress::Progress;
use crate::report::{PollOutcome, RouteReport};
use crate::window::PollWindow;

impl Poller {
    /// Publishes the approvals queued in `batch` and empties it.
    pub(super) async fn publish(
        &self,
        report: &mut RouteReport,
        outbox: &mut Outbox<'_>,
        window: PollWindow,
        batch: &mut Vec<Approved>,
        progress: &dyn Progress,
    ) {
        if batch.is_empty() {
            return;
        }
        let code = report.process_code.clone();
        let approved: Vec<Approved> = std::mem::take(batch);
        let summaries: Vec<_> = approved
            .iter()
            .map(|approved| {
                let instance = &approved.instance;
                classify::summary(&code, instance, self.total(&code, instance), window.start)
            })
            .collect();
        // One transaction for the whole batch: a commit per approval bounded the
        // producer's rate.
        let statuses = match self.ledger.record_pending_all(&summaries).await {
            Ok(statuses) => statuses,
            Err(error) => {
                for approved in &approved {
                    count_publish_failure(&code, "ledger");
                    let id = approved.instance.process_instance_id.as_str();
                    ledger_failure(report, Some(id), PollOutcome::Incomplete, &error);
                }
                return;
            }
        };

        let mut instances = Vec::with_capacity(approved.len());
        let mut messages = Vec::with_capacity(approved.len());
        for (approved, status) in approved.into_iter().zip(statuses) {
            let instance = approved.instance;
            let id = instance.process_instance_id.clone();
            if status != Status::Pending {
                // Published by an earlier run whose record the ledger had not yet
                // returned to needs_fetch, or claimed by a consumer meanwhile.
                debug!(process_instance_id = %id, process_code = %code, %status, "approval already past pending; not published again");
                continue;
            }
            let envelope = Envelope::new(code.as_str(), &instance, approved.fetched_at);
            match outbox.message(&envelope, Utc::now()) {
                Ok(message) => {
                    instances.push(instance);
                    messages.push(message);
                }
                Err(error) => {
                    count_publish_failure(&code, "invalid");
                    error!(process_instance_id = %id, process_code = %code, %error, "approval cannot be published as a message");
                    let detail = error.to_string();
                    report.fail(
                        PollOutcome::Incomplete,
                        "publish_invalid",
                        Some(&id),
                        text!(
                            en: "the approval cannot be sent as a message: {detail}",
                            zh: "该审批无法作为消息发送：{detail}",
                        ),
                    );
                }
            }
        }

        let results = outbox.publish(&messages).await;
        let mut confirmed = Vec::with_capacity(instances.len());
        for (instance, result) in instances.iter().zip(results) {
            let id = instance.process_instance_id.as_str();
            match result {
                Ok(()) => confirmed.push(instance),
                Err(error) => {
                    let reason = failure_reason(&error);
                    count_publish_failure(&code, reason);
                    warn!(process_instance_id = id, business_id = %instance.business_id, process_code = %code, reason, %error, "publish failed; the approval stays pending for the next poll");
                    report.fail(
                        PollOutcome::Incomplete,
                        format!("publish_{reason}"),
                        Some(id),
                        text!(
                            en: "publishing failed ({error}); the approval stays pending and the next poll publishes it",
                            zh: "发布失败（{error}）；该审批保持待发布状态，下次轮询会重新发布",
                        ),
                    );
                }
            }
        }
        if confirmed.is_empty() {
            return;
        }

        let ids: Vec<&str> = confirmed
            .iter()
            .map(|instance| instance.process_instance_id.as_str())
            .collect();
        match self.ledger.mark_published_all(&ids).await {
            Ok(statuses) => {
                for (instance, status) in confirmed.iter().zip(statuses) {
                    report.published += 1;
                    metrics::PUBLISHED.with_label_values(&[code.as_str()]).inc();
                    info!(process_instance_id = %instance.process_instance_id, business_id = %instance.business_id, process_code = %code, %status, "approval published");
                }
                progress.published(&code, confirmed.len());
            }
            Err(error) => {
                // The messages are out, but the ledger still records them as pending, so
                // the next poll publishes duplicates that consumers recognise.
                for id in ids {
                    count_publish_failure(&code, "ledger");
                    ledger_failure(report, Some(id), PollOutcome::Incomplete, &error);
                }
            }
        }
    }
}

pub(super) fn count_publish_failure(process_code: &str, reason: &str) {
    metrics::PUBLISH_FAILURES
        .with_label_values(&[process_code, reason])
        .inc();
}
