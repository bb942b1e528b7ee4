//! Connection loss against a real RabbitMQ: the supervisor rebuilds, lapin's recovery
//! is followed, readiness reflects an outage, and an ack that lapin could not send
//! after a recovery is reported as lost.

mod broker_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use broker_support::{
    BrokerProxy, TopologyGuard, force_close_connection, message_id_of, open_channel,
    require_broker, settings, settings_for, unique_connection_name, unique_prefix, work_message,
};
use dingk3::broker::metrics::RECONNECTS;
use dingk3::broker::{
    AckOutcome, BrokerSettings, Link, LinkState, Publisher, Recovery, Supervisor, Topology,
    connect, split, wait_for_channel_recovery,
};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How the test session reacts to a lost connection.
#[derive(Clone, Copy)]
enum OnError {
    /// Return an error as soon as the connection was lost, even if lapin recovered
    /// it, so the supervisor rebuilds the connection.
    Rebuild,
    /// Wait for lapin to recover the channel and keep consuming.
    AwaitRecovery,
}

/// Runs a consumer session that forwards the id of each message to `received` and
/// acks it.
async fn consume(
    link: Link,
    received: mpsc::UnboundedSender<String>,
    sessions: Arc<AtomicUsize>,
    on_error: OnError,
) -> Result<(), String> {
    sessions.fetch_add(1, Ordering::SeqCst);
    let channel = link.channel();
    channel
        .basic_qos(10, BasicQosOptions::default())
        .await
        .map_err(|error| error.to_string())?;
    let mut consumer = channel
        .basic_consume(
            link.topology().approvals_queue().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|error| error.to_string())?;
    // lapin waits at least 250 ms before it reconnects, so a 20 ms poll of the
    // connection state catches every loss. lapin's event stream cannot be used here,
    // because it hands each event to only one listener and the supervisor listens too.
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        let next = tokio::select! {
            () = link.shutdown().cancelled() => return Ok(()),
            _ = poll.tick() => {
                let lost = !link.connection().status().connected();
                if lost && matches!(on_error, OnError::Rebuild) {
                    return Err("the connection was lost".to_string());
                }
                continue;
            }
            next = consumer.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                let (message, handle) = split(delivery);
                let _ = received.send(message_id_of(&message.properties));
                handle.ack().await;
            }
            Some(Err(error)) => match on_error {
                OnError::Rebuild => return Err(format!("consumer failed: {error}")),
                OnError::AwaitRecovery => link
                    .wait_for_recovery(channel, error)
                    .await
                    .map_err(|error| format!("recovery failed: {error}"))?,
            },
            None => return Err("consumer stream ended".to_string()),
        }
    }
}

/// Waits until the watched state equals `expected`, failing after `within`.
async fn wait_for_state(
    state: &mut watch::Receiver<LinkState>,
    expected: LinkState,
    within: Duration,
) {
    let reached = tokio::time::timeout(within, state.wait_for(|current| *current == expected))
        .await
        .is_ok_and(|result| result.is_ok());
    assert!(
        reached,
        "link state did not become {expected:?} within {within:?}; it is {:?}",
        *state.borrow()
    );
}

/// Waits for the next received id, failing after `within`.
async fn next_id(received: &mut mpsc::UnboundedReceiver<String>, within: Duration) -> String {
    tokio::time::timeout(within, received.recv())
        .await
        .unwrap_or_else(|_| panic!("no message consumed within {within:?}"))
        .expect("the session is still running")
}

/// Publishes one work message on a connection of its own.
async fn publish_one(settings: &BrokerSettings, id: &str) {
    let (connection, _channel) = open_channel(settings, &unique_connection_name("publisher")).await;
    let publisher = Publisher::open(&connection, settings)
        .await
        .expect("publisher opens");
    publisher
        .publish(&work_message(&Topology::new(settings), id))
        .await
        .expect("publish confirmed");
    let _ = connection.close(200, "done".into()).await;
}

/// A session that gives up after a forced close is run again on a new connection,
/// which declares the topology again, and the rebuild is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_rebuilds_after_forced_close() {
    require_broker().await;
    let settings = settings(&unique_prefix("rebuild"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let role = unique_prefix("role-rebuild");
    let name = unique_connection_name("rebuild");
    let supervisor = Supervisor::new(settings.clone(), &role).with_connection_name(name.clone());
    let mut state = supervisor.state();
    let sessions = Arc::new(AtomicUsize::new(0));
    let (sender, mut received) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let session_count = Arc::clone(&sessions);
    let run = tokio::spawn(supervisor.run(
        move |link| {
            consume(
                link,
                sender.clone(),
                Arc::clone(&session_count),
                OnError::Rebuild,
            )
        },
        shutdown.clone(),
    ));

    wait_for_state(&mut state, LinkState::Connected, Duration::from_secs(15)).await;
    publish_one(&settings, "before-close").await;
    assert_eq!(
        next_id(&mut received, Duration::from_secs(10)).await,
        "before-close"
    );

    force_close_connection(&name).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sessions.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session was not started again after the forced close"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_state(&mut state, LinkState::Connected, Duration::from_secs(15)).await;
    publish_one(&settings, "after-close").await;
    assert_eq!(
        next_id(&mut received, Duration::from_secs(20)).await,
        "after-close"
    );
    assert!(
        RECONNECTS.with_label_values(&[&role]).get() >= 1,
        "the rebuild is counted in dingk3_broker_reconnects_total"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the supervisor stops after shutdown")
        .expect("the supervisor task did not panic");
    assert_eq!(
        *state.borrow(),
        LinkState::Disconnected,
        "stopped supervisor reports disconnected"
    );
}

/// A session that waits for lapin's recovery keeps running across a forced close, and
/// the recovery is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_follows_lapin_recovery() {
    require_broker().await;
    let settings = settings(&unique_prefix("recover"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let role = unique_prefix("role-recover");
    let name = unique_connection_name("recover");
    let supervisor = Supervisor::new(settings.clone(), &role).with_connection_name(name.clone());
    let mut state = supervisor.state();
    let sessions = Arc::new(AtomicUsize::new(0));
    let (sender, mut received) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let session_count = Arc::clone(&sessions);
    let run = tokio::spawn(supervisor.run(
        move |link| {
            consume(
                link,
                sender.clone(),
                Arc::clone(&session_count),
                OnError::AwaitRecovery,
            )
        },
        shutdown.clone(),
    ));

    wait_for_state(&mut state, LinkState::Connected, Duration::from_secs(15)).await;
    force_close_connection(&name).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while RECONNECTS.with_label_values(&[&role]).get() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "lapin's recovery was not observed within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    publish_one(&settings, "after-recovery").await;
    assert_eq!(
        next_id(&mut received, Duration::from_secs(20)).await,
        "after-recovery"
    );
    assert_eq!(
        sessions.load(Ordering::SeqCst),
        1,
        "the recovered session kept running"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the supervisor stops after shutdown")
        .expect("the supervisor task did not panic");
}

/// While the broker is unreachable the link is not ready, and it becomes ready again
/// when the broker is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_broker_outage() {
    require_broker().await;
    let proxy = BrokerProxy::start(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let address = proxy.address;
    let direct = settings(&unique_prefix("outage"), &["1s"]);
    let _guard = TopologyGuard::new(&direct);
    let proxied = settings_for(&proxy.url(), &direct.prefix, &["1s"]);
    let role = unique_prefix("role-outage");
    let supervisor =
        Supervisor::new(proxied, &role).with_connection_name(unique_connection_name("outage"));
    let mut state = supervisor.state();
    let (sender, mut received) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let sessions = Arc::new(AtomicUsize::new(0));
    let run = tokio::spawn(supervisor.run(
        move |link| {
            consume(
                link,
                sender.clone(),
                Arc::clone(&sessions),
                OnError::AwaitRecovery,
            )
        },
        shutdown.clone(),
    ));
    wait_for_state(&mut state, LinkState::Connected, Duration::from_secs(15)).await;

    proxy.stop();
    drop(proxy);
    let left_connected = tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|current| *current != LinkState::Connected),
    )
    .await
    .is_ok_and(|result| result.is_ok());
    assert!(
        left_connected,
        "readiness must drop while the broker is unreachable"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_ne!(
        *state.borrow(),
        LinkState::Connected,
        "not ready while the broker stays unreachable"
    );

    let _proxy = BrokerProxy::start(address).await;
    wait_for_state(&mut state, LinkState::Connected, Duration::from_secs(60)).await;
    publish_one(&direct, "after-outage").await;
    assert_eq!(
        next_id(&mut received, Duration::from_secs(20)).await,
        "after-outage"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the supervisor stops after shutdown")
        .expect("the supervisor task did not panic");
}

/// An ack for a delivery from before a recovery is not sent and is reported as lost;
/// the broker delivers the message again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_after_recovery_is_lost() {
    require_broker().await;
    let settings = settings(&unique_prefix("ack-lost"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let name = unique_connection_name("ack-lost");
    let connection = connect(&settings, &name, Recovery::Automatic)
        .await
        .expect("connection opens");
    let channel = connection.create_channel().await.expect("channel opens");
    topology.declare(&channel).await.expect("topology declared");
    publish_one(&settings, "held-1").await;
    let mut consumer = channel
        .basic_consume(
            topology.approvals_queue().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consumer starts");
    let first = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("a delivery arrives")
        .expect("the stream is open")
        .expect("the delivery is valid");
    let (message, handle) = split(first);
    assert!(!message.redelivered, "first delivery");

    force_close_connection(&name).await;
    let redelivered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match consumer.next().await {
                Some(Ok(delivery)) => return delivery,
                Some(Err(error)) => {
                    wait_for_channel_recovery(&connection, &channel, error, Duration::from_secs(30))
                        .await
                        .expect("lapin recovers the channel")
                }
                None => panic!("the consumer stream ended instead of recovering"),
            }
        }
    })
    .await
    .expect("the message is delivered again after recovery");

    assert!(!handle.usable(), "the old delivery's acker is poisoned");
    assert_eq!(
        handle.ack().await,
        AckOutcome::Lost,
        "the stale ack is reported as lost"
    );
    let (again, handle) = split(redelivered);
    assert_eq!(message_id_of(&again.properties), "held-1");
    assert!(
        again.redelivered,
        "the broker marks the message as redelivered"
    );
    assert_eq!(
        handle.ack().await,
        AckOutcome::Sent,
        "the fresh delivery is acked"
    );
}
