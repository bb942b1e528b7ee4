//! Carrying out a fault schedule against a running pipeline: killing and replacing
//! processes, closing their broker connections and checking that each reconnects, and
//! injecting DingTalk throttling and token expiry.
//!
//! A process that exits by itself is a crash, and a process that does not reconnect
//! within [`RECONNECT_WITHIN`] of losing its connection is stuck. Both panic with the
//! process's log, because either would leave approvals unprocessed in production.

use std::collections::BTreeMap;
use std::time::Duration;

use dingk3::i18n::{Lang, Text};
use dingk3::ledger::Status;
use dingk3::text;
use dingk3_simulator::dingtalk::FaultRule;
use tokio::time::Instant;

use super::connections::force_close;
use super::plan::{Action, Event, Slot, SplitMix64};
use crate::pipeline::Pipeline;

/// Metric every supervised broker connection increments when it is re-established.
pub const RECONNECTS_METRIC: &str = "dingk3_broker_reconnects_total";

/// Time a process has to re-establish its broker connection after it was closed.
pub const RECONNECT_WITHIN: Duration = Duration::from_secs(30);

/// Time a replacement process has to open its first broker connection.
const CONNECTION_LISTED_WITHIN: Duration = Duration::from_secs(30);

/// Pause between two progress checks.
const TICK: Duration = Duration::from_millis(500);

/// What the chaos did, for the report.
#[derive(Debug, Clone, Default)]
pub struct ChaosLog {
    /// Consumer processes killed with SIGKILL.
    pub consumer_kills: usize,
    /// Producer processes killed with SIGKILL.
    pub producer_kills: usize,
    /// Broker connections force-closed.
    pub connection_closes: usize,
    /// Reconnects counted by processes that were killed later; the live ones are read
    /// at the end.
    pub retired_reconnects: u64,
    /// Throttled calls requested from the DingTalk simulator, by fault kind.
    pub throttles_requested: BTreeMap<String, u64>,
    /// Times every DingTalk token was expired.
    pub token_expiries: u64,
    /// One line per event, with the time since the start.
    pub timeline: Vec<String>,
}

/// Progress of a run, as fractions from 0 to 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Approvals with a ledger row.
    pub intake: f64,
    /// Approved claims whose ledger row reached `saved`, `rejected` or `dead`.
    pub written: f64,
}

/// Counts the run's progress against `approvals` served and `approved` among them.
pub async fn progress(pipeline: &Pipeline, approvals: usize, approved: usize) -> Progress {
    let rows = pipeline.ledger_view().rows().await;
    let ended = rows
        .values()
        .filter(|row| matches!(row.status, Status::Saved | Status::Rejected | Status::Dead))
        .count();
    Progress {
        intake: rows.len() as f64 / approvals.max(1) as f64,
        written: ended as f64 / approved.max(1) as f64,
    }
}

/// Runs a fault schedule. Each event fires once its trigger is reached; between
/// events, and after the producer has recorded every approval, DingTalk faults keep
/// arriving every few seconds. Returns when every event fired, or panics at
/// `deadline`.
pub struct Chaos<'a> {
    pipeline: &'a mut Pipeline,
    slots: Vec<String>,
    rng: SplitMix64,
    started: Instant,
    lang: Lang,
    log: ChaosLog,
}

impl<'a> Chaos<'a> {
    /// Prepares the chaos for a pipeline whose consumers were started in slot order.
    pub fn new(pipeline: &'a mut Pipeline, seed: u64, lang: Lang) -> Chaos<'a> {
        let slots = pipeline
            .consumers
            .iter()
            .map(|consumer| consumer.id.clone())
            .collect();
        Chaos {
            pipeline,
            slots,
            rng: SplitMix64::new(seed ^ 0xc4a05),
            started: Instant::now(),
            lang,
            log: ChaosLog::default(),
        }
    }

    /// Fires `events` as their triggers are reached and returns what was done.
    pub async fn run(
        mut self,
        mut events: Vec<Event>,
        approvals: usize,
        approved: usize,
        deadline: Instant,
    ) -> ChaosLog {
        let mut next_background = Instant::now() + self.rng.duration_ms(3_000, 8_000);
        while !events.is_empty() {
            self.check_alive();
            let now = progress(self.pipeline, approvals, approved).await;
            let (due, waiting): (Vec<Event>, Vec<Event>) = events
                .into_iter()
                .partition(|event| event.trigger.reached(now.intake, now.written));
            events = waiting;
            for event in due {
                self.fire(event.action, now).await;
            }
            if Instant::now() >= next_background {
                let action = if self.rng.below(4) == 0 {
                    Action::ExpireTokens
                } else {
                    self.rng.throttle()
                };
                self.fire(action, now).await;
                next_background = Instant::now() + self.rng.duration_ms(3_000, 8_000);
            }
            assert!(
                Instant::now() < deadline,
                "the fault schedule did not finish in time: at intake {:.0} % and written {:.0} %, {} events wait: {events:?}{}",
                now.intake * 100.0,
                now.written * 100.0,
                events.len(),
                self.pipeline.logs()
            );
            tokio::time::sleep(TICK).await;
        }
        self.check_alive();
        self.log
    }

    /// Panics when a process exited without being told to.
    fn check_alive(&mut self) {
        if let Some(producer) = self.pipeline.producer.as_mut()
            && let Some(status) = producer.exited()
        {
            panic!(
                "the producer exited by itself with {status}{}",
                producer.log_tail()
            );
        }
        for consumer in &mut self.pipeline.consumers {
            if let Some(status) = consumer.exited() {
                panic!(
                    "consumer {} exited by itself with {status}{}",
                    consumer.id,
                    consumer.log_tail()
                );
            }
        }
    }

    async fn fire(&mut self, action: Action, now: Progress) {
        let at = format!(
            "{:>6.1} s, intake {:>3.0} %, written {:>3.0} %",
            self.started.elapsed().as_secs_f64(),
            now.intake * 100.0,
            now.written * 100.0
        );
        let what = match action {
            Action::Kill {
                slot: Slot::Producer,
                restart_after,
            } => self.kill_producer(restart_after).await,
            Action::Kill {
                slot: Slot::Consumer(slot),
                restart_after,
            } => self.kill_consumer(slot, restart_after).await,
            Action::CloseConnection(slot) => self.close_connection(slot).await,
            Action::Throttle { kind, calls } => {
                let name = kind_name(&kind);
                self.pipeline
                    .dingtalk
                    .handle()
                    .add_fault(FaultRule::next(kind, calls))
                    .expect("a throttling rule is valid");
                *self
                    .log
                    .throttles_requested
                    .entry(name.clone())
                    .or_default() += u64::from(calls);
                text!(
                    en: "DingTalk throttles the next {calls} calls ({name})",
                    zh: "钉钉对接下来的 {calls} 次调用限流（{name}）",
                )
            }
            Action::ExpireTokens => {
                self.pipeline.dingtalk.handle().expire_tokens();
                self.log.token_expiries += 1;
                text!(
                    en: "every DingTalk access token expired",
                    zh: "所有钉钉 access token 已过期",
                )
            }
        };
        let line = format!("[{at}] {}", what.get(self.lang));
        eprintln!("{line}");
        self.log.timeline.push(line);
    }

    async fn kill_producer(&mut self, restart_after: Duration) -> Text {
        let reconnects = self.producer_reconnects().await;
        self.log.retired_reconnects += reconnects;
        self.pipeline.kill_producer().await;
        self.log.producer_kills += 1;
        tokio::time::sleep(restart_after).await;
        self.pipeline.start_producer().await;
        let seconds = restart_after.as_secs_f64();
        text!(
            en: "producer killed with SIGKILL, a new one started {seconds:.1} s later",
            zh: "producer 被 SIGKILL 杀死，{seconds:.1} 秒后启动了新的 producer",
        )
    }

    async fn kill_consumer(&mut self, slot: usize, restart_after: Duration) -> Text {
        let victim = self.slots[slot].clone();
        let index = self.consumer_index(&victim);
        let reconnects = metric(
            self.pipeline.consumers[index]
                .metric(RECONNECTS_METRIC)
                .await,
        );
        self.log.retired_reconnects += reconnects;
        self.pipeline.kill_consumer(index).await;
        self.log.consumer_kills += 1;
        tokio::time::sleep(restart_after).await;
        let replacement = self.pipeline.start_consumer().await.id.clone();
        self.slots[slot] = replacement.clone();
        let seconds = restart_after.as_secs_f64();
        text!(
            en: "consumer {victim} killed with SIGKILL, {replacement} started {seconds:.1} s later",
            zh: "consumer {victim} 被 SIGKILL 杀死，{seconds:.1} 秒后启动了 {replacement}",
        )
    }

    /// Closes the broker connection of the process in `slot` and waits until the
    /// process counts a reconnect.
    async fn close_connection(&mut self, slot: Slot) -> Text {
        let (name, before) = match slot {
            Slot::Producer => {
                let producer = self.pipeline.producer();
                (
                    producer.connection_name.clone(),
                    self.producer_reconnects().await,
                )
            }
            Slot::Consumer(slot) => {
                let index = self.consumer_index(&self.slots[slot].clone());
                let consumer = &self.pipeline.consumers[index];
                (
                    consumer.connection_name.clone(),
                    metric(consumer.metric(RECONNECTS_METRIC).await),
                )
            }
        };
        force_close(&name, CONNECTION_LISTED_WITHIN).await;
        self.log.connection_closes += 1;

        let closed_at = Instant::now();
        loop {
            let after = match slot {
                Slot::Producer => self.producer_reconnects().await,
                Slot::Consumer(slot) => {
                    let index = self.consumer_index(&self.slots[slot].clone());
                    metric(
                        self.pipeline.consumers[index]
                            .metric(RECONNECTS_METRIC)
                            .await,
                    )
                }
            };
            if after > before {
                break;
            }
            assert!(
                closed_at.elapsed() < RECONNECT_WITHIN,
                "{name} did not reconnect within {RECONNECT_WITHIN:?} after its broker connection was closed{}",
                self.pipeline.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let seconds = closed_at.elapsed().as_secs_f64();
        text!(
            en: "broker connection {name} force-closed; reconnected within {seconds:.1} s",
            zh: "已强制关闭 broker 连接 {name}；{seconds:.1} 秒内已重连",
        )
    }

    async fn producer_reconnects(&self) -> u64 {
        metric(self.pipeline.producer().metric(RECONNECTS_METRIC).await)
    }

    fn consumer_index(&self, id: &str) -> usize {
        self.pipeline
            .consumers
            .iter()
            .position(|consumer| consumer.id == id)
            .unwrap_or_else(|| panic!("consumer {id} is not running"))
    }
}

/// Returns a counter's value; a counter that has not been incremented yet is absent
/// from `/metrics` and counts as 0.
pub fn metric(value: Option<f64>) -> u64 {
    value.unwrap_or(0.0) as u64
}

/// Returns the snake_case name of a DingTalk fault kind, as its admin API spells it.
pub fn kind_name(kind: &impl serde::Serialize) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "unknown".to_string(),
    }
}
