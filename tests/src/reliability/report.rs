//! The fault suite's report: what was injected (read from the simulators' counters and
//! the processes' metrics), what came out (bills, duplicates, lost claims, dead
//! letters) and the broken invariants, printed in English or Chinese and written as
//! JSON for the record.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use dingk3::i18n::Lang;
use dingk3::text;
use dingk3_simulator::dingtalk::FaultRule;
use dingk3_simulator::k3cloud::Stats;
use serde::Serialize;

use super::chaos::{ChaosLog, kind_name};
use super::checks::Verdict;

/// K3Cloud simulator outcomes that are injected faults, with the report's name.
const K3_FAULTS: [(&str, &str); 5] = [
    ("fault_http_5xx", "http_5xx"),
    ("fault_hang", "hang_past_timeout"),
    ("fault_lost_reply", "reply_lost_after_save"),
    ("fault_network_conflict", "network_control_conflict"),
    ("session_lost", "expired_session_reply"),
];

/// Everything one run reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteReport {
    /// Claims the DingTalk simulator generated.
    pub claims: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Consumer processes running at a time.
    pub consumers: usize,
    /// `sqlite` or `postgres`.
    pub ledger: String,
    /// Approved claims the mapping turns into a bill.
    pub approved_valid: usize,
    /// Approved claims the mapping rejects.
    pub approved_invalid: usize,
    /// Refused, withdrawn or running claims, never published.
    pub not_approved: usize,
    /// Calls the K3Cloud simulator received.
    pub k3cloud_calls: u64,
    /// Injected K3Cloud faults by kind, as the simulator counted them.
    pub k3cloud_faults: BTreeMap<String, u64>,
    /// Sessions the consumers opened (logins after every expiry).
    pub k3cloud_sessions_opened: u64,
    /// Times K3Cloud ended every session (one each 30 s).
    pub k3cloud_session_expiries: u64,
    /// Calls the DingTalk simulator received.
    pub dingtalk_calls: u64,
    /// Injected DingTalk throttling replies by kind, as the simulator served them.
    pub dingtalk_throttled: BTreeMap<String, u64>,
    /// Times every DingTalk token was expired.
    pub dingtalk_token_expiries: u64,
    /// DingTalk tokens the simulator issued.
    pub dingtalk_tokens_issued: u64,
    /// Consumer processes killed with SIGKILL.
    pub consumer_kills: usize,
    /// Producer processes killed with SIGKILL.
    pub producer_kills: usize,
    /// Broker connections force-closed.
    pub connection_closes: usize,
    /// Broker reconnects counted by every process (`dingk3_broker_reconnects_total`).
    pub reconnects: u64,
    /// Bills in the K3Cloud simulator.
    pub bills: usize,
    /// Bills beyond one per bill number.
    pub duplicates: usize,
    /// Approved claims that ended as neither their bill nor their dead letter.
    pub lost: usize,
    /// Dead letters by kind.
    pub dead_letters: BTreeMap<String, usize>,
    /// Wall time from start to settled, in seconds.
    pub seconds: f64,
    /// The schedule as it ran.
    pub timeline: Vec<String>,
    /// Broken invariants; empty when the run passed.
    pub violations: Vec<String>,
}

/// Counters read from the simulators at the end of a run.
pub struct SimulatorCounters {
    /// The K3Cloud simulator's statistics.
    pub k3: Stats,
    /// The DingTalk simulator's calls per endpoint.
    pub dingtalk_calls: u64,
    /// DingTalk fault rules still waiting to fire.
    pub dingtalk_rules_left: Vec<FaultRule>,
    /// DingTalk tokens issued.
    pub dingtalk_tokens_issued: u64,
}

impl SuiteReport {
    /// Fills the injected faults and chaos counts.
    pub fn add_faults(
        &mut self,
        counters: &SimulatorCounters,
        chaos: &ChaosLog,
        elapsed: Duration,
    ) {
        self.k3cloud_calls = counters
            .k3
            .calls
            .values()
            .flat_map(|outcomes| outcomes.values())
            .sum();
        for (outcome, name) in K3_FAULTS {
            let count = counters
                .k3
                .calls
                .values()
                .filter_map(|outcomes| outcomes.get(outcome))
                .sum();
            self.k3cloud_faults.insert(name.to_string(), count);
        }
        self.k3cloud_sessions_opened = counters.k3.sessions_opened;
        self.k3cloud_session_expiries = elapsed.as_secs() / 30;

        self.dingtalk_calls = counters.dingtalk_calls;
        let mut left: BTreeMap<String, u64> = BTreeMap::new();
        for rule in &counters.dingtalk_rules_left {
            *left.entry(kind_name(&rule.kind)).or_default() += u64::from(rule.next.unwrap_or(0));
        }
        for (kind, requested) in &chaos.throttles_requested {
            let served = requested.saturating_sub(left.get(kind).copied().unwrap_or(0));
            self.dingtalk_throttled.insert(kind.clone(), served);
        }
        self.dingtalk_token_expiries = chaos.token_expiries;
        self.dingtalk_tokens_issued = counters.dingtalk_tokens_issued;

        self.consumer_kills = chaos.consumer_kills;
        self.producer_kills = chaos.producer_kills;
        self.connection_closes = chaos.connection_closes;
        self.timeline = chaos.timeline.clone();
        self.seconds = elapsed.as_secs_f64();
    }

    /// Fills the checked outcome.
    pub fn add_verdict(&mut self, verdict: &Verdict) {
        self.approved_valid = verdict.approved_valid;
        self.approved_invalid = verdict.approved_invalid;
        self.duplicates = verdict.duplicates;
        self.lost = verdict.lost;
        self.violations.extend(verdict.violations.iter().cloned());
    }

    /// Returns the total of injected faults of every kind.
    pub fn faults_injected(&self) -> u64 {
        self.k3cloud_faults.values().sum::<u64>()
            + self.k3cloud_session_expiries
            + self.dingtalk_throttled.values().sum::<u64>()
            + self.dingtalk_token_expiries
    }

    /// Renders the report for a terminal.
    pub fn render(&self, lang: Lang) -> String {
        let mut out = String::new();
        let line = |out: &mut String, text: dingk3::i18n::Text| {
            let _ = writeln!(out, "{}", text.get(lang));
        };
        let Self {
            claims,
            seed,
            consumers,
            ledger,
            approved_valid,
            approved_invalid,
            not_approved,
            k3cloud_calls,
            k3cloud_sessions_opened,
            k3cloud_session_expiries,
            dingtalk_calls,
            dingtalk_token_expiries,
            dingtalk_tokens_issued,
            consumer_kills,
            producer_kills,
            connection_closes,
            reconnects,
            bills,
            duplicates,
            lost,
            seconds,
            ..
        } = self;
        let faults = self.faults_injected();
        line(
            &mut out,
            text!(
                en: "fault suite: {claims} claims, seed {seed}, {consumers} consumers, {ledger} ledger",
                zh: "故障测试：{claims} 条报销单，种子 {seed}，{consumers} 个 consumer，{ledger} 台账",
            ),
        );
        line(
            &mut out,
            text!(
                en: "  approved and valid: {approved_valid}; approved but invalid: {approved_invalid}; not approved: {not_approved}",
                zh: "  已通过且有效：{approved_valid}；已通过但无效：{approved_invalid}；未通过：{not_approved}",
            ),
        );
        line(
            &mut out,
            text!(
                en: "  faults injected: {faults}",
                zh: "  注入的故障：{faults}",
            ),
        );
        let k3 = join(&self.k3cloud_faults);
        line(
            &mut out,
            text!(
                en: "    K3Cloud ({k3cloud_calls} calls): {k3}; session expiries {k3cloud_session_expiries}, sessions opened {k3cloud_sessions_opened}",
                zh: "    金蝶云星空（{k3cloud_calls} 次调用）：{k3}；会话过期 {k3cloud_session_expiries} 次，新建会话 {k3cloud_sessions_opened} 个",
            ),
        );
        let dingtalk = join(&self.dingtalk_throttled);
        line(
            &mut out,
            text!(
                en: "    DingTalk ({dingtalk_calls} calls): throttled {dingtalk}; token expiries {dingtalk_token_expiries}, tokens issued {dingtalk_tokens_issued}",
                zh: "    钉钉（{dingtalk_calls} 次调用）：限流 {dingtalk}；token 过期 {dingtalk_token_expiries} 次，签发 token {dingtalk_tokens_issued} 个",
            ),
        );
        line(
            &mut out,
            text!(
                en: "  kills: consumer {consumer_kills}, producer {producer_kills}; connections closed {connection_closes}, reconnects {reconnects}",
                zh: "  进程被杀：consumer {consumer_kills} 次，producer {producer_kills} 次；强制关闭连接 {connection_closes} 次，重连 {reconnects} 次",
            ),
        );
        let dead = join(&self.dead_letters);
        line(
            &mut out,
            text!(
                en: "  bills {bills}, duplicates {duplicates}, lost {lost}, dead letters {dead}",
                zh: "  付款单 {bills} 张，重复 {duplicates}，丢失 {lost}，死信 {dead}",
            ),
        );
        line(
            &mut out,
            text!(
                en: "  time {seconds:.1} s",
                zh: "  耗时 {seconds:.1} 秒",
            ),
        );
        if self.violations.is_empty() {
            line(
                &mut out,
                text!(
                    en: "PASSED: one bill per approved valid claim, every invalid claim dead-lettered with its reason, nothing lost, nothing doubled, the ledger agrees with K3Cloud",
                    zh: "通过：每条已通过的有效报销单恰好一张付款单，每条无效报销单都进入死信队列并附原因，无丢失、无重复，台账与金蝶云星空一致",
                ),
            );
        } else {
            let count = self.violations.len();
            line(
                &mut out,
                text!(
                    en: "FAILED: {count} broken invariants",
                    zh: "失败：{count} 条不变量被破坏",
                ),
            );
            for violation in &self.violations {
                let _ = writeln!(out, "  {violation}");
            }
        }
        out
    }
}

/// Renders `{"a": 1, "b": 2}` as `a 1, b 2`, and an empty map as `0`.
fn join<V: std::fmt::Display>(counts: &BTreeMap<String, V>) -> String {
    if counts.is_empty() {
        return "0".to_string();
    }
    counts
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}
