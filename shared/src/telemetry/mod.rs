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

/// Replaces every run of 12 or more digits in free text (a remark, a K3Cloud error
/// message) by its masked form, because such runs are bank account or card numbers
/// more often than anything else an approval carries.
pub fn mask_account_numbers(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush_run(&mut output, &mut run);
        output.push(c);
    }
    flush_run(&mut output, &mut run);
    output
}

fn flush_run(output: &mut String, run: &mut String) {
    if run.len() >= 12 {
        output.push_str(&mask_account(run));
    } else {
        output.push_str(run);
    }
    run.clear();
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
    fn log_format_parses() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
