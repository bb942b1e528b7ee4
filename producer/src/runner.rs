//! The scheduled loop of `producer run`.
//!
//! The broker [`Supervisor`] keeps the work connection alive and runs one session per
//! connection. A session polls only while this process has the leader lock of its
//! DingTalk app. A second producer waits on standby, retrying every `leader_retry_seconds`,
//! and takes over when the leader's lock connection closes. A producer that lost the
//! lock waits two retry intervals before it competes again, so the standby wins. The
//! lock lives on its own connection and outlives a rebuilt work connection. A poll that loses the lock
//! finishes its batch in flight and stops; no further poll starts until the lock is
//! held again.
//!
//! When DingTalk reports the monthly quota exhausted, polling pauses for
//! `quota_pause_minutes`; a DingTalk configuration error ends the loop, because no
//! retry can fix it.

use std::sync::Mutex;
use std::time::Duration;

use dingk3::broker::{LeaderLock, Link, LinkState, Supervisor};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::error::ProducerError;
use crate::metrics;
use crate::outbox::Outbox;
use crate::poll::WindowPlan;
use crate::producer::Producer;
use crate::progress::NoProgress;
use crate::report::{PollOutcome, RouteReport};

/// How often readiness re-checks the ledger.
const READINESS_INTERVAL: Duration = Duration::from_secs(5);

/// Multiple of `leader_retry` that a producer which lost the lock waits before it
/// competes again; a standby retries at least twice in that time.
const LOST_LOCK_YIELD: u32 = 2;

/// State shared by the sessions of one `run`.
#[derive(Default)]
struct RunState {
    /// The leader lock while held; survives a rebuilt work connection.
    lock: tokio::sync::Mutex<Option<LeaderLock>>,
    /// The error that ends the loop.
    fatal: Mutex<Option<ProducerError>>,
    /// End of the quota pause.
    quota_until: Mutex<Option<Instant>>,
}

impl RunState {
    fn set_fatal(&self, error: ProducerError) {
        *lock(&self.fatal) = Some(error);
    }

    fn quota_until(&self) -> Option<Instant> {
        *lock(&self.quota_until)
    }

    fn set_quota_until(&self, until: Option<Instant>) {
        *lock(&self.quota_until) = until;
    }
}

/// Locks a std mutex; the values behind it stay valid after a panic elsewhere.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Producer {
    /// Runs the scheduled loop until `shutdown` is cancelled, then finishes the batch in
    /// flight and releases the leader lock.
    ///
    /// Returns an error only when the loop cannot go on: DingTalk rejected the
    /// configuration, or the app key cannot name the lock.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), ProducerError> {
        let supervisor = Supervisor::new(self.config.broker.clone(), "producer")
            .with_connection_name(self.config.connection_name.clone());
        let readiness_stop = shutdown.child_token();
        let readiness_task = self.spawn_readiness(supervisor.state(), readiness_stop.clone());
        info!(
            connection_name = %self.config.connection_name,
            process_codes = ?self.config.process_codes(),
            poll_interval_seconds = self.config.producer.poll_interval.as_secs(),
            "producer started"
        );

        let state = RunState::default();
        supervisor
            .run(|link| self.session(link, &state), shutdown.clone())
            .await;

        if let Some(lock) = state.lock.lock().await.take() {
            lock.release().await;
        }
        self.set_leader(false);
        readiness_stop.cancel();
        let _ = readiness_task.await;
        let fatal = lock(&state.fatal).take();
        match fatal {
            Some(error) => Err(error),
            None => {
                info!("producer stopped");
                Ok(())
            }
        }
    }

    /// Polls on one broker connection until shutdown, a fatal error, or a broker
    /// failure (the error makes the supervisor rebuild the connection).
    async fn session(&self, link: Link, state: &RunState) -> Result<(), String> {
        let shutdown = link.shutdown().clone();
        let mut outbox = Outbox::new(link.connection(), link.settings());
        let mut slot = state.lock.lock().await;
        let settings = &self.config.producer;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }

            if !slot.as_ref().is_some_and(LeaderLock::is_held) {
                if slot.take().is_some() {
                    self.set_leader(false);
                    let yield_for = settings.leader_retry * LOST_LOCK_YIELD;
                    warn!(
                        yield_seconds = yield_for.as_secs(),
                        "leader lock lost; polling stops until the lock is held again"
                    );
                    // The process that lost its lock connection is the suspect one, so
                    // a standby, which retries every leader_retry, gets the lock first.
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(yield_for) => {}
                    }
                }
                let acquired = LeaderLock::acquire(
                    &self.config.broker,
                    &self.config.dingtalk.app_key,
                    &self.config.leader_connection_name(),
                    settings.leader_retry,
                    &shutdown,
                )
                .await;
                match acquired {
                    Ok(Some(lock)) => {
                        *slot = Some(lock);
                        self.set_leader(true);
                        info!("leader lock held; polling");
                    }
                    Ok(None) => return Ok(()),
                    Err(error) => {
                        let error = ProducerError::from(error);
                        error!(%error, "the leader lock cannot be taken; stopping");
                        state.set_fatal(error);
                        return Ok(());
                    }
                }
            }
            let leader = slot.as_ref().expect("the lock was taken above");

            if let Some(until) = state.quota_until() {
                let now = Instant::now();
                if until > now {
                    let resume_in_seconds = (until - now).as_secs();
                    error!(
                        resume_in_seconds,
                        "polling paused: the DingTalk monthly API quota is exhausted"
                    );
                    let wake = until.min(now + settings.poll_interval);
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = leader.lost() => {}
                        () = tokio::time::sleep_until(wake) => {}
                    }
                    continue;
                }
                state.set_quota_until(None);
                info!("quota pause over; polling resumes");
            }

            let stop = shutdown.child_token();
            let cycle = self.poll_cycle(&mut outbox, &stop);
            tokio::pin!(cycle);
            let reports = tokio::select! {
                reports = &mut cycle => reports,
                () = leader.lost() => {
                    warn!("leader lock lost during a poll; finishing the batch in flight");
                    stop.cancel();
                    cycle.await
                }
            };
            if let Some(error) = self.after_cycle(reports, state) {
                error!(%error, "polling stops: DingTalk rejected the configuration");
                state.set_fatal(error);
                return Ok(());
            }

            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = leader.lost() => {}
                () = tokio::time::sleep(settings.poll_interval) => {}
            }
        }
    }

    /// Polls every process code once. Stops early when the app's quota is exhausted or
    /// its configuration is rejected, because every further call fails the same way.
    async fn poll_cycle(
        &self,
        outbox: &mut Outbox<'_>,
        stop: &CancellationToken,
    ) -> Vec<RouteReport> {
        let mut reports = Vec::new();
        for code in self.config.process_codes() {
            if stop.is_cancelled() {
                break;
            }
            let report = self
                .poller
                .poll(outbox, &code, WindowPlan::Incremental, &NoProgress, stop)
                .await;
            let hopeless = matches!(
                report.outcome,
                PollOutcome::QuotaExhausted | PollOutcome::Configuration
            );
            reports.push(report);
            if hopeless {
                break;
            }
        }
        reports
    }

    /// Updates the pause, gauges and status after a cycle; returns the error that ends
    /// the loop, if any.
    fn after_cycle(&self, reports: Vec<RouteReport>, state: &RunState) -> Option<ProducerError> {
        let published: u64 = reports.iter().map(|report| report.published as u64).sum();
        let mut quota_exhausted = false;
        for mut report in reports {
            if let Some(source) = report.configuration_error.take() {
                return Some(ProducerError::DingTalkConfiguration {
                    process_code: report.process_code,
                    source,
                });
            }
            quota_exhausted |= report.outcome == PollOutcome::QuotaExhausted;
        }
        if quota_exhausted {
            let pause = self.config.producer.quota_pause;
            state.set_quota_until(Some(Instant::now() + pause));
            metrics::QUOTA_EXHAUSTED.set(1);
            error!(
                pause_minutes = pause.as_secs() / 60,
                "the DingTalk monthly API quota is exhausted; polling pauses"
            );
        } else {
            metrics::QUOTA_EXHAUSTED.set(0);
        }
        self.status.send_modify(|status| {
            status.cycles += 1;
            status.published += published;
            status.quota_paused = quota_exhausted;
        });
        None
    }

    fn set_leader(&self, leader: bool) {
        metrics::IS_LEADER.set(i64::from(leader));
        self.status.send_modify(|status| status.leader = leader);
    }

    /// Keeps `/readyz` current: the broker link is connected and the ledger replies to a ping.
    fn spawn_readiness(
        &self,
        mut link: watch::Receiver<LinkState>,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let readiness = self.readiness();
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            loop {
                let connected = *link.borrow_and_update() == LinkState::Connected;
                readiness.set("broker", connected);
                readiness.set("ledger", ledger.ping().await.is_ok());
                tokio::select! {
                    () = stop.cancelled() => break,
                    changed = link.changed() => {
                        if changed.is_err() {
                            // The supervisor is gone; only the ledger is left to check.
                            readiness.set("broker", false);
                            stop.cancelled().await;
                            break;
                        }
                    }
                    () = tokio::time::sleep(READINESS_INTERVAL) => {}
                }
            }
            readiness.set("broker", false);
        })
    }
}
