//! Failures that stop a dead-letter command, in both languages.
//!
//! A failure of one message (a publish, a ledger row) is not an error here: the
//! commands record it in their report and go on with the next message.

use std::path::PathBuf;

use dingk3::broker::ConnectError;
use dingk3::i18n::{Localize, Text};
use dingk3::ledger::LedgerError;
use dingk3::text;

/// A failure that ends a dead-letter command before it finished.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// The broker could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),

    /// The dead-letter queue does not exist under the configured prefix.
    #[error(
        "the dead-letter queue {queue} does not exist; check broker.prefix, or start a consumer once to declare it"
    )]
    QueueMissing {
        /// Name of the queue.
        queue: String,
    },

    /// A broker operation failed; messages held so far go back to the queue when the
    /// channel closes.
    #[error("broker operation {operation} failed: {source}")]
    Broker {
        /// The AMQP method that failed, e.g. `basic.get`.
        operation: &'static str,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },

    /// The ledger could not be opened.
    #[error(transparent)]
    Ledger(#[from] LedgerError),

    /// The output file exists; export files are audit records and are never
    /// overwritten.
    #[error("{} exists; export files are never overwritten, choose another name", path.display())]
    OutputExists {
        /// The file.
        path: PathBuf,
    },

    /// The output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Localize for DlqError {
    fn localize(&self) -> Text {
        match self {
            DlqError::Connect(error) => error.localize(),
            DlqError::QueueMissing { queue } => text!(
                en: "the dead-letter queue {queue} does not exist; check broker.prefix, or start a consumer once to declare it",
                zh: "死信队列 {queue} 不存在；请检查 broker.prefix，或先启动一次消费者以创建该队列",
            ),
            DlqError::Broker { operation, source } => text!(
                en: "broker operation {operation} failed: {source}; the messages read so far stay in the dead-letter queue",
                zh: "RabbitMQ 操作 {operation} 失败：{source}；已读取的消息仍留在死信队列中",
            ),
            DlqError::Ledger(error) => error.localize(),
            DlqError::OutputExists { path } => {
                let path = path.display();
                text!(
                    en: "{path} exists; export files are never overwritten, choose another name",
                    zh: "{path} 已存在；导出文件不会被覆盖，请换一个文件名",
                )
            }
            DlqError::Output { path, source } => {
                let path = path.display();
                text!(
                    en: "cannot write {path}: {source}; nothing was removed from the dead-letter queue",
                    zh: "无法写入 {path}：{source}；死信队列中的消息均未删除",
                )
            }
        }
    }
}

/// Wraps a lapin error with the operation that failed.
pub(crate) fn broker(operation: &'static str) -> impl FnOnce(lapin::Error) -> DlqError {
    move |source| DlqError::Broker { operation, source }
}
