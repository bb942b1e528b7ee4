//! Rendering of `consumer dlq show` as sections of text for a person, or as one JSON
//! object for scripts.

use chrono::SecondsFormat;
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::text;
use serde_json::{Value, json};

use crate::dlq::show::{Preview, ShowReport, Shown, field_errors};

/// Renders the report as text in `lang`.
pub fn render_text(report: &ShowReport, lang: Lang) -> String {
    let mut out = Out {
        text: String::new(),
        lang,
    };
    let id = &report.id;
    let queue = &report.queue;
    let read = report.read;
    if report.letters.is_empty() {
        out.line(text!(
            en: "No dead letter in {queue} has the id {id} ({read} messages read).",
            zh: "死信队列 {queue} 中没有 ID 为 {id} 的死信（共读取 {read} 条）。",
        ));
    }
    let total = report.letters.len();
    for (number, shown) in report.letters.iter().enumerate() {
        let number = number + 1;
        let position = shown.letter.position;
        out.heading(text!(
            en: "Dead letter {number} of {total}, position {position} in {queue}",
            zh: "死信 {number}/{total}，位于 {queue} 第 {position} 条",
        ));
        letter_section(&mut out, shown);
        preview_section(&mut out, &shown.preview);
    }
    ledger_section(&mut out, report);
    for problem in &report.problems {
        let problem = problem.get(lang);
        out.line(text!(en: "Not read: {problem}", zh: "未能读取：{problem}"));
    }
    out.text
}

/// Renders the report as one JSON object with English keys.
pub fn render_json(report: &ShowReport, lang: Lang) -> Value {
    let letters: Vec<Value> = report
        .letters
        .iter()
        .map(|shown| {
            let mut summary = shown.letter.to_json();
            summary["detail"] = shown.letter.detail.clone().unwrap_or(Value::Null);
            summary["field_errors"] = json!(shown.letter.detail.as_ref().map(field_errors));
            summary["replayed_from"] = shown.letter.replayed_from.clone().unwrap_or(Value::Null);
            summary["delivery_count"] = json!(shown.letter.delivery_count);
            summary["body_problem"] = json!(shown.letter.body_problem);
            summary["headers"] = shown.headers.clone();
            summary["preview"] = preview_json(&shown.preview, lang);
            summary
        })
        .collect();
    let ledger: Vec<Value> = report
        .ledger
        .iter()
        .map(|entry| {
            let record = &entry.record;
            let history: Vec<Value> = entry
                .history
                .iter()
                .map(|event| {
                    json!({
                        "at": event.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                        "actor": event.actor,
                        "action": event.action.as_str(),
                        "status": event.status.as_str(),
                        "detail": event.detail,
                    })
                })
                .collect();
            json!({
                "process_instance_id": record.process_instance_id,
                "business_id": record.business_id,
                "status": record.status.as_str(),
                "bill_no": record.bill_no,
                "attempts": record.attempts,
                "replay_count": record.replay_count,
                "last_error_kind": record.last_error_kind,
                "last_error": record.last_error,
                "history": history,
            })
        })
        .collect();
    json!({
        "id": report.id,
        "queue": report.queue,
        "read": report.read,
        "dead_letters": letters,
        "ledger": ledger,
        "problems": report.problems.iter().map(|problem| problem.get(lang)).collect::<Vec<_>>(),
    })
}

fn preview_json(preview: &Preview, lang: Lang) -> Value {
    match preview {
        Preview::Bill { bill, request } => json!({
            "outcome": "bill",
            "bill_no": bill.bill_no,
            "total": bill.total.to_string(),
            "entries": bill.entries,
            "request": request,
        }),
        Preview::Rejected(errors) => json!({"outcome": "rejected", "errors": errors.to_json(lang)}),
        Preview::NoRoute(code) => json!({"outcome": "no_route", "process_code": code}),
        Preview::Configuration(errors) => {
            let errors: Vec<String> = errors
                .iter()
                .map(|error| error.localize().get(lang).to_string())
                .collect();
            json!({"outcome": "configuration", "errors": errors})
        }
        Preview::NotApproved { status, result } => {
            json!({"outcome": "not_approved", "status": status, "result": result})
        }
        Preview::Unreadable(problem) => json!({"outcome": "unreadable", "problem": problem}),
    }
}

/// Text being built in one language.
struct Out {
    text: String,
    lang: Lang,
}

impl Out {
    fn line(&mut self, text: Text) {
        self.text.push_str(text.get(self.lang));
        self.text.push('\n');
    }

    fn heading(&mut self, text: Text) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.line(text);
    }

    fn field(&mut self, en: &str, zh: &str, value: Option<String>) {
        let label = match self.lang {
            Lang::En => en,
            Lang::Zh => zh,
        };
        let value = value.unwrap_or_else(|| "?".to_string());
        self.text.push_str(&format!("  {label}: {value}\n"));
    }

    fn indented(&mut self, block: &str) {
        for line in block.lines() {
            self.text.push_str("    ");
            self.text.push_str(line);
            self.text.push('\n');
        }
    }
}

fn letter_section(out: &mut Out, shown: &Shown) {
    let letter = &shown.letter;
    let time =
        |time: chrono::DateTime<chrono::Utc>| time.to_rfc3339_opts(SecondsFormat::Secs, true);
    out.field(
        "process instance",
        "审批实例",
        letter.process_instance_id.clone(),
    );
    out.field("business id", "审批编号", letter.business_id.clone());
    out.field("title", "标题", letter.title.clone());
    out.field("originator", "提交人", letter.originator.clone());
    out.field(
        "amount",
        "金额",
        letter
            .amount
            .map(|(amount, source)| format!("{amount} ({})", source.as_str())),
    );
    out.field("process code", "审批模板", letter.process_code.clone());
    out.field("message id", "消息 ID", letter.message_id.clone());
    out.field(
        "kind",
        "类型",
        Some(format!("{} ({})", letter.kind, letter.kind_origin.as_str())),
    );
    out.field("failed at", "失败时间", letter.failed_at.map(time));
    out.field(
        "attempts",
        "尝试次数",
        letter.attempts.map(|n| n.to_string()),
    );
    out.field("replays", "重放次数", Some(letter.replay_count.to_string()));
    let count = letter.delivery_count;
    out.field(
        "x-delivery-count (inspections count too)",
        "x-delivery-count（查看也计入）",
        count.map(|n| n.to_string()),
    );
    if let Some(problem) = &letter.body_problem {
        out.field("body", "消息体", Some(problem.clone()));
    }

    out.line(Text::new("Reason:", "原因："));
    out.indented(letter.reason.as_deref().unwrap_or("?"));
    if let Some(detail) = &letter.detail {
        let errors = field_errors(detail);
        if !errors.is_empty() {
            out.line(Text::new("Field errors:", "字段错误："));
            for error in errors {
                out.indented(&format!("- {error}"));
            }
        }
        out.line(Text::new("Detail:", "详情："));
        out.indented(&pretty(detail));
    }
    for death in &letter.deaths {
        let queue = death.queue.as_deref().unwrap_or("?");
        let reason = death.reason.as_deref().unwrap_or("?");
        let count = death.count.unwrap_or(0);
        let at = death.time.map(time).unwrap_or_else(|| "?".to_string());
        out.line(text!(
            en: "Dead-lettered by RabbitMQ: from {queue}, {reason}, {count} times, last at {at}",
            zh: "RabbitMQ 死信记录：来自 {queue}，原因 {reason}，{count} 次，最近一次 {at}",
        ));
    }
    if let Some(from) = &letter.replayed_from {
        out.line(Text::new(
            "Replayed last time from this failure:",
            "上次重放前的失败：",
        ));
        out.indented(&pretty(from));
    }
}

fn preview_section(out: &mut Out, preview: &Preview) {
    match preview {
        Preview::Bill { bill, request } => {
            let bill_no = &bill.bill_no;
            let total = bill.total;
            let entries = bill.entries;
            out.line(text!(
                en: "The current mapping builds bill {bill_no} ({entries} entries, total {total}); a replay sends this BatchSave request (the request sent at the time is not stored):",
                zh: "当前映射生成单据 {bill_no}（{entries} 条分录，合计 {total}）；重放会发送以下 BatchSave 请求（当时发送的请求未保存）：",
            ));
            out.indented(&pretty(request));
        }
        Preview::Rejected(errors) => {
            out.line(Text::new(
                "The current mapping still rejects it; a replay would fail again:",
                "当前映射仍会拒绝它；重放会再次失败：",
            ));
            out.indented(errors.localize().get(out.lang));
        }
        Preview::NoRoute(code) => out.line(text!(
            en: "No route for process code {code}; add a [[routes]] entry before replaying.",
            zh: "审批模板 {code} 没有路由；重放前请先添加 [[routes]] 配置。",
        )),
        Preview::Configuration(errors) => {
            out.line(Text::new(
                "The mapping in the configuration is invalid, so no request can be built:",
                "配置中的映射无效，无法生成请求：",
            ));
            for error in errors {
                let line = error.localize();
                out.indented(&format!("- {}", line.get(out.lang)));
            }
        }
        Preview::NotApproved { status, result } => out.line(text!(
            en: "The approval is not approved (status {status}, result {result}); no bill is due.",
            zh: "该审批未通过（status {status}，result {result}）；不应生成单据。",
        )),
        Preview::Unreadable(problem) => out.line(text!(
            en: "The body is not a readable approval message: {problem}",
            zh: "消息体不是可读的审批消息：{problem}",
        )),
    }
}

fn ledger_section(out: &mut Out, report: &ShowReport) {
    if report.ledger.is_empty() && report.problems.is_empty() {
        let id = &report.id;
        out.heading(text!(
            en: "The ledger has no row for {id}.",
            zh: "台账中没有 {id} 的记录。",
        ));
    }
    for entry in &report.ledger {
        let record = &entry.record;
        let id = &record.process_instance_id;
        let status = match out.lang {
            Lang::En => record.status.as_str().to_string(),
            Lang::Zh => record.status.localize().zh,
        };
        out.heading(text!(en: "Ledger row {id}: {status}", zh: "台账记录 {id}：{status}"));
        out.field("bill", "单据编号", record.bill_no.clone());
        out.field("attempts", "尝试次数", Some(record.attempts.to_string()));
        out.field("replays", "重放次数", Some(record.replay_count.to_string()));
        let last_error = match (&record.last_error_kind, &record.last_error) {
            (Some(kind), Some(error)) => Some(format!("{kind}: {error}")),
            _ => None,
        };
        out.field(
            "last error",
            "最近错误",
            last_error.or_else(|| Some("-".to_string())),
        );
        out.line(Text::new("History:", "历史："));
        for event in &entry.history {
            let at = event.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true);
            out.indented(&format!(
                "{at}  {}  {}  {}  {}",
                event.actor,
                event.action.as_str(),
                event.status.as_str(),
                event.detail
            ));
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value always serializes")
}
