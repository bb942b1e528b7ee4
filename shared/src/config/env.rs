//! The `DINGK3_…` environment variables as a figment provider.
//!
//! figment's own `Env` provider parses every value, so `DINGK3_K3CLOUD__PASSWORD=123456`
//! becomes the integer 123456 and fails to fill a text key. This provider keeps values as
//! text; numbers and booleans are converted when a section is extracted (figment's lossy
//! extraction). A value starting with `[` or `{` is parsed, so lists such as
//! `DINGK3_BROKER__RETRY_TIERS='["30s","5m"]'` still work.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// The variables of the process environment that override configuration keys.
pub(crate) struct EnvOverrides {
    prefix: &'static str,
    ignored: &'static [&'static str],
    variables: Vec<(String, String)>,
}

impl EnvOverrides {
    /// Reads the process environment. `ignored` lists lowercase key names, after the
    /// prefix, that are not configuration keys (`config` for `DINGK3_CONFIG`).
    pub(crate) fn from_process(
        prefix: &'static str,
        ignored: &'static [&'static str],
    ) -> EnvOverrides {
        EnvOverrides::from_pairs(prefix, ignored, std::env::vars())
    }

    /// Builds the provider from explicit `(name, value)` pairs, for tests.
    pub(crate) fn from_pairs(
        prefix: &'static str,
        ignored: &'static [&'static str],
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> EnvOverrides {
        EnvOverrides {
            prefix,
            ignored,
            variables: variables.into_iter().collect(),
        }
    }

    /// Returns the key path of a variable, or `None` when it is not a configuration key.
    fn key_path(&self, name: &str) -> Option<Vec<String>> {
        let rest = name.strip_prefix(self.prefix)?;
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) || self.ignored.contains(&path.join(".").as_str()) {
            return None;
        }
        Some(path)
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        let prefix = self.prefix;
        Metadata::named("environment variable").interpolater(move |_profile, keys| {
            let upper: Vec<String> = keys.iter().map(|key| key.to_ascii_uppercase()).collect();
            format!("{prefix}{}", upper.join("__"))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        for (name, text) in &self.variables {
            let Some(path) = self.key_path(name) else {
                continue;
            };
            let value = if text.trim_start().starts_with(['[', '{']) {
                text.parse::<Value>()
                    .expect("figment's value parser is infallible")
            } else {
                Value::from(text.clone())
            };
            insert(&mut root, &path, value);
        }
        let mut profiles = Map::new();
        profiles.insert(Profile::Default, root);
        Ok(profiles)
    }
}

/// Inserts `value` at `path`, creating the tables on the way.
fn insert(dict: &mut Dict, path: &[String], value: Value) {
    let (first, rest) = path.split_first().expect("a key path is never empty");
    if rest.is_empty() {
        dict.insert(first.clone(), value);
        return;
    }
    let entry = dict
        .entry(first.clone())
        .or_insert_with(|| Value::from(Dict::new()));
    if entry.as_dict().is_none() {
        *entry = Value::from(Dict::new());
    }
    if let Value::Dict(_, child) = entry {
        insert(child, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct K3 {
        password: String,
        acct_id: String,
        timeout_ms: u64,
        auto: bool,
        tiers: Vec<String>,
    }

    fn provider(pairs: &[(&str, &str)]) -> EnvOverrides {
        EnvOverrides::from_pairs(
            "DINGK3_",
            &["config"],
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn numeric_text_stays_text() {
        let figment = Figment::from(provider(&[
            ("DINGK3_K3__PASSWORD", "123456"),
            ("DINGK3_K3__ACCT_ID", "0042"),
            ("DINGK3_K3__TIMEOUT_MS", "500"),
            ("DINGK3_K3__AUTO", "true"),
            ("DINGK3_K3__TIERS", r#"["30s","5m"]"#),
            ("DINGK3_CONFIG", "/etc/dingk3.toml"),
            ("OTHER", "x"),
        ]));
        let k3: K3 = figment.extract_inner_lossy("k3").unwrap();
        assert_eq!(k3.password, "123456");
        assert_eq!(k3.acct_id, "0042");
        assert_eq!(k3.timeout_ms, 500);
        assert!(k3.auto);
        assert_eq!(k3.tiers, vec!["30s".to_string(), "5m".to_string()]);
        assert!(!figment.contains("config"), "DINGK3_CONFIG is not a key");
    }

    #[test]
    fn error_names_the_variable() {
        let figment = Figment::from(provider(&[("DINGK3_K3__TIMEOUT_MS", "soon")]));
        let error = figment.extract_inner_lossy::<K3>("k3").unwrap_err();
        let metadata = error.metadata.clone().unwrap();
        let keys: Vec<&str> = vec!["k3", "timeout_ms"];
        assert_eq!(
            metadata.interpolate(&Profile::Default, &keys),
            "DINGK3_K3__TIMEOUT_MS"
        );
    }
}
