//! The supervised broker connection: connect, declare, run a session, rebuild.
//!
//! lapin's automatic recovery handles short interruptions on its own. The supervisor
//! handles everything recovery cannot: the first connection, a recovery that gave up,
//! a session that failed (for example because its consumer stream ended), and a
//! broker that stays down for a long time. In each case it drops the connection and
//! builds a new one after a jittered exponential back-off.
//!
//! The loop is an explicit state machine:
//!
//! ```text
//! Disconnected { backoff } ──wait──▶ Connecting ──ok──▶ Connected (session runs)
//!        ▲                               │                    │
//!        └────────── failure ────────────┴──── session ends ──┘
//! ```
//!
//! The current [`LinkState`] is published on a `watch` channel for `/readyz`.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use futures::StreamExt;
use lapin::{Channel, Connection, Event};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::broker::config::{BrokerSettings, MIN_BACKOFF_MS};
use crate::broker::connection::{
    Recovery, close_connection, connect, default_connection_name, wait_for_channel_recovery,
};
use crate::broker::error::{ConnectError, TopologyError};
use crate::broker::metrics::{CONNECTED, RECONNECTS};
use crate::broker::publisher::Publisher;
use crate::broker::topology::Topology;

/// How often the supervisor checks the connection state while a session runs.
const STATUS_POLL: Duration = Duration::from_millis(100);

/// A session that ran at least this long counts as healthy, and the back-off starts
/// again from its minimum when it ends.
const STABLE_SESSION: Duration = Duration::from_secs(30);

/// How long a dropped connection that lapin is still recovering is watched, so it can
/// be closed once recovered instead of lingering with replayed consumers.
const RETIRE_WAIT: Duration = Duration::from_secs(300);

/// Maximum wait in [`Link::wait_for_recovery`]. After it the session gives up and the
/// supervisor rebuilds the connection, even if lapin is still trying.
const RECOVERY_WAIT: Duration = Duration::from_secs(120);

/// Usability of the broker connection, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// No connection; waiting before the next attempt.
    Disconnected,

    /// Connecting, declaring the topology, or waiting for lapin to recover.
    Connecting,

    /// Connected with the topology declared; the session runs.
    Connected,
}

/// The session's view of a fresh connection: one channel, and the topology already
/// declared on it.
#[derive(Debug)]
pub struct Link {
    /// The connection; shared with the supervisor, which closes it when the session ends.
    connection: Arc<Connection>,

    /// A channel opened for the session (no confirm mode, no QoS set).
    channel: Channel,

    /// Names of every exchange and queue.
    topology: Topology,

    /// The settings the connection was made with.
    settings: Arc<BrokerSettings>,

    /// Cancelled when the process shuts down; the session must then finish its work in
    /// flight and return.
    shutdown: CancellationToken,
}

impl Link {
    /// Returns the connection, e.g. to open more channels.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Returns the channel opened for the session.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Returns the declared topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Returns the broker settings, e.g. for timeouts.
    pub fn settings(&self) -> &BrokerSettings {
        &self.settings
    }

    /// Returns the token that is cancelled at shutdown.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Waits until lapin has recovered `channel`, a channel of this link, after
    /// `error`. Returns the error when the channel will not recover. The session should
    /// then return an error, so the supervisor rebuilds the connection.
    pub async fn wait_for_recovery(
        &self,
        channel: &Channel,
        error: lapin::Error,
    ) -> Result<(), lapin::Error> {
        wait_for_channel_recovery(&self.connection, channel, error, RECOVERY_WAIT).await
    }

    /// Opens a confirm-mode [`Publisher`] on a new channel of this connection.
    pub async fn publisher(&self) -> Result<Publisher, lapin::Error> {
        Publisher::open(&self.connection, &self.settings).await
    }
}

/// Keeps one role's broker connection alive and runs a session on it.
///
/// Run it on a multi-thread tokio runtime. lapin 4.12.3 can deadlock one of its tasks
/// when a recovery cancels a `basic.consume` whose channel was dropped, and on a
/// current-thread runtime that stops everything.
#[derive(Debug)]
pub struct Supervisor {
    /// Connection settings, shared with every [`Link`].
    settings: Arc<BrokerSettings>,

    /// Declared at every new connection.
    topology: Topology,

    /// `producer`, `consumer`, …; the metric label and part of the connection name.
    role: String,

    /// Shown in the management UI and used by tests to close this connection.
    connection_name: String,

    /// The published [`LinkState`].
    state: watch::Sender<LinkState>,
}

/// The reason a running session stopped.
enum SessionEnd {
    /// The session returned `Ok(())`: its work is done.
    Finished,

    /// The session failed or its connection died for good.
    Failed(String),
}

/// A failure to make a new connection ready.
#[derive(Debug, thiserror::Error)]
enum EstablishError {
    #[error(transparent)]
    Connect(#[from] ConnectError),

    #[error("failed to open a channel: {0}")]
    Channel(#[from] lapin::Error),

    #[error(transparent)]
    Topology(#[from] TopologyError),
}

impl Supervisor {
    /// Creates a supervisor for `role` with the default connection name
    /// `dingk3-<role>-<host>-<pid>`.
    pub fn new(settings: BrokerSettings, role: &str) -> Supervisor {
        let topology = Topology::new(&settings);
        let (state, _) = watch::channel(LinkState::Disconnected);
        CONNECTED.with_label_values(&[role]).set(0);
        Supervisor {
            settings: Arc::new(settings),
            topology,
            role: role.to_string(),
            connection_name: default_connection_name(role),
            state,
        }
    }

    /// Replaces the connection name, e.g. with a unique one in tests.
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Supervisor {
        self.connection_name = name.into();
        self
    }

    /// Returns the name the connection announces to the broker.
    pub fn connection_name(&self) -> &str {
        &self.connection_name
    }

    /// Returns a receiver of the link state, for `/readyz`. Take it before calling
    /// [`Supervisor::run`], which consumes the supervisor.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }

    /// Runs `session` on a fresh [`Link`] until it returns `Ok(())` or `shutdown` is
    /// cancelled, rebuilding the connection whenever the session fails or the
    /// connection cannot be recovered.
    ///
    /// A session returns `Err` to ask for a rebuild: when its consumer stream ends, when
    /// `Channel::wait_for_recovery` fails, or on any error it cannot handle. While the
    /// session runs, shutdown is only signalled through [`Link::shutdown`], so the
    /// session can finish its work in flight. In the other states shutdown is immediate.
    pub async fn run<S, F, E>(self, mut session: S, shutdown: CancellationToken)
    where
        S: FnMut(Link) -> F,
        F: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut delays = self.backoff();
        let mut connected_before = false;
        let mut state: State<F> = State::Disconnected { backoff: None };
        loop {
            state = match state {
                State::Disconnected { backoff } => {
                    self.set_state(LinkState::Disconnected);
                    if let Some(delay) = backoff {
                        // Wait out the back-off so a broker that is down is not
                        // hammered; shutdown cuts the wait short.
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(delay) => {}
                        }
                    }
                    if shutdown.is_cancelled() {
                        break;
                    }
                    // The wait is over (or this is the first start): try to connect.
                    State::Connecting
                }

                State::Connecting => {
                    self.set_state(LinkState::Connecting);
                    let established = tokio::select! {
                        () = shutdown.cancelled() => break,
                        result = self.establish() => result,
                    };
                    match established {
                        Ok((connection, channel)) => {
                            // Connected and declared: hand a fresh link to the session.
                            if connected_before {
                                RECONNECTS.with_label_values(&[&self.role]).inc();
                            }
                            connected_before = true;
                            let link = Link {
                                connection: Arc::clone(&connection),
                                channel: channel.clone(),
                                topology: self.topology.clone(),
                                settings: Arc::clone(&self.settings),
                                shutdown: shutdown.clone(),
                            };
                            State::Connected {
                                connection,
                                channel,
                                session: Box::pin(session(link)),
                                since: Instant::now(),
                            }
                        }
                        Err(error) => {
                            // Refused, timed out, or a topology conflict: back off and
                            // try again, because an operator may fix the cause meanwhile.
                            let delay = next_delay(&mut delays, &self.settings);
                            let retry_in_ms = delay.as_millis() as u64;
                            if matches!(error, EstablishError::Topology(_)) {
                                // Only an operator can resolve a topology conflict.
                                error!(role = %self.role, %error, retry_in_ms, "broker topology declaration failed");
                            } else {
                                warn!(role = %self.role, %error, retry_in_ms, "broker connection attempt failed");
                            }
                            State::Disconnected {
                                backoff: Some(delay),
                            }
                        }
                    }
                }

                State::Connected {
                    connection,
                    channel,
                    session,
                    since,
                } => {
                    self.set_state(LinkState::Connected);
                    let end = self.supervise(&connection, session).await;
                    retire(connection, channel, self.role.clone());
                    if since.elapsed() >= STABLE_SESSION {
                        delays = self.backoff();
                    }
                    match end {
                        // The session completed its work: nothing left to supervise.
                        SessionEnd::Finished => {
                            info!(role = %self.role, "broker session finished");
                            break;
                        }
                        // A failure during shutdown needs no rebuild.
                        SessionEnd::Failed(reason) if shutdown.is_cancelled() => {
                            info!(role = %self.role, %reason, "broker session ended during shutdown");
                            break;
                        }
                        // Anything else: drop the connection and rebuild from scratch.
                        SessionEnd::Failed(reason) => {
                            let delay = next_delay(&mut delays, &self.settings);
                            warn!(
                                role = %self.role,
                                %reason,
                                retry_in_ms = delay.as_millis() as u64,
                                "broker session failed; rebuilding the connection"
                            );
                            State::Disconnected {
                                backoff: Some(delay),
                            }
                        }
                    }
                }
            };
        }
        self.set_state(LinkState::Disconnected);
    }

    /// Connects, opens a channel and declares the topology.
    async fn establish(&self) -> Result<(Arc<Connection>, Channel), EstablishError> {
        let connection =
            connect(&self.settings, &self.connection_name, Recovery::Automatic).await?;
        let channel = connection.create_channel().await?;
        self.topology.declare(&channel).await?;
        info!(
            role = %self.role,
            connection_name = %self.connection_name,
            url = %self.settings.masked_url,
            "broker connection established"
        );
        Ok((Arc::new(connection), channel))
    }

    /// Waits for the session to end while following the connection: lapin recovering
    /// turns the state to `Connecting`, a recovery that gave up ends the session.
    ///
    /// A recovery is counted when the status poll finds the connection back up. lapin's
    /// event stream hands each event to only one of its listeners, so a session that
    /// listens too may take the `Connected` event. The event therefore only counts a
    /// recovery that was shorter than the poll interval, which the poll missed.
    async fn supervise<F, E>(&self, connection: &Connection, mut session: Pin<Box<F>>) -> SessionEnd
    where
        F: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut events = connection.events_listener().boxed();
        let mut events_open = true;
        let mut poll = tokio::time::interval(STATUS_POLL);
        let mut seen_down = false;
        loop {
            tokio::select! {
                result = &mut session => {
                    return match result {
                        Ok(()) => SessionEnd::Finished,
                        Err(error) => SessionEnd::Failed(error.to_string()),
                    };
                }
                event = events.next(), if events_open => match event {
                    Some(Event::Connected) if !seen_down => {
                        self.count_recovery();
                    }
                    Some(Event::Error(error)) => {
                        warn!(role = %self.role, %error, "broker connection error");
                    }
                    Some(_) => {}
                    None => events_open = false,
                },
                _ = poll.tick() => {
                    let status = connection.status();
                    if status.connected() {
                        if seen_down {
                            seen_down = false;
                            self.count_recovery();
                        }
                        self.set_state(LinkState::Connected);
                    } else if status.reconnecting() || status.connecting() {
                        seen_down = true;
                        self.set_state(LinkState::Connecting);
                    } else {
                        return SessionEnd::Failed(
                            "the connection closed and lapin could not recover it".to_string(),
                        );
                    }
                }
            }
        }
    }

    fn count_recovery(&self) {
        RECONNECTS.with_label_values(&[&self.role]).inc();
        info!(role = %self.role, "broker connection recovered by lapin");
    }

    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(MIN_BACKOFF_MS))
            .with_max_delay(self.settings.reconnect_max_backoff)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// Publishes a new state, logging and exporting it when it changed.
    fn set_state(&self, next: LinkState) {
        let previous = self.state.send_replace(next);
        if previous != next {
            info!(role = %self.role, from = ?previous, to = ?next, "broker link state changed");
            let up = i64::from(next == LinkState::Connected);
            CONNECTED.with_label_values(&[&self.role]).set(up);
        }
    }
}

/// States of [`Supervisor::run`]; `F` is the session future.
enum State<F> {
    /// No connection; `backoff` is the wait before the next attempt (none at start).
    Disconnected { backoff: Option<Duration> },

    /// A connection attempt is under way.
    Connecting,

    /// The session runs on `connection`, established at `since`; `channel` is a
    /// clone of the link's channel, kept until the connection is retired.
    Connected {
        connection: Arc<Connection>,
        channel: Channel,
        session: Pin<Box<F>>,
        since: Instant,
    },
}

fn next_delay(delays: &mut ExponentialBackoff, settings: &BrokerSettings) -> Duration {
    delays.next().unwrap_or(settings.reconnect_max_backoff)
}

/// Closes a connection the supervisor no longer uses.
///
/// A connection that lapin is still recovering cannot be closed yet. Once recovered,
/// it would replay the session's consumers, whose deliveries no code reads. It is
/// watched in the background and closed as soon as it is connected again.
///
/// `channel` stays alive until then. lapin 4.12.3 deadlocks its IO thread when a
/// recovery cancels a pending `basic.consume` that holds the last handle of its
/// channel (the drop re-reads a lock held by the recovery). Keeping a handle avoids
/// that for the link's own channel.
// NOTE: other channels a session opens and drops with a `basic.consume` in flight
// during a recovery remain exposed to that lapin deadlock.
fn retire(connection: Arc<Connection>, channel: Channel, role: String) {
    tokio::spawn(async move {
        let _channel = channel;
        let deadline = Instant::now() + RETIRE_WAIT;
        loop {
            let status = connection.status();
            if status.connected() {
                if let Err(error) = close_connection(&connection, "dingk3 session ended").await {
                    warn!(%role, %error, "closing the old broker connection failed");
                }
                return;
            }
            let recovering = status.reconnecting() || status.connecting();
            if !recovering {
                return;
            }
            if Instant::now() >= deadline {
                warn!(%role, "old broker connection still recovering; leaving it to lapin");
                return;
            }
            tokio::time::sleep(STATUS_POLL).await;
        }
    });
}
