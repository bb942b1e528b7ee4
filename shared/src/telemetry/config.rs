//! The `[log]` configuration section, read by both binaries: the log format and the
//! `tracing` filter.

use serde::Deserialize;

use super::LogFormat;
use crate::config::ConfigError;
use crate::text;

/// Default `tracing` filter: dingk3 at `info`, lapin silent.
///
/// lapin logs a returned message with its whole body at `WARN` (approval data belongs in
/// no log) and a standby producer's refused lock at `ERROR` every few seconds; dingk3
/// logs broker failures itself. Set `RUST_LOG=info,lapin=warn` to see lapin's own view
/// of a connection problem.
pub const DEFAULT_LOG_LEVEL: &str = "info,lapin=off";

/// The `[log]` section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLogConfig {
    /// `text` for people reading a terminal, `json` for log collectors.
    pub format: String,

    /// `tracing` filter directives such as `info` or `info,dingk3=debug`; the
    /// `RUST_LOG` environment variable wins when set.
    pub level: String,
}

impl Default for RawLogConfig {
    fn default() -> RawLogConfig {
        RawLogConfig {
            format: "text".to_string(),
            level: DEFAULT_LOG_LEVEL.to_string(),
        }
    }
}

/// The checked `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// Filter directives.
    pub level: String,
}

impl RawLogConfig {
    /// Checks both keys; errors name the key relative to the section.
    pub fn validate(&self) -> Result<LogSettings, ConfigError> {
        let format = self.format.parse::<LogFormat>().map_err(|_| {
            let value = &self.format;
            ConfigError::new(
                "format",
                text!(
                    en: "{value:?} is not a log format; use text or json",
                    zh: "{value:?} 不是有效的日志格式；请使用 text 或 json",
                ),
            )
        })?;
        let level = self.level.trim();
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(level) {
            return Err(ConfigError::new(
                "level",
                text!(
                    en: "{level:?} is not a valid filter ({error}); write a level such as info or directives such as info,dingk3=debug",
                    zh: "{level:?} 不是有效的日志过滤规则（{error}）；请写日志级别如 info，或规则如 info,dingk3=debug",
                ),
            ));
        }
        Ok(LogSettings {
            format,
            level: level.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let settings = RawLogConfig::default().validate().unwrap();
        assert_eq!(settings.format, LogFormat::Text);
        assert_eq!(settings.level, DEFAULT_LOG_LEVEL);
    }

    #[test]
    fn unknown_format_rejected() {
        let raw = RawLogConfig {
            format: "xml".to_string(),
            ..RawLogConfig::default()
        };
        assert_eq!(raw.validate().unwrap_err().key, "format");
    }

    #[test]
    fn invalid_level_rejected() {
        let raw = RawLogConfig {
            level: "info,dingk3=loud".to_string(),
            ..RawLogConfig::default()
        };
        assert_eq!(raw.validate().unwrap_err().key, "level");
    }
}
