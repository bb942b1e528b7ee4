//! Settling a delivery: the broker publish its outcome needs, the ledger record, then
//! exactly one ack or reject.
//!
//! Every delivery ends in [`Settler::finish`], the only code that touches its
//! [`AckHandle`](dingk3::broker::AckHandle). The order of the steps is chosen so that no
//! failure loses a message:
//!
//! - a dead letter is published (with confirm) before the ledger records the failure,
//!   so every `rejected` or `dead` row written here has a dead letter behind it. If the
//!   publish fails, the message is requeued and the claim released;
//! - a retry is published after the claim is released, so the returning copy can be
//!   claimed; if the publish fails the message is requeued;
//! - a saved bill is recorded in the ledger before the ack; if the ledger cannot record
//!   it, the message is requeued, and the redelivery finds the bill by the K3Cloud probe.

use std::sync::Arc;

use chrono::Utc;
use dingk3::broker::{AckOutcome, OutgoingMessage, PublishError, Publisher};
use dingk3::ledger::{LedgerError, SavedBill};
use dingk3::telemetry::mask_account_numbers;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::metrics::{RETRIES, count_message};
use crate::worker::item::Item;
use crate::worker::outcome::{DeadKind, DeadLetter, Outcome, RetryCause};
use crate::worker::outgoing;
use crate::worker::shared::Shared;

/// Action on the delivery itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// `basic.ack`: the message leaves the queue.
    Ack,
    /// `basic.reject` with requeue: the message comes back for another attempt.
    Requeue,
}

/// Ledger record of a dead letter, written once the dead letter is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LedgerMark {
    /// `mark_rejected`: needs the claim, which the item holds.
    Rejected,
    /// `mark_dead`: needs no claim; only possible once the instance id is known.
    Dead,
}

/// A delivery whose bill K3Cloud saved, waiting for the ledger record.
#[derive(Debug)]
pub(crate) struct SavedItem {
    /// The delivery.
    pub(crate) item: Item,

    /// The bill number K3Cloud stored.
    pub(crate) bill_no: String,

    /// K3Cloud's internal id of the bill.
    pub(crate) k3_id: String,
}

/// Settles deliveries of one broker session.
pub(crate) struct Settler {
    /// Ledger, topology and settings.
    pub(crate) shared: Arc<Shared>,

    /// Confirm-mode publisher of the session.
    pub(crate) publisher: Arc<Publisher>,

    /// Cancelled when a publish failed on the channel, so the session rebuilds its
    /// connection instead of failing every following publish.
    pub(crate) broken: CancellationToken,
}

impl Settler {
    /// Acks a message whose approval needs nothing more (a duplicate).
    pub(crate) async fn ack(&self, item: Item, outcome: Outcome) {
        self.finish(item, Finish::Ack, outcome).await;
    }

    /// Records the saved bills of a batch in the ledger with one call, queues their
    /// write-backs, then acks each delivery.
    pub(crate) async fn saved_all(&self, saved: Vec<SavedItem>) {
        if saved.is_empty() {
            return;
        }
        let owner = &self.shared.settings.consumer_id;
        let results = {
            let bills: Vec<SavedBill<'_>> = saved
                .iter()
                .map(|saved| SavedBill {
                    process_instance_id: saved.item.ids.id(),
                    bill_no: &saved.bill_no,
                    k3_id: &saved.k3_id,
                })
                .collect();
            self.shared.ledger.mark_saved_all(owner, &bills).await
        };
        match results {
            Ok(results) => {
                for (saved, result) in saved.into_iter().zip(results) {
                    self.saved(saved, result.as_ref().map(|_| ())).await;
                }
            }
            Err(failure) => {
                for saved in saved {
                    self.saved(saved, Err(&failure)).await;
                }
            }
        }
    }

    /// Settles one saved bill after the ledger call that recorded it.
    async fn saved(&self, saved: SavedItem, recorded: Result<(), &LedgerError>) {
        let SavedItem {
            item,
            bill_no,
            k3_id,
        } = saved;
        let id = item.ids.id();
        match recorded {
            Ok(()) => {
                info!(
                    process_instance_id = id,
                    business_id = item.ids.business(),
                    bill_no,
                    k3_id,
                    "bill saved"
                );
                self.queue_write_back(&item, &bill_no).await;
                self.finish(item, Finish::Ack, Outcome::Saved).await;
            }
            Err(failure) if failure.is_transient() => {
                // The bill exists; the redelivery finds it with the probe and records it.
                error!(process_instance_id = id, bill_no, error = %failure, "ledger could not record the saved bill; the message is requeued");
                self.finish(item, Finish::Requeue, Outcome::Requeued).await;
            }
            Err(failure) => {
                // E.g. the ledger contains another bill for this approval, so K3Cloud now
                // has two, which only an operator can resolve. Retrying changes nothing.
                error!(process_instance_id = id, bill_no, error = %failure, "ledger rejected the saved bill; K3Cloud may contain a second bill for this approval");
                self.finish(item, Finish::Ack, Outcome::Saved).await;
            }
        }
    }

    /// Publishes a dead letter with `attempt` as its attempt count, records it in the
    /// ledger as `mark` requests, then acks. When the publish fails, the claim is released
    /// and the message requeued.
    pub(crate) async fn dead_letter(
        &self,
        item: Item,
        dead: DeadLetter,
        attempt: u32,
        mark: Option<LedgerMark>,
    ) {
        let message =
            outgoing::dead_letter(&self.shared.topology, &item, &dead, attempt, Utc::now());
        let kind = dead.kind.as_str();
        let reason = mask_account_numbers(&dead.reason);
        if let Err(failure) = self.publish(&message).await {
            error!(
                process_instance_id = item.ids.id(),
                business_id = item.ids.business(),
                bill_no = item.ids.bill(),
                error_kind = kind,
                error = %failure,
                "dead letter not published; the message is requeued"
            );
            self.release(&item, "dead_letter", &failure.to_string())
                .await;
            self.finish(item, Finish::Requeue, Outcome::Requeued).await;
            return;
        }
        warn!(
            process_instance_id = item.ids.id(),
            business_id = item.ids.business(),
            bill_no = item.ids.bill(),
            message_id = item.message_id().unwrap_or_default(),
            error_kind = kind,
            reason = %reason,
            "message dead-lettered"
        );
        self.record_dead_letter(&item, kind, &reason, mark).await;
        self.finish(item, Finish::Ack, dead.kind.outcome()).await;
    }

    /// Sends the message to the retry tier of its next attempt, releasing the claim
    /// first; after the last tier it is dead-lettered as exhausted.
    pub(crate) async fn retry(&self, item: Item, cause: RetryCause) {
        let attempt = item.headers.attempt.saturating_add(1);
        let reason = mask_account_numbers(&cause.reason);
        let Some(tier) = self.shared.topology.tier_for_attempt(attempt).cloned() else {
            let tiers = self.shared.topology.retry_tiers().len();
            let dead = DeadLetter::new(
                DeadKind::Exhausted,
                format!(
                    "the write failed on attempt {attempt} after every retry tier ({tiers}) was used; last error ({}): {}",
                    cause.kind, cause.reason
                ),
                Some(serde_json::json!({
                    "attempts": attempt,
                    "last_error_kind": cause.kind,
                    "last_error": cause.reason,
                })),
            );
            self.dead_letter(item, dead, attempt, Some(LedgerMark::Dead))
                .await;
            return;
        };
        self.release(&item, cause.kind, &reason).await;
        self.publish_retry(item, &tier, attempt, cause.kind, &reason)
            .await;
    }

    /// Sends a message whose instance another consumer is writing to the first retry
    /// tier, without counting an attempt, so it comes back once that write is done.
    pub(crate) async fn retry_later(&self, item: Item, holder: &str) {
        let Some(tier) = self.shared.topology.retry_tiers().first().cloned() else {
            info!(
                process_instance_id = item.ids.id(),
                holder,
                "instance claimed elsewhere and no retry tier configured; the message is requeued"
            );
            self.finish(item, Finish::Requeue, Outcome::Requeued).await;
            return;
        };
        let attempt = item.headers.attempt;
        let reason = format!("the instance is being written by {holder}");
        self.publish_retry(item, &tier, attempt, "claimed_elsewhere", &reason)
            .await;
    }

    async fn publish_retry(
        &self,
        item: Item,
        tier: &dingk3::broker::RetryTier,
        attempt: u32,
        kind: &str,
        reason: &str,
    ) {
        let message = outgoing::retry(&self.shared.topology, &item, tier, attempt, Utc::now());
        match self.publish(&message).await {
            Ok(()) => {
                RETRIES.with_label_values(&[tier.label()]).inc();
                info!(
                    process_instance_id = item.ids.id(),
                    business_id = item.ids.business(),
                    bill_no = item.ids.bill(),
                    tier = tier.label(),
                    attempt,
                    error_kind = kind,
                    reason,
                    "message sent to a retry queue"
                );
                self.finish(item, Finish::Ack, Outcome::Retried).await;
            }
            Err(failure) => {
                error!(
                    process_instance_id = item.ids.id(),
                    tier = tier.label(),
                    error = %failure,
                    "retry not published; the message is requeued"
                );
                self.finish(item, Finish::Requeue, Outcome::Requeued).await;
            }
        }
    }

    /// Publishes one message with confirm; a channel failure marks the session broken.
    async fn publish(&self, message: &OutgoingMessage) -> Result<(), PublishError> {
        let result = self.publisher.publish(message).await;
        if let Err(PublishError::Channel(_) | PublishError::Timeout { .. }) = &result {
            self.broken.cancel();
        }
        result
    }

    /// Releases the item's claim after a failure; a failure to release only delays the
    /// next attempt until the lease expires.
    async fn release(&self, item: &Item, kind: &str, text: &str) {
        if !item.claimed {
            return;
        }
        let owner = &self.shared.settings.consumer_id;
        if let Err(failure) = self
            .shared
            .ledger
            .release(item.ids.id(), owner, kind, text)
            .await
        {
            warn!(process_instance_id = item.ids.id(), error = %failure, "ledger claim not released; it expires with its lease");
        }
    }

    async fn record_dead_letter(
        &self,
        item: &Item,
        kind: &str,
        reason: &str,
        mark: Option<LedgerMark>,
    ) {
        let Some(id) = item.ids.process_instance_id.as_deref() else {
            return;
        };
        let owner = &self.shared.settings.consumer_id;
        let result = match mark {
            Some(LedgerMark::Rejected) if item.claimed => {
                self.shared
                    .ledger
                    .mark_rejected(id, owner, kind, reason)
                    .await
            }
            Some(LedgerMark::Rejected | LedgerMark::Dead) => {
                self.shared.ledger.mark_dead(id, kind, reason).await
            }
            None => return,
        };
        if let Err(failure) = result {
            // The dead letter exists, so the failure is visible; the ledger row keeps
            // its previous status until a replay.
            error!(process_instance_id = id, error_kind = kind, error = %failure, "ledger did not record the dead letter");
        }
    }

    async fn queue_write_back(&self, item: &Item, bill_no: &str) {
        let Some(queue) = &self.shared.write_back else {
            return;
        };
        queue
            .submit(item.ids.id(), item.ids.business(), bill_no)
            .await;
    }

    /// Acks or rejects the delivery and counts the outcome: the only place that
    /// settles a delivery.
    async fn finish(&self, item: Item, finish: Finish, outcome: Outcome) {
        let Item {
            ack,
            ids,
            reservation,
            message,
            ..
        } = item;
        let sent = match finish {
            Finish::Ack => ack.ack().await,
            Finish::Requeue => ack.reject(true).await,
        };
        drop(reservation);
        count_message(outcome.as_str());
        if sent == AckOutcome::Lost {
            // The broker delivers the message again; the ledger turns that into a no-op.
            warn!(
                process_instance_id = ids.id(),
                business_id = ids.business(),
                bill_no = ids.bill(),
                delivery_tag = message.delivery_tag,
                outcome = outcome.as_str(),
                "ack not delivered after a connection recovery; the message will be redelivered"
            );
        }
    }
}
