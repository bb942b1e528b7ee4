//! Credentials the simulated K3Cloud accepts, and their defaults.
//!
//! Tests, the demo and the example configuration all talk to a simulator started with
//! the defaults below, so they share these constants instead of copying the values.
//! They are test values with no meaning outside the simulator.

use secrecy::SecretString;

/// Default account set id (`acctID`, 账套 / 数据中心 id).
pub const DEFAULT_ACCT_ID: &str = "66f0a1b2c3d4e5";

/// Default K3Cloud user name.
pub const DEFAULT_USERNAME: &str = "dingk3";

/// Default app id, shaped like a real one: `<client id>_<base64 of 24 bytes>` (32
/// characters after the underscore), so the SDK derives a non-empty client secret.
pub const DEFAULT_APP_ID: &str = "300001_ZGluZ2szLXNpbXVsYXRvci1hcHAtaWQh";

/// Default app secret issued with [`DEFAULT_APP_ID`].
pub const DEFAULT_APP_SECRET: &str = "b7e2c5d8f1a94e3c8d6b2a7f0e5c9d13";

/// Default password of [`DEFAULT_USERNAME`] for `AuthService.ValidateUser`.
pub const DEFAULT_PASSWORD: &str = "dingk3-sim-password";

/// Locale ids K3Cloud accepts: simplified Chinese, English, traditional Chinese.
pub const VALID_LCIDS: [u32; 3] = [2052, 1033, 3076];

/// The credentials one simulator instance accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Account set id; any other id fails signature auth with a non-200 reply.
    pub acct_id: String,

    /// The only user that may log in.
    pub username: String,

    /// App id for signature auth, `LoginByAppSecret` and `LoginBySign`.
    pub app_id: String,

    /// App secret paired with `app_id`.
    pub app_secret: SecretString,

    /// Password of `username` for `ValidateUser`.
    pub password: SecretString,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            acct_id: DEFAULT_ACCT_ID.to_string(),
            username: DEFAULT_USERNAME.to_string(),
            app_id: DEFAULT_APP_ID.to_string(),
            app_secret: SecretString::from(DEFAULT_APP_SECRET),
            password: SecretString::from(DEFAULT_PASSWORD),
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn default_app_id_has_sdk_shape() {
        let (client_id, secret_part) = DEFAULT_APP_ID.split_once('_').expect("underscore");
        assert!(!client_id.is_empty(), "client id part is empty");
        assert_eq!(secret_part.len(), 32, "secret part must be 32 characters");
        let bytes = STANDARD.decode(secret_part).expect("secret part is base64");
        assert_eq!(bytes.len(), 24, "secret part must decode to 24 bytes");
        assert!(
            !dingk3::k3cloud::signature::client_secret(DEFAULT_APP_ID).is_empty(),
            "the SDK must derive a client secret from the default app id"
        );
    }
}
