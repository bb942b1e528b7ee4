use std::io::Write;

use secrecy::{ExposeSecret, SecretString};

use super::*;

fn valid() -> RawDingTalkConfig {
    RawDingTalkConfig {
        app_key: "dingappkey123".to_string(),
        app_secret: Some(SecretString::from("app-secret-value")),
        ..RawDingTalkConfig::default()
    }
}

fn error_of(raw: RawDingTalkConfig) -> ConfigError {
    raw.validate()
        .expect_err("the configuration must be rejected")
}

#[test]
fn defaults_validate_with_credentials() {
    let settings = valid()
        .validate()
        .expect("defaults plus credentials are valid");
    assert_eq!(settings.api, ApiFlavor::Topapi, "topapi is the default");
    assert_eq!(
        settings.oapi_base_url.as_str(),
        "https://oapi.dingtalk.com/"
    );
    assert_eq!(settings.api_base_url.as_str(), "https://api.dingtalk.com/");
    assert!(
        settings.rate_limit_per_second < 20,
        "default stays below 20 calls/s"
    );
    assert_eq!(settings.max_lookback_days, 365);
    assert_eq!(settings.list_id_cap, 10_000);
    assert_eq!(settings.token_refresh_margin, Duration::from_secs(600));
}

#[test]
fn toml_section_parses() {
    let raw: RawDingTalkConfig = toml::from_str(
        r#"
        api = "v1"
        app_key = "k"
        app_secret = "s"
        max_lookback_days = 1825
        comment_userid = "finance-bot"
        "#,
    )
    .expect("a valid section parses");
    let settings = raw.validate().expect("the section is valid");
    assert_eq!(settings.api, ApiFlavor::V1);
    assert_eq!(settings.max_lookback_days, 1825);
    assert_eq!(settings.comment_userid.as_deref(), Some("finance-bot"));
}

#[test]
fn toml_rejects_unknown_key() {
    let parsed = toml::from_str::<RawDingTalkConfig>("app_keys = \"k\"");
    assert!(parsed.is_err(), "a misspelt key must not be ignored");
}

#[test]
fn api_rejects_unknown_generation() {
    let error = error_of(RawDingTalkConfig {
        api: "v2".into(),
        ..valid()
    });
    assert_eq!(error.key, "api");
    assert!(error.problem.en.contains("\"topapi\""), "names the choices");
    assert!(
        error.problem.zh.contains("\"v1\""),
        "names the choices in Chinese"
    );
}

#[test]
fn base_url_rejects_invalid_url() {
    let error = error_of(RawDingTalkConfig {
        oapi_base_url: "oapi.dingtalk.com".into(),
        ..valid()
    });
    assert_eq!(error.key, "oapi_base_url");
}

#[test]
fn base_url_rejects_other_scheme() {
    let error = error_of(RawDingTalkConfig {
        api_base_url: "ftp://api.dingtalk.com".into(),
        ..valid()
    });
    assert_eq!(error.key, "api_base_url");
    assert!(error.problem.en.contains("ftp"));
}

#[test]
fn base_url_rejects_query() {
    let error = error_of(RawDingTalkConfig {
        oapi_base_url: "https://oapi.dingtalk.com/?access_token=x".into(),
        ..valid()
    });
    assert_eq!(error.key, "oapi_base_url");
}

#[test]
fn base_url_keeps_path_with_slash() {
    let settings = RawDingTalkConfig {
        oapi_base_url: "http://127.0.0.1:8080/dingtalk".into(),
        ..valid()
    }
    .validate()
    .unwrap();
    assert_eq!(
        settings.oapi_base_url.join("gettoken").unwrap().as_str(),
        "http://127.0.0.1:8080/dingtalk/gettoken",
        "paths are joined below a proxy prefix"
    );
}

#[test]
fn app_key_missing() {
    let error = error_of(RawDingTalkConfig {
        app_key: "  ".into(),
        ..valid()
    });
    assert_eq!(error.key, "app_key");
    assert!(error.problem.zh.contains("AppKey"));
}

#[test]
fn app_secret_missing() {
    let error = error_of(RawDingTalkConfig {
        app_secret: None,
        ..valid()
    });
    assert_eq!(error.key, "app_secret");
    assert!(
        error.problem.en.contains("app_secret_file"),
        "names the file form"
    );
}

#[test]
fn app_secret_read_from_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "secret-from-file").unwrap();
    let settings = RawDingTalkConfig {
        app_secret: None,
        app_secret_file: Some(file.path().display().to_string()),
        ..valid()
    }
    .validate()
    .unwrap();
    assert_eq!(settings.app_secret.expose_secret(), "secret-from-file");
}

#[test]
fn rate_limit_zero() {
    let error = error_of(RawDingTalkConfig {
        rate_limit_per_second: 0,
        ..valid()
    });
    assert_eq!(error.key, "rate_limit_per_second");
}

#[test]
fn connect_timeout_zero() {
    let error = error_of(RawDingTalkConfig {
        connect_timeout_ms: 0,
        ..valid()
    });
    assert_eq!(error.key, "connect_timeout_ms");
}

#[test]
fn request_timeout_zero() {
    let error = error_of(RawDingTalkConfig {
        request_timeout_ms: 0,
        ..valid()
    });
    assert_eq!(error.key, "request_timeout_ms");
}

#[test]
fn connect_timeout_above_request_timeout() {
    let error = error_of(RawDingTalkConfig {
        connect_timeout_ms: 40_000,
        request_timeout_ms: 30_000,
        ..valid()
    });
    assert_eq!(error.key, "connect_timeout_ms");
    assert!(error.problem.en.contains("30000"), "shows the other value");
}

#[test]
fn lookback_zero() {
    let error = error_of(RawDingTalkConfig {
        max_lookback_days: 0,
        ..valid()
    });
    assert_eq!(error.key, "max_lookback_days");
}

#[test]
fn lookback_premium_needs_v1() {
    let error = error_of(RawDingTalkConfig {
        api: "topapi".into(),
        max_lookback_days: 1825,
        ..valid()
    });
    assert_eq!(error.key, "max_lookback_days");
    assert!(
        error.problem.en.contains("api = \"v1\""),
        "says the five-year reach needs the v1.0 API: {}",
        error.problem.en
    );
}

#[test]
fn lookback_above_five_years() {
    let error = error_of(RawDingTalkConfig {
        max_lookback_days: 1826,
        ..valid()
    });
    assert_eq!(error.key, "max_lookback_days");
    assert!(
        error.problem.en.contains("1825"),
        "names the premium maximum"
    );
}

#[test]
fn refresh_margin_not_below_lifetime() {
    let error = error_of(RawDingTalkConfig {
        token_refresh_margin_seconds: 7200,
        ..valid()
    });
    assert_eq!(error.key, "token_refresh_margin_seconds");
}

#[test]
fn comment_userid_blank_is_none() {
    let settings = RawDingTalkConfig {
        comment_userid: Some("   ".into()),
        ..valid()
    }
    .validate()
    .unwrap();
    assert_eq!(settings.comment_userid, None);
}

#[test]
fn tls_ca_file_unreadable() {
    let error = error_of(RawDingTalkConfig {
        tls_ca_file: Some("/nonexistent/dingk3-ca.pem".into()),
        ..valid()
    });
    assert_eq!(error.key, "tls_ca_file");
    assert!(error.problem.en.contains("/nonexistent/dingk3-ca.pem"));
}

#[test]
fn tls_ca_file_without_certificate() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "not a certificate").unwrap();
    let error = error_of(RawDingTalkConfig {
        tls_ca_file: Some(file.path().display().to_string()),
        ..valid()
    });
    assert_eq!(error.key, "tls_ca_file");
    assert!(error.problem.en.contains("BEGIN CERTIFICATE"));
}

#[test]
fn retry_initial_delay_zero() {
    let error = error_of(RawDingTalkConfig {
        retry_initial_delay_ms: 0,
        ..valid()
    });
    assert_eq!(error.key, "retry_initial_delay_ms");
}

#[test]
fn retry_max_delay_below_initial() {
    let error = error_of(RawDingTalkConfig {
        retry_initial_delay_ms: 2_000,
        retry_max_delay_ms: 1_000,
        ..valid()
    });
    assert_eq!(error.key, "retry_max_delay_ms");
}

#[test]
fn settings_debug_hides_secret() {
    let settings = valid().validate().unwrap();
    let debug_output = format!("{settings:?}");
    assert!(
        !debug_output.contains("app-secret-value"),
        "Debug printed the app secret: {debug_output}"
    );
    let raw_debug_output = format!("{:?}", valid());
    assert!(
        !raw_debug_output.contains("app-secret-value"),
        "Debug printed the raw secret"
    );
}
