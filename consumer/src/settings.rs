//! Loading and checking every configuration section the consumer reads, collecting all
//! problems at once so an operator can fix the file in one pass.

use dingk3::broker::{BrokerSettings, RawBrokerConfig};
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::dingtalk::{DingTalkSettings, RawDingTalkConfig};
use dingk3::k3cloud::{K3CloudSettings, RawK3CloudConfig};
use dingk3::ledger::{LedgerSettings, RawLedgerConfig};
use dingk3::mapping::{RawRoutesConfig, Routes};
use serde::de::DeserializeOwned;

use crate::config::{ConsumerSettings, LogSettings, RawConsumerConfig, RawLogConfig};

/// Everything `consumer run` needs, checked.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// `[log]`.
    pub log: LogSettings,
    /// `[consumer]`.
    pub consumer: ConsumerSettings,
    /// `[broker]`.
    pub broker: BrokerSettings,
    /// `[ledger]`.
    pub ledger: LedgerSettings,
    /// `[k3cloud]`.
    pub k3cloud: K3CloudSettings,
    /// `[[routes]]`, `[mappings]` and `[value_maps]`.
    pub routes: Routes,
    /// `[dingtalk]`, read only when `consumer.write_back` is on.
    pub dingtalk: Option<DingTalkSettings>,
}

/// The checked sections `consumer status` reads.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// `[broker]`, for the dead-letter queue depth.
    pub broker: BrokerSettings,
    /// `[ledger]`, for counts and errors.
    pub ledger: LedgerSettings,
}

impl RunSettings {
    /// Reads and checks every section; returns every problem found.
    pub fn load(source: &ConfigSource) -> Result<RunSettings, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let log = section::<RawLogConfig, _>(source, "log", &mut errors, RawLogConfig::validate);
        let consumer = section::<RawConsumerConfig, _>(
            source,
            "consumer",
            &mut errors,
            RawConsumerConfig::validate,
        );
        let broker =
            section::<RawBrokerConfig, _>(source, "broker", &mut errors, RawBrokerConfig::validate);
        let ledger =
            section::<RawLedgerConfig, _>(source, "ledger", &mut errors, RawLedgerConfig::validate);
        let k3cloud = section::<RawK3CloudConfig, _>(
            source,
            "k3cloud",
            &mut errors,
            RawK3CloudConfig::validate,
        );
        let routes = match source.whole::<RawRoutesConfig>() {
            Ok(raw) => match raw.validate() {
                Ok(routes) => Some(routes),
                Err(found) => {
                    errors.extend(found);
                    None
                }
            },
            Err(error) => {
                errors.push(error);
                None
            }
        };
        let write_back = consumer
            .as_ref()
            .is_some_and(|settings| settings.write_back);
        let dingtalk = if write_back {
            section::<RawDingTalkConfig, _>(
                source,
                "dingtalk",
                &mut errors,
                RawDingTalkConfig::validate,
            )
        } else {
            None
        };

        match (log, consumer, broker, ledger, k3cloud, routes) {
            (
                Some(log),
                Some(consumer),
                Some(broker),
                Some(ledger),
                Some(k3cloud),
                Some(routes),
            ) if errors.is_empty() => Ok(RunSettings {
                log,
                consumer,
                broker,
                ledger,
                k3cloud,
                routes,
                dingtalk,
            }),
            _ => Err(errors),
        }
    }
}

impl StatusSettings {
    /// Reads and checks the broker and ledger sections.
    pub fn load(source: &ConfigSource) -> Result<StatusSettings, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let broker =
            section::<RawBrokerConfig, _>(source, "broker", &mut errors, RawBrokerConfig::validate);
        let ledger =
            section::<RawLedgerConfig, _>(source, "ledger", &mut errors, RawLedgerConfig::validate);
        match (broker, ledger) {
            (Some(broker), Some(ledger)) => Ok(StatusSettings { broker, ledger }),
            _ => Err(errors),
        }
    }
}

/// Extracts and validates one section, adding its error (with the section prefix) to
/// `errors`.
fn section<R, S>(
    source: &ConfigSource,
    name: &str,
    errors: &mut Vec<ConfigError>,
    validate: fn(&R) -> Result<S, ConfigError>,
) -> Option<S>
where
    R: DeserializeOwned + Default,
{
    let raw = match source.section::<R>(name) {
        Ok(raw) => raw,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    match validate(&raw) {
        Ok(settings) => Some(settings),
        Err(error) => {
            errors.push(error.within(name));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[k3cloud]
base_url = "http://127.0.0.1:9/k3cloud/"
acct_id = "66f0a1b2c3d4e5"
username = "dingk3"
app_id = "300001_ZGluZ2szLXNpbXVsYXRvci1hcHAtaWQh"
app_secret = "secret"

[[routes]]
process_code = "PROC-1"
form_id = "AP_PAYBILL"
mapping = "m"

[mappings.m.entries]
entity = "FPAYBILLENTRY"
amount = "FPAYTOTALAMOUNTFOR"
fields = [{ key = "FPAYTOTALAMOUNTFOR", source = "form:金额", as = "money" }]
"#;

    #[test]
    fn minimal_configuration_loads() {
        let source = ConfigSource::from_toml_str(MINIMAL).unwrap();
        let settings = RunSettings::load(&source).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(settings.routes.len(), 1);
        assert!(
            settings.dingtalk.is_none(),
            "dingtalk is not read without write-back"
        );
    }

    #[test]
    fn every_bad_section_is_reported() {
        let text = format!("{MINIMAL}\n[consumer]\nbatch_size = 0\n[broker]\nprefix = \"\"\n");
        let source = ConfigSource::from_toml_str(&text).unwrap();
        let errors = RunSettings::load(&source).unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
        assert!(keys.contains(&"consumer.batch_size"), "{keys:?}");
        assert!(
            keys.iter().any(|key| key.starts_with("broker.")),
            "{keys:?}"
        );
    }

    #[test]
    fn write_back_requires_dingtalk() {
        let text = format!("{MINIMAL}\n[consumer]\nwrite_back = true\n");
        let source = ConfigSource::from_toml_str(&text).unwrap();
        let errors = RunSettings::load(&source).unwrap_err();
        assert!(
            errors.iter().any(|error| error.key.starts_with("dingtalk")),
            "{errors:?}"
        );
    }
}
