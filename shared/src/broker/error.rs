//! Errors of connecting to the broker and declaring the topology.
//!
//! The supervisor retries both kinds, but an operator may have to act on them (wrong
//! password, a queue left with old arguments). Their messages therefore explain the
//! fix, in English for logs and in Chinese through [`Localize`].

use std::time::Duration;

use lapin::ErrorKind;
use lapin::protocol::AMQPSoftError;

use crate::i18n::{Localize, Text};

/// A failure to open a connection to the broker.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// The URL passed validation once but no longer parses; only reachable when
    /// settings are built by hand.
    #[error("invalid broker URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with its password masked.
        url: String,
        /// The problem, described without the URL.
        reason: String,
    },

    /// The TCP connection, TLS or AMQP handshake did not finish in time.
    #[error("connecting to {url} timed out after {after:?}")]
    Timeout {
        /// The URL with its password masked.
        url: String,
        /// The configured `connect_timeout_ms`.
        after: Duration,
    },

    /// lapin reported a failure (refused, TLS, authentication, vhost access).
    #[error("connecting to {url} failed: {source}")]
    Failed {
        /// The URL with its password masked.
        url: String,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },
}

impl Localize for ConnectError {
    fn localize(&self) -> Text {
        let en = self.to_string();
        let zh = match self {
            ConnectError::InvalidUrl { url, reason } => {
                format!("RabbitMQ 地址 {url} 无效：{reason}")
            }
            ConnectError::Timeout { url, after } => format!("连接 {url} 超时（{after:?}）"),
            ConnectError::Failed { url, source } => format!("连接 {url} 失败：{source}"),
        };
        Text::new(en, zh)
    }
}

/// A failure to declare the topology.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TopologyError {
    /// A queue exists with other arguments (`PRECONDITION_FAILED`). RabbitMQ never
    /// changes the arguments of an existing queue, so only deleting it helps.
    #[error(
        "queue {name} already exists with different arguments ({reply_text}); RabbitMQ cannot change the arguments of an existing queue: move its messages elsewhere, delete it (rabbitmqctl delete_queue {name}) and restart, or set broker.prefix to a new name"
    )]
    QueueMismatch {
        /// Queue name.
        name: String,
        /// The broker's explanation, naming the differing argument.
        reply_text: String,
    },

    /// An exchange exists with another type or other flags (`PRECONDITION_FAILED`).
    #[error(
        "exchange {name} already exists with a different type or flags ({reply_text}); delete it (management UI, or rabbitmqadmin delete exchange name={name}) and restart, or set broker.prefix to a new name"
    )]
    ExchangeMismatch {
        /// Exchange name.
        name: String,
        /// The broker's explanation.
        reply_text: String,
    },

    /// Any other failure while declaring a queue or an exchange.
    #[error("failed to declare {entity} {name}: {source}")]
    Declare {
        /// `queue` or `exchange`.
        entity: &'static str,
        /// Its name.
        name: String,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },

    /// A binding failed.
    #[error("failed to bind queue {queue} to exchange {exchange}: {source}")]
    Bind {
        /// Queue name.
        queue: String,
        /// Exchange name.
        exchange: String,
        /// AMQP reply code when the broker refused, e.g. 404 when a name is missing.
        reply_code: Option<u16>,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },
}

impl TopologyError {
    pub(crate) fn from_declare(entity: &'static str, name: &str, source: lapin::Error) -> Self {
        let name = name.to_string();
        match amqp_reply(&source) {
            Some((code, reply_text)) if code == AMQPSoftError::PRECONDITIONFAILED.get_id() => {
                if entity == "queue" {
                    TopologyError::QueueMismatch { name, reply_text }
                } else {
                    TopologyError::ExchangeMismatch { name, reply_text }
                }
            }
            _ => TopologyError::Declare {
                entity,
                name,
                source,
            },
        }
    }
}

impl Localize for TopologyError {
    fn localize(&self) -> Text {
        let en = self.to_string();
        let zh = match self {
            TopologyError::QueueMismatch { name, reply_text } => format!(
                "队列 {name} 已存在且参数不同（{reply_text}）；RabbitMQ 无法修改已存在队列的参数：请先转移其中的消息，删除该队列（rabbitmqctl delete_queue {name}）后重启，或将 broker.prefix 改为新名称"
            ),
            TopologyError::ExchangeMismatch { name, reply_text } => format!(
                "交换机 {name} 已存在且类型或属性不同（{reply_text}）；请删除它（管理界面，或 rabbitmqadmin delete exchange name={name}）后重启，或将 broker.prefix 改为新名称"
            ),
            TopologyError::Declare {
                entity,
                name,
                source,
            } => {
                let entity = if *entity == "queue" {
                    "队列"
                } else {
                    "交换机"
                };
                format!("声明{entity} {name} 失败：{source}")
            }
            TopologyError::Bind {
                queue,
                exchange,
                source,
                ..
            } => format!("将队列 {queue} 绑定到交换机 {exchange} 失败：{source}"),
        };
        Text::new(en, zh)
    }
}

/// Returns the AMQP reply code and text when the broker closed the channel or the
/// connection with an error.
pub(crate) fn amqp_reply(error: &lapin::Error) -> Option<(u16, String)> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => Some((amqp.get_id(), amqp.get_message().to_string())),
        _ => None,
    }
}

/// Returns the AMQP reply code of a broker-sent error.
pub(crate) fn reply_code(error: &lapin::Error) -> Option<u16> {
    amqp_reply(error).map(|(code, _)| code)
}
