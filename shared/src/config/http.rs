//! Rules shared by the sections of HTTP clients (DingTalk, K3Cloud): timeouts, the
//! private CA file, and recognising a server certificate the client does not trust.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;
use crate::text;

/// Checks `connect_timeout_ms` and `request_timeout_ms` of a section.
///
/// Both must be positive and connecting must fit in the whole call, because reqwest's
/// call timeout includes connecting. `request_example_ms` is the value suggested when the
/// request timeout is zero. Keys are reported relative to the section.
pub fn http_timeouts(
    connect_timeout_ms: u64,
    request_timeout_ms: u64,
    request_example_ms: u64,
) -> Result<(Duration, Duration), ConfigError> {
    if connect_timeout_ms == 0 {
        return Err(ConfigError::new(
            "connect_timeout_ms",
            text!(
                en: "must be greater than 0; set the milliseconds allowed to connect, e.g. 10000",
                zh: "必须大于 0；请填写建立连接允许的毫秒数，例如 10000",
            ),
        ));
    }
    if request_timeout_ms == 0 {
        return Err(ConfigError::new(
            "request_timeout_ms",
            text!(
                en: "must be greater than 0; set the milliseconds allowed for a whole call, e.g. {request_example_ms}",
                zh: "必须大于 0；请填写一次调用允许的毫秒数，例如 {request_example_ms}",
            ),
        ));
    }
    if connect_timeout_ms > request_timeout_ms {
        let (connect, request) = (connect_timeout_ms, request_timeout_ms);
        return Err(ConfigError::new(
            "connect_timeout_ms",
            text!(
                en: "{connect} is longer than request_timeout_ms ({request}); the call timeout includes connecting, so lower connect_timeout_ms",
                zh: "{connect} 大于 request_timeout_ms（{request}）；调用超时已包含建立连接的时间，请调小 connect_timeout_ms",
            ),
        ));
    }
    Ok((
        Duration::from_millis(connect_timeout_ms),
        Duration::from_millis(request_timeout_ms),
    ))
}

/// Reads the PEM certificates of `tls_ca_file`, trusted in addition to the system's.
///
/// Returns no certificates when the key is absent or blank, and an error naming the
/// key when the file cannot be read or holds no PEM certificate.
pub fn ca_certificates(
    path: Option<&str>,
) -> Result<(Vec<reqwest::Certificate>, Option<PathBuf>), ConfigError> {
    let Some(path) = path.map(str::trim).filter(|path| !path.is_empty()) else {
        return Ok((Vec::new(), None));
    };
    let pem = std::fs::read(path).map_err(|error| {
        ConfigError::new(
            "tls_ca_file",
            text!(
                en: "cannot read {path}: {error}; give the path of a PEM file with the CA certificate",
                zh: "无法读取 {path}：{error}；请填写包含 CA 证书的 PEM 文件路径",
            ),
        )
    })?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default();
    if certificates.is_empty() {
        return Err(ConfigError::new(
            "tls_ca_file",
            text!(
                en: "{path} contains no PEM certificate (-----BEGIN CERTIFICATE-----); export the CA certificate in PEM form",
                zh: "{path} 中没有 PEM 证书（-----BEGIN CERTIFICATE-----）；请以 PEM 格式导出 CA 证书",
            ),
        ));
    }
    Ok((certificates, Some(PathBuf::from(path))))
}

/// Returns whether `error`, or an error behind it, is rustls rejecting the server's
/// certificate. Retrying cannot pass such a failure: the server needs a certificate the
/// client trusts, or the section a `tls_ca_file` naming the CA that signed it.
pub fn is_untrusted_certificate(error: &(dyn Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if rejects_certificate(cause) {
            return true;
        }
        current = cause.source();
    }
    false
}

/// Checks one error, looking inside nested `io::Error`s: hyper-util wraps the rustls
/// error in two of them, and `io::Error::source` skips the wrapped error itself.
fn rejects_certificate(error: &(dyn Error + 'static)) -> bool {
    if let Some(rustls_error) = error.downcast_ref::<rustls::Error>() {
        return matches!(rustls_error, rustls::Error::InvalidCertificate(_));
    }
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => rejects_certificate(inner),
        None => false,
    }
}
