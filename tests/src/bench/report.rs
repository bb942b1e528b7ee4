//! The bench's output: one `bench:` line per scenario and baseline, in the `key=value`
//! form that scripts and `.ci/run` read, and a Markdown table for `docs/BENCHMARKS.md`.
//!
//! A scenario line starts with `scenario`, `bills_per_s`, `vs_broker`, `p99_ms` and
//! `consumer_rss_mb`, then `vs_little` (scenarios with K3Cloud latency) and `vs_sdk`;
//! the other measurements follow. Scenario B runs twice, so its lines differ in
//! `consumers`.

use std::fmt::Write as _;

use super::broker_limit::BrokerLimit;
use super::scenario::ScenarioResult;
use super::sdk_loop::SdkLoop;

/// Everything one bench run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The broker's limit.
    pub broker: BrokerLimit,
    /// The SDK loop against K3Cloud without added latency (compared with A and C).
    pub sdk_fast: SdkLoop,
    /// The SDK loop against K3Cloud with scenario B's latency (compared with B).
    pub sdk_slow: SdkLoop,
    /// The pipeline scenarios in the order they ran.
    pub scenarios: Vec<ScenarioResult>,
}

impl Report {
    /// Returns the SDK baseline of the same K3Cloud latency as `result`.
    fn sdk_for(&self, result: &ScenarioResult) -> &SdkLoop {
        if result.scenario.k3.latency_ms > 0 {
            &self.sdk_slow
        } else {
            &self.sdk_fast
        }
    }

    /// Returns one line per baseline and scenario.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "bench: baseline=broker msgs_per_s={:.0} publish_per_s={:.0} messages={} payload_bytes={}",
            self.broker.messages_per_s(),
            self.broker.publishes_per_s(),
            self.broker.messages,
            self.broker.payload_bytes
        )];
        for (sdk, latency) in [(&self.sdk_fast, "none"), (&self.sdk_slow, "200ms+5ms/bill")] {
            lines.push(format!(
                "bench: baseline=sdk k3_latency={latency} bills_per_s={:.2} p50_ms={:.0} p99_ms={:.0} rss_mb={:.1} cpu_s_per_1000={:.2} bills={}",
                sdk.bills_per_s(),
                sdk.p50_ms,
                sdk.p99_ms,
                sdk.peak_rss_mib(),
                sdk.cpu_per_1000(),
                sdk.bills
            ));
        }
        for result in &self.scenarios {
            lines.push(self.scenario_line(result));
        }
        lines
    }

    fn scenario_line(&self, result: &ScenarioResult) -> String {
        let scenario = &result.scenario;
        let rate = result.bills_per_s();
        let mut line = format!(
            "bench: scenario={} bills_per_s={rate:.1} vs_broker={:.3} p99_ms={:.0} consumer_rss_mb={:.1}",
            scenario.name,
            rate / self.broker.messages_per_s(),
            result.p99_ms,
            result.consumer_peak_rss_mib(),
        );
        if let Some(bound) = scenario.little_bound() {
            let _ = write!(line, " vs_little={:.3}", rate / bound);
        }
        let _ = write!(
            line,
            " vs_sdk={:.1} consumers={}",
            rate / self.sdk_for(result).bills_per_s(),
            scenario.consumers
        );
        if let Some(bound) = scenario.little_bound_with_probe() {
            let _ = write!(line, " vs_little_with_probe={:.3}", rate / bound);
        }
        let _ = write!(
            line,
            " p50_ms={:.0} producer_rss_mb={:.1} consumer_cpu_s_per_1000={:.2} producer_cpu_s_per_1000={:.2} simulators_cpu_s_per_1000={:.2} machine_busy={:.2} published_per_s={:.0} bills={}",
            result.p50_ms,
            result.producer.peak_rss_mib(),
            result.consumer_cpu_per_1000(),
            result.producer_cpu_per_1000(),
            result.harness_cpu_per_1000(),
            result.machine_busy,
            result.published_per_s(),
            result.bills
        );
        line
    }

    /// Returns the Markdown table of every scenario and baseline.
    pub fn markdown(&self) -> String {
        let mut table = String::from(
            "| run | consumers | K3Cloud latency | bills | bills/s | p50 ms | p99 ms | consumer peak RSS MiB | producer peak RSS MiB | consumer CPU s / 1,000 | producer CPU s / 1,000 | simulators CPU s / 1,000 | machine busy | vs broker | vs bound | vs bound with probe | vs SDK |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        let _ = writeln!(
            table,
            "| broker limit (publish with confirms + consume and ack, {} B bodies) | 1 | – | {} msgs | {:.0} msgs/s | – | – | – | – | – | – | – | – | 1 | – | – | – |",
            self.broker.payload_bytes,
            self.broker.messages,
            self.broker.messages_per_s()
        );
        for (sdk, latency) in [
            (&self.sdk_fast, "none"),
            (&self.sdk_slow, "200 ms + 5 ms/bill"),
        ] {
            let _ = writeln!(
                table,
                "| SDK loop (one `Save` per bill; p50/p99 per call; RSS and CPU of Python) | 1 | {latency} | {} | {:.2} | {:.0} | {:.0} | {:.1} | – | {:.2} | – | – | – | {:.4} | – | – | 1 |",
                sdk.bills,
                sdk.bills_per_s(),
                sdk.p50_ms,
                sdk.p99_ms,
                sdk.peak_rss_mib(),
                sdk.cpu_per_1000(),
                sdk.bills_per_s() / self.broker.messages_per_s()
            );
        }
        for result in &self.scenarios {
            self.markdown_row(&mut table, result);
        }
        table
    }

    fn markdown_row(&self, table: &mut String, result: &ScenarioResult) {
        let scenario = &result.scenario;
        let rate = result.bills_per_s();
        let latency = if scenario.k3.latency_ms > 0 {
            format!(
                "{} ms + {} ms/bill",
                scenario.k3.latency_ms, scenario.k3.batch_model_latency_ms
            )
        } else {
            "none".to_string()
        };
        let ratio = |bound: Option<f64>| {
            bound.map_or("–".to_string(), |bound| {
                format!("{:.2} of {bound:.0}", rate / bound)
            })
        };
        let _ = writeln!(
            table,
            "| {} | {} | {latency} | {} | {rate:.1} | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {} | {} | {:.1} |",
            scenario.name,
            scenario.consumers,
            result.bills,
            result.p50_ms,
            result.p99_ms,
            result.consumer_peak_rss_mib(),
            result.producer.peak_rss_mib(),
            result.consumer_cpu_per_1000(),
            result.producer_cpu_per_1000(),
            result.harness_cpu_per_1000(),
            result.machine_busy,
            rate / self.broker.messages_per_s(),
            ratio(scenario.little_bound()),
            ratio(scenario.little_bound_with_probe()),
            rate / self.sdk_for(result).bills_per_s(),
        );
    }
}

#[cfg(test)]
mod tests {
    use dingk3_simulator::k3cloud::FaultSettings;

    use super::*;
    use crate::bench::proc_stats::ProcessUsage;
    use crate::bench::scenario::{Scenario, Tuning};
    use crate::consumer::LedgerKind;

    fn sdk(bills: usize, seconds: f64) -> SdkLoop {
        SdkLoop {
            bills,
            failures: 0,
            seconds,
            p50_ms: 200.0,
            p99_ms: 210.0,
            peak_rss_kib: 30 * 1024,
            cpu_seconds: 1.0,
        }
    }

    /// A report of scenario B with 1 consumer saving 400 bills in 10 s.
    fn report_of_b() -> Report {
        let scenario = Scenario {
            name: "B",
            test: "bench-b1",
            bills: 400,
            consumers: 1,
            k3: FaultSettings {
                latency_ms: 200,
                batch_model_latency_ms: 5,
                ..FaultSettings::default()
            },
            backlog: false,
            tuning: Tuning::default(),
            ledger: LedgerKind::Sqlite,
        };
        let usage = ProcessUsage {
            peak_rss_bytes: 20 * 1024 * 1024,
            cpu_seconds: 2.0,
        };
        Report {
            broker: BrokerLimit {
                messages: 1000,
                payload_bytes: 3000,
                seconds: 0.5,
                publish_seconds: 0.4,
            },
            sdk_fast: sdk(100, 0.2),
            sdk_slow: sdk(10, 2.0),
            scenarios: vec![ScenarioResult {
                scenario,
                bills: 400,
                seconds: 10.0,
                publish_seconds: 1.0,
                p50_ms: 900.0,
                p99_ms: 1800.0,
                producer: usage,
                consumers: vec![usage],
                harness_cpu_seconds: 1.0,
                machine_busy: 0.5,
            }],
        }
    }

    #[test]
    fn scenario_line_starts_with_issue_keys() {
        let lines = report_of_b().lines();
        let line = lines.last().expect("a scenario line");
        assert!(
            line.starts_with(
                "bench: scenario=B bills_per_s=40.0 vs_broker=0.020 p99_ms=1800 consumer_rss_mb=20.0 vs_little=0.500 vs_sdk=8.0 "
            ),
            "{line}"
        );
    }

    #[test]
    fn scenario_line_has_probe_bound() {
        let lines = report_of_b().lines();
        let line = lines.last().expect("a scenario line");
        // 20 bills in flight per 450 ms: 44.4 bills/s.
        assert!(line.contains(" vs_little_with_probe=0.900 "), "{line}");
    }

    #[test]
    fn markdown_has_row_per_run() {
        let table = report_of_b().markdown();
        // Header, separator, broker, two SDK loops, one scenario.
        assert_eq!(table.lines().count(), 6, "{table}");
    }
}
