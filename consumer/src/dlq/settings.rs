//! The configuration the dead-letter commands read: `[broker]`, `[ledger]`, two keys
//! of `[consumer]`, and the routes.
//!
//! The routes are read leniently. Listing, exporting, replaying and purging must work
//! while the mapping is broken, because fixing the mapping and replaying is the usual
//! way out of a dead letter. Only `show` and the amount column use the mapping, and
//! they report its problems instead of failing.

use dingk3::broker::{BrokerSettings, RawBrokerConfig};
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::k3cloud::RawK3CloudConfig;
use dingk3::ledger::{LedgerSettings, RawLedgerConfig};
use dingk3::mapping::{RawRoutesConfig, Routes};

use crate::config::RawConsumerConfig;

/// Everything the dead-letter commands need, checked.
#[derive(Debug, Clone)]
pub struct DlqSettings {
    /// `[broker]`: where the dead-letter queue and the approvals exchange are.
    pub broker: BrokerSettings,

    /// `[ledger]`: replay reopens rows, purge marks them, show prints their history.
    pub ledger: LedgerSettings,

    /// `consumer.replay_limit`: replays allowed per approval.
    pub replay_limit: u32,

    /// `consumer.max_message_bytes`: bodies larger than this are not decoded, as the
    /// consumer would not decode them either.
    pub max_message_bytes: usize,

    /// The routes in force, or why they could not be read.
    pub routes: Result<Routes, Vec<ConfigError>>,

    /// `k3cloud.auto_submit_and_audit`, which changes the `BatchSave` request that
    /// `show` prints.
    pub auto_submit_and_audit: bool,
}

impl DlqSettings {
    /// Reads and checks the sections; returns every problem of `[consumer]`,
    /// `[broker]` and `[ledger]` at once.
    pub fn load(source: &ConfigSource) -> Result<DlqSettings, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let consumer =
            checked::<RawConsumerConfig, _>(source, "consumer", &mut errors, |raw| raw.validate());
        let broker =
            checked::<RawBrokerConfig, _>(source, "broker", &mut errors, RawBrokerConfig::validate);
        let ledger =
            checked::<RawLedgerConfig, _>(source, "ledger", &mut errors, RawLedgerConfig::validate);
        let (Some(consumer), Some(broker), Some(ledger)) = (consumer, broker, ledger) else {
            return Err(errors);
        };

        let routes = source
            .whole::<RawRoutesConfig>()
            .map_err(|error| vec![error])
            .and_then(|raw| raw.validate());
        // Only one key of [k3cloud] matters here; its other keys are the consumer's
        // business, so an incomplete section is not an error for these commands.
        let auto_submit_and_audit = source
            .section::<RawK3CloudConfig>("k3cloud")
            .map(|raw| raw.auto_submit_and_audit)
            .unwrap_or(false);

        Ok(DlqSettings {
            broker,
            ledger,
            replay_limit: consumer.replay_limit,
            max_message_bytes: consumer.max_message_bytes,
            routes,
            auto_submit_and_audit,
        })
    }

    /// Returns the routes when they are valid.
    pub fn routes(&self) -> Option<&Routes> {
        self.routes.as_ref().ok()
    }
}

/// Extracts and validates one section, adding its error (with the section prefix) to
/// `errors`.
fn checked<R, S>(
    source: &ConfigSource,
    name: &str,
    errors: &mut Vec<ConfigError>,
    validate: impl Fn(&R) -> Result<S, ConfigError>,
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
    validate(&raw)
        .map_err(|error| errors.push(error.within(name)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_configuration_loads() {
        let source = ConfigSource::from_toml_str("").unwrap();
        let settings = DlqSettings::load(&source).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(settings.replay_limit, 5, "default replay limit");
        assert!(settings.routes.is_err(), "no routes is reported, not fatal");
    }

    #[test]
    fn replay_limit_is_read() {
        let source = ConfigSource::from_toml_str("[consumer]\nreplay_limit = 2\n").unwrap();
        let settings = DlqSettings::load(&source).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(settings.replay_limit, 2);
    }

    #[test]
    fn bad_sections_are_all_reported() {
        let text = "[consumer]\nreplay_limit = 0\n[broker]\nprefix = \"\"\n";
        let source = ConfigSource::from_toml_str(text).unwrap();
        let errors = DlqSettings::load(&source).unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
        assert!(keys.contains(&"consumer.replay_limit"), "{keys:?}");
        assert!(
            keys.iter().any(|key| key.starts_with("broker.")),
            "{keys:?}"
        );
    }

    #[test]
    fn incomplete_k3cloud_is_tolerated() {
        let text = "[k3cloud]\nauto_submit_and_audit = true\n";
        let source = ConfigSource::from_toml_str(text).unwrap();
        let settings = DlqSettings::load(&source).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert!(settings.auto_submit_and_audit, "the one key is read");
    }
}
