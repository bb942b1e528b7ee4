//! A private certificate authority and a TLS terminator, for tests of `https://` and
//! `amqps://` endpoints.
//!
//! The `openssl` command makes a CA and a server certificate for `127.0.0.1` signed by
//! it. `socat` accepts TLS connections with that certificate and forwards the decrypted
//! bytes to a plain TCP port on 127.0.0.1 (a simulator or the broker), so a client that
//! trusts the CA talks TLS while the server behind it needs no TLS at all. Both
//! tools must be installed. When one is missing, the test fails with a message naming
//! it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Time `socat` gets to start listening.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A CA and a server certificate for `127.0.0.1`, in a temporary folder deleted on drop.
pub struct PrivateCa {
    directory: tempfile::TempDir,
}

impl PrivateCa {
    /// Creates `ca.pem`, `server.pem` and `server.key`, valid for one day. The server
    /// certificate names `127.0.0.1` as an IP subject alternative name, which rustls
    /// checks for a URL with an IP host.
    pub fn create() -> PrivateCa {
        let directory = tempfile::tempdir().expect("a temporary folder for the certificates");
        let folder = directory.path();
        run_openssl(
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
            folder,
        );
        run_openssl(
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
            folder,
        );
        std::fs::write(
            folder.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("the certificate extension file can be written");
        run_openssl(
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
            folder,
        );
        PrivateCa { directory }
    }

    /// Returns the PEM file of the CA certificate, the value of a `tls_ca_file` key.
    pub fn ca_file(&self) -> PathBuf {
        self.directory.path().join("ca.pem")
    }

    fn server_certificate(&self) -> PathBuf {
        self.directory.path().join("server.pem")
    }

    fn server_key(&self) -> PathBuf {
        self.directory.path().join("server.key")
    }
}

/// Runs `openssl` with `args` in `directory`, failing the test with its output when it
/// fails.
fn run_openssl(args: &[&str], directory: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| {
            panic!("openssl could not be started ({error}); install it to run this test")
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `socat` process that terminates TLS on 127.0.0.1 with the server certificate of a
/// [`PrivateCa`] and forwards every connection to a plain TCP port. It is killed on
/// drop.
pub struct TlsTerminator {
    /// Port on 127.0.0.1 that accepts TLS.
    pub port: u16,
    child: Child,
}

impl TlsTerminator {
    /// Starts `socat` in front of `target_host:target_port` and waits until it accepts
    /// connections.
    pub async fn start(ca: &PrivateCa, target_host: &str, target_port: u16) -> TlsTerminator {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free local port exists")
            .port();
        let listen = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0",
            ca.server_certificate().display(),
            ca.server_key().display()
        );
        let child = Command::new("socat")
            .args([listen, format!("TCP:{target_host}:{target_port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("socat could not be started ({error}); install it to run this test")
            });
        let terminator = TlsTerminator { port, child };
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "socat did not listen on port {port} within {LISTEN_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        terminator
    }

    /// Returns `https://127.0.0.1:PORT` followed by `path`, which must start with `/`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        // NOTE: socat forks one child per connection, and a child whose client keeps its
        // connection open lives until that connection closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
