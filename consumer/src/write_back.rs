//! The optional write-back: a comment on the DingTalk approval naming the K3Cloud bill
//! number, added after the bill is saved.
//!
//! A write-back never affects the bill or the ack of its message. Saving a bill marks
//! the write-back `pending` in the ledger and queues a job; a background task adds the
//! comment and records the outcome. A failure is logged, counted and recorded as
//! `failed`, and a sweep every `write_back_retry_seconds` tries the due ones again
//! until `write_back_max_attempts` is reached.
//!
//! NOTE: a comment whose reply is lost is recorded as failed and added again, so an
//! approval can show the notice twice; DingTalk offers no way to look a comment up.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use dingk3::dingtalk::DingTalkClient;
use dingk3::ledger::{Ledger, WriteBackStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::ConsumerSettings;
use crate::metrics::WRITE_BACKS;

/// Jobs waiting for the write-back task; when full, the sweep picks the rest up later.
const QUEUE_CAPACITY: usize = 1_000;

/// Write-backs read per sweep.
const SWEEP_LIMIT: u32 = 100;

/// One comment to add.
#[derive(Debug, Clone)]
struct Job {
    process_instance_id: String,
    business_id: String,
    bill_no: String,
}

/// Handle through which saved bills request their write-back; cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteBackQueue {
    ledger: Ledger,
    sender: mpsc::Sender<Job>,
}

/// The background task that adds the comments.
#[derive(Debug)]
pub struct WriteBackTask {
    client: DingTalkClient,
    ledger: Ledger,
    settings: ConsumerSettings,
    receiver: mpsc::Receiver<Job>,
}

/// Creates the queue handle and the task that serves it.
pub fn channel(
    client: DingTalkClient,
    ledger: Ledger,
    settings: ConsumerSettings,
) -> (WriteBackQueue, WriteBackTask) {
    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    let queue = WriteBackQueue {
        ledger: ledger.clone(),
        sender,
    };
    let task = WriteBackTask {
        client,
        ledger,
        settings,
        receiver,
    };
    (queue, task)
}

impl WriteBackQueue {
    /// Requests the write-back of a saved bill. Only the first request of an approval
    /// is queued; failures are logged and never reach the caller.
    pub async fn submit(&self, process_instance_id: &str, business_id: &str, bill_no: &str) {
        match self
            .ledger
            .request_write_back(process_instance_id, Utc::now())
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(failure) => {
                WRITE_BACKS.with_label_values(&["failed"]).inc();
                warn!(process_instance_id, bill_no, error = %failure, "write-back not recorded in the ledger; no comment will be added");
                return;
            }
        }
        let job = Job {
            process_instance_id: process_instance_id.to_string(),
            business_id: business_id.to_string(),
            bill_no: bill_no.to_string(),
        };
        if self.sender.try_send(job).is_err() {
            info!(
                process_instance_id,
                bill_no, "write-back queue full; the retry sweep adds the comment later"
            );
        }
    }
}

impl WriteBackTask {
    /// Serves queued jobs and sweeps due retries until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut sweep = tokio::time::interval(self.sweep_interval());
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                job = self.receiver.recv() => match job {
                    Some(job) => self.attempt(&job).await,
                    None => return,
                },
                _ = sweep.tick() => self.sweep().await,
            }
        }
    }

    /// Retries are checked four times per retry interval, so a failed write-back waits
    /// at most a quarter interval longer than configured.
    fn sweep_interval(&self) -> Duration {
        (self.settings.write_back_retry / 4).max(Duration::from_millis(250))
    }

    async fn sweep(&mut self) {
        let retry = TimeDelta::from_std(self.settings.write_back_retry).unwrap_or(TimeDelta::MAX);
        let before = Utc::now() - retry;
        let due = match self.ledger.due_write_backs(before, SWEEP_LIMIT).await {
            Ok(due) => due,
            Err(failure) => {
                warn!(error = %failure, "ledger could not list due write-backs");
                return;
            }
        };
        for write_back in due {
            let job = Job {
                process_instance_id: write_back.process_instance_id,
                business_id: write_back.business_id.unwrap_or_default(),
                bill_no: write_back.bill_no,
            };
            self.attempt(&job).await;
        }
    }

    async fn attempt(&self, job: &Job) {
        let text = self
            .settings
            .write_back_text(&job.bill_no, &job.business_id);
        let id = job.process_instance_id.as_str();
        let result = self.client.add_comment(id, &text, None).await;
        let error_text = result.as_ref().err().map(ToString::to_string);
        let recorded = self
            .ledger
            .record_write_back(
                id,
                error_text.as_deref().map_or(Ok(()), Err),
                self.settings.write_back_max_attempts,
                Utc::now(),
            )
            .await;
        let status = match (&result, &recorded) {
            (_, Ok(status)) => *status,
            (Ok(()), Err(_)) => WriteBackStatus::Done,
            (Err(_), Err(_)) => WriteBackStatus::Failed,
        };
        if let Err(failure) = &recorded {
            warn!(process_instance_id = id, bill_no = %job.bill_no, error = %failure, "ledger did not record the write-back attempt");
        }
        match status {
            WriteBackStatus::Done => {
                WRITE_BACKS.with_label_values(&["ok"]).inc();
                info!(process_instance_id = id, business_id = %job.business_id, bill_no = %job.bill_no, "write-back comment added");
            }
            WriteBackStatus::Abandoned => {
                WRITE_BACKS.with_label_values(&["abandoned"]).inc();
                error!(process_instance_id = id, business_id = %job.business_id, bill_no = %job.bill_no, error = error_text.as_deref().unwrap_or_default(), "write-back given up after its last attempt; add the comment by hand");
            }
            WriteBackStatus::Failed | WriteBackStatus::Pending => {
                WRITE_BACKS.with_label_values(&["failed"]).inc();
                warn!(process_instance_id = id, business_id = %job.business_id, bill_no = %job.bill_no, error = error_text.as_deref().unwrap_or_default(), "write-back comment failed; it is retried later");
            }
        }
    }
}
