//! The outcome of `replay` and `purge` for each selected dead letter, and their
//! summaries in both languages, as text or JSON.

use std::path::PathBuf;

use dingk3::i18n::{Lang, Text};
use dingk3::text;
use serde_json::{Value, json};

use crate::dlq::letter::Letter;
use crate::dlq::table;

/// Outcome of one selected dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Published to the approvals exchange and removed from the dead-letter queue.
    Replayed,
    /// `--dry-run`: would be replayed.
    WouldReplay,
    /// Saved in the export file and removed from the dead-letter queue.
    Purged,
    /// Without `--yes`: would be purged.
    WouldPurge,
    /// Left in the dead-letter queue on purpose (`--max`, a second dead letter of the
    /// same approval).
    Skipped,
    /// Left in the dead-letter queue because replaying it is not allowed (replay limit,
    /// an approval that was not approved).
    Refused,
    /// Left in the dead-letter queue because a step failed.
    Failed,
}

impl Outcome {
    /// Returns the spelling in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Replayed => "replayed",
            Outcome::WouldReplay => "would_replay",
            Outcome::Purged => "purged",
            Outcome::WouldPurge => "would_purge",
            Outcome::Skipped => "skipped",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Outcome::Replayed, Lang::En) => "replayed",
            (Outcome::Replayed, Lang::Zh) => "已重放",
            (Outcome::WouldReplay, Lang::En) => "would replay",
            (Outcome::WouldReplay, Lang::Zh) => "将重放",
            (Outcome::Purged, Lang::En) => "purged",
            (Outcome::Purged, Lang::Zh) => "已清除",
            (Outcome::WouldPurge, Lang::En) => "would purge",
            (Outcome::WouldPurge, Lang::Zh) => "将清除",
            (Outcome::Skipped, Lang::En) => "skipped",
            (Outcome::Skipped, Lang::Zh) => "已跳过",
            (Outcome::Refused, Lang::En) => "refused",
            (Outcome::Refused, Lang::Zh) => "已拒绝",
            (Outcome::Failed, Lang::En) => "failed",
            (Outcome::Failed, Lang::Zh) => "失败",
        }
    }
}

/// One selected dead letter and what happened to it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Position in the queue when read.
    pub position: usize,
    /// Process instance id, else message id, else `#position`.
    pub label: String,
    /// Approval number.
    pub business_id: Option<String>,
    /// Dead-letter kind.
    pub kind: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, or what to do next.
    pub note: Text,
}

impl Item {
    /// Describes `letter` with `outcome` and `note`.
    pub fn new(letter: &Letter, outcome: Outcome, note: Text) -> Item {
        Item {
            position: letter.position,
            label: letter.label(),
            business_id: letter.business_id.clone(),
            kind: letter.kind.clone(),
            outcome,
            note,
        }
    }
}

/// Result of a `replay` or `purge` run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Ready messages in the dead-letter queue when the command started.
    pub depth_at_start: u32,
    /// Messages read (fewer than the depth when another client held some).
    pub read: usize,
    /// One entry per selected dead letter, in queue order.
    pub items: Vec<Item>,
    /// `--id` values that named no dead letter.
    pub unmatched_ids: Vec<String>,
    /// The conditions, for the "nothing matches" message.
    pub filter: Option<String>,
    /// The export file of a purge.
    pub export_file: Option<PathBuf>,
}

impl Report {
    /// Returns how many items ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.items
            .iter()
            .filter(|item| item.outcome == outcome)
            .count()
    }

    /// Returns whether something asked for was not done: a failure, a refusal, or an
    /// `--id` that named no dead letter.
    pub fn partial(&self) -> bool {
        self.count(Outcome::Failed) > 0
            || self.count(Outcome::Refused) > 0
            || !self.unmatched_ids.is_empty()
    }

    /// Renders one line per item, then the summary.
    pub fn render_text(&self, summary: &Text, lang: Lang) -> String {
        let mut out = String::new();
        if self.items.is_empty() {
            let read = self.read;
            let none = match &self.filter {
                Some(filter) => text!(
                    en: "No dead letter matches {filter} ({read} in the queue).",
                    zh: "没有符合条件 {filter} 的死信（队列中共 {read} 条）。",
                ),
                None => Text::new(
                    "The dead-letter queue has no messages.",
                    "死信队列中没有消息。",
                ),
            };
            out.push_str(none.get(lang));
            out.push('\n');
        } else {
            let header: &[&str] = match lang {
                Lang::En => &[
                    "#",
                    "process instance",
                    "business id",
                    "kind",
                    "outcome",
                    "note",
                ],
                Lang::Zh => &["#", "审批实例", "审批编号", "类型", "结果", "说明"],
            };
            let rows: Vec<Vec<String>> = self
                .items
                .iter()
                .map(|item| {
                    vec![
                        item.position.to_string(),
                        item.label.clone(),
                        item.business_id.clone().unwrap_or_else(|| "?".to_string()),
                        item.kind.clone(),
                        item.outcome.label(lang).to_string(),
                        table::cell(item.note.get(lang), 100),
                    ]
                })
                .collect();
            out.push_str(&table::render(header, &rows));
        }
        for id in &self.unmatched_ids {
            let line = text!(
                en: "Not found: no dead letter has the id {id}.",
                zh: "未找到：没有 ID 为 {id} 的死信。",
            );
            out.push_str(line.get(lang));
            out.push('\n');
        }
        if let Some(file) = &self.export_file {
            let file = file.display();
            let line = text!(
                en: "Export file: {file}",
                zh: "导出文件：{file}",
            );
            out.push_str(line.get(lang));
            out.push('\n');
        }
        out.push_str(summary.get(lang));
        out.push('\n');
        out
    }

    /// Renders the report as one JSON object.
    pub fn render_json(&self, lang: Lang) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|item| {
                json!({
                    "position": item.position,
                    "id": item.label,
                    "business_id": item.business_id,
                    "kind": item.kind,
                    "outcome": item.outcome.as_str(),
                    "note": item.note.get(lang),
                })
            })
            .collect();
        let mut counts = serde_json::Map::new();
        for outcome in [
            Outcome::Replayed,
            Outcome::WouldReplay,
            Outcome::Purged,
            Outcome::WouldPurge,
            Outcome::Skipped,
            Outcome::Refused,
            Outcome::Failed,
        ] {
            counts.insert(outcome.as_str().to_string(), json!(self.count(outcome)));
        }
        json!({
            "depth_at_start": self.depth_at_start,
            "read": self.read,
            "counts": counts,
            "not_found": self.unmatched_ids,
            "export_file": self.export_file.as_ref().map(|file| file.display().to_string()),
            "items": items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: Outcome) -> Item {
        Item {
            position: 1,
            label: "pi-1".to_string(),
            business_id: Some("B1".to_string()),
            kind: "mapping".to_string(),
            outcome,
            note: Text::new("note", "说明"),
        }
    }

    #[test]
    fn refusal_is_partial() {
        let report = Report {
            items: vec![item(Outcome::Replayed), item(Outcome::Refused)],
            ..Report::default()
        };
        assert!(report.partial(), "a refusal is not a full success");
        assert_eq!(report.count(Outcome::Replayed), 1);
    }

    #[test]
    fn skipped_is_not_partial() {
        let report = Report {
            items: vec![item(Outcome::Skipped)],
            ..Report::default()
        };
        assert!(!report.partial(), "a skip is on purpose");
    }

    #[test]
    fn unknown_id_is_partial() {
        let report = Report {
            unmatched_ids: vec!["pi-9".to_string()],
            ..Report::default()
        };
        assert!(report.partial(), "an id that names nothing");
        let text = report.render_text(&Text::new("done", "完成"), Lang::Zh);
        assert!(text.contains("未找到"), "{text}");
    }

    #[test]
    fn nothing_selected_says_so() {
        let report = Report {
            read: 3,
            filter: Some("--kind rejected".to_string()),
            ..Report::default()
        };
        let text = report.render_text(&Text::new("done", "完成"), Lang::En);
        assert!(
            text.contains("No dead letter matches --kind rejected (3 in the queue)"),
            "{text}"
        );
    }

    #[test]
    fn json_counts_each_outcome() {
        let report = Report {
            items: vec![item(Outcome::Failed)],
            ..Report::default()
        };
        let json = report.render_json(Lang::En);
        assert_eq!(json["counts"]["failed"], json!(1));
        assert_eq!(json["items"][0]["outcome"], json!("failed"));
    }
}
