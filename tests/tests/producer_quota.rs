//! `producer run` when DingTalk reports the monthly API quota exhausted: polling
//! pauses for `quota_pause_minutes`, no DingTalk call is made meanwhile, and the
//! `dingk3_producer_quota_exhausted` gauge is set. This file contains one test, so no
//! other producer in the process touches the gauge.

use std::sync::Arc;
use std::time::Duration;

use dingk3_producer::Producer;
use dingk3_producer::metrics::QUOTA_EXHAUSTED;
use dingk3_simulator::dingtalk::{Api, DingTalkOptions, FaultKind, FaultRule};
use dingk3_tests::dingtalk::start_simulator_with;
use dingk3_tests::producer::{
    BrokerProbe, TestConfig, TestLedger, cases_dir, require_broker, unique_name, wait_until,
};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exhausted_pauses_run() {
    require_broker().await;
    let simulator = start_simulator_with(DingTalkOptions {
        instances_dir: Some(cases_dir()),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await;
    simulator
        .handle()
        .add_fault(FaultRule::always(FaultKind::QuotaExhausted))
        .unwrap();
    let prefix = unique_name("quota-run");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url)
        .producer("quota_pause_minutes", 1)
        .build(&unique_name("quota"));
    let producer = Arc::new(Producer::open(config).await.unwrap());
    let shutdown = CancellationToken::new();
    let task = {
        let producer = Arc::clone(&producer);
        let shutdown = shutdown.clone();
        tokio::spawn(async move { producer.run(shutdown).await })
    };

    let status = producer.status();
    assert!(
        wait_until(Duration::from_secs(20), || status.borrow().quota_paused).await,
        "the loop pauses after the quota error"
    );
    assert_eq!(QUOTA_EXHAUSTED.get(), 1, "the gauge shows the pause");
    let listings = |simulator: &dingk3_simulator::dingtalk::RunningDingTalk| {
        simulator
            .handle()
            .counters()
            .get(&Api::Listids)
            .copied()
            .unwrap_or(0)
    };
    let calls_at_pause = listings(&simulator);
    let cycles_at_pause = status.borrow().cycles;

    // Three poll intervals pass without a single DingTalk call.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        listings(&simulator),
        calls_at_pause,
        "no listing while the quota pause lasts"
    );
    assert_eq!(
        status.borrow().cycles,
        cycles_at_pause,
        "no poll cycle while paused"
    );
    assert!(status.borrow().leader, "the paused producer keeps the lock");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("run stops during the pause")
        .unwrap()
        .expect("run ends without error");
    assert!(probe.drain().await.is_empty(), "nothing was published");
    simulator.shutdown().await;
}
