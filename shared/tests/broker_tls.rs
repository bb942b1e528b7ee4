//! `amqps://` through lapin's rustls, with a private certificate authority.
//!
//! The local broker has no TLS listener, so the test puts `socat` in front of it as a
//! TLS terminator, with a CA and server certificate made by the `openssl` command. Both
//! tools must be installed; when one is missing, the test fails with a message naming it.

mod broker_support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use broker_support::{
    TopologyGuard, broker_address, require_broker, unique_connection_name, unique_prefix,
    work_message,
};
use dingk3::broker::config::RawBrokerConfig;
use dingk3::broker::{ConnectError, Publisher, Recovery, Topology, connect};
use secrecy::SecretString;

/// Runs a command to completion, failing the test with its output when it fails.
fn run(program: &str, args: &[&str], directory: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} could not be started ({error}); install it to run this test")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes `ca.pem`, `server.pem` and `server.key` (for 127.0.0.1) into `directory`.
fn make_certificates(directory: &Path) {
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=dingk3 test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        directory,
    );
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        directory,
    );
    std::fs::write(
        directory.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extension file is written");
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
        directory,
    );
}

/// A `socat` TLS terminator that forwards to the broker; killed on drop.
struct TlsTerminator {
    child: Child,
    port: u16,
}

impl TlsTerminator {
    async fn start(directory: &Path) -> TlsTerminator {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port is found")
            .port();
        let (host, broker_port) = broker_address();
        let listen = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0",
            directory.join("server.pem").display(),
            directory.join("server.key").display()
        );
        let child = Command::new("socat")
            .args([listen, format!("TCP:{host}:{broker_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("socat could not be started ({error}); install it to run this test")
            });
        let terminator = TlsTerminator { child, port };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "socat did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        terminator
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_settings(port: u16, prefix: &str, ca_file: Option<&Path>) -> dingk3::broker::BrokerSettings {
    let url = url::Url::parse(&broker_support::amqp_url()).expect("AMQP_URL is a valid URL");
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
/// topology and gets a publish confirmed; without it, the certificate is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_trusts_private_ca() {
    require_broker().await;
    let directory = tempfile::tempdir().expect("temporary folder");
    make_certificates(directory.path());
    let terminator = TlsTerminator::start(directory.path()).await;
    let prefix = unique_prefix("tls");
    let settings = tls_settings(
        terminator.port,
        &prefix,
        Some(&directory.path().join("ca.pem")),
    );
    let _guard = TopologyGuard::new(&broker_support::settings(&prefix, &["1s"]));

    let connection = connect(&settings, &unique_connection_name("tls"), Recovery::Off)
        .await
        .expect("amqps connection with the private CA opens");
    let channel = connection.create_channel().await.expect("channel opens");
    let topology = Topology::new(&settings);
    topology
        .declare(&channel)
        .await
        .expect("topology declared over TLS");
    let publisher = Publisher::open(&connection, &settings)
        .await
        .expect("publisher opens");
    publisher
        .publish(&work_message(&topology, "tls-1"))
        .await
        .expect("publish over TLS confirmed");
    let _ = connection.close(200, "done".into()).await;

    let untrusted = tls_settings(terminator.port, &prefix, None);
    let error = connect(
        &untrusted,
        &unique_connection_name("tls-untrusted"),
        Recovery::Off,
    )
    .await
    .expect_err("a certificate from an unknown CA is refused");
    assert!(
        matches!(error, ConnectError::Failed { .. }),
        "got {error:?}"
    );
    let text = error.to_string();
    assert!(
        text.to_lowercase().contains("certificate"),
        "the refusal names the certificate: {text}"
    );
    assert!(
        !text.contains("guest:guest"),
        "the password is masked: {text}"
    );
}
