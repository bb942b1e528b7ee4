//! `amqps://` through lapin's rustls, with a private certificate authority.
//!
//! The local broker has no TLS listener, so the test puts `socat` in front of it as a
//! TLS terminator, with a CA and server certificate made by the `openssl` command (see
//! `dingk3_tests::tls`). Both tools must be installed; when one is missing, the test
//! fails with a message naming it.

use std::path::Path;

use dingk3::broker::{BrokerSettings, ConnectError, RawBrokerConfig, Recovery, Topology, connect};
use dingk3_tests::consumer::broker::{
    TestClient, TopologyGuard, amqp_url, require_broker, settings, unique_prefix,
};
use dingk3_tests::tls::{PrivateCa, TlsTerminator};
use secrecy::SecretString;

/// Returns the broker settings of `prefix` through the TLS terminator on `port`,
/// trusting `ca_file` when given.
fn tls_settings(port: u16, prefix: &str, ca_file: Option<&Path>) -> BrokerSettings {
    let url = url::Url::parse(&amqp_url()).expect("AMQP_URL is a valid URL");
    let amqps = format!(
        "amqps://{}:{}@127.0.0.1:{port}{}",
        url.username(),
        url.password().unwrap_or(""),
        url.path()
    );
    RawBrokerConfig {
        url: Some(SecretString::from(amqps)),
        tls_ca_file: ca_file.map(Path::to_path_buf),
        prefix: prefix.to_string(),
        retry_tiers: vec!["1s".into()],
        connect_timeout_ms: 10_000,
        ..RawBrokerConfig::default()
    }
    .validate()
    .expect("TLS settings are valid")
}

/// With `tls_ca_file` naming the private CA, an `amqps://` connection declares the
/// topology and gets a publish confirmed; without it, the certificate is rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_trusts_private_ca() {
    require_broker().await;
    let ca = PrivateCa::create();
    let broker = url::Url::parse(&amqp_url()).expect("AMQP_URL is a valid URL");
    let tls = TlsTerminator::start(
        &ca,
        broker.host_str().unwrap_or("127.0.0.1"),
        broker.port().unwrap_or(5672),
    )
    .await;
    let prefix = unique_prefix("tls");
    let trusted = tls_settings(tls.port, &prefix, Some(&ca.ca_file()));
    let mut guard = TopologyGuard::new(&settings(&prefix, &["1s"]));

    // Connecting declares the topology and opens a confirming publisher, all over TLS.
    let client = TestClient::connect(&trusted).await;
    client.publish(b"{}".to_vec(), Some("tls-1")).await;
    let depth = client
        .depth(&Topology::new(&trusted).approvals_queue())
        .await;
    client.delete_topology().await;
    guard.disarm();

    let untrusted = tls_settings(tls.port, &prefix, None);
    let error = connect(&untrusted, &format!("{prefix}-untrusted"), Recovery::Off)
        .await
        .expect_err("a certificate from an unknown CA is rejected");

    assert_eq!(depth, 1, "the message published over TLS is queued");
    assert!(
        matches!(error, ConnectError::Failed { .. }),
        "got {error:?}"
    );
    let text = error.to_string();
    assert!(
        text.to_lowercase().contains("certificate"),
        "the rejection names the certificate: {text}"
    );
    assert!(
        !text.contains("guest:guest"),
        "the password is masked: {text}"
    );
}
