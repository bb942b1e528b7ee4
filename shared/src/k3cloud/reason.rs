//! [`Reason`]: the cause inside every [`CallError`](super::error::CallError), in both
//! user languages. Texts from the server are excerpts in which credentials are masked.

use std::time::Duration;

use crate::i18n::{Localize, Text};
use crate::text;

use super::decode::ReplyDefect;

/// Cause of a failed call. Texts from the server are excerpts with credentials masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No connection could be opened, so nothing was sent.
    Connect {
        /// Transport error text.
        detail: String,
    },
    /// The server's TLS certificate is not trusted, so nothing was sent.
    UntrustedCertificate {
        /// Transport error text.
        detail: String,
    },
    /// No complete reply within the request timeout.
    Timeout {
        /// The configured request timeout.
        after: Duration,
    },
    /// The connection broke after the request was sent.
    ReplyLost {
        /// Transport error text.
        detail: String,
    },
    /// HTTP status other than 2xx.
    HttpStatus {
        /// Status code.
        status: u16,
        /// Start of the body (or the redirect target).
        excerpt: String,
    },
    /// `MsgCode` 13: another writer has locked the bill or its source (网控).
    NetworkControl {
        /// Server messages.
        message: String,
    },
    /// `MsgCode` 14: K3Cloud's call limit.
    CallLimit {
        /// Server messages.
        message: String,
    },
    /// SQL Server chose this call as a deadlock victim.
    Deadlock {
        /// Server messages.
        message: String,
    },
    /// `MsgCode` 1 under session auth: the session expired or was cleared.
    SessionExpired {
        /// Server messages.
        message: String,
    },
    /// `MsgCode` 1 under signature auth: user, app id, app secret or lcid is wrong, or
    /// the app is not enabled for this account set.
    CredentialsRejected {
        /// Server messages.
        message: String,
    },
    /// The server does not know the account set (`Fail to verify thirty passport`).
    UnknownAccountSet {
        /// Start of the body.
        excerpt: String,
    },
    /// The login service refused the credentials.
    LoginRejected {
        /// `LoginResultType`, when the reply had one.
        result_type: Option<i64>,
        /// Server message.
        message: String,
    },
    /// The login succeeded but named no session id.
    LoginWithoutSession,
    /// The server refused the whole call for a reason of setup: licence (`MsgCode` 7),
    /// administrator login forbidden (15), or a read K3Cloud rejected (unknown form or
    /// field, missing permission).
    Refused {
        /// `MsgCode` of the reply.
        msg_code: Option<i64>,
        /// Server messages.
        message: String,
    },
    /// The reply could not be understood.
    UnexpectedReply {
        /// Kind of defect.
        defect: ReplyDefect,
        /// Start of the body.
        excerpt: String,
    },
    /// The request could not be built or sent (for example an unusable URL).
    InvalidRequest {
        /// Error text.
        detail: String,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.localize().en)
    }
}

impl Localize for Reason {
    fn localize(&self) -> Text {
        match self {
            Reason::Connect { detail } => text!(
                en: "cannot connect to K3Cloud ({detail}); check base_url and the network",
                zh: "无法连接 K3Cloud（{detail}）；请检查 base_url 和网络",
            ),
            Reason::UntrustedCertificate { detail } => text!(
                en: "K3Cloud's TLS certificate is not trusted ({detail}); set k3cloud.tls_ca_file to the CA that signed it, or check base_url",
                zh: "K3Cloud 的 TLS 证书不受信任（{detail}）；请把 k3cloud.tls_ca_file 设为签发该证书的 CA，或检查 base_url",
            ),
            Reason::Timeout { after } => {
                let seconds = after.as_secs_f64();
                text!(
                    en: "no reply within {seconds} s (request_timeout_ms)",
                    zh: "{seconds} 秒内没有收到回复（request_timeout_ms）",
                )
            }
            Reason::ReplyLost { detail } => text!(
                en: "the connection failed after the request was sent ({detail})",
                zh: "请求发出后连接中断（{detail}）",
            ),
            Reason::HttpStatus { status, excerpt } => text!(
                en: "HTTP status {status}: {excerpt}",
                zh: "HTTP 状态码 {status}：{excerpt}",
            ),
            Reason::NetworkControl { message } => text!(
                en: "network control conflict (MsgCode 13), another writer holds the bill: {message}",
                zh: "网控冲突（MsgCode 13），单据正被其他操作占用：{message}",
            ),
            Reason::CallLimit { message } => text!(
                en: "K3Cloud call limit reached (MsgCode 14): {message}",
                zh: "达到 K3Cloud 调用限制（MsgCode 14）：{message}",
            ),
            Reason::Deadlock { message } => text!(
                en: "the database chose this call as a deadlock victim: {message}",
                zh: "数据库死锁，本次调用被选为牺牲品：{message}",
            ),
            Reason::SessionExpired { message } => text!(
                en: "the session expired (MsgCode 1): {message}",
                zh: "会话已失效（MsgCode 1）：{message}",
            ),
            Reason::CredentialsRejected { message } => text!(
                en: "K3Cloud rejected the signature (MsgCode 1: {message}); check username, app_id, app_secret and lcid, and that the app is enabled for this account set",
                zh: "K3Cloud 拒绝了签名（MsgCode 1：{message}）；请检查 username、app_id、app_secret 和 lcid，并确认该应用已在此账套启用",
            ),
            Reason::UnknownAccountSet { excerpt } => text!(
                en: "K3Cloud does not know the account set ({excerpt}); set acct_id to the account set id (FDATACENTERID), not its name",
                zh: "K3Cloud 不认识该账套（{excerpt}）；请把 acct_id 设为账套 ID（FDATACENTERID），而不是账套名称",
            ),
            Reason::LoginRejected {
                result_type,
                message,
            } => {
                let result_type = result_type.map_or_else(|| "-".to_string(), |t| t.to_string());
                text!(
                    en: "login rejected (LoginResultType {result_type}): {message}; check acct_id, username and the password or app secret",
                    zh: "登录被拒绝（LoginResultType {result_type}）：{message}；请检查 acct_id、username 以及密码或应用密钥",
                )
            }
            Reason::LoginWithoutSession => text!(
                en: "the login reply carries no session id; the user may need to finish a form in the K3Cloud web client (licence or password notice)",
                zh: "登录回复中没有会话 ID；该用户可能需要先在 K3Cloud 网页端处理提示（许可或密码提示）",
            ),
            Reason::Refused { msg_code, message } => {
                let code = msg_code.map_or_else(|| "-".to_string(), |c| c.to_string());
                text!(
                    en: "K3Cloud refused the call (MsgCode {code}): {message}",
                    zh: "K3Cloud 拒绝了调用（MsgCode {code}）：{message}",
                )
            }
            Reason::UnexpectedReply { defect, excerpt } => {
                let (en, zh) = match defect {
                    ReplyDefect::Empty => ("an empty reply", "空回复"),
                    ReplyDefect::ServerException => ("a server exception", "服务器异常"),
                    ReplyDefect::NotJson => ("a reply that is not JSON", "非 JSON 回复"),
                    ReplyDefect::UnexpectedShape => ("a reply of unknown shape", "格式未知的回复"),
                };
                text!(
                    en: "K3Cloud sent {en}: {excerpt}",
                    zh: "K3Cloud 返回了{zh}：{excerpt}",
                )
            }
            Reason::InvalidRequest { detail } => text!(
                en: "the request could not be built ({detail}); check base_url",
                zh: "无法构造请求（{detail}）；请检查 base_url",
            ),
        }
    }
}

impl Reason {
    /// Rewrites every text the reason carries.
    pub(crate) fn map_text(self, rewrite: impl Fn(&str) -> String) -> Reason {
        match self {
            Reason::Connect { detail } => Reason::Connect {
                detail: rewrite(&detail),
            },
            Reason::UntrustedCertificate { detail } => Reason::UntrustedCertificate {
                detail: rewrite(&detail),
            },
            Reason::ReplyLost { detail } => Reason::ReplyLost {
                detail: rewrite(&detail),
            },
            Reason::InvalidRequest { detail } => Reason::InvalidRequest {
                detail: rewrite(&detail),
            },
            Reason::HttpStatus { status, excerpt } => Reason::HttpStatus {
                status,
                excerpt: rewrite(&excerpt),
            },
            Reason::UnknownAccountSet { excerpt } => Reason::UnknownAccountSet {
                excerpt: rewrite(&excerpt),
            },
            Reason::UnexpectedReply { defect, excerpt } => Reason::UnexpectedReply {
                defect,
                excerpt: rewrite(&excerpt),
            },
            Reason::NetworkControl { message } => Reason::NetworkControl {
                message: rewrite(&message),
            },
            Reason::CallLimit { message } => Reason::CallLimit {
                message: rewrite(&message),
            },
            Reason::Deadlock { message } => Reason::Deadlock {
                message: rewrite(&message),
            },
            Reason::SessionExpired { message } => Reason::SessionExpired {
                message: rewrite(&message),
            },
            Reason::CredentialsRejected { message } => Reason::CredentialsRejected {
                message: rewrite(&message),
            },
            Reason::LoginRejected {
                result_type,
                message,
            } => Reason::LoginRejected {
                result_type,
                message: rewrite(&message),
            },
            Reason::Refused { msg_code, message } => Reason::Refused {
                msg_code,
                message: rewrite(&message),
            },
            Reason::Timeout { after } => Reason::Timeout { after },
            Reason::LoginWithoutSession => Reason::LoginWithoutSession,
        }
    }
}
