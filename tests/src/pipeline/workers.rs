//! The producer and the consumers of a run, as tasks or as child processes, behind one
//! interface: how many approvals the producer published, how many polls it finished,
//! and a graceful stop.

use std::process::ExitStatus;
use std::time::Duration;

use dingk3_consumer::app::StartError;
use dingk3_producer::{Producer, ProducerError, RunStatus};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::process::ChildProcess;

/// Metric of confirmed publishes on the producer's `/metrics`.
const PUBLISHED_METRIC: &str = "dingk3_producer_published_total";

/// Metric of finished polls on the producer's `/metrics`.
const POLLS_METRIC: &str = "dingk3_producer_polls_total";

/// Time a stopped task or process gets beyond its shutdown grace.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// The producer of a run.
pub struct RunningProducer {
    /// Name of its work broker connection; the leader lock's connection adds
    /// `-leader`.
    pub connection_name: String,
    kind: ProducerKind,
}

enum ProducerKind {
    Task {
        status: watch::Receiver<RunStatus>,
        shutdown: CancellationToken,
        task: JoinHandle<Result<(), ProducerError>>,
    },
    Process(Box<ChildProcess>),
}

impl RunningProducer {
    /// Runs `producer` as a task until [`RunningProducer::stop`].
    pub fn task(producer: Producer) -> RunningProducer {
        let connection_name = producer.config().connection_name.clone();
        let status = producer.status();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { producer.run(shutdown).await }
        });
        RunningProducer {
            connection_name,
            kind: ProducerKind::Task {
                status,
                shutdown,
                task,
            },
        }
    }

    /// Wraps a `producer run` child process.
    pub fn process(child: ChildProcess) -> RunningProducer {
        // The binary names its connection dingk3-producer-<host>-<pid>.
        let own = dingk3::broker::default_connection_name("producer");
        let host_part = own.rsplit_once('-').map_or(own.as_str(), |(head, _)| head);
        let connection_name = format!("{host_part}-{}", child.pid());
        RunningProducer {
            connection_name,
            kind: ProducerKind::Process(Box::new(child)),
        }
    }

    /// Returns the approvals this producer published since it started (confirmed by
    /// the broker), or `None` while a child's `/metrics` does not respond.
    pub async fn published(&self) -> Option<u64> {
        match &self.kind {
            ProducerKind::Task { status, .. } => Some(status.borrow().published),
            ProducerKind::Process(child) => match child.metric(PUBLISHED_METRIC).await {
                Some(value) => Some(value as u64),
                // The counter appears with the first publish, so a producer that has
                // polled without it has published nothing.
                None => child.metric(POLLS_METRIC).await.map(|_| 0),
            },
        }
    }

    /// Returns the polls this producer finished: poll cycles of a task, polls of one
    /// process code of a child. Both count one per cycle with a single route.
    pub async fn polls(&self) -> u64 {
        match &self.kind {
            ProducerKind::Task { status, .. } => status.borrow().cycles,
            ProducerKind::Process(child) => child.metric(POLLS_METRIC).await.unwrap_or(0.0) as u64,
        }
    }

    /// Waits until the producer finished `count` more polls than it had when called.
    pub async fn wait_more_polls(&self, count: u64, within: Duration) {
        let start = self.polls().await;
        let deadline = Instant::now() + within;
        loop {
            let done = self.polls().await;
            if done >= start + count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the producer finished {} of {count} polls within {within:?}{}",
                done - start,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Returns the sum of the samples of `metric` on a child's `/metrics`. A task
    /// returns `None` because its metrics share the test process's registry.
    pub async fn metric(&self, metric: &str) -> Option<f64> {
        match &self.kind {
            ProducerKind::Task { .. } => None,
            ProducerKind::Process(child) => child.metric(metric).await,
        }
    }

    /// Returns the operating system's process id of a child, `None` for a task.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            ProducerKind::Task { .. } => None,
            ProducerKind::Process(child) => Some(child.pid()),
        }
    }

    /// Returns the exit status of a child that ended by itself, `None` while it runs
    /// (and always for a task).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        match &mut self.kind {
            ProducerKind::Task { .. } => None,
            ProducerKind::Process(child) => child.exited(),
        }
    }

    /// Ends the producer without any chance to clean up: SIGKILL for a child, an
    /// aborted task otherwise. Nothing in flight is finished or released.
    pub async fn kill(self) {
        match self.kind {
            ProducerKind::Task { task, .. } => {
                task.abort();
                let _ = task.await;
            }
            ProducerKind::Process(child) => {
                child.kill().await;
            }
        }
    }

    /// Returns the end of a child's log (empty for a task), for failure messages.
    pub fn log_tail(&self) -> String {
        match &self.kind {
            ProducerKind::Task { .. } => String::new(),
            ProducerKind::Process(child) => format!("\nproducer log:\n{}", child.log_tail()),
        }
    }

    /// Stops the producer like SIGTERM does and waits for it. Panics when it does not
    /// stop within `grace` plus a margin, or stops with an error.
    pub async fn stop(self, grace: Duration) {
        let within = grace + STOP_MARGIN;
        match self.kind {
            ProducerKind::Task { shutdown, task, .. } => {
                shutdown.cancel();
                let result = tokio::time::timeout(within, task)
                    .await
                    .unwrap_or_else(|_| panic!("the producer did not stop within {within:?}"))
                    .expect("the producer task did not panic");
                if let Err(error) = result {
                    panic!("the producer stopped with an error: {error}");
                }
            }
            ProducerKind::Process(child) => {
                let tail = child.log_tail();
                let status = child.terminate(within).await;
                assert!(
                    status.is_some_and(|status| status.success()),
                    "producer run exited with {status:?} after SIGTERM\n{tail}"
                );
            }
        }
    }
}

/// One consumer of a run.
pub struct RunningConsumer {
    /// `consumer.consumer_id`: the owner of its ledger leases and audit events.
    pub id: String,
    /// Name of its broker connection.
    pub connection_name: String,
    kind: ConsumerKind,
}

enum ConsumerKind {
    Task {
        shutdown: CancellationToken,
        task: JoinHandle<Result<(), StartError>>,
    },
    Process(Box<ChildProcess>),
}

impl RunningConsumer {
    /// Runs `consumer run`'s wiring with `settings` as a task.
    pub fn task(settings: dingk3_consumer::settings::RunSettings) -> RunningConsumer {
        let id = settings.consumer.consumer_id.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(dingk3_consumer::app::run(settings, shutdown.clone()));
        RunningConsumer {
            connection_name: consumer_connection_name(&id),
            id,
            kind: ConsumerKind::Task { shutdown, task },
        }
    }

    /// Wraps a `consumer run` child process whose consumer id is `id`.
    pub fn process(id: &str, child: ChildProcess) -> RunningConsumer {
        RunningConsumer {
            id: id.to_string(),
            connection_name: consumer_connection_name(id),
            kind: ConsumerKind::Process(Box::new(child)),
        }
    }

    /// Returns the sum of the samples of `metric` on a child's `/metrics`. A task
    /// returns `None` because its metrics share the test process's registry with
    /// other tests.
    pub async fn metric(&self, metric: &str) -> Option<f64> {
        match &self.kind {
            ConsumerKind::Task { .. } => None,
            ConsumerKind::Process(child) => child.metric(metric).await,
        }
    }

    /// Returns the operating system's process id of a child, `None` for a task.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            ConsumerKind::Task { .. } => None,
            ConsumerKind::Process(child) => Some(child.pid()),
        }
    }

    /// Returns the exit status of a child that ended by itself, `None` while it runs
    /// (and always for a task).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        match &mut self.kind {
            ConsumerKind::Task { .. } => None,
            ConsumerKind::Process(child) => child.exited(),
        }
    }

    /// Ends the consumer without any chance to clean up: SIGKILL for a child, an
    /// aborted task otherwise. Its unacknowledged deliveries return to the queue and
    /// its ledger leases stay until they expire.
    pub async fn kill(self) {
        match self.kind {
            ConsumerKind::Task { task, .. } => {
                task.abort();
                let _ = task.await;
            }
            ConsumerKind::Process(child) => {
                child.kill().await;
            }
        }
    }

    /// Returns the end of a child's log (empty for a task), for failure messages.
    pub fn log_tail(&self) -> String {
        match &self.kind {
            ConsumerKind::Task { .. } => String::new(),
            ConsumerKind::Process(child) => {
                format!("\nconsumer {} log:\n{}", self.id, child.log_tail())
            }
        }
    }

    /// Stops the consumer like SIGTERM does and waits for it. Panics when it does not
    /// stop within `grace` plus a margin, or failed.
    pub async fn stop(self, grace: Duration) {
        let within = grace + STOP_MARGIN;
        let id = self.id;
        match self.kind {
            ConsumerKind::Task { shutdown, task } => {
                shutdown.cancel();
                let result = tokio::time::timeout(within, task)
                    .await
                    .unwrap_or_else(|_| panic!("consumer {id} did not stop within {within:?}"))
                    .expect("the consumer task did not panic");
                if let Err(error) = result {
                    panic!("consumer {id} failed: {error}");
                }
            }
            ConsumerKind::Process(child) => {
                let tail = child.log_tail();
                let status = child.terminate(within).await;
                assert!(
                    status.is_some_and(|status| status.success()),
                    "consumer {id} exited with {status:?} after SIGTERM\n{tail}"
                );
            }
        }
    }
}

/// Returns the broker connection name the consumer worker gives itself.
fn consumer_connection_name(id: &str) -> String {
    format!("dingk3-consumer-{id}")
}
