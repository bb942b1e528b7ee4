//! `consumer dlq list`: one row per dead letter, as a table, JSON or CSV.
//!
//! The table is for a terminal and cuts long texts; JSON (an array) and CSV (with a
//! header line) carry every text whole. Unknown values are `?` in the table, empty in
//! CSV and `null` in JSON.

use chrono::SecondsFormat;
use dingk3::i18n::Lang;
use serde_json::Value;

use crate::dlq::letter::Letter;
use crate::dlq::table;

/// Output format of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned text for people.
    Table,
    /// A JSON array for scripts.
    Json,
    /// Comma-separated values for spreadsheets.
    Csv,
}

/// Columns of the CSV output, in order; also the JSON keys.
pub const CSV_COLUMNS: [&str; 13] = [
    "position",
    "process_instance_id",
    "business_id",
    "title",
    "originator",
    "amount",
    "kind",
    "reason",
    "failed_at",
    "attempts",
    "replay_count",
    "process_code",
    "message_id",
];

/// Widest reason in the table, in display columns.
const TABLE_REASON_WIDTH: usize = 60;

/// Widest title in the table, in display columns.
const TABLE_TITLE_WIDTH: usize = 24;

/// Renders the dead letters in `format`.
pub fn render(letters: &[&Letter], format: ListFormat, lang: Lang) -> String {
    match format {
        ListFormat::Table => render_table(letters, lang),
        ListFormat::Json => {
            let rows: Vec<Value> = letters.iter().map(|letter| letter.to_json()).collect();
            serde_json::to_string_pretty(&rows).expect("a JSON value always serializes") + "\n"
        }
        ListFormat::Csv => render_csv(letters),
    }
}

fn render_table(letters: &[&Letter], lang: Lang) -> String {
    let header: &[&str] = match lang {
        Lang::En => &[
            "#",
            "process instance",
            "business id",
            "title",
            "originator",
            "amount",
            "kind",
            "failed at",
            "attempts",
            "replays",
            "reason",
        ],
        Lang::Zh => &[
            "#",
            "审批实例",
            "审批编号",
            "标题",
            "提交人",
            "金额",
            "类型",
            "失败时间",
            "尝试",
            "重放",
            "原因",
        ],
    };
    let unknown = || "?".to_string();
    let rows: Vec<Vec<String>> = letters
        .iter()
        .map(|letter| {
            vec![
                letter.position.to_string(),
                letter.process_instance_id.clone().unwrap_or_else(unknown),
                letter.business_id.clone().unwrap_or_else(unknown),
                table::cell(letter.title.as_deref().unwrap_or("?"), TABLE_TITLE_WIDTH),
                letter.originator.clone().unwrap_or_else(unknown),
                letter
                    .amount
                    .map(|(amount, _)| amount.to_string())
                    .unwrap_or_else(unknown),
                letter.kind.clone(),
                letter
                    .failed_at
                    .map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(unknown),
                letter
                    .attempts
                    .map(|attempts| attempts.to_string())
                    .unwrap_or_else(unknown),
                letter.replay_count.to_string(),
                table::cell(letter.reason.as_deref().unwrap_or("?"), TABLE_REASON_WIDTH),
            ]
        })
        .collect();
    table::render(header, &rows)
}

fn render_csv(letters: &[&Letter]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for letter in letters {
        let json = letter.to_json();
        let cells: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|column| match &json[*column] {
                Value::Null => String::new(),
                Value::String(text) => csv_field(text),
                other => csv_field(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it contains a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_quotes() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain 文本"), "plain 文本");
    }

    #[test]
    fn json_keys_are_csv_columns() {
        let letter = crate::dlq::letter::Letter::read(
            &dingk3::broker::ReceivedMessage {
                delivery_tag: 1,
                exchange: "".into(),
                routing_key: "".into(),
                redelivered: false,
                properties: lapin::BasicProperties::default(),
                data: Vec::new(),
            },
            1,
            1024,
            None,
        );
        let json = letter.to_json();
        for column in CSV_COLUMNS {
            assert!(json.get(column).is_some(), "JSON has {column}");
        }
    }
}
