//! Secrets in configuration: given inline, through the environment, or read from a file.
//!
//! Container platforms mount secrets as files (`/run/secrets/…`), so every secret key
//! `x` also accepts `x_file`. Values are held in [`SecretString`], whose `Debug` prints
//! a placeholder, so a secret cannot reach a log through a derived `Debug`.

use secrecy::SecretString;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::text;

/// A secret as written in the raw configuration: inline or as a file path.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawSecret {
    /// The secret itself (usually set through an environment variable).
    pub value: Option<SecretString>,

    /// Path of a file whose content, without trailing newlines, is the secret.
    pub file: Option<String>,
}

impl RawSecret {
    /// Resolves the secret, reading the file if one is given.
    ///
    /// `key` is the configuration key reported in errors. `required` makes a missing
    /// secret an error; otherwise it yields `None`.
    pub fn resolve(&self, key: &str, required: bool) -> Result<Option<SecretString>, ConfigError> {
        match (&self.value, &self.file) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                key,
                text!(
                    en: "both {key} and {key}_file are set; keep only one",
                    zh: "同时设置了 {key} 和 {key}_file，请只保留一个",
                ),
            )),
            (Some(value), None) => Ok(Some(value.clone())),
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(content) => {
                    let trimmed = content.trim_end_matches(['\r', '\n']);
                    if trimmed.is_empty() {
                        Err(ConfigError::new(
                            format!("{key}_file"),
                            text!(
                                en: "the secret file {path} is empty",
                                zh: "密钥文件 {path} 为空",
                            ),
                        ))
                    } else {
                        Ok(Some(SecretString::from(trimmed.to_string())))
                    }
                }
                Err(error) => Err(ConfigError::new(
                    format!("{key}_file"),
                    text!(
                        en: "cannot read the secret file {path}: {error}",
                        zh: "无法读取密钥文件 {path}：{error}",
                    ),
                )),
            },
            (None, None) if required => Err(ConfigError::new(
                key,
                text!(
                    en: "missing; set {key} (or {key}_file with the path of a file holding it)",
                    zh: "缺少该项；请设置 {key}（或用 {key}_file 指向保存它的文件）",
                ),
            )),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn resolve_reads_file_and_trims_newline() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "s3cr3t").unwrap();
        let raw = RawSecret {
            value: None,
            file: Some(file.path().display().to_string()),
        };
        let secret = raw.resolve("k3cloud.app_secret", true).unwrap().unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t");
    }

    #[test]
    fn resolve_rejects_both_forms() {
        let raw = RawSecret {
            value: Some(SecretString::from("a")),
            file: Some("/nonexistent".into()),
        };
        let error = raw.resolve("k3cloud.app_secret", true).unwrap_err();
        assert_eq!(error.key, "k3cloud.app_secret");
    }

    #[test]
    fn resolve_reports_missing_required_secret() {
        let error = RawSecret::default()
            .resolve("dingtalk.app_secret", true)
            .unwrap_err();
        assert!(error.problem.en.contains("dingtalk.app_secret_file"));
    }

    #[test]
    fn resolve_allows_missing_optional_secret() {
        assert!(
            RawSecret::default()
                .resolve("k3cloud.password", false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn resolve_names_unreadable_file() {
        let raw = RawSecret {
            value: None,
            file: Some("/nonexistent/dingk3-secret".into()),
        };
        let error = raw.resolve("k3cloud.app_secret", true).unwrap_err();
        assert_eq!(error.key, "k3cloud.app_secret_file");
        assert!(error.problem.en.contains("/nonexistent/dingk3-secret"));
    }
}
