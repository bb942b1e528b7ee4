//! Everything the producer reads from the configuration, validated together at start.
//!
//! The producer needs five sections (`dingtalk`, `broker`, `ledger`, `producer`, `log`)
//! and the `[[routes]]`, whose process codes are the templates it polls. Every invalid
//! key is reported at once, so an operator fixes the file in one pass.

use dingk3::broker::{BrokerSettings, RawBrokerConfig, default_connection_name};
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::dingtalk::{DingTalkSettings, RawDingTalkConfig};
use dingk3::ledger::{LedgerSettings, RawLedgerConfig};
use dingk3::mapping::{RawRoutesConfig, Routes};
use dingk3::text;

use crate::config::{ProducerSettings, RawProducerConfig};
use dingk3::telemetry::{LogSettings, RawLogConfig};

/// Value of the AMQP `app_id` property of every published message.
pub const APP_ID: &str = "dingk3-producer";

/// The producer's validated configuration.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// The DingTalk app polled.
    pub dingtalk: DingTalkSettings,
    /// The broker published to.
    pub broker: BrokerSettings,
    /// The ledger of every instance and the watermarks.
    pub ledger: LedgerSettings,
    /// Polling, publishing and operation settings.
    pub producer: ProducerSettings,
    /// Log format and filter.
    pub log: LogSettings,
    /// Routes; their process codes are the templates polled, and their mappings give
    /// the ledger each claim's total.
    pub routes: Routes,
    /// Name of the work connection as the broker shows it; the leader lock connection
    /// adds `-leader`. Not a configuration key: it defaults to
    /// `dingk3-producer-<host>-<pid>`, and tests set a unique one.
    pub connection_name: String,
}

impl ProducerConfig {
    /// Extracts and validates every section the producer reads.
    pub fn from_source(source: &ConfigSource) -> Result<ProducerConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let dingtalk =
            section::<RawDingTalkConfig, _>(source, "dingtalk", &mut errors, |raw| raw.validate());
        let broker =
            section::<RawBrokerConfig, _>(source, "broker", &mut errors, |raw| raw.validate());
        let ledger =
            section::<RawLedgerConfig, _>(source, "ledger", &mut errors, |raw| raw.validate());
        let producer =
            section::<RawProducerConfig, _>(source, "producer", &mut errors, |raw| raw.validate());
        let log = section::<RawLogConfig, _>(source, "log", &mut errors, |raw| raw.validate());
        let routes = match source.whole::<RawRoutesConfig>() {
            Ok(raw) => match raw.validate() {
                Ok(routes) => Some(routes),
                Err(route_errors) => {
                    errors.extend(route_errors);
                    None
                }
            },
            Err(error) => {
                errors.push(error);
                None
            }
        };

        if let (Some(dingtalk), Some(producer)) = (&dingtalk, &producer) {
            check_lookback(dingtalk, producer, &mut errors);
        }

        match (dingtalk, broker, ledger, producer, log, routes) {
            (
                Some(dingtalk),
                Some(broker),
                Some(ledger),
                Some(producer),
                Some(log),
                Some(routes),
            ) if errors.is_empty() => Ok(ProducerConfig {
                dingtalk,
                broker,
                ledger,
                producer,
                log,
                routes,
                connection_name: default_connection_name("producer"),
            }),
            _ => Err(errors),
        }
    }

    /// Replaces the broker connection name, e.g. with a unique one in tests.
    pub fn with_connection_name(mut self, name: impl Into<String>) -> ProducerConfig {
        self.connection_name = name.into();
        self
    }

    /// Returns the process codes polled, in the order of `[[routes]]`, each once.
    pub fn process_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for route in self.routes.iter() {
            if !codes.contains(&route.process_code) {
                codes.push(route.process_code.clone());
            }
        }
        codes
    }

    /// Returns the name of the leader lock connection.
    pub fn leader_connection_name(&self) -> String {
        format!("{}-leader", self.connection_name)
    }
}

/// Extracts and validates one section, collecting its error under the section's name.
fn section<R, S>(
    source: &ConfigSource,
    name: &str,
    errors: &mut Vec<ConfigError>,
    validate: impl FnOnce(&R) -> Result<S, ConfigError>,
) -> Option<S>
where
    R: serde::de::DeserializeOwned + Default,
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

/// Rejects a first window that reaches further back than DingTalk lists.
fn check_lookback(
    dingtalk: &DingTalkSettings,
    producer: &ProducerSettings,
    errors: &mut Vec<ConfigError>,
) {
    let lookback = producer.initial_lookback.num_days();
    let max = i64::from(dingtalk.max_lookback_days);
    if lookback > max {
        errors.push(ConfigError::new(
            "producer.initial_lookback_days",
            text!(
                en: "is {lookback}, but DingTalk lists at most dingtalk.max_lookback_days = {max} days back; lower it to {max} or less",
                zh: "当前为 {lookback}，但钉钉最多只能查询 dingtalk.max_lookback_days = {max} 天内的实例；请调到 {max} 或更小",
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = r#"
[[routes]]
process_code = "PROC-A"
form_id = "AP_PAYBILL"
mapping = "claim"

[[routes]]
process_code = "PROC-B"
form_id = "AP_PAYBILL"
mapping = "claim"

[mappings.claim]
header = [{ key = "FREMARK", template = "{business_id}" }]

[mappings.claim.entries]
entity = "FPAYBILLENTRY"
amount = "FPAYTOTALAMOUNTFOR"
fields = [{ key = "FPAYTOTALAMOUNTFOR", source = "form:金额", as = "money" }]
"#;

    const DINGTALK: &str = "[dingtalk]\napp_key = \"dingkey\"\napp_secret = \"secret\"\n";

    fn load(extra: &str) -> Result<ProducerConfig, Vec<ConfigError>> {
        let text = format!("{DINGTALK}{extra}\n{ROUTES}");
        let source = ConfigSource::from_toml_str(&text).expect("the test TOML parses");
        ProducerConfig::from_source(&source)
    }

    #[test]
    fn process_codes_follow_routes() {
        let config = load("").unwrap();
        assert_eq!(config.process_codes(), vec!["PROC-A", "PROC-B"]);
    }

    #[test]
    fn every_invalid_key_reported() {
        let errors = load("[producer]\nfetch_concurrency = 0\n[log]\nformat = \"xml\"\n")
            .expect_err("two keys are invalid");
        let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
        assert!(
            keys.contains(&"producer.fetch_concurrency"),
            "keys: {keys:?}"
        );
        assert!(keys.contains(&"log.format"), "keys: {keys:?}");
    }

    #[test]
    fn unknown_producer_key_named() {
        let errors = load("[producer]\npoll_interval = 5\n").unwrap_err();
        assert_eq!(errors[0].key, "producer.poll_interval");
    }

    #[test]
    fn lookback_beyond_dingtalk_rejected() {
        let errors = load("[producer]\ninitial_lookback_days = 400\n").unwrap_err();
        assert_eq!(errors[0].key, "producer.initial_lookback_days");
        assert!(
            errors[0].problem.en.contains("dingtalk.max_lookback_days"),
            "{}",
            errors[0].problem.en
        );
    }

    #[test]
    fn missing_routes_rejected() {
        let source = ConfigSource::from_toml_str(DINGTALK).unwrap();
        let errors = ProducerConfig::from_source(&source).unwrap_err();
        assert!(
            errors.iter().any(|error| error.key.starts_with("routes")),
            "an empty route list is named: {errors:?}"
        );
    }

    #[test]
    fn leader_connection_name_derived() {
        let config = load("").unwrap().with_connection_name("p1");
        assert_eq!(config.leader_connection_name(), "p1-leader");
    }
}
