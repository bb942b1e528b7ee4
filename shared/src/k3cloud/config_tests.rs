//! One test per validation rule of the `[k3cloud]` section.

use std::io::Write;

use secrecy::ExposeSecret;

use super::*;

const APP_ID: &str = "123456_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Self-signed test CA certificate (no private key is kept anywhere).
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUEN+y2PTGmqSh2Bq1cxBHG+25hE0wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOZGluZ2szIHRlc3QgQ0EwIBcNMjYxMjA0MjAxNTUyWhgPMjEy
NjExMTAyMDE1NTJaMBkxFzAVBgNVBAMMDmRpbmdrMyB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEwcghJF/DLxidm8asrspfxN42T8ntd9pPqW7TX1Y9
77r1Im8imGFKKcUGSdEv6WdOs4AhRtdsFzHjh9ouRDndtKNTMFEwHQYDVR0OBBYE
FFRGj8RgVpnILUDAf7aHtetbe8hNMB8GA1UdIwQYMBaAFFRGj8RgVpnILUDAf7aH
tetbe8hNMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAIejwpz2
H5JWcuCBwod65FmIRCf4/lxsc7w4AT0LEVaUAiBp/fw9l4VnRg3wf8Lcxr/TI9x/
rqFNP3ImTEeKmphjwQ==
-----END CERTIFICATE-----
";

fn valid() -> RawK3CloudConfig {
    RawK3CloudConfig {
        base_url: "http://127.0.0.1:8080/k3cloud/".to_string(),
        acct_id: "62f1a2b3c4d5e6".to_string(),
        username: "demo".to_string(),
        app_id: APP_ID.to_string(),
        app_secret: Some(SecretString::from(APP_SECRET)),
        ..RawK3CloudConfig::default()
    }
}

fn error_key(raw: &RawK3CloudConfig) -> String {
    raw.validate().expect_err("validation should fail").key
}

#[test]
fn defaults_validate_with_credentials() {
    let settings = valid().validate().expect("a complete section is valid");
    assert_eq!(settings.lcid, 2052, "lcid defaults to simplified Chinese");
    assert_eq!(settings.org_num, "0", "org_num defaults to 0");
    assert!(
        !settings.auto_submit_and_audit,
        "auto submit is off by default"
    );
    assert!(
        matches!(settings.auth, AuthSettings::Signature { .. }),
        "signature auth is the default"
    );
    assert_eq!(settings.request_timeout, Duration::from_secs(120));
}

#[test]
fn base_url_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        base_url: " ".to_string(),
        ..valid()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "base_url");
    assert!(error.problem.zh.contains("k3cloud/"), "zh names an example");
}

#[test]
fn base_url_unparsable_is_rejected() {
    let raw = RawK3CloudConfig {
        base_url: "erp.example.com/k3cloud".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "base_url");
}

#[test]
fn base_url_other_scheme_is_rejected() {
    let raw = RawK3CloudConfig {
        base_url: "ftp://erp.example.com/k3cloud/".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "base_url");
}

#[test]
fn base_url_with_query_is_rejected() {
    let raw = RawK3CloudConfig {
        base_url: "http://erp.example.com/k3cloud/?a=1".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "base_url");
}

#[test]
fn base_url_gains_trailing_slash() {
    let raw = RawK3CloudConfig {
        base_url: "http://erp.example.com/K3Cloud".to_string(),
        ..valid()
    };
    let settings = raw.validate().unwrap();
    assert_eq!(
        settings.base_url.as_str(),
        "http://erp.example.com/K3Cloud/"
    );
}

#[test]
fn acct_id_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        acct_id: String::new(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "acct_id");
}

#[test]
fn acct_id_with_comma_is_rejected() {
    let raw = RawK3CloudConfig {
        acct_id: "62f1,a2".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "acct_id");
}

#[test]
fn username_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        username: String::new(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "username");
}

#[test]
fn lcid_unknown_is_rejected() {
    let raw = RawK3CloudConfig {
        lcid: 9999,
        ..valid()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "lcid");
    assert!(error.problem.en.contains("2052"), "the fix lists valid ids");
}

#[test]
fn org_num_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        org_num: String::new(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "org_num");
}

#[test]
fn org_num_with_comma_is_rejected() {
    let raw = RawK3CloudConfig {
        org_num: "100,101".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "org_num");
}

#[test]
fn auth_unknown_is_rejected() {
    let raw = RawK3CloudConfig {
        auth: "oauth".to_string(),
        ..valid()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "auth");
    assert!(error.problem.zh.contains("session"), "zh lists the modes");
}

#[test]
fn session_login_unknown_is_rejected() {
    let raw = RawK3CloudConfig {
        auth: "session".to_string(),
        session_login: "sign".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "session_login");
}

#[test]
fn signature_app_id_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        app_id: String::new(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "app_id");
}

#[test]
fn signature_app_id_truncated_is_rejected() {
    let raw = RawK3CloudConfig {
        app_id: "123456_AAECAwQFBgcICQoL".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "app_id");
}

#[test]
fn signature_app_secret_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        app_secret: None,
        ..valid()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "app_secret");
    assert!(
        error.problem.en.contains("app_secret_file"),
        "the fix names the file key"
    );
}

#[test]
fn app_secret_in_both_forms_is_rejected() {
    let raw = RawK3CloudConfig {
        app_secret_file: Some("/run/secrets/k3".to_string()),
        ..valid()
    };
    assert_eq!(error_key(&raw), "app_secret");
}

#[test]
fn app_secret_file_is_read() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{APP_SECRET}").unwrap();
    let raw = RawK3CloudConfig {
        app_secret: None,
        app_secret_file: Some(file.path().display().to_string()),
        ..valid()
    };
    let AuthSettings::Signature { app_secret, .. } = raw.validate().unwrap().auth else {
        panic!("signature auth expected");
    };
    assert_eq!(app_secret.expose_secret(), APP_SECRET);
}

#[test]
fn session_password_missing_is_rejected() {
    let raw = RawK3CloudConfig {
        auth: "session".to_string(),
        session_login: "password".to_string(),
        ..valid()
    };
    assert_eq!(error_key(&raw), "password");
}

#[test]
fn session_password_login_needs_no_app_id() {
    let raw = RawK3CloudConfig {
        auth: "session".to_string(),
        session_login: "password".to_string(),
        app_id: String::new(),
        app_secret: None,
        password: Some(SecretString::from("pw")),
        ..valid()
    };
    let settings = raw
        .validate()
        .expect("password login needs only the password");
    assert!(matches!(
        settings.auth,
        AuthSettings::Session(SessionLogin::Password { .. })
    ));
}

#[test]
fn session_app_secret_accepts_short_app_id() {
    let raw = RawK3CloudConfig {
        auth: "session".to_string(),
        app_id: "223344_short".to_string(),
        ..valid()
    };
    let settings = raw
        .validate()
        .expect("LoginByAppSecret does not derive a key");
    assert!(matches!(
        settings.auth,
        AuthSettings::Session(SessionLogin::AppSecret { .. })
    ));
}

#[test]
fn connect_timeout_zero_is_rejected() {
    let raw = RawK3CloudConfig {
        connect_timeout_ms: 0,
        ..valid()
    };
    assert_eq!(error_key(&raw), "connect_timeout_ms");
}

#[test]
fn request_timeout_zero_is_rejected() {
    let raw = RawK3CloudConfig {
        request_timeout_ms: 0,
        ..valid()
    };
    assert_eq!(error_key(&raw), "request_timeout_ms");
}

#[test]
fn connect_timeout_above_request_is_rejected() {
    let raw = RawK3CloudConfig {
        connect_timeout_ms: 5_000,
        request_timeout_ms: 1_000,
        ..valid()
    };
    assert_eq!(error_key(&raw), "connect_timeout_ms");
}

#[test]
fn tls_ca_file_unreadable_is_rejected() {
    let raw = RawK3CloudConfig {
        tls_ca_file: Some("/nonexistent/dingk3-ca.pem".to_string()),
        ..valid()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "tls_ca_file");
    assert!(
        error.problem.en.contains("/nonexistent/dingk3-ca.pem"),
        "names the path"
    );
}

#[test]
fn tls_ca_file_without_certificate_is_rejected() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "not a certificate").unwrap();
    let raw = RawK3CloudConfig {
        tls_ca_file: Some(file.path().display().to_string()),
        ..valid()
    };
    assert_eq!(error_key(&raw), "tls_ca_file");
}

#[test]
fn tls_ca_file_with_certificate_loads() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(TEST_CA_PEM.as_bytes()).unwrap();
    let raw = RawK3CloudConfig {
        tls_ca_file: Some(file.path().display().to_string()),
        ..valid()
    };
    let settings = raw.validate().expect("a PEM certificate is accepted");
    assert_eq!(settings.tls_ca_certificates.len(), 1);
}

#[test]
fn unknown_key_is_rejected_by_serde() {
    let parsed: Result<RawK3CloudConfig, _> = toml::from_str("base_ur = \"http://x/\"");
    assert!(parsed.is_err(), "a misspelled key must not be ignored");
}

#[test]
fn debug_hides_secrets() {
    let raw = RawK3CloudConfig {
        auth: "session".to_string(),
        session_login: "password".to_string(),
        password: Some(SecretString::from("pw-9f3a")),
        ..valid()
    };
    let raw_debug = format!("{raw:?}");
    let settings_debug = format!("{:?}", raw.validate().unwrap());
    for text in [&raw_debug, &settings_debug] {
        assert!(!text.contains(APP_SECRET), "app secret leaked: {text}");
        assert!(!text.contains("pw-9f3a"), "password leaked: {text}");
    }
}
