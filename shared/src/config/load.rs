//! Loading the configuration: one TOML file plus `DINGK3_…` environment overrides.
//!
//! An environment variable overrides the file key of the same path, with `__` between
//! the levels: `DINGK3_K3CLOUD__APP_SECRET` sets `k3cloud.app_secret`. Containers set
//! secrets and addresses this way and keep the mapping in the file.
//!
//! Each binary extracts the sections it needs and validates them with the section's own
//! `validate()`. Top-level keys are checked here, so a misspelt section name fails at
//! start instead of being ignored.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::{Figment, Provider};
use serde::de::DeserializeOwned;

use crate::config::env::EnvOverrides;
use crate::config::{ConfigError, from_figment_error};
use crate::text;

/// Prefix of the environment variables that override file keys.
pub const ENV_PREFIX: &str = "DINGK3_";

/// Environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_PATH_ENV: &str = "DINGK3_CONFIG";

/// Top-level keys of the configuration file.
pub const SECTIONS: &[&str] = &[
    "log",
    "dingtalk",
    "k3cloud",
    "broker",
    "ledger",
    "producer",
    "consumer",
    "routes",
    "mappings",
    "value_maps",
];

/// `DINGK3_…` variables that are not configuration keys.
const NON_KEY_VARIABLES: &[&str] = &["config", "lang"];

/// The merged configuration sources, not yet validated.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    figment: Figment,
    path: Option<PathBuf>,
}

impl ConfigSource {
    /// Reads `path` (if given) and the environment.
    ///
    /// Without a file every section takes its defaults, which suits a demo started with
    /// environment variables only.
    pub fn load(path: Option<&Path>) -> Result<ConfigSource, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.is_file() {
                let shown = path.display();
                return Err(ConfigError::new(
                    "",
                    text!(
                        en: "the configuration file {shown} does not exist; pass --config with the path of your dingk3.toml (config/dingk3.example.toml is a starting point)",
                        zh: "配置文件 {shown} 不存在；请用 --config 指定 dingk3.toml 的路径（可参考 config/dingk3.example.toml）",
                    ),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(EnvOverrides::from_process(ENV_PREFIX, NON_KEY_VARIABLES));
        let source = ConfigSource {
            figment,
            path: path.map(Path::to_path_buf),
        };
        source.check_top_level_keys()?;
        Ok(source)
    }

    /// Reads a configuration given as TOML text (tests, previews) plus the environment.
    pub fn from_toml_str(text: &str) -> Result<ConfigSource, ConfigError> {
        let source = ConfigSource {
            figment: Figment::from(Toml::string(text)),
            path: None,
        };
        source.check_top_level_keys()?;
        Ok(source)
    }

    /// The configuration file, when one was read.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Extracts one section; an absent section yields the section's defaults. The error
    /// names the key with its section prefix and where the bad value came from.
    ///
    /// Text such as `"5"` or `"true"` fills number and boolean keys, because environment
    /// variables carry only text.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        if !self.figment.contains(name) {
            return Ok(T::default());
        }
        self.figment
            .extract_inner_lossy::<T>(name)
            .map_err(|error| with_origin(error, name))
    }

    /// Extracts the whole configuration as `T` (for readers of several top-level keys,
    /// such as the routes, mappings and value maps).
    pub fn whole<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.figment
            .extract_lossy::<T>()
            .map_err(|error| with_origin(error, ""))
    }

    fn check_top_level_keys(&self) -> Result<(), ConfigError> {
        let data = self
            .figment
            .data()
            .map_err(|error| with_origin(error, ""))?;
        for dict in data.values() {
            for key in dict.keys() {
                if !SECTIONS.contains(&key.as_str()) {
                    let allowed = SECTIONS.join(", ");
                    return Err(ConfigError::new(
                        key.clone(),
                        text!(
                            en: "unknown section; the top-level keys are: {allowed}",
                            zh: "未知的配置段；可用的顶层配置项：{allowed}",
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Converts a figment error, prefixing the section and naming the file or environment
/// variable the value came from.
fn with_origin(mut error: figment::Error, section: &str) -> ConfigError {
    // `extract_inner` reports the section as the last path element; move it first.
    if !section.is_empty() && error.path.last().map(String::as_str) == Some(section) {
        error.path.pop();
        error.path.insert(0, section.to_string());
    }
    let origin = error.metadata.as_ref().map(|metadata| {
        let keys: Vec<&str> = error.path.iter().map(String::as_str).collect();
        match &metadata.source {
            Some(figment::Source::File(path)) => {
                let path = path.display();
                (format!("file {path}"), format!("文件 {path}"))
            }
            _ => {
                let variable =
                    metadata.interpolate(&error.profile.clone().unwrap_or_default(), &keys);
                (
                    format!("environment variable {variable}"),
                    format!("环境变量 {variable}"),
                )
            }
        }
    });
    let mut converted = from_figment_error(error);
    if !section.is_empty() && !converted.key.starts_with(section) {
        converted = converted.within(section);
    }
    if let Some((en, zh)) = origin {
        converted.problem.en.push_str(&format!(" (from {en})"));
        converted.problem.zh.push_str(&format!("（来自{zh}）"));
    }
    converted
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Section {
        timeout_ms: u64,
        name: String,
    }

    #[test]
    fn section_defaults_when_absent() {
        let source = ConfigSource::from_toml_str("[k3cloud]\n").unwrap();
        assert_eq!(
            source.section::<Section>("broker").unwrap(),
            Section::default()
        );
    }

    #[test]
    fn section_error_names_full_key() {
        let source = ConfigSource::from_toml_str("[k3cloud]\ntimeout_ms = \"soon\"\n").unwrap();
        let error = source.section::<Section>("k3cloud").unwrap_err();
        assert_eq!(error.key, "k3cloud.timeout_ms");
        assert!(
            error.problem.en.contains("wrong type"),
            "{}",
            error.problem.en
        );
    }

    #[test]
    fn unknown_key_in_section_is_named() {
        let source = ConfigSource::from_toml_str("[k3cloud]\ntimeout = 5\n").unwrap();
        let error = source.section::<Section>("k3cloud").unwrap_err();
        assert_eq!(error.key, "k3cloud.timeout");
    }

    #[test]
    fn unknown_top_level_section_is_rejected() {
        let error = ConfigSource::from_toml_str("[k3clod]\ntimeout_ms = 5\n").unwrap_err();
        assert_eq!(error.key, "k3clod");
        assert!(error.problem.en.contains("k3cloud"), "{}", error.problem.en);
    }

    #[test]
    fn missing_file_names_the_path() {
        let error = ConfigSource::load(Some(Path::new("/nonexistent/dingk3.toml"))).unwrap_err();
        assert!(error.problem.en.contains("/nonexistent/dingk3.toml"));
    }

    #[test]
    fn file_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dingk3.toml");
        std::fs::write(&path, "[k3cloud]\ntimeout_ms = \"soon\"\n").unwrap();
        let source = ConfigSource::load(Some(&path)).unwrap();
        let error = source.section::<Section>("k3cloud").unwrap_err();
        assert!(
            error.problem.en.contains(&path.display().to_string()),
            "{}",
            error.problem.en
        );
    }
}
