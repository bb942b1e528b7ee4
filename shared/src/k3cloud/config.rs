//! The `[k3cloud]` configuration section: where the server is, which account set and
//! user to act as, how to authenticate, and the timeouts of every call.
//!
//! [`RawK3CloudConfig`] is what the TOML file and the `DINGK3_…` environment supply;
//! [`RawK3CloudConfig::validate`] turns it into [`K3CloudSettings`] or a [`ConfigError`]
//! whose key is relative to the section (the caller adds `k3cloud.` with
//! [`ConfigError::within`]).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::config::http::{ca_certificates, http_timeouts};
use crate::config::{ConfigError, RawSecret};
use crate::text;

/// Locale ids K3Cloud accepts: simplified Chinese, English, traditional Chinese. Under
/// signature auth any other value makes every call fail with "会话信息已丢失".
const KNOWN_LCIDS: [u32; 3] = [2052, 1033, 3076];

/// The `[k3cloud]` section as written. Every key has a default, so validation can name
/// what is missing instead of serde failing on the first absent key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawK3CloudConfig {
    /// Site root, e.g. `http://erp.example.com/k3cloud/`.
    pub base_url: String,

    /// Account set id (账套 `FDATACENTERID`), not the account set name.
    pub acct_id: String,

    /// K3Cloud user the bills are written as.
    pub username: String,

    /// Locale of server messages: 2052 (简体中文), 1033 (English) or 3076 (繁體中文).
    pub lcid: u32,

    /// Organisation number of the signature's app data; "0" unless multi-org is enabled.
    pub org_num: String,

    /// `signature` (per-request `X-Api-*`/`X-Kd-*` headers, what SDK 8.x uses) or
    /// `session` (log in once and carry the session cookies).
    pub auth: String,

    /// Login service under `auth = "session"`: `app_secret` (LoginByAppSecret) or
    /// `password` (ValidateUser).
    pub session_login: String,

    /// App id from K3Cloud's 第三方系统登录授权 screen: `<client id>_<32-character part>`.
    pub app_id: String,

    /// App secret issued with the app id (usually set through the environment).
    pub app_secret: Option<SecretString>,

    /// Path of a file holding the app secret.
    pub app_secret_file: Option<String>,

    /// Password of `username`, for `session_login = "password"`.
    pub password: Option<SecretString>,

    /// Path of a file holding the password.
    pub password_file: Option<String>,

    /// Milliseconds allowed to open a TCP (and TLS) connection.
    pub connect_timeout_ms: u64,

    /// Milliseconds allowed for a whole call, from sending the request to the last byte
    /// of the reply. A `BatchSave` of many bills can take long on a busy server.
    pub request_timeout_ms: u64,

    /// Sends `IsAutoSubmitAndAudit`, so K3Cloud saves, submits and audits each bill in one
    /// transaction.
    pub auto_submit_and_audit: bool,

    /// PEM file with the certificate of a private CA that signed the server's
    /// certificate. It is added to the system trust store and does not replace it.
    pub tls_ca_file: Option<String>,
}

impl Default for RawK3CloudConfig {
    fn default() -> Self {
        RawK3CloudConfig {
            base_url: String::new(),
            acct_id: String::new(),
            username: String::new(),
            lcid: 2052,
            org_num: "0".to_string(),
            auth: "signature".to_string(),
            session_login: "app_secret".to_string(),
            app_id: String::new(),
            app_secret: None,
            app_secret_file: None,
            password: None,
            password_file: None,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 120_000,
            auto_submit_and_audit: false,
            tls_ca_file: None,
        }
    }
}

/// Authentication mode of every request.
#[derive(Debug, Clone)]
pub enum AuthSettings {
    /// Signature headers on every request; the server creates sessions by itself.
    Signature {
        /// Full app id, `<client id>_<secret part>`.
        app_id: String,
        /// App secret, the HMAC key of `X-Kd-Signature`.
        app_secret: SecretString,
    },
    /// One login whose session cookies are carried until the server drops them.
    Session(SessionLogin),
}

/// The login service of session auth and its credentials.
#[derive(Debug, Clone)]
pub enum SessionLogin {
    /// `AuthService.LoginByAppSecret`: no user password is stored.
    AppSecret {
        /// Full app id.
        app_id: String,
        /// App secret issued with the app id.
        app_secret: SecretString,
    },
    /// `AuthService.ValidateUser` with the user's password.
    Password {
        /// Password of the configured user.
        password: SecretString,
    },
}

/// The checked `[k3cloud]` section. `Debug` shows no secret because every secret is a
/// [`SecretString`].
#[derive(Debug, Clone)]
pub struct K3CloudSettings {
    /// Site root, always ending in `/`, so service names can be joined to it.
    pub base_url: Url,
    /// Account set id.
    pub acct_id: String,
    /// K3Cloud user name.
    pub username: String,
    /// Locale id of server messages.
    pub lcid: u32,
    /// Organisation number of the signature's app data.
    pub org_num: String,
    /// Authentication mode and its credentials.
    pub auth: AuthSettings,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole call.
    pub request_timeout: Duration,
    /// Whether writes ask K3Cloud to submit and audit in the same transaction.
    pub auto_submit_and_audit: bool,
    /// Extra trusted CA certificates read from `tls_ca_file`.
    pub tls_ca_certificates: Vec<reqwest::Certificate>,
    /// Path the certificates were read from, for messages.
    pub tls_ca_file: Option<PathBuf>,
}

impl RawK3CloudConfig {
    /// Checks every key and resolves secrets; errors name the key relative to the section.
    pub fn validate(&self) -> Result<K3CloudSettings, ConfigError> {
        let base_url = validate_base_url(&self.base_url)?;
        let acct_id = required_text("acct_id", &self.acct_id, ("the account set id", "账套 ID"))?;
        let username = required_text("username", &self.username, ("the user name", "用户名"))?;
        let lcid = validate_lcid(self.lcid)?;
        let org_num = required_text(
            "org_num",
            &self.org_num,
            ("the organisation number or \"0\"", "组织编码或 \"0\""),
        )?;
        reject_comma("acct_id", &acct_id)?;
        reject_comma("org_num", &org_num)?;
        let auth = self.validate_auth()?;
        let (connect_timeout, request_timeout) =
            http_timeouts(self.connect_timeout_ms, self.request_timeout_ms, 120000)?;
        let (tls_ca_certificates, tls_ca_file) = ca_certificates(self.tls_ca_file.as_deref())?;

        Ok(K3CloudSettings {
            base_url,
            acct_id,
            username,
            lcid,
            org_num,
            auth,
            connect_timeout,
            request_timeout,
            auto_submit_and_audit: self.auto_submit_and_audit,
            tls_ca_certificates,
            tls_ca_file,
        })
    }

    fn validate_auth(&self) -> Result<AuthSettings, ConfigError> {
        let app_secret = RawSecret {
            value: self.app_secret.clone(),
            file: self.app_secret_file.clone(),
        };
        let password = RawSecret {
            value: self.password.clone(),
            file: self.password_file.clone(),
        };
        match self.auth.trim() {
            "signature" => Ok(AuthSettings::Signature {
                app_id: validate_app_id(&self.app_id, true)?,
                app_secret: resolve_required(&app_secret, "app_secret")?,
            }),
            "session" => match self.session_login.trim() {
                "app_secret" => Ok(AuthSettings::Session(SessionLogin::AppSecret {
                    app_id: validate_app_id(&self.app_id, false)?,
                    app_secret: resolve_required(&app_secret, "app_secret")?,
                })),
                "password" => Ok(AuthSettings::Session(SessionLogin::Password {
                    password: resolve_required(&password, "password")?,
                })),
                other => Err(ConfigError::new(
                    "session_login",
                    text!(
                        en: "unknown login service \"{other}\"; use \"app_secret\" (LoginByAppSecret) or \"password\" (ValidateUser)",
                        zh: "未知的登录方式“{other}”；请使用 \"app_secret\"（LoginByAppSecret）或 \"password\"（ValidateUser）",
                    ),
                )),
            },
            other => Err(ConfigError::new(
                "auth",
                text!(
                    en: "unknown authentication mode \"{other}\"; use \"signature\" or \"session\"",
                    zh: "未知的认证方式“{other}”；请使用 \"signature\" 或 \"session\"",
                ),
            )),
        }
    }
}

fn validate_base_url(raw: &str) -> Result<Url, ConfigError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(
            "base_url",
            text!(
                en: "missing; set the K3Cloud site root, e.g. http://erp.example.com/k3cloud/",
                zh: "缺少该项；请填写 K3Cloud 站点根地址，例如 http://erp.example.com/k3cloud/",
            ),
        ));
    }
    let mut url = Url::parse(trimmed).map_err(|error| {
        ConfigError::new(
            "base_url",
            text!(
                en: "\"{trimmed}\" is not a valid URL ({error}); write it as http://host[:port]/k3cloud/",
                zh: "“{trimmed}”不是有效的 URL（{error}）；请写成 http://主机[:端口]/k3cloud/",
            ),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        let scheme = url.scheme().to_string();
        return Err(ConfigError::new(
            "base_url",
            text!(
                en: "scheme \"{scheme}\" is not supported; use http:// or https://",
                zh: "不支持协议“{scheme}”；请使用 http:// 或 https://",
            ),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ConfigError::new(
            "base_url",
            text!(
                en: "must not contain a query, a fragment or user information; keep only scheme, host, port and path",
                zh: "不能包含查询参数、片段或用户信息；只保留协议、主机、端口和路径",
            ),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Returns the trimmed value or an error naming `key`; `what` describes the expected
/// value in English and Chinese.
fn required_text(key: &str, value: &str, what: (&str, &str)) -> Result<String, ConfigError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        let (en_what, zh_what) = what;
        return Err(ConfigError::new(
            key,
            text!(
                en: "missing; set {key} to {en_what}",
                zh: "缺少该项；请把 {key} 设为{zh_what}",
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// `X-Kd-Appdata` joins account set, user, lcid and organisation with commas, so a comma
/// inside a value would shift the fields the server reads.
fn reject_comma(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.contains(',') {
        return Err(ConfigError::new(
            key,
            text!(
                en: "\"{value}\" contains a comma, which the signature's app data uses as a separator; check the value",
                zh: "“{value}”包含逗号，而签名的 app data 用逗号分隔字段；请检查该值",
            ),
        ));
    }
    Ok(())
}

fn validate_lcid(lcid: u32) -> Result<u32, ConfigError> {
    if KNOWN_LCIDS.contains(&lcid) {
        return Ok(lcid);
    }
    Err(ConfigError::new(
        "lcid",
        text!(
            en: "{lcid} is not a K3Cloud locale id; use 2052 (simplified Chinese), 1033 (English) or 3076 (traditional Chinese)",
            zh: "{lcid} 不是 K3Cloud 的语言 ID；请使用 2052（简体中文）、1033（英文）或 3076（繁体中文）",
        ),
    ))
}

/// Checks the app id. The signature key is derived from the 32-character part after the
/// first `_` (base64 of 24 bytes). Any other form makes the SDK sign with an empty key,
/// which the server rejects on every call.
fn validate_app_id(raw: &str, signature: bool) -> Result<String, ConfigError> {
    let app_id = raw.trim();
    if app_id.is_empty() {
        return Err(ConfigError::new(
            "app_id",
            text!(
                en: "missing; copy the app id from K3Cloud's third-party login authorisation screen (第三方系统登录授权)",
                zh: "缺少该项；请从 K3Cloud 的“第三方系统登录授权”界面复制应用 ID",
            ),
        ));
    }
    if signature {
        let secret_part = app_id.split_once('_').map(|(_, part)| part).unwrap_or("");
        let decodes = BASE64
            .decode(secret_part)
            .is_ok_and(|bytes| bytes.len() == 24);
        if secret_part.len() != 32 || !decodes {
            return Err(ConfigError::new(
                "app_id",
                text!(
                    en: "\"{app_id}\" is not a full app id; signature auth needs the form <client id>_<32-character code>, copied whole from K3Cloud",
                    zh: "“{app_id}”不是完整的应用 ID；签名认证需要 <客户端 ID>_<32 位编码> 的形式，请从 K3Cloud 完整复制",
                ),
            ));
        }
    }
    Ok(app_id.to_string())
}

fn resolve_required(raw: &RawSecret, key: &str) -> Result<SecretString, ConfigError> {
    raw.resolve(key, true)?.ok_or_else(|| {
        ConfigError::new(
            key,
            text!(
                en: "missing; set {key} or {key}_file",
                zh: "缺少该项；请设置 {key} 或 {key}_file",
            ),
        )
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
