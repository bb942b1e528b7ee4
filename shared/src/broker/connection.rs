//! Opening a lapin connection from [`BrokerSettings`], and waiting for lapin to
//! recover a channel.
//!
//! Every connection carries a name (`dingk3-<role>-<host>-<pid>` unless the caller
//! gives one), so an operator can find it in the management UI and a test can close
//! exactly its own connection with `rabbitmqctl close_connection`.

use std::time::Duration;

use backon::ExponentialBuilder;
use lapin::tcp::OwnedTLSConfig;
use lapin::{Channel, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::warn;

use crate::broker::config::{BrokerSettings, MIN_BACKOFF_MS, parse_amqp_uri};
use crate::broker::error::ConnectError;

/// Maximum TCP reconnection attempts per lapin recovery round, and maximum rounds
/// before lapin gives up and the supervisor rebuilds the connection from scratch.
/// lapin handles short interruptions. Long outages are the supervisor's job, whose
/// back-off has no attempt limit.
const LAPIN_RECOVERY_ATTEMPTS: usize = 5;

/// Maximum pause between lapin's own reconnection attempts. It is short, so lapin
/// finds a broker that comes back quickly while it is still trying.
const LAPIN_RECOVERY_MAX_DELAY: Duration = Duration::from_secs(5);

/// Whether lapin re-establishes the connection by itself after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// lapin reconnects and replays exchanges, queues, bindings, consumers, QoS and
    /// confirm mode. Used by the supervised work connection.
    Automatic,

    /// A failure ends the connection. Used by the leader lock, whose exclusive queue
    /// must not silently reappear on a new connection.
    Off,
}

/// Returns the default connection name of this process for `role`:
/// `dingk3-<role>-<host>-<pid>`.
pub fn default_connection_name(role: &str) -> String {
    format!("dingk3-{role}-{}-{}", host_name(), std::process::id())
}

/// Opens a connection to the broker in `settings`, named `connection_name`.
///
/// The heartbeat from the settings overrides a `heartbeat` query parameter in the URL.
/// `amqps://` URLs use rustls with the system roots plus `tls_ca_pem`, if set.
pub async fn connect(
    settings: &BrokerSettings,
    connection_name: &str,
    recovery: Recovery,
) -> Result<Connection, ConnectError> {
    warn_on_current_thread_runtime();
    let url = settings.masked_url.clone();
    let mut uri = parse_amqp_uri(settings.url.expose_secret()).map_err(|reason| {
        ConnectError::InvalidUrl {
            url: url.clone(),
            reason,
        }
    })?;
    uri.query.heartbeat = Some(settings.heartbeat_seconds);
    let connect_timeout_ms =
        u64::try_from(settings.connect_timeout.as_millis()).unwrap_or(u64::MAX);
    uri.query.connection_timeout = Some(connect_timeout_ms);

    let mut properties = ConnectionProperties::default()
        .with_connection_name(connection_name.into())
        .with_client_property("product".into(), "dingk3".into());
    if recovery == Recovery::Automatic {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(MIN_BACKOFF_MS))
            .with_max_delay(LAPIN_RECOVERY_MAX_DELAY.min(settings.reconnect_max_backoff))
            .with_max_times(LAPIN_RECOVERY_ATTEMPTS)
            .with_jitter();
        properties = properties.with_backoff(backoff).enable_auto_recover();
    }
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: settings.tls_ca_pem.clone(),
    };
    let runtime = lapin::runtime::default_runtime().map_err(|source| ConnectError::Failed {
        url: url.clone(),
        source,
    })?;

    // NOTE: a timed-out attempt is not cancelled inside lapin: its IO thread goes on
    // with its own TCP retries (at most LAPIN_RECOVERY_ATTEMPTS) in the background.
    let attempt = Connection::connect_uri_with_config(uri, properties, tls, runtime);
    match tokio::time::timeout(settings.connect_timeout, attempt).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(source)) => Err(ConnectError::Failed { url, source }),
        Err(_) => Err(ConnectError::Timeout {
            url,
            after: settings.connect_timeout,
        }),
    }
}

/// Waits until lapin has recovered `channel` after `error`, or returns the error when
/// the channel will not come back.
///
/// `Channel::wait_for_recovery` alone is not enough with lapin 4.12.3. After a forced
/// close (`CONNECTION_FORCED`), a consumer stream sometimes yields the connection error
/// without the handle that waits for recovery. It then returns the error at once,
/// although lapin goes on to recover the connection and the channel. This function then follows
/// the connection and channel states. It gives up when neither is recovering for
/// [`RECOVERY_GRACE`] (the connection ended for good, or a channel-level error such as
/// `PRECONDITION_FAILED` closed the channel), or after `within`.
pub async fn wait_for_channel_recovery(
    connection: &Connection,
    channel: &Channel,
    error: lapin::Error,
    within: Duration,
) -> Result<(), lapin::Error> {
    let error = match channel.wait_for_recovery(error).await {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let deadline = Instant::now() + within;
    let mut idle_since: Option<Instant> = None;
    loop {
        let channel_status = channel.status();
        let connection_status = connection.status();
        if channel_status.connected() && connection_status.connected() {
            return Ok(());
        }
        // Right after the error, lapin may not have switched the states to recovering
        // yet, so a state that is neither up nor recovering must last before it counts.
        let recovering = connection_status.reconnecting()
            || connection_status.connecting()
            || channel_status.reconnecting();
        if recovering {
            idle_since = None;
        } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= RECOVERY_GRACE {
            return Err(error);
        }
        if Instant::now() >= deadline {
            return Err(error);
        }
        tokio::time::sleep(RECOVERY_POLL).await;
    }
}

/// How long a channel may be neither connected nor recovering before
/// [`wait_for_channel_recovery`] gives up on it.
pub const RECOVERY_GRACE: Duration = Duration::from_secs(2);

/// Poll interval of [`wait_for_channel_recovery`].
const RECOVERY_POLL: Duration = Duration::from_millis(50);

/// Deadline for a polite `connection.close`, which a dead peer never confirms.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Closes `connection` if it is open, giving up after five seconds. Returns the
/// broker's error, if any, for the caller to log.
pub(crate) async fn close_connection(
    connection: &Connection,
    reason: &str,
) -> Result<(), lapin::Error> {
    if !connection.status().connected() {
        return Ok(());
    }
    match tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, reason.into())).await {
        Ok(result) => result,
        Err(_) => Err(lapin::Error::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the broker did not confirm the connection close within 5 s",
        ))),
    }
}

/// Logs once per process when connections are opened from a current-thread runtime.
fn warn_on_current_thread_runtime() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let flavor = tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor());
    if matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::CurrentThread)) {
        WARNED.call_once(|| {
            warn!(
                "broker connections run on a current-thread tokio runtime; a lapin 4.12.3 deadlock during connection recovery would stop the whole runtime there, so use a multi-thread runtime"
            );
        });
    }
}

/// Returns the host name for connection names: `HOSTNAME`, else the kernel's, else
/// `unknown`.
fn host_name() -> String {
    let from_env = std::env::var("HOSTNAME").ok();
    let from_kernel = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_env
        .or_else(from_kernel)
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_has_role_and_pid() {
        let name = default_connection_name("consumer");
        assert!(name.starts_with("dingk3-consumer-"), "name {name}");
        assert!(
            name.ends_with(&format!("-{}", std::process::id())),
            "name {name}"
        );
    }
}
