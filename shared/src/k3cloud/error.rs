//! Whole-call failures of the K3Cloud client, sorted by what the caller must do next.
//!
//! - [`CallError::Transient`]: nothing was written (or a read failed); try again later.
//! - [`CallError::SessionLost`]: the session was gone and is re-established; a write
//!   was not resent, so probe by bill number before sending it again.
//! - [`CallError::Configuration`]: an operator must fix credentials, the account set,
//!   the URL or permissions; retrying does not help.
//! - [`CallError::UnknownOutcome`]: a write may or may not have run (timeout, lost or
//!   unreadable reply); probe by bill number before sending it again.
//!
//! Every variant carries a [`Reason`] (see `reason.rs`). `Display` is English for logs; [`Localize`] gives
//! the operator's language. No variant contains a secret or a session id.

use crate::i18n::{Localize, Text};

use super::operation::Operation;
use super::reason::Reason;

/// A whole-call failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The call failed before anything was written, or a read failed; retry later.
    #[error("k3cloud {operation} failed transiently: {reason}")]
    Transient {
        /// Service that was called.
        operation: Operation,
        /// What happened.
        reason: Reason,
    },
    /// K3Cloud had lost the session (`MsgCode` 1). The client logged in again, but did
    /// not resend the write, because a resent write can create a second bill.
    #[error("k3cloud {operation} lost its session: {reason}")]
    SessionLost {
        /// Service that was called.
        operation: Operation,
        /// What happened.
        reason: Reason,
    },
    /// Settings or server setup are wrong; retrying does not help.
    #[error("k3cloud {operation} failed because of the configuration: {reason}")]
    Configuration {
        /// Service that was called.
        operation: Operation,
        /// What happened.
        reason: Reason,
    },
    /// A write may have run; the bill may exist.
    #[error("k3cloud {operation} has an unknown outcome: {reason}")]
    UnknownOutcome {
        /// Service that was called.
        operation: Operation,
        /// What happened.
        reason: Reason,
    },
}

impl CallError {
    /// Returns the service that failed.
    pub fn operation(&self) -> Operation {
        match self {
            CallError::Transient { operation, .. }
            | CallError::SessionLost { operation, .. }
            | CallError::Configuration { operation, .. }
            | CallError::UnknownOutcome { operation, .. } => *operation,
        }
    }

    /// Returns why it failed.
    pub fn reason(&self) -> &Reason {
        match self {
            CallError::Transient { reason, .. }
            | CallError::SessionLost { reason, .. }
            | CallError::Configuration { reason, .. }
            | CallError::UnknownOutcome { reason, .. } => reason,
        }
    }

    /// Returns the `outcome` label of metrics and logs.
    pub fn kind_label(&self) -> &'static str {
        match self {
            CallError::Transient { .. } => "transient",
            CallError::SessionLost { .. } => "session_lost",
            CallError::Configuration { .. } => "configuration",
            CallError::UnknownOutcome { .. } => "unknown_outcome",
        }
    }

    /// Rewrites every text of the reason, e.g. to mask secrets.
    pub(crate) fn map_text(self, rewrite: impl Fn(&str) -> String) -> CallError {
        match self {
            CallError::Transient { operation, reason } => CallError::Transient {
                operation,
                reason: reason.map_text(rewrite),
            },
            CallError::SessionLost { operation, reason } => CallError::SessionLost {
                operation,
                reason: reason.map_text(rewrite),
            },
            CallError::Configuration { operation, reason } => CallError::Configuration {
                operation,
                reason: reason.map_text(rewrite),
            },
            CallError::UnknownOutcome { operation, reason } => CallError::UnknownOutcome {
                operation,
                reason: reason.map_text(rewrite),
            },
        }
    }
}

impl Localize for CallError {
    fn localize(&self) -> Text {
        let operation = self.operation();
        let reason = self.reason().localize();
        let (en, zh) = match self {
            CallError::Transient { .. } => (
                format!(
                    "K3Cloud {operation} failed temporarily; it will be retried: {}",
                    reason.en
                ),
                format!(
                    "K3Cloud {operation} 调用暂时失败，将稍后重试：{}",
                    reason.zh
                ),
            ),
            CallError::SessionLost { .. } => (
                format!(
                    "K3Cloud {operation} was refused because the session was lost; dingk3 logged in again and checks by bill number before resending: {}",
                    reason.en
                ),
                format!(
                    "K3Cloud {operation} 因会话丢失被拒绝；dingk3 已重新登录，重发前会先按单据编号查询：{}",
                    reason.zh
                ),
            ),
            CallError::Configuration { .. } => (
                format!(
                    "K3Cloud {operation} failed because of the configuration; fix it and restart: {}",
                    reason.en
                ),
                format!(
                    "K3Cloud {operation} 因配置问题失败，请修正后重启：{}",
                    reason.zh
                ),
            ),
            CallError::UnknownOutcome { .. } => (
                format!(
                    "K3Cloud {operation} may or may not have run; check by bill number before resending: {}",
                    reason.en
                ),
                format!(
                    "K3Cloud {operation} 的执行结果未知，重发前请先按单据编号查询：{}",
                    reason.zh
                ),
            ),
        };
        Text::new(en, zh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn display_is_english_and_names_operation() {
        let error = CallError::Transient {
            operation: Operation::BatchSave,
            reason: Reason::NetworkControl {
                message: "网控冲突".to_string(),
            },
        };
        let text = error.to_string();
        assert!(text.contains("batch_save"), "operation named: {text}");
        assert!(text.contains("MsgCode 13"), "reason included: {text}");
    }

    #[test]
    fn localize_speaks_chinese() {
        let error = CallError::Configuration {
            operation: Operation::Save,
            reason: Reason::UnknownAccountSet {
                excerpt: "Fail to verify thirty passport".to_string(),
            },
        };
        let zh = error.localize();
        assert!(zh.get(Lang::Zh).contains("账套"), "zh text: {}", zh.zh);
        assert!(
            zh.get(Lang::En).contains("acct_id"),
            "en names the key: {}",
            zh.en
        );
    }

    #[test]
    fn kind_labels_are_distinct() {
        let reason = Reason::LoginWithoutSession;
        let labels = [
            CallError::Transient {
                operation: Operation::View,
                reason: reason.clone(),
            },
            CallError::SessionLost {
                operation: Operation::View,
                reason: reason.clone(),
            },
            CallError::Configuration {
                operation: Operation::View,
                reason: reason.clone(),
            },
            CallError::UnknownOutcome {
                operation: Operation::View,
                reason,
            },
        ]
        .map(|error| error.kind_label());
        assert_eq!(
            labels,
            [
                "transient",
                "session_lost",
                "configuration",
                "unknown_outcome"
            ]
        );
    }
}
