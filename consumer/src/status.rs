//! `consumer status`: how many approvals are in each ledger status, how deep the
//! dead-letter queue is, and the latest errors with their kind and reason.
//!
//! Each part is read independently; a part that cannot be read is reported as a
//! problem and the others are still shown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::SecondsFormat;
use dingk3::broker::{Recovery, Topology, connect};
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::ledger::{InstanceRecord, Ledger, Status, WriteBackStatus};
use dingk3::telemetry::mask_account_numbers;
use dingk3::text;
use serde_json::{Value, json};

use crate::dlq_depth;
use crate::settings::StatusSettings;

/// Characters of an error shown in the table; JSON carries the whole text.
const TABLE_ERROR_CHARS: usize = 100;

/// Everything `consumer status` shows.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// Ledger location without password.
    pub ledger: String,

    /// Instances per status; `None` when the ledger could not be read.
    pub counts: Option<BTreeMap<Status, u64>>,

    /// Write-backs per status; `None` when the ledger could not be read.
    pub write_backs: Option<BTreeMap<WriteBackStatus, u64>>,

    /// Name of the dead-letter queue.
    pub dead_queue: String,

    /// Messages in the dead-letter queue; `None` when the broker could not be read.
    pub dead_depth: Option<u32>,

    /// Latest failed instances, newest first.
    pub last_errors: Vec<InstanceRecord>,

    /// Parts that could not be read, and why.
    pub problems: Vec<Text>,
}

impl StatusReport {
    /// Returns true when every part was read.
    pub fn complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads the report; `errors` is the number of latest errors to list.
pub async fn gather(settings: &StatusSettings, errors: u32) -> StatusReport {
    let topology = Topology::new(&settings.broker);
    let mut report = StatusReport {
        ledger: settings.ledger.display_url(),
        counts: None,
        write_backs: None,
        dead_queue: topology.dead_queue(),
        dead_depth: None,
        last_errors: Vec::new(),
        problems: Vec::new(),
    };

    match Ledger::connect(&settings.ledger).await {
        Ok(ledger) => {
            read_ledger(&ledger, errors, &mut report).await;
            ledger.close().await;
        }
        Err(error) => report.problems.push(error.localize()),
    }

    match read_dead_depth(settings, &topology).await {
        Ok(depth) => report.dead_depth = Some(depth),
        Err(problem) => report.problems.push(problem),
    }
    report
}

async fn read_ledger(ledger: &Ledger, errors: u32, report: &mut StatusReport) {
    match ledger.counts_by_status().await {
        Ok(counts) => report.counts = Some(counts),
        Err(error) => report.problems.push(error.localize()),
    }
    match ledger.write_back_counts().await {
        Ok(counts) => report.write_backs = Some(counts),
        Err(error) => report.problems.push(error.localize()),
    }
    match ledger.last_errors(errors).await {
        Ok(records) => report.last_errors = records,
        Err(error) => report.problems.push(error.localize()),
    }
}

async fn read_dead_depth(settings: &StatusSettings, topology: &Topology) -> Result<u32, Text> {
    let name = format!("dingk3-consumer-status-{}", std::process::id());
    let connection = connect(&settings.broker, &name, Recovery::Off)
        .await
        .map_err(|error| {
            text!(
                en: "the dead-letter queue depth is unknown: {error}",
                zh: "死信队列深度未知：{error}",
            )
        })?;
    let queue = topology.dead_queue();
    let result = async {
        let channel = connection.create_channel().await?;
        dlq_depth::read(&channel, &queue).await
    }
    .await;
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        connection.close(200, "status read".into()),
    )
    .await;
    result.map_err(|error| {
        text!(
            en: "the dead-letter queue {queue} could not be read: {error}; it is declared when a consumer or producer first connects",
            zh: "无法读取死信队列 {queue}：{error}；该队列在消费者或生产者首次连接时创建",
        )
    })
}

/// Renders the report as JSON for scripts.
pub fn render_json(report: &StatusReport, lang: Lang) -> Value {
    let counts = report.counts.as_ref().map(|counts| {
        let object: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(status, count)| (status.as_str().to_string(), json!(count)))
            .collect();
        Value::Object(object)
    });
    let total = report
        .counts
        .as_ref()
        .map(|counts| counts.values().sum::<u64>());
    let write_backs = report.write_backs.as_ref().map(|counts| {
        let object: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(status, count)| (status.as_str().to_string(), json!(count)))
            .collect();
        Value::Object(object)
    });
    let errors: Vec<Value> = report
        .last_errors
        .iter()
        .map(|record| {
            json!({
                "process_instance_id": record.process_instance_id,
                "business_id": record.business_id,
                "status": record.status.as_str(),
                "error_kind": record.last_error_kind,
                "error": record.last_error.as_deref().map(mask_account_numbers),
                "attempts": record.attempts,
                "bill_no": record.bill_no,
                "updated_at": record.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            })
        })
        .collect();
    json!({
        "ledger": report.ledger,
        "counts": counts,
        "total": total,
        "dead_letter_queue": {"name": report.dead_queue, "depth": report.dead_depth},
        "write_back": write_backs,
        "last_errors": errors,
        "problems": report.problems.iter().map(|problem| problem.get(lang)).collect::<Vec<_>>(),
    })
}

/// Renders the report as a table for people, in `lang`.
pub fn render_table(report: &StatusReport, lang: Lang) -> String {
    let mut out = String::new();
    let ledger = &report.ledger;
    line(
        &mut out,
        text!(en: "Ledger: {ledger}", zh: "台账：{ledger}"),
        lang,
    );

    if let Some(counts) = &report.counts {
        let header = text!(en: "status", zh: "状态");
        let count = text!(en: "count", zh: "数量");
        let _ = writeln!(out, "  {:<12} {:>8}", header.get(lang), count.get(lang));
        for (status, count) in counts {
            let name = match lang {
                Lang::En => status.as_str().to_string(),
                Lang::Zh => format!("{}（{}）", status.localize().zh, status.as_str()),
            };
            let _ = writeln!(out, "  {name:<12} {count:>8}");
        }
        let total: u64 = counts.values().sum();
        let label = text!(en: "total", zh: "合计");
        let _ = writeln!(out, "  {:<12} {total:>8}", label.get(lang));
    }

    let queue = &report.dead_queue;
    let depth = match report.dead_depth {
        Some(depth) => text!(
            en: "Dead-letter queue {queue}: {depth} messages",
            zh: "死信队列 {queue}：{depth} 条消息",
        ),
        None => text!(
            en: "Dead-letter queue {queue}: unknown",
            zh: "死信队列 {queue}：未知",
        ),
    };
    out.push('\n');
    line(&mut out, depth, lang);

    if let Some(counts) = report
        .write_backs
        .as_ref()
        .filter(|counts| counts.values().any(|count| *count > 0))
    {
        let parts: Vec<String> = counts
            .iter()
            .map(|(status, count)| format!("{status} {count}"))
            .collect();
        let parts = parts.join(", ");
        line(
            &mut out,
            text!(en: "Write-back comments: {parts}", zh: "钉钉回写评论：{parts}"),
            lang,
        );
    }

    out.push('\n');
    if report.last_errors.is_empty() {
        line(
            &mut out,
            text!(en: "No errors recorded.", zh: "没有记录到错误。"),
            lang,
        );
    } else {
        line(
            &mut out,
            text!(en: "Latest errors, newest first:", zh: "最近的错误（最新的在前）："),
            lang,
        );
        for record in &report.last_errors {
            error_line(&mut out, record, lang);
        }
    }

    if !report.problems.is_empty() {
        out.push('\n');
        for problem in &report.problems {
            let problem = problem.get(lang);
            line(
                &mut out,
                text!(en: "Not read: {problem}", zh: "未能读取：{problem}"),
                lang,
            );
        }
    }
    out
}

fn error_line(out: &mut String, record: &InstanceRecord, lang: Lang) {
    let when = record.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let id = &record.process_instance_id;
    let business_id = record.business_id.as_deref().unwrap_or("-");
    let status = match lang {
        Lang::En => record.status.as_str().to_string(),
        Lang::Zh => record.status.localize().zh,
    };
    let kind = record.last_error_kind.as_deref().unwrap_or("-");
    let error = record
        .last_error
        .as_deref()
        .map(mask_account_numbers)
        .unwrap_or_default();
    let error = shorten(&error, TABLE_ERROR_CHARS);
    let attempts = record.attempts;
    let text = text!(
        en: "  {when}  {id}  {business_id}  {status}  {kind}  attempts {attempts}\n      {error}",
        zh: "  {when}  {id}  {business_id}  {status}  {kind}  尝试 {attempts} 次\n      {error}",
    );
    line(out, text, lang);
}

fn line(out: &mut String, text: Text, lang: Lang) {
    out.push_str(text.get(lang));
    out.push('\n');
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatusReport {
        let mut counts: BTreeMap<Status, u64> = Status::ALL.into_iter().map(|s| (s, 0)).collect();
        counts.insert(Status::Saved, 2);
        counts.insert(Status::Rejected, 1);
        StatusReport {
            ledger: "sqlite://ledger.sqlite".to_string(),
            counts: Some(counts),
            write_backs: None,
            dead_queue: "dingk3.dead".to_string(),
            dead_depth: Some(1),
            last_errors: Vec::new(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn table_lists_counts_and_depth() {
        let table = render_table(&report(), Lang::En);
        assert!(table.contains("saved"), "{table}");
        assert!(table.contains("total"), "{table}");
        assert!(table.contains("dingk3.dead: 1 messages"), "{table}");
    }

    #[test]
    fn table_speaks_chinese() {
        let table = render_table(&report(), Lang::Zh);
        assert!(table.contains("已保存"), "{table}");
        assert!(table.contains("死信队列 dingk3.dead：1 条消息"), "{table}");
    }

    #[test]
    fn json_has_total_and_depth() {
        let json = render_json(&report(), Lang::En);
        assert_eq!(json["total"], json!(3));
        assert_eq!(json["dead_letter_queue"]["depth"], json!(1));
        assert_eq!(json["counts"]["rejected"], json!(1));
    }

    #[test]
    fn unreadable_part_is_reported() {
        let mut report = report();
        report.dead_depth = None;
        report
            .problems
            .push(Text::new("broker unreachable", "消息代理不可达"));
        assert!(!report.complete(), "a problem makes the report incomplete");
        let table = render_table(&report, Lang::En);
        assert!(table.contains("Not read: broker unreachable"), "{table}");
    }
}
