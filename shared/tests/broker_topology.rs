//! Topology against a real RabbitMQ: idempotent declaration, a clear error for a queue
//! left with other arguments, and the paths a message takes between the work, retry
//! and dead-letter queues.

mod broker_support;

use std::time::Duration;

use broker_support::{
    TopologyGuard, get_within, headers_of, message_id_of, open_channel, queue_arguments,
    require_broker, settings, unique_connection_name, unique_prefix, work_message,
};
use dingk3::broker::config::RawBrokerConfig;
use dingk3::broker::headers::read_string;
use dingk3::broker::{AckOutcome, OutgoingMessage, Publisher, Topology, TopologyError, split};
use lapin::types::AMQPValue;
use secrecy::SecretString;

/// Declaring the same topology twice, even on two connections, succeeds and creates
/// every queue with the arguments RabbitMQ 3.10 and 4.x must agree on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declare_twice_is_idempotent() {
    require_broker().await;
    let settings = settings(&unique_prefix("declare"), &["1s", "2s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);

    let (_first, channel) = open_channel(&settings, &unique_connection_name("declare-a")).await;
    topology
        .declare(&channel)
        .await
        .expect("first declaration succeeds");
    topology
        .declare(&channel)
        .await
        .expect("second declaration on the same channel succeeds");
    let (_second, other) = open_channel(&settings, &unique_connection_name("declare-b")).await;
    topology
        .declare(&other)
        .await
        .expect("declaration from another connection succeeds");

    let approvals = queue_arguments(&topology.approvals_queue()).await;
    assert!(
        approvals.contains("at-least-once"),
        "work queue arguments: {approvals}"
    );
    assert!(
        approvals.contains("reject-publish"),
        "work queue arguments: {approvals}"
    );
    assert!(
        approvals.contains("x-delivery-limit"),
        "work queue arguments: {approvals}"
    );
    let retry = queue_arguments(&topology.retry_queue(&topology.retry_tiers()[0])).await;
    assert!(
        retry.contains("x-message-ttl"),
        "retry queue arguments: {retry}"
    );
    let dead = queue_arguments(&topology.dead_queue()).await;
    assert!(dead.contains("quorum"), "dead queue arguments: {dead}");
}

/// A queue that exists with another delivery limit makes the declaration fail with an
/// error naming the queue and the way out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_arguments_name_the_queue() {
    require_broker().await;
    let settings = settings(&unique_prefix("mismatch"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let (_connection, channel) = open_channel(&settings, &unique_connection_name("mismatch")).await;
    Topology::new(&settings)
        .declare(&channel)
        .await
        .expect("first declaration succeeds");

    let changed = RawBrokerConfig {
        url: Some(SecretString::from(broker_support::amqp_url())),
        prefix: settings.prefix.clone(),
        retry_tiers: vec!["1s".into()],
        delivery_limit: settings.delivery_limit + 5,
        ..RawBrokerConfig::default()
    }
    .validate()
    .unwrap();
    let changed_topology = Topology::new(&changed);
    let (_other, other_channel) =
        open_channel(&changed, &unique_connection_name("mismatch-b")).await;
    let error = changed_topology
        .declare(&other_channel)
        .await
        .expect_err("a changed delivery limit cannot be applied");

    match &error {
        TopologyError::QueueMismatch { name, .. } => {
            assert_eq!(
                name,
                &changed_topology.approvals_queue(),
                "the changed queue is named"
            );
        }
        other => panic!("expected QueueMismatch, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("rabbitmqctl delete_queue"),
        "the fix is explained: {text}"
    );
    assert!(
        text.contains("x-delivery-limit"),
        "the broker's reason is kept: {text}"
    );
}

/// A message published to a retry tier comes back to the work queue after the tier's
/// TTL, through the tier queue's dead-letter exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_tier_returns_to_work_queue() {
    require_broker().await;
    let settings = settings(&unique_prefix("retry"), &["1s", "1m"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("retry")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let tier = topology
        .tier_for_attempt(1)
        .expect("a first tier exists")
        .clone();
    let mut message = work_message(&topology, "retry-1");
    message.exchange = topology.retry_exchange();
    message.routing_key = tier.label().to_string();
    publisher
        .publish(&message)
        .await
        .expect("retry publish confirmed");

    let early = get_within(
        &channel,
        &topology.approvals_queue(),
        Duration::from_millis(200),
    )
    .await;
    assert!(early.is_none(), "the message must wait for the tier's TTL");
    let back = get_within(
        &channel,
        &topology.approvals_queue(),
        Duration::from_secs(15),
    )
    .await
    .expect("the message returns to the work queue after the TTL");
    assert_eq!(message_id_of(&back.delivery.properties), "retry-1");
    let headers = headers_of(&back.delivery.properties);
    assert_eq!(
        read_string(&headers, "x-first-death-queue").as_deref(),
        Some(topology.retry_queue(&tier).as_str()),
        "the broker records the retry queue as the first death"
    );
    assert_eq!(
        read_string(&headers, "x-first-death-reason").as_deref(),
        Some("expired"),
        "the message left the retry queue by TTL"
    );
    let (_, handle) = split(back.delivery);
    assert_eq!(handle.ack().await, AckOutcome::Sent);
}

/// A consumer's reject without requeue moves the message to the dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_reaches_dead_queue() {
    require_broker().await;
    let settings = settings(&unique_prefix("reject"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("reject")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");
    publisher
        .publish(&work_message(&topology, "poison-1"))
        .await
        .expect("publish confirmed");

    let delivery = get_within(
        &channel,
        &topology.approvals_queue(),
        Duration::from_secs(5),
    )
    .await
    .expect("the message is in the work queue");
    let (_, handle) = split(delivery.delivery);
    assert_eq!(handle.reject(false).await, AckOutcome::Sent);

    let dead = get_within(&channel, &topology.dead_queue(), Duration::from_secs(15))
        .await
        .expect("the rejected message reaches the dead-letter queue");
    assert_eq!(message_id_of(&dead.delivery.properties), "poison-1");
    let headers = headers_of(&dead.delivery.properties);
    assert_eq!(
        read_string(&headers, "x-first-death-reason").as_deref(),
        Some("rejected")
    );
    assert_eq!(
        read_string(&headers, "x-first-death-queue").as_deref(),
        Some(topology.approvals_queue().as_str())
    );
    assert!(
        matches!(
            headers.inner().get("x-death"),
            Some(AMQPValue::FieldArray(_))
        ),
        "x-death is recorded"
    );
    let (_, handle) = split(dead.delivery);
    assert_eq!(handle.ack().await, AckOutcome::Sent);
}

/// A message requeued more often than the delivery limit is dead-lettered: the limit
/// stops a message that crashes every consumer from looping forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_limit_dead_letters_crash_loops() {
    require_broker().await;
    let prefix = unique_prefix("limit");
    let settings = RawBrokerConfig {
        url: Some(SecretString::from(broker_support::amqp_url())),
        prefix,
        retry_tiers: vec!["1s".into()],
        delivery_limit: 1,
        ..RawBrokerConfig::default()
    }
    .validate()
    .unwrap();
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("limit")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");
    publisher
        .publish(&work_message(&topology, "crash-1"))
        .await
        .expect("publish confirmed");

    for attempt in 1..=2 {
        let delivery = get_within(
            &channel,
            &topology.approvals_queue(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|| panic!("delivery {attempt} arrives"));
        let (_, handle) = split(delivery.delivery);
        assert_eq!(handle.reject(true).await, AckOutcome::Sent);
    }

    let dead = get_within(&channel, &topology.dead_queue(), Duration::from_secs(15))
        .await
        .expect("the message over the delivery limit reaches the dead-letter queue");
    let headers = headers_of(&dead.delivery.properties);
    assert_eq!(
        read_string(&headers, "x-first-death-reason").as_deref(),
        Some("delivery_limit")
    );
    let leftover = get_within(
        &channel,
        &topology.approvals_queue(),
        Duration::from_millis(300),
    )
    .await;
    assert!(
        leftover.is_none(),
        "the work queue is empty after dead-lettering"
    );
    let (_, handle) = split(dead.delivery);
    assert_eq!(handle.ack().await, AckOutcome::Sent);
}

/// A dead letter published by the consumer with the pipeline's failure headers keeps
/// them, readable by [`dingk3::broker::PipelineHeaders`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_keeps_failure_headers() {
    require_broker().await;
    let settings = settings(&unique_prefix("failure"), &["1s"]);
    let _guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let (connection, channel) = open_channel(&settings, &unique_connection_name("failure")).await;
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");

    let failure = dingk3::broker::Failure {
        kind: "rejected".into(),
        error: "费用项目 FYXM99 不存在".into(),
        detail: Some(serde_json::json!([{"FieldName": "FCOSTID", "Message": "不存在"}])),
        failed_at: Some(chrono::Utc::now()),
    };
    let pipeline = dingk3::broker::PipelineHeaders {
        attempt: 2,
        replay_count: 0,
        failure: Some(failure),
    };
    let mut message: OutgoingMessage = work_message(&topology, "failed-1");
    message.exchange = topology.dead_exchange();
    message.properties = message.properties.with_headers(pipeline.to_field_table());
    publisher
        .publish(&message)
        .await
        .expect("dead-letter publish confirmed");

    let dead = get_within(&channel, &topology.dead_queue(), Duration::from_secs(5))
        .await
        .expect("the dead letter is in the dead-letter queue");
    let read = dingk3::broker::PipelineHeaders::from_properties(&dead.delivery.properties);
    let sent = pipeline.failure.as_ref().unwrap();
    let received = read
        .failure
        .as_ref()
        .expect("failure headers survive the broker");
    assert_eq!(read.attempt, 2);
    assert_eq!(received.kind, sent.kind);
    assert_eq!(received.error, sent.error);
    assert_eq!(received.detail, sent.detail);
    let (_, handle) = split(dead.delivery);
    assert_eq!(handle.ack().await, AckOutcome::Sent);
}
