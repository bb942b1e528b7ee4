//! `producer run` with leader election against the local RabbitMQ. A second producer
//! waits on standby and takes over within seconds when the leader's lock connection
//! closes, and the old leader stops polling. One-shot commands do not poll beside a
//! leader, shutdown releases the lock, and the operations endpoint reports readiness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dingk3::broker::LeaderLock;
use dingk3_producer::{Producer, ProducerError};
use dingk3_simulator::dingtalk::{DingTalkOptions, RunningDingTalk};
use dingk3_tests::dingtalk::start_simulator_with;
use dingk3_tests::producer::{
    BrokerProbe, TestConfig, TestLedger, cases_dir, force_close_connection, require_broker,
    unique_name, wait_until,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

async fn cases_simulator() -> RunningDingTalk {
    start_simulator_with(DingTalkOptions {
        instances_dir: Some(cases_dir()),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await
}

/// A producer running its loop in the background.
struct Running {
    producer: Arc<Producer>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), ProducerError>>,
}

impl Running {
    fn start(producer: Producer) -> Running {
        let producer = Arc::new(producer);
        let shutdown = CancellationToken::new();
        let task = {
            let producer = Arc::clone(&producer);
            let shutdown = shutdown.clone();
            tokio::spawn(async move { producer.run(shutdown).await })
        };
        Running {
            producer,
            shutdown,
            task,
        }
    }

    fn is_leader(&self) -> bool {
        self.producer.status().borrow().leader
    }

    fn cycles(&self) -> u64 {
        self.producer.status().borrow().cycles
    }

    async fn stop(self) -> Result<(), ProducerError> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("run stops within 30 s of shutdown")
            .expect("the run task does not panic")
    }
}

async fn open(config: &TestConfig<'_>, name: &str) -> Producer {
    Producer::open(config.build(name)).await.unwrap()
}

/// The standby producer takes over within seconds once the leader's lock connection
/// closes, and the old leader stops polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standby_takes_over() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("takeover");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url);
    let first_name = unique_name("leader");
    let first = Running::start(open(&config, &first_name).await);
    assert!(
        wait_until(Duration::from_secs(20), || first.is_leader()
            && first.cycles() >= 1)
        .await,
        "the first producer leads and polls"
    );

    let second = Running::start(open(&config, &unique_name("standby")).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!second.is_leader(), "the second producer stands by");
    assert_eq!(second.cycles(), 0, "a standby producer does not poll");
    assert!(first.is_leader(), "the first producer keeps the lock");

    let closed_at = Instant::now();
    force_close_connection(&format!("{first_name}-leader")).await;
    assert!(
        wait_until(Duration::from_secs(10), || second.is_leader()).await,
        "the standby producer takes over within 10 s"
    );
    let takeover = closed_at.elapsed();
    assert!(
        wait_until(Duration::from_secs(5), || !first.is_leader()).await,
        "the old leader knows it lost the lock"
    );
    let first_cycles = first.cycles();
    assert!(
        wait_until(Duration::from_secs(10), || second.cycles() >= 2).await,
        "the new leader polls"
    );
    assert_eq!(
        first.cycles(),
        first_cycles,
        "the old leader stopped polling"
    );
    eprintln!("takeover took {takeover:?}");

    first.stop().await.expect("the old leader stops cleanly");
    second.stop().await.expect("the new leader stops cleanly");
    let published: Vec<String> = probe
        .drain()
        .await
        .into_iter()
        .map(|message| message.envelope.process_instance_id)
        .collect();
    assert_eq!(published.len(), 4, "each approved case is published once");
    simulator.shutdown().await;
}

/// `once` refuses to poll while another producer leads, after a short wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn once_refused_beside_leader() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("busy");
    let _probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url);
    let leader = Running::start(open(&config, &unique_name("leader")).await);
    assert!(wait_until(Duration::from_secs(20), || leader.is_leader()).await);

    let other = open(&config, &unique_name("once")).await;
    let error = other
        .once(&CancellationToken::new())
        .await
        .expect_err("once fails while another producer leads");
    assert!(
        matches!(error, ProducerError::LeaderHeldElsewhere { .. }),
        "{error}"
    );
    assert_eq!(error.exit_code(), 1);
    let text = dingk3::i18n::Localize::localize(&error);
    assert!(
        text.en.contains("producer-lock"),
        "names the lock: {}",
        text.en
    );

    leader.stop().await.unwrap();
    simulator.shutdown().await;
}

/// Shutdown ends the loop with success and frees the lock at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_releases_lock() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("shutdown");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url);
    let running = Running::start(open(&config, &unique_name("leader")).await);
    assert!(wait_until(Duration::from_secs(20), || running.cycles() >= 1).await);

    running.stop().await.expect("run returns Ok after shutdown");
    let lock = LeaderLock::try_acquire(
        &probe.settings,
        dingk3_simulator::dingtalk::DEFAULT_APP_KEY,
        &unique_name("after"),
    )
    .await
    .expect("the lock attempt runs");
    assert!(lock.is_some(), "a stopped producer holds no lock");
    simulator.shutdown().await;
}

/// `/healthz`, `/readyz` and `/metrics` of a running leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operations_endpoint_reports() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("ops");
    let _probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url);
    let producer = open(&config, &unique_name("ops")).await;
    let address = producer
        .serve_operations()
        .await
        .expect("the endpoint binds");
    let get = |path: &'static str| async move {
        let response = reqwest::get(format!("http://{address}{path}"))
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(
        get("/readyz").await.0,
        503,
        "not ready before the loop connects"
    );

    let running = Running::start(producer);
    assert!(wait_until(Duration::from_secs(20), || running.cycles() >= 1).await);
    let mut ready = false;
    for _ in 0..50 {
        if get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "ready once the broker and the ledger are connected");
    let (status, metrics) = get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "dingk3_producer_polls_total",
        "dingk3_producer_instances_total",
        "dingk3_producer_published_total",
        "dingk3_producer_lag_seconds",
        "dingk3_producer_poll_seconds",
        "dingk3_producer_is_leader",
    ] {
        assert!(metrics.contains(name), "/metrics lists {name}");
    }
    running.stop().await.unwrap();
    simulator.shutdown().await;
}
