//! Selecting dead letters: by id, kind, process code, time and text.
//!
//! All given conditions must hold. A dead letter whose failure time is unknown does
//! not match `--since`, because nothing shows it is recent.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use dingk3::i18n::Text;
use dingk3::text;

use crate::dlq::letter::Letter;

/// Conditions a dead letter must meet.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Process instance ids, approval numbers or message ids; any one matches.
    pub ids: Vec<String>,

    /// Dead-letter kind.
    pub kind: Option<String>,

    /// Approval template.
    pub process_code: Option<String>,

    /// Dead-lettered at or after this time.
    pub since: Option<DateTime<Utc>>,

    /// Text anywhere in the ids, title, originator, kind, reason or detail, ignoring
    /// letter case.
    pub grep: Option<String>,
}

impl Filter {
    /// Returns whether `letter` meets every condition.
    pub fn matches(&self, letter: &Letter) -> bool {
        if !self.ids.is_empty() && !self.ids.iter().any(|id| letter.is_named(id)) {
            return false;
        }
        if let Some(kind) = &self.kind
            && letter.kind != *kind
        {
            return false;
        }
        if let Some(code) = &self.process_code
            && letter.process_code.as_deref() != Some(code.as_str())
        {
            return false;
        }
        if let Some(since) = self.since
            && letter.failed_at.is_none_or(|failed_at| failed_at < since)
        {
            return false;
        }
        if let Some(needle) = &self.grep {
            return searchable_text(letter).contains(&needle.to_lowercase());
        }
        true
    }

    /// Returns the `--id` values that name none of `letters`.
    pub fn unmatched_ids<'a>(
        &self,
        letters: impl Iterator<Item = &'a Letter> + Clone,
    ) -> Vec<String> {
        self.ids
            .iter()
            .filter(|id| !letters.clone().any(|letter| letter.is_named(id)))
            .cloned()
            .collect()
    }

    /// Describes the conditions for a "nothing matches" message; `None` when there
    /// are none.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.ids.is_empty() {
            parts.push(format!("--id {}", self.ids.join(" ")));
        }
        if let Some(kind) = &self.kind {
            parts.push(format!("--kind {kind}"));
        }
        if let Some(code) = &self.process_code {
            parts.push(format!("--process-code {code}"));
        }
        if let Some(since) = self.since {
            parts.push(format!(
                "--since {}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if let Some(needle) = &self.grep {
            parts.push(format!("--grep {needle:?}"));
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(" "))
        }
    }
}

fn searchable_text(letter: &Letter) -> String {
    let fields = [
        letter.process_instance_id.as_deref(),
        letter.business_id.as_deref(),
        letter.message_id.as_deref(),
        letter.process_code.as_deref(),
        letter.title.as_deref(),
        letter.originator.as_deref(),
        Some(letter.kind.as_str()),
        letter.reason.as_deref(),
        letter.body_problem.as_deref(),
    ];
    let mut text: String = fields.into_iter().flatten().collect::<Vec<_>>().join("\n");
    if let Some(detail) = &letter.detail {
        text.push('\n');
        text.push_str(&detail.to_string());
    }
    text.to_lowercase()
}

/// Beijing time, UTC+8, in which operators write dates and times.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Parses `--since`: RFC 3339 (`2026-11-10T09:00:00Z`), a Beijing date or date and time
/// (`2026-11-10`, `2026-11-10 09:00`, `2026-11-10 09:00:00`), or an age such as `90m`,
/// `24h` or `7d` counted back from `now`.
pub fn parse_since(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Text> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(value, format) {
            return from_beijing(local, value);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return from_beijing(date.and_hms_opt(0, 0, 0).unwrap_or_default(), value);
    }
    if let Some(age) = parse_age(value) {
        return Ok(now - age);
    }
    Err(text!(
        en: "--since {value:?} is not a time; use 2026-11-10, \"2026-11-10 09:00\" (Beijing time), 2026-11-10T01:00:00Z, or an age such as 90m, 24h or 7d",
        zh: "--since {value:?} 不是时间；请写成 2026-11-10、\"2026-11-10 09:00\"（北京时间）、2026-11-10T01:00:00Z，或 90m、24h、7d 这样的时长",
    ))
}

fn from_beijing(local: NaiveDateTime, value: &str) -> Result<DateTime<Utc>, Text> {
    beijing()
        .from_local_datetime(&local)
        .single()
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| {
            text!(
                en: "--since {value:?} is not a valid Beijing time",
                zh: "--since {value:?} 不是有效的北京时间",
            )
        })
}

fn parse_age(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().ok().filter(|number| *number >= 0)?;
    match unit {
        "s" => Duration::try_seconds(number),
        "m" => Duration::try_minutes(number),
        "h" => Duration::try_hours(number),
        "d" => Duration::try_days(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlq::letter::{KindOrigin, UNKNOWN_KIND};

    fn letter(id: &str, kind: &str, failed_at: Option<DateTime<Utc>>) -> Letter {
        Letter {
            position: 1,
            message_id: Some(id.to_string()),
            process_instance_id: Some(id.to_string()),
            business_id: Some(format!("B-{id}")),
            process_code: Some("PROC-1".to_string()),
            title: Some("孙七提交的费用报销".to_string()),
            originator: Some("user-1002".to_string()),
            amount: None,
            kind: kind.to_string(),
            kind_origin: KindOrigin::Pipeline,
            reason: Some("no K3Cloud 费用项目 for 团建活动".to_string()),
            detail: Some(serde_json::json!({"field": "行政报销类型"})),
            failed_at,
            attempts: Some(0),
            replay_count: 0,
            replayed_from: None,
            deaths: Vec::new(),
            delivery_count: None,
            body_bytes: 10,
            body_problem: None,
        }
    }

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn empty_filter_matches_all() {
        assert!(Filter::default().matches(&letter("pi-1", "mapping", None)));
    }

    #[test]
    fn id_matches_business_id() {
        let filter = Filter {
            ids: vec!["B-pi-1".to_string()],
            ..Filter::default()
        };
        assert!(filter.matches(&letter("pi-1", "mapping", None)));
        assert!(!filter.matches(&letter("pi-2", "mapping", None)));
    }

    #[test]
    fn kind_must_be_equal() {
        let filter = Filter {
            kind: Some("rejected".to_string()),
            ..Filter::default()
        };
        assert!(!filter.matches(&letter("pi-1", "mapping", None)));
        assert!(filter.matches(&letter("pi-1", "rejected", None)));
    }

    #[test]
    fn process_code_must_be_equal() {
        let filter = Filter {
            process_code: Some("PROC-2".to_string()),
            ..Filter::default()
        };
        assert!(!filter.matches(&letter("pi-1", "mapping", None)));
    }

    #[test]
    fn since_needs_known_time() {
        let filter = Filter {
            since: Some(time("2026-11-10T00:00:00Z")),
            ..Filter::default()
        };
        let recent = letter("pi-1", "mapping", Some(time("2026-11-10T01:00:00Z")));
        let old = letter("pi-2", "mapping", Some(time("2026-11-09T23:00:00Z")));
        let unknown = letter("pi-3", UNKNOWN_KIND, None);
        assert!(filter.matches(&recent), "a later failure matches");
        assert!(!filter.matches(&old), "an earlier failure does not");
        assert!(!filter.matches(&unknown), "an unknown time does not");
    }

    #[test]
    fn grep_ignores_case_and_reads_detail() {
        let matches = |needle: &str| {
            Filter {
                grep: Some(needle.to_string()),
                ..Filter::default()
            }
            .matches(&letter("pi-1", "mapping", None))
        };
        assert!(matches("团建活动"), "reason text");
        assert!(matches("k3cloud"), "case ignored");
        assert!(matches("行政报销类型"), "detail text");
        assert!(!matches("差旅费"), "absent text");
    }

    #[test]
    fn unmatched_ids_are_listed() {
        let filter = Filter {
            ids: vec!["pi-1".to_string(), "pi-9".to_string()],
            ..Filter::default()
        };
        let letters = [letter("pi-1", "mapping", None)];
        assert_eq!(filter.unmatched_ids(letters.iter()), vec!["pi-9"]);
    }

    #[test]
    fn since_accepts_every_form() {
        let now = time("2026-11-10T12:00:00Z");
        let cases = [
            ("2026-11-10T09:00:00+08:00", "2026-11-10T01:00:00Z"),
            ("2026-11-10", "2026-11-09T16:00:00Z"),
            ("2026-11-10 09:00", "2026-11-10T01:00:00Z"),
            ("2026-11-10 09:00:30", "2026-11-10T01:00:30Z"),
            ("24h", "2026-11-09T12:00:00Z"),
            ("90m", "2026-11-10T10:30:00Z"),
            ("7d", "2026-11-03T12:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_since(input, now),
                Ok(time(expected)),
                "--since {input}"
            );
        }
    }

    #[test]
    fn since_rejects_words() {
        let error = parse_since("yesterday", Utc::now()).unwrap_err();
        assert!(error.en.contains("yesterday"), "{}", error.en);
        assert!(error.zh.contains("北京时间"), "{}", error.zh);
    }
}
