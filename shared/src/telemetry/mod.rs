//! Logging setup and masking of personal data.
//!
//! Logs go to stderr through `tracing`, as text for people or JSON for log collectors.
//! Bank account numbers are personal data that a log must never carry in full; the
//! helpers here keep the last four digits, which is what an operator needs to tell two
//! accounts apart.

mod config;

use std::str::FromStr;

use tracing_subscriber::EnvFilter;

pub use config::{DEFAULT_LOG_LEVEL, LogSettings, RawLogConfig};

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}; use text or json")),
        }
    }
}

/// Installs the global subscriber. `filter` uses `tracing`'s directive syntax
/// (`info`, `dingk3=debug,lapin=warn`); `RUST_LOG`, when set, wins.
///
/// Calling it twice (as tests that start several components may) keeps the first
/// subscriber.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Masks a bank account number to its last four digits: `6222021234567890123` →
/// `***************0123`. Separators are dropped first; values of four digits or fewer
/// are masked entirely, because they are too short to tell apart safely.
pub fn mask_account(account: &str) -> String {
    let digits: Vec<char> = account
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() <= 4 {
        return "*".repeat(digits.len().max(4));
    }
    let visible: String = digits[digits.len() - 4..].iter().collect();
    format!("{}{visible}", "*".repeat(digits.len() - 4))
}

/// Replaces every number of 12 or more digits in free text (a remark, a K3Cloud error
/// message) by its masked form, because such numbers are bank account or card numbers
/// more often than anything else an approval carries.
///
/// A number is a run of digits, or groups of digits joined by single spaces or hyphens
/// where every group but the last has four digits, as card numbers are written
/// (`6222 0212 3456 7890 123`). Dates (`2026-10-28`) and amounts do not form such
/// groups, so they stay readable.
pub fn mask_account_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut output = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_ascii_digit() {
            output.push(chars[index]);
            index += 1;
            continue;
        }
        let end = number_end(&chars, index);
        let number: String = chars[index..end].iter().collect();
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if digits >= 12 {
            output.push_str(&mask_account(&number));
        } else {
            output.push_str(&number);
        }
        index = end;
    }
    output
}

/// Returns the end of the number that starts at `start`: its digit run, extended over
/// a single space or hyphen and the next run while the group before it has four digits.
fn number_end(chars: &[char], start: usize) -> usize {
    let mut group_start = start;
    let mut end = digits_end(chars, start);
    while end - group_start == 4
        && matches!(chars.get(end), Some(' ' | '-'))
        && chars.get(end + 1).is_some_and(char::is_ascii_digit)
    {
        group_start = end + 1;
        end = digits_end(chars, group_start);
    }
    end
}

fn digits_end(chars: &[char], start: usize) -> usize {
    chars[start..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(chars.len(), |offset| start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_account_keeps_last_four() {
        assert_eq!(mask_account("6222021234567890123"), "***************0123");
        assert_eq!(mask_account("6222 0212 3456 7890"), "************7890");
    }

    #[test]
    fn mask_account_hides_short_values_entirely() {
        assert_eq!(mask_account("123"), "****");
        assert_eq!(mask_account("1234"), "****");
    }

    #[test]
    fn mask_account_numbers_in_text() {
        assert_eq!(
            mask_account_numbers(
                "收款账号 6222021234567890123，金额 1280.00，编号 202611031015000123401"
            ),
            "收款账号 ***************0123，金额 1280.00，编号 *****************3401"
        );
    }

    #[test]
    fn mask_account_numbers_in_groups() {
        assert_eq!(
            mask_account_numbers("no entry for \"6225 8812 3456 7890\" in payee_account"),
            "no entry for \"************7890\" in payee_account"
        );
        assert_eq!(
            mask_account_numbers("转账至 6217-0012-3456-7890-456。"),
            "转账至 ***************0456。"
        );
    }

    #[test]
    fn mask_account_numbers_keeps_dates_and_short_groups() {
        let text = "2026-10-28 2026-10-30，电话 138 1234 5678，金额 1 280.00，6225 8812";
        assert_eq!(mask_account_numbers(text), text);
    }

    #[test]
    fn log_format_parses() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
