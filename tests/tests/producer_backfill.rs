//! `producer backfill` against the DingTalk simulator and the local RabbitMQ: it
//! publishes what its days hold, reports progress, never moves the watermark
//! backwards, and refuses days further back than DingTalk lists.

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::i18n::{Lang, Localize};
use dingk3_producer::{BackfillDays, PollOutcome, Producer, ProducerError, TerminalProgress};
use dingk3_simulator::dingtalk::{DingTalkOptions, RunningDingTalk};
use dingk3_tests::dingtalk::{PROCESS_CODE, start_simulator_with};
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

/// Returns the last `days` Beijing days, today included.
fn last_days(days: i64) -> BackfillDays {
    let today = utc_to_beijing(Utc::now()).date();
    BackfillDays {
        from: today - TimeDelta::days(days - 1),
        to: today,
    }
}

/// A backfill publishes the approved cases, counts its progress, and prints the
/// summary; without a watermark it sets none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_publishes_with_progress() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("backfill");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("bf"));
    let producer = Producer::open(config).await.unwrap();
    let progress = TerminalProgress::new(Lang::En, false);

    let summary = producer
        .backfill(last_days(30), None, &progress, &CancellationToken::new())
        .await
        .expect("the backfill runs");
    let route = &summary.routes[0];
    assert_eq!(route.outcome, PollOutcome::Complete, "{:?}", route.errors);
    assert_eq!(route.published, 4);
    assert_eq!(route.skipped, 1);

    let counts = progress.counts();
    assert_eq!(
        counts.slices_done, counts.slices_total,
        "every slice is listed"
    );
    assert!(counts.slices_total >= 1);
    assert_eq!(counts.to_fetch, Some(5), "five instances to fetch");
    assert_eq!(counts.fetched, 5);
    assert_eq!(counts.published, 4);
    assert_eq!(counts.skipped, 1);

    let rendered = summary.render("backfill", Lang::En);
    assert!(rendered.contains("published 4"), "{rendered}");
    assert!(
        summary.render("backfill", Lang::Zh).contains("发布 4"),
        "the summary speaks Chinese too"
    );
    assert_eq!(
        producer.ledger().watermark(PROCESS_CODE).await.unwrap(),
        None,
        "a backfill does not start a watermark"
    );
    assert_eq!(probe.drain().await.len(), 4);

    let again = producer.once(&CancellationToken::new()).await.unwrap();
    assert_eq!(
        again.routes[0].published, 0,
        "a poll after the backfill publishes nothing again"
    );
    assert!(probe.drain().await.is_empty());
    simulator.shutdown().await;
}

/// A backfill that reaches the watermark moves it forward to its end; one that ends
/// before the watermark leaves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_never_moves_watermark_back() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("watermark");
    let _probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("wm"));
    let producer = Producer::open(config).await.unwrap();
    let stop = CancellationToken::new();
    let progress = TerminalProgress::new(Lang::En, false);

    producer.once(&stop).await.unwrap();
    let after_once = producer
        .ledger()
        .watermark(PROCESS_CODE)
        .await
        .unwrap()
        .expect("once sets the watermark");

    let today = utc_to_beijing(Utc::now()).date();
    let old_days = BackfillDays {
        from: today - TimeDelta::days(30),
        to: today - TimeDelta::days(20),
    };
    producer
        .backfill(old_days, None, &progress, &stop)
        .await
        .unwrap();
    assert_eq!(
        producer.ledger().watermark(PROCESS_CODE).await.unwrap(),
        Some(after_once),
        "a backfill of older days leaves the watermark"
    );

    let summary = producer
        .backfill(last_days(30), None, &progress, &stop)
        .await
        .unwrap();
    let moved = producer
        .ledger()
        .watermark(PROCESS_CODE)
        .await
        .unwrap()
        .unwrap();
    assert!(moved >= after_once, "the watermark never moves back");
    assert_eq!(summary.routes[0].watermark, Some(moved));
    simulator.shutdown().await;
}

/// Days further back than DingTalk lists are refused with the earliest allowed date
/// and the key that raises the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_too_old_refused() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("too-old");
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("old"));
    let producer = Producer::open(config).await.unwrap();
    let days = BackfillDays {
        from: "2000-01-01".parse().unwrap(),
        to: "2000-01-31".parse().unwrap(),
    };

    let error = producer
        .backfill(
            days,
            None,
            &TerminalProgress::new(Lang::En, false),
            &CancellationToken::new(),
        )
        .await
        .expect_err("a window of 2000 is refused");
    assert!(matches!(error, ProducerError::BackfillWindow(_)), "{error}");
    assert_eq!(error.exit_code(), 2);
    let client = dingk3::dingtalk::DingTalkClient::new(producer.config().dingtalk.clone()).unwrap();
    let earliest = utc_to_beijing(client.earliest_window_start(Utc::now()))
        .date()
        .to_string();
    let text = error.localize();
    assert!(
        text.en.contains("dingtalk.max_lookback_days"),
        "names the key: {}",
        text.en
    );
    assert!(
        text.en.contains(&earliest),
        "names the earliest allowed date: {}",
        text.en
    );
    assert_eq!(
        simulator.handle().counters().len(),
        0,
        "no DingTalk call was made"
    );
    simulator.shutdown().await;
}

/// `--process-code` must name a configured route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_unknown_route_refused() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("route");
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("rt"));
    let producer = Producer::open(config).await.unwrap();

    let error = producer
        .backfill(
            last_days(3),
            Some("PROC-NOT-ROUTED"),
            &TerminalProgress::new(Lang::En, false),
            &CancellationToken::new(),
        )
        .await
        .expect_err("an unrouted process code is refused");
    assert_eq!(error.exit_code(), 2);
    assert!(
        error.localize().en.contains(PROCESS_CODE),
        "lists the configured codes"
    );
    simulator.shutdown().await;
}
