//! The producer when things go wrong: unroutable and refused publishes, DingTalk
//! throttling, an expired token, an exhausted quota and a rejected configuration.
//! In each case no approval is lost and the watermark moves only after a complete
//! poll.

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::broker::{Recovery, connect};
use dingk3::dingtalk::DingTalkClient;
use dingk3::ledger::{Ledger, Status};
use dingk3_producer::outbox::Outbox;
use dingk3_producer::{NoProgress, PollOutcome, Poller, Producer, ProducerConfig, WindowPlan};
use dingk3_simulator::dingtalk::{
    Api, ApprovalResult, DingTalkOptions, FaultKind, FaultRule, RunningDingTalk,
    Status as SimStatus, StatusChange,
};
use dingk3_tests::dingtalk::{PROCESS_CODE, add_instance_created_at, start_simulator_with};
use dingk3_tests::producer::{
    BrokerProbe, TestConfig, TestLedger, cases_dir, require_broker, unique_name,
};
use tokio_util::sync::CancellationToken;

async fn cases_simulator() -> RunningDingTalk {
    start_simulator_with(DingTalkOptions {
        instances_dir: Some(cases_dir()),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await
}

/// Builds a poller and ledger from `config`, to poll through an outbox of the test's
/// own connection.
async fn poller(config: &ProducerConfig) -> (Poller, Ledger) {
    let ledger = Ledger::connect(&config.ledger).await.unwrap();
    let client = DingTalkClient::new(config.dingtalk.clone()).unwrap();
    let poller = Poller::new(
        client,
        ledger.clone(),
        config.producer.clone(),
        config.routes.clone(),
    );
    (poller, ledger)
}

async fn approved_ids(ledger: &Ledger, status: Status) -> u64 {
    let counts = ledger.counts_by_status().await.unwrap();
    counts.get(&status).copied().unwrap_or(0)
}

/// With the work queue gone, every publish is returned: the approvals stay pending,
/// the watermark stays, and the next poll publishes them once the queue is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_publish_stays_pending() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("unroutable");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger_db = TestLedger::sqlite();
    let name = unique_name("unroutable");
    let config = TestConfig::new(&simulator, &prefix, &ledger_db.url).build(&name);
    let (poller, ledger) = poller(&config).await;
    let connection = connect(&config.broker, &name, Recovery::Off).await.unwrap();
    let mut outbox = Outbox::new(&connection, &config.broker);
    let stop = CancellationToken::new();

    probe.delete_work_queue().await;
    let report = poller
        .poll(
            &mut outbox,
            PROCESS_CODE,
            WindowPlan::Incremental,
            &NoProgress,
            &stop,
        )
        .await;
    assert_eq!(report.outcome, PollOutcome::Incomplete);
    assert_eq!(report.published, 0, "a returned message is not a success");
    let returned = report
        .errors
        .iter()
        .filter(|error| error.kind == "publish_returned")
        .count();
    assert_eq!(
        returned, 4,
        "every approved case was returned: {:?}",
        report.errors
    );
    assert_eq!(
        approved_ids(&ledger, Status::Pending).await,
        4,
        "the approved cases stay pending"
    );
    assert_eq!(report.watermark, None);
    assert_eq!(
        ledger.watermark(PROCESS_CODE).await.unwrap(),
        None,
        "the watermark does not move after a failed publish"
    );

    probe.redeclare().await;
    let report = poller
        .poll(
            &mut outbox,
            PROCESS_CODE,
            WindowPlan::Incremental,
            &NoProgress,
            &stop,
        )
        .await;
    assert_eq!(report.outcome, PollOutcome::Complete, "{:?}", report.errors);
    assert_eq!(report.published, 4, "the next poll publishes them");
    assert!(ledger.watermark(PROCESS_CODE).await.unwrap().is_some());
    assert_eq!(probe.drain().await.len(), 4);
    assert_eq!(approved_ids(&ledger, Status::Published).await, 4);
    simulator.shutdown().await;
}

/// Publishing to a missing exchange closes the channel; the approvals stay pending
/// and the next poll publishes them on a new channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_exchange_publish_retried() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("exchange");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger_db = TestLedger::sqlite();
    let name = unique_name("exchange");
    let config = TestConfig::new(&simulator, &prefix, &ledger_db.url).build(&name);
    let (poller, ledger) = poller(&config).await;
    let connection = connect(&config.broker, &name, Recovery::Off).await.unwrap();
    let mut outbox = Outbox::new(&connection, &config.broker);
    let stop = CancellationToken::new();

    probe.delete_approvals_exchange().await;
    let report = poller
        .poll(
            &mut outbox,
            PROCESS_CODE,
            WindowPlan::Incremental,
            &NoProgress,
            &stop,
        )
        .await;
    assert_eq!(report.outcome, PollOutcome::Incomplete);
    assert_eq!(report.published, 0);
    assert!(
        report
            .errors
            .iter()
            .all(|error| error.kind.starts_with("publish_")),
        "only publishes failed: {:?}",
        report.errors
    );
    assert_eq!(approved_ids(&ledger, Status::Pending).await, 4);
    assert_eq!(ledger.watermark(PROCESS_CODE).await.unwrap(), None);

    probe.redeclare().await;
    let report = poller
        .poll(
            &mut outbox,
            PROCESS_CODE,
            WindowPlan::Incremental,
            &NoProgress,
            &stop,
        )
        .await;
    assert_eq!(report.outcome, PollOutcome::Complete, "{:?}", report.errors);
    assert_eq!(report.published, 4);
    assert_eq!(probe.drain().await.len(), 4);
    simulator.shutdown().await;
}

/// Throttling that the client's retries absorb leaves no trace; throttling that
/// outlasts them fails the poll without moving the watermark, and the next poll works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_survived() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("throttle");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("thr"));
    let producer = Producer::open(config).await.unwrap();
    let stop = CancellationToken::new();

    simulator
        .handle()
        .add_fault(FaultRule::always(FaultKind::QpsLimit).on(&[Api::Listids]))
        .unwrap();
    let throttled = producer.once(&stop).await.unwrap();
    assert_eq!(throttled.routes[0].outcome, PollOutcome::Throttled);
    assert_eq!(throttled.exit_code(), 1);
    assert_eq!(
        producer.ledger().watermark(PROCESS_CODE).await.unwrap(),
        None
    );

    simulator.handle().clear_faults();
    simulator
        .handle()
        .add_fault(FaultRule::next(FaultKind::QpsLimit, 3))
        .unwrap();
    let recovered = producer.once(&stop).await.unwrap();
    let route = &recovered.routes[0];
    assert_eq!(route.outcome, PollOutcome::Complete, "{:?}", route.errors);
    assert_eq!(route.published, 4, "the next poll publishes everything");
    assert_eq!(probe.drain().await.len(), 4);
    simulator.shutdown().await;
}

/// An access token that expires between polls is replaced without losing the poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_survived() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let created = utc_to_beijing(Utc::now() - TimeDelta::hours(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let id = add_instance_created_at(&simulator, "pi-token-expiry", &created);
    let prefix = unique_name("token");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("tok"));
    let producer = Producer::open(config).await.unwrap();
    let stop = CancellationToken::new();

    let first = producer.once(&stop).await.unwrap();
    assert_eq!(first.routes[0].published, 4);
    assert_eq!(simulator.handle().tokens_issued(), 1);

    simulator.handle().expire_tokens();
    simulator
        .handle()
        .change_status(
            &id,
            &StatusChange {
                status: SimStatus::Completed,
                result: ApprovalResult::Agree,
                finish_time: None,
                approver: None,
            },
        )
        .unwrap();
    let second = producer.once(&stop).await.unwrap();
    let route = &second.routes[0];
    assert_eq!(route.outcome, PollOutcome::Complete, "{:?}", route.errors);
    assert_eq!(
        route.published, 1,
        "the claim approved meanwhile is published"
    );
    assert_eq!(
        simulator.handle().tokens_issued(),
        2,
        "the expired token was replaced once"
    );
    assert_eq!(probe.drain().await.len(), 5);
    simulator.shutdown().await;
}

/// An exhausted monthly quota fails `once` with its own outcome and exit status 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exhausted_fails_once() {
    require_broker().await;
    let simulator = cases_simulator().await;
    simulator
        .handle()
        .add_fault(FaultRule::always(FaultKind::QuotaExhausted))
        .unwrap();
    let prefix = unique_name("quota-once");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("quo"));
    let producer = Producer::open(config).await.unwrap();

    let summary = producer.once(&CancellationToken::new()).await.unwrap();
    let route = &summary.routes[0];
    assert_eq!(route.outcome, PollOutcome::QuotaExhausted);
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(route.errors[0].kind, "quota_exhausted");
    assert!(probe.drain().await.is_empty());
    simulator.shutdown().await;
}

/// A process code DingTalk does not know is a configuration error (exit status 2);
/// the other routes are still polled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_process_code_exits_two() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("unknown-code");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url)
        .route("PROC-00000000-0000-0000-0000-000000000000")
        .build(&unique_name("unk"));
    let producer = Producer::open(config).await.unwrap();

    let summary = producer.once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.routes.len(), 2);
    assert_eq!(summary.routes[0].outcome, PollOutcome::Complete);
    assert_eq!(summary.routes[1].outcome, PollOutcome::Configuration);
    assert_eq!(summary.exit_code(), 2);
    let message = &summary.routes[1].errors[0].message;
    assert!(
        message.en.contains("process code"),
        "the message names the fix: {}",
        message.en
    );
    assert_eq!(probe.drain().await.len(), 4);
    simulator.shutdown().await;
}

/// Wrong app credentials stop `run` with a configuration error (exit status 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_stops_run() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("secret");
    let _probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url)
        .dingtalk("app_secret", "not-the-secret")
        .build(&unique_name("sec"));
    let producer = Producer::open(config).await.unwrap();

    let stopped = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        producer.run(CancellationToken::new()),
    )
    .await
    .expect("run stops by itself");
    let error = stopped.expect_err("run fails");
    assert_eq!(error.exit_code(), 2, "{error}");
    let text = dingk3::i18n::Localize::localize(&error);
    assert!(text.en.contains("dingtalk.app_secret"), "{}", text.en);
    assert!(text.zh.contains("dingtalk.app_secret"), "{}", text.zh);
    simulator.shutdown().await;
}
