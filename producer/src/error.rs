//! Failures that stop a producer command, with the exit status each one maps to.
//!
//! Failures of one poll (throttling, a transient DingTalk error, an unroutable
//! publish) are not here, because they are part of the poll's report and the next poll
//! tries again. The failures here end `once`, `backfill` or `run`. Status 2 means a person has to
//! change the configuration, the DingTalk app or the command line; status 1 is
//! everything else.

use dingk3::broker::{ConnectError, LockError, TopologyError};
use dingk3::dingtalk::DingTalkError;
use dingk3::i18n::{Localize, Text};
use dingk3::ledger::LedgerError;
use dingk3::text;

/// Exit status of a configuration problem.
pub const EXIT_CONFIGURATION: u8 = 2;

/// Exit status of any other failure.
pub const EXIT_FAILURE: u8 = 1;

/// A failure that ends a producer command.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// The ledger database could not be opened or migrated.
    #[error(transparent)]
    Ledger(#[from] LedgerError),

    /// DingTalk rejected the app's configuration (credentials, permissions, whitelist,
    /// process code); polling cannot go on until it is fixed.
    #[error("polling {process_code} stopped: {source}")]
    DingTalkConfiguration {
        /// Template whose poll hit the error; empty when no poll was running.
        process_code: String,
        /// The DingTalk error, which names the fix.
        #[source]
        source: DingTalkError,
    },

    /// Another producer has the leader lock of this DingTalk app.
    #[error(
        "another producer holds the leader lock {queue} of DingTalk app {app_key}; stop it or wait until it exits, then run this command again"
    )]
    LeaderHeldElsewhere {
        /// The app key.
        app_key: String,
        /// The lock queue.
        queue: String,
    },

    /// The leader lock could not be taken (invalid app key, broker unreachable).
    #[error("taking the leader lock failed: {0}")]
    Lock(#[from] LockError),

    /// The broker connection for publishing could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),

    /// The topology could not be declared.
    #[error(transparent)]
    Topology(#[from] TopologyError),

    /// A channel could not be opened on the broker connection.
    #[error("opening a broker channel failed: {0}")]
    Channel(#[source] lapin::Error),

    /// The operations endpoint could not listen on `producer.metrics_listen`.
    #[error("cannot listen on {address} (producer.metrics_listen): {source}")]
    MetricsListen {
        /// The configured address.
        address: std::net::SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The backfill dates cannot be listed.
    #[error("{0}")]
    BackfillWindow(Text),
}

impl ProducerError {
    /// Returns the process exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            ProducerError::DingTalkConfiguration { .. }
            | ProducerError::Lock(LockError::InvalidAppKey(_))
            | ProducerError::BackfillWindow(_) => EXIT_CONFIGURATION,
            _ => EXIT_FAILURE,
        }
    }
}

impl Localize for ProducerError {
    fn localize(&self) -> Text {
        match self {
            ProducerError::Ledger(error) => error.localize(),
            ProducerError::DingTalkConfiguration {
                process_code,
                source,
            } => {
                let detail = source.localize();
                let (en, zh) = (&detail.en, &detail.zh);
                if process_code.is_empty() {
                    detail
                } else {
                    text!(
                        en: "polling {process_code} stopped: {en}",
                        zh: "轮询 {process_code} 已停止：{zh}",
                    )
                }
            }
            ProducerError::LeaderHeldElsewhere { app_key, queue } => text!(
                en: "another producer holds the leader lock {queue} of DingTalk app {app_key}; stop it or wait until it exits, then run this command again",
                zh: "另一个 producer 持有钉钉应用 {app_key} 的主节点锁 {queue}；请先停止它或等它退出，再重新运行本命令",
            ),
            ProducerError::Lock(LockError::InvalidAppKey(app_key)) => text!(
                en: "dingtalk.app_key {app_key:?} cannot name the leader lock queue; it must be 1 to 120 ASCII letters, digits, '.', '-' or '_'",
                zh: "dingtalk.app_key {app_key:?} 无法用作主节点锁队列的名称；只能包含 1 到 120 个 ASCII 字母、数字、'.'、'-' 或 '_'",
            ),
            ProducerError::Lock(LockError::Connect(error)) => error.localize(),
            ProducerError::Lock(error) => {
                text!(
                    en: "taking the leader lock failed: {error}",
                    zh: "获取主节点锁失败：{error}",
                )
            }
            ProducerError::Connect(error) => error.localize(),
            ProducerError::Topology(error) => error.localize(),
            ProducerError::Channel(error) => text!(
                en: "opening a broker channel failed: {error}",
                zh: "打开 RabbitMQ 通道失败：{error}",
            ),
            ProducerError::MetricsListen { address, source } => text!(
                en: "cannot listen on {address} ({source}); set producer.metrics_listen to a free address and port",
                zh: "无法监听 {address}（{source}）；请把 producer.metrics_listen 设为空闲的地址和端口",
            ),
            ProducerError::BackfillWindow(message) => message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use dingk3::dingtalk::ConfigurationReason;

    use super::*;

    #[test]
    fn dingtalk_configuration_exits_two() {
        let error = ProducerError::DingTalkConfiguration {
            process_code: "PROC-A".to_string(),
            source: DingTalkError::Configuration {
                api: "gettoken",
                reason: ConfigurationReason::InvalidCredentials,
                code: "40089".to_string(),
                message: "不合法的corpid或corpsecret".to_string(),
            },
        };
        assert_eq!(error.exit_code(), EXIT_CONFIGURATION);
        let text = error.localize();
        assert!(text.en.contains("dingtalk.app_secret"), "{}", text.en);
        assert!(text.zh.contains("PROC-A"), "{}", text.zh);
    }

    #[test]
    fn leader_held_exits_one() {
        let error = ProducerError::LeaderHeldElsewhere {
            app_key: "dingkey".to_string(),
            queue: "dingk3.producer-lock.dingkey".to_string(),
        };
        assert_eq!(error.exit_code(), EXIT_FAILURE);
        assert!(error.localize().zh.contains("主节点锁"));
    }
}
