//! Configuration: one TOML file plus `DINGK3_…` environment overrides, validated once at
//! start into typed settings.
//!
//! Each component owns its section: a raw `serde` struct with defaults and a
//! `validate()` that turns it into checked settings or a [`ConfigError`] naming the key.

mod env;
mod error;
mod figment_error;
pub mod http;
mod load;
mod secret;

pub use error::{ConfigError, print_errors};
pub use figment_error::from_figment_error;
pub use load::{CONFIG_PATH_ENV, ConfigSource, ENV_PREFIX, SECTIONS};
pub use secret::RawSecret;
