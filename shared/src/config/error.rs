//! The error every configuration check returns.
//!
//! A configuration error must let an operator fix the file without reading code, so it
//! always carries the full key path (`k3cloud.timeout_ms`), the offending value where
//! showing it is safe, and what to change.

use std::fmt;

use crate::i18n::{Lang, Localize, Text};
use crate::text;

/// One invalid configuration key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the key, e.g. `dingtalk.rate_limit_per_second`.
    pub key: String,

    /// What is wrong and how to fix it, in both user languages.
    pub problem: Text,
}

impl ConfigError {
    /// Creates an error for `key` with a bilingual explanation.
    pub fn new(key: impl Into<String>, problem: Text) -> ConfigError {
        ConfigError {
            key: key.into(),
            problem,
        }
    }

    /// Prefixes the key with a section name, so a section's `validate()` can report
    /// keys relative to itself and the caller adds where the section sits.
    pub fn within(mut self, section: &str) -> ConfigError {
        if self.key.is_empty() {
            self.key = section.to_string();
        } else {
            self.key = format!("{section}.{}", self.key);
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration key {}: {}",
            self.key, self.problem.en
        )
    }
}

impl std::error::Error for ConfigError {}

impl Localize for ConfigError {
    fn localize(&self) -> Text {
        Text::new(
            format!(
                "invalid configuration key {}: {}",
                self.key, self.problem.en
            ),
            format!("配置项 {} 无效：{}", self.key, self.problem.zh),
        )
    }
}

/// Prints configuration errors to stderr for a person at a terminal: a heading that says
/// what to do next (`again`, e.g. "start again" / "重新启动"), then one indented line
/// per error. Every binary reports an invalid configuration this way before it exits
/// with status 2.
pub fn print_errors(errors: &[ConfigError], lang: Lang, again: &Text) {
    let (again_en, again_zh) = (&again.en, &again.zh);
    let heading = if errors.len() == 1 {
        text!(
            en: "the configuration is invalid; fix this key and {again_en}:",
            zh: "配置无效；请修改以下配置项后{again_zh}：",
        )
    } else {
        let count = errors.len();
        text!(
            en: "the configuration is invalid; fix these {count} keys and {again_en}:",
            zh: "配置无效；请修改以下 {count} 个配置项后{again_zh}：",
        )
    };
    eprintln!("{}", heading.get(lang));
    for error in errors {
        eprintln!("  {}", error.localize().get(lang));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_nested_sections() {
        let error = ConfigError::new("timeout_ms", Text::new("must be > 0", "必须大于 0"))
            .within("k3cloud")
            .within("routes.0");
        assert_eq!(error.key, "routes.0.k3cloud.timeout_ms");
        assert_eq!(
            error.to_string(),
            "invalid configuration key routes.0.k3cloud.timeout_ms: must be > 0"
        );
        assert!(error.localize().zh.contains("必须大于 0"));
    }
}
