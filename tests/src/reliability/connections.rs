//! Force-closing one process's own broker connection with `rabbitmqctl`, the way a
//! broker restart, a network partition or an operator does, without touching any
//! other connection on the shared broker.
//!
//! Every dingk3 connection carries a client-provided name (`connection_name` in its
//! client properties). In RabbitMQ 3.10 the `name` column of `list_connections` is the
//! peer address pair, so the name is looked up in `client_properties`.

use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

/// Closes the connection whose client-provided name is exactly `name`, waiting up to
/// `within` for it to be listed (a process that is reconnecting has none for a
/// moment). Returns the Erlang pid of the closed connection; panics when `rabbitmqctl`
/// fails or the connection is never listed.
pub async fn force_close(name: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let listing = list_connections().await;
        if let Some(pid) = connection_pid(&listing, name) {
            let output = Command::new("rabbitmqctl")
                .args([
                    "close_connection",
                    &pid,
                    "closed by a dingk3 reliability test",
                ])
                .output()
                .await
                .expect("rabbitmqctl runs");
            assert!(
                output.status.success(),
                "rabbitmqctl close_connection {pid} ({name}) failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "no broker connection named {name} was listed by rabbitmqctl within {within:?}:\n{listing}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Returns `rabbitmqctl list_connections pid client_properties` without headers: one
/// connection per line, the Erlang pid, a tab, and the client properties.
async fn list_connections() -> String {
    let output = Command::new("rabbitmqctl")
        .args(["list_connections", "pid", "client_properties", "--silent"])
        .output()
        .await
        .expect("rabbitmqctl runs (it may need root)");
    assert!(
        output.status.success(),
        "rabbitmqctl list_connections failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Finds the pid of the connection whose client properties carry exactly `name`. The
/// JSON formatter prints pids in a form `close_connection` does not accept, so the
/// table form is parsed.
fn connection_pid(listing: &str, name: &str) -> Option<String> {
    let quoted_name = format!("\"{name}\"");
    listing.lines().find_map(|line| {
        let (pid, properties) = line.split_once('\t')?;
        properties
            .contains(&quoted_name)
            .then(|| pid.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "<rabbit@host.1.2345.0>\t[{\"connection_name\",\"dingk3-consumer-a-c1\"}]\n\
        <rabbit@host.1.2346.0>\t[{\"connection_name\",\"dingk3-consumer-a-c10\"}]\n";

    #[test]
    fn pid_found_by_exact_name() {
        assert_eq!(
            connection_pid(LISTING, "dingk3-consumer-a-c1").as_deref(),
            Some("<rabbit@host.1.2345.0>"),
            "c1 must not match c10"
        );
        assert_eq!(
            connection_pid(LISTING, "dingk3-consumer-a-c10").as_deref(),
            Some("<rabbit@host.1.2346.0>")
        );
    }

    #[test]
    fn unknown_name_has_no_pid() {
        assert_eq!(connection_pid(LISTING, "dingk3-producer"), None);
    }
}
