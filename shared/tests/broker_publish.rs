//! Confirmed publishing against a real RabbitMQ: returned, nacked and timed-out
//! publishes are failures, and a batch reports each message.

mod broker_support;

use std::net::SocketAddr;
use std::time::Duration;

use broker_support::{
    BrokerProxy, TopologyGuard, open_channel, require_broker, settings, settings_for,
    unique_connection_name, unique_prefix, work_message,
};
use dingk3::broker::config::RawBrokerConfig;
use dingk3::broker::{PublishError, PublishStage, Publisher, Topology};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use secrecy::SecretString;

/// An unroutable `mandatory` publish is acked by RabbitMQ, but must still fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_publish_is_returned() {
    require_broker().await;
    let settings = settings(&unique_prefix("returned"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("returned")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let mut message = work_message(&topology, "lost-1");
    message.routing_key = "no-such-binding".to_string();
    let error = publisher
        .publish(&message)
        .await
        .expect_err("unroutable publish fails");

    match error {
        PublishError::Returned {
            reply_code,
            reply_text,
        } => {
            assert_eq!(reply_code, 312, "NO_ROUTE");
            assert_eq!(reply_text, "NO_ROUTE");
        }
        other => panic!("expected Returned, got {other:?}"),
    }
}

/// A batch is confirmed as a whole, and every message is in the queue afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_is_confirmed() {
    require_broker().await;
    let settings = settings(&unique_prefix("batch"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("batch")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let messages: Vec<_> = (0..50)
        .map(|index| work_message(&topology, &format!("batch-{index}")))
        .collect();
    let outcome = publisher.publish_batch(&messages).await;

    assert!(
        outcome.all_confirmed(),
        "first failure: {:?}",
        outcome.first_error()
    );
    assert_eq!(outcome.confirmed(), 50);
    let queue = channel
        .queue_declare(
            topology.approvals_queue().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("passive declare succeeds");
    assert_eq!(
        queue.message_count(),
        50,
        "every confirmed message is stored"
    );
}

/// One unroutable message in a batch fails alone; the others stay confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_blames_the_returned_message() {
    require_broker().await;
    let settings = settings(&unique_prefix("batch-return"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) =
        open_channel(&settings, &unique_connection_name("batch-return")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let mut messages: Vec<_> = (0..10)
        .map(|index| work_message(&topology, &format!("mixed-{index}")))
        .collect();
    messages[6].routing_key = "no-such-binding".to_string();
    let outcome = publisher.publish_batch(&messages).await;

    assert!(
        !outcome.all_confirmed(),
        "a returned message fails the batch"
    );
    assert_eq!(outcome.confirmed(), 9);
    for (index, result) in outcome.results().iter().enumerate() {
        if index == 6 {
            assert!(
                matches!(result, Err(PublishError::Returned { .. })),
                "message 6 is the unroutable one: {result:?}"
            );
        } else {
            assert!(result.is_ok(), "message {index} was routable: {result:?}");
        }
    }
}

/// A full work queue (`x-overflow=reject-publish`) nacks further publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_nacks() {
    require_broker().await;
    let settings = RawBrokerConfig {
        url: Some(SecretString::from(broker_support::amqp_url())),
        prefix: unique_prefix("full"),
        retry_tiers: vec!["1s".into()],
        approvals_max_length: 1,
        ..RawBrokerConfig::default()
    }
    .validate()
    .unwrap();
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("full")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    publisher
        .publish(&work_message(&topology, "fits-1"))
        .await
        .expect("the first message fits");
    // RabbitMQ may let a few in-flight messages overshoot the limit, so several
    // further publishes are tried.
    let mut nacked = false;
    for index in 0..5 {
        let result = publisher
            .publish(&work_message(&topology, &format!("overflow-{index}")))
            .await;
        if matches!(result, Err(PublishError::Nacked)) {
            nacked = true;
            break;
        }
    }
    assert!(nacked, "a publish into the full queue is nacked");
}

/// Publishing to an exchange that does not exist fails with the channel error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_exchange_is_a_channel_error() {
    require_broker().await;
    let settings = settings(&unique_prefix("no-exchange"), &["1s"]);
    let topology = Topology::new(&settings);
    let (connection, _channel) =
        open_channel(&settings, &unique_connection_name("no-exchange")).await;
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let error = publisher
        .publish(&work_message(&topology, "nowhere-1"))
        .await
        .expect_err("the exchange was never declared");

    match error {
        PublishError::Channel(source) => {
            assert!(
                source.to_string().contains("NOT_FOUND"),
                "broker reason kept: {source}"
            );
        }
        other => panic!("expected a channel error, got {other:?}"),
    }
}

/// A broker that stops responding makes the confirm time out instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_broker_times_out() {
    require_broker().await;
    let proxy = BrokerProxy::start(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let direct = settings(&unique_prefix("timeout"), &["1s"]);
    let _guard = TopologyGuard::new(&direct);
    let mut settings = settings_for(&proxy.url(), &direct.prefix, &["1s"]);
    settings.confirm_timeout = Duration::from_millis(800);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("timeout")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    proxy.set_frozen(true);
    let started = tokio::time::Instant::now();
    let error = publisher
        .publish(&work_message(&topology, "stalled-1"))
        .await
        .expect_err("no confirm can arrive through a frozen proxy");
    let waited = started.elapsed();
    proxy.set_frozen(false);

    match error {
        PublishError::Timeout { stage, after } => {
            assert_eq!(stage, PublishStage::Confirm);
            assert_eq!(after, Duration::from_millis(800));
        }
        other => panic!("expected a confirm timeout, got {other:?}"),
    }
    assert!(waited < Duration::from_secs(5), "gave up after {waited:?}");
}
