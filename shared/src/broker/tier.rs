//! Retry delay tiers such as `10s`, `1m`, `10m`, `1h`.
//!
//! Each tier becomes one retry queue whose per-queue `x-message-ttl` is the delay. One
//! queue per delay is needed because RabbitMQ expires messages only at the head of a
//! queue, so a short per-message TTL behind a long one would wait for the long one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One retry delay, written `<n>s`, `<n>m` or `<n>h` in the configuration.
///
/// The written form is kept as the label because it names the retry queue
/// (`{prefix}.retry.<label>`) and is the routing key that reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTier {
    /// The configured spelling, e.g. `10s`.
    label: String,

    /// How long a message waits in the tier's queue before it returns to the work queue.
    delay: Duration,
}

/// A tier string that is not `<n>s`, `<n>m` or `<n>h`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid retry tier {value:?}: expected a positive whole number followed by s, m or h, e.g. 10s, 1m, 1h"
)]
pub struct InvalidRetryTier {
    /// The rejected text.
    pub value: String,
}

impl RetryTier {
    /// Returns the configured spelling, which is also the routing key of the tier.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Returns the delay before a message in this tier is retried.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Returns the delay in milliseconds, the unit of `x-message-ttl`.
    pub fn ttl_millis(&self) -> i64 {
        // Parsing caps a tier at u32::MAX hours, whose milliseconds fit an i64.
        i64::try_from(self.delay.as_millis()).unwrap_or(i64::MAX)
    }
}

impl FromStr for RetryTier {
    type Err = InvalidRetryTier;

    fn from_str(value: &str) -> Result<RetryTier, InvalidRetryTier> {
        let invalid = || InvalidRetryTier {
            value: value.to_string(),
        };
        let unit_seconds = match value.chars().last() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            _ => return Err(invalid()),
        };
        let digits = &value[..value.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u32 = digits.parse().map_err(|_| invalid())?;
        if count == 0 {
            return Err(invalid());
        }
        Ok(RetryTier {
            label: value.to_string(),
            delay: Duration::from_secs(u64::from(count) * unit_seconds),
        })
    }
}

impl fmt::Display for RetryTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_each_unit() {
        let cases = [
            ("10s", 10),
            ("1m", 60),
            ("10m", 600),
            ("1h", 3600),
            ("36h", 129_600),
        ];
        for (text, seconds) in cases {
            let tier: RetryTier = text.parse().unwrap();
            assert_eq!(
                tier.delay(),
                Duration::from_secs(seconds),
                "delay of {text}"
            );
            assert_eq!(tier.label(), text, "label of {text}");
        }
    }

    #[test]
    fn parse_rejects_malformed_values() {
        for text in [
            "",
            "s",
            "0s",
            "10",
            "10d",
            "1.5m",
            "-1m",
            " 1m",
            "1M",
            "99999999999h",
        ] {
            assert!(
                text.parse::<RetryTier>().is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn ttl_is_in_milliseconds() {
        let tier: RetryTier = "1m".parse().unwrap();
        assert_eq!(tier.ttl_millis(), 60_000);
    }
}
