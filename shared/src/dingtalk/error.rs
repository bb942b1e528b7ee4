//! The errors the DingTalk client returns, sorted by what the caller must do.
//!
//! Throttling and transient failures are retried inside the client; they reach the
//! caller only after the retry budget is spent. Quota exhaustion stops polling, because
//! no retry can help until the month ends or the edition changes. Configuration errors
//! need a person to fix the configuration or the app's permissions and restart.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::approval::time::utc_to_beijing;
use crate::i18n::{Localize, Text};
use crate::text;

use super::list::InstanceIdListing;

/// Cause of a failure that only a change of the configuration or the app can fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigurationReason {
    /// DingTalk rejected the AppKey or AppSecret.
    InvalidCredentials,
    /// A freshly fetched token was rejected as invalid too.
    TokenRejected,
    /// The app lacks an API permission (权限点), even with a fresh token.
    PermissionDenied,
    /// The server's egress IP is not in the app's IP whitelist.
    IpNotWhitelisted,
    /// The process code (模板 `process_code`) does not exist or was deleted.
    UnknownProcessCode,
    /// The host does not serve the API path: a wrong base URL or API generation.
    UnknownApi,
    /// No comment author is configured or given.
    MissingCommentUser,
    /// The HTTP client could not be built, usually because of the TLS setup.
    HttpClient,
    /// The server's TLS certificate is not trusted.
    UntrustedCertificate,
}

/// A failed DingTalk call.
#[derive(Debug, thiserror::Error)]
pub enum DingTalkError {
    /// Fix the configuration or the app in the developer console, then restart.
    #[error("dingtalk {api}: configuration error ({reason:?}, code {code}): {message}")]
    Configuration {
        /// API path the call went to.
        api: &'static str,
        /// Part of the configuration to fix.
        reason: ConfigurationReason,
        /// DingTalk's error code (`errcode`, `sub_code` or `code`), empty when local.
        code: String,
        /// DingTalk's message, as sent.
        message: String,
    },

    /// DingTalk throttled the call and the client's retries did not get through.
    #[error("dingtalk {api}: throttled (code {code}); retry after {retry_after:?}")]
    Throttled {
        /// API path the call went to.
        api: &'static str,
        /// The throttling code, or a description of a non-standard reply.
        code: String,
        /// How long to wait: the server's hint when it sent one, else the back-off.
        retry_after: Duration,
    },

    /// The organisation's monthly API quota is spent; retrying cannot help.
    #[error("dingtalk {api}: monthly API quota exhausted (code {code}): {message}")]
    QuotaExhausted {
        /// API path the call went to.
        api: &'static str,
        /// `90020` or `Forbidden.AccessDenied.ApiCountLimitForOrg`.
        code: String,
        /// DingTalk's message.
        message: String,
    },

    /// The instance does not exist (deleted, or an id of another organisation).
    #[error("dingtalk: approval instance {process_instance_id} not found (code {code}): {message}")]
    InstanceNotFound {
        /// The instance asked for.
        process_instance_id: String,
        /// DingTalk's error code.
        code: String,
        /// DingTalk's message.
        message: String,
    },

    /// A network failure, timeout or server error that outlasted the retries.
    #[error("dingtalk {api}: transient failure: {detail}")]
    Transient {
        /// API path the call went to.
        api: &'static str,
        /// Description of the failure, without URL, token or secret.
        detail: String,
    },

    /// DingTalk rejected this one request (a parameter, or the instance's state);
    /// repeating it unchanged fails the same way.
    #[error("dingtalk {api}: request rejected (code {code}): {message}")]
    Rejected {
        /// API path the call went to.
        api: &'static str,
        /// DingTalk's error code.
        code: String,
        /// DingTalk's message.
        message: String,
    },

    /// A success reply lacked what the API documents (a protocol change or a bug).
    #[error("dingtalk {api}: unexpected reply: {detail}")]
    InvalidResponse {
        /// API path the call went to.
        api: &'static str,
        /// Description of the missing or malformed part.
        detail: String,
    },

    /// The list API returned a cursor it had already returned in the same slice, so
    /// paging would never end. The ids gathered before are in `partial`.
    #[error(
        "dingtalk: listing of {process_code} stopped: cursor {cursor} repeated in the slice {slice_start} to {slice_end}"
    )]
    RepeatedCursor {
        /// Template code being listed.
        process_code: String,
        /// The cursor seen twice.
        cursor: String,
        /// First instant of the slice.
        slice_start: DateTime<Utc>,
        /// Last instant of the slice.
        slice_end: DateTime<Utc>,
        /// Everything listed before the stop; incomplete, so a watermark must not move.
        partial: Box<InstanceIdListing>,
    },

    /// The window starts further back than the list API allows.
    #[error(
        "dingtalk: listing window starts {start}, before the earliest allowed start {earliest} (max_lookback_days = {max_lookback_days})"
    )]
    WindowTooOld {
        /// Requested start.
        start: DateTime<Utc>,
        /// Earliest start the client sends.
        earliest: DateTime<Utc>,
        /// The configured lookback.
        max_lookback_days: u32,
    },

    /// The window ends before it starts.
    #[error("dingtalk: listing window ends ({end}) before it starts ({start})")]
    InvalidWindow {
        /// Requested start.
        start: DateTime<Utc>,
        /// Requested end.
        end: DateTime<Utc>,
    },

    /// A slice too short to split still reached the 10,000-id cap.
    #[error(
        "dingtalk: more instances of {process_code} than the list API returns between {slice_start} and {slice_end}"
    )]
    TooManyInstances {
        /// Template code being listed.
        process_code: String,
        /// First instant of the slice.
        slice_start: DateTime<Utc>,
        /// Last instant of the slice.
        slice_end: DateTime<Utc>,
    },
}

impl DingTalkError {
    /// Returns true for the errors the client retries by itself: throttling and
    /// transient failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DingTalkError::Throttled { .. } | DingTalkError::Transient { .. }
        )
    }

    /// Returns the server's wait hint of a throttling error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DingTalkError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Returns a short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            DingTalkError::Configuration { .. } => "configuration",
            DingTalkError::Throttled { .. } => "throttled",
            DingTalkError::QuotaExhausted { .. } => "quota_exhausted",
            DingTalkError::InstanceNotFound { .. } => "not_found",
            DingTalkError::Transient { .. } => "transient",
            DingTalkError::Rejected { .. } => "rejected",
            DingTalkError::InvalidResponse { .. } => "invalid_response",
            DingTalkError::RepeatedCursor { .. } => "repeated_cursor",
            DingTalkError::WindowTooOld { .. } => "window_too_old",
            DingTalkError::InvalidWindow { .. } => "invalid_window",
            DingTalkError::TooManyInstances { .. } => "too_many_instances",
        }
    }
}

fn beijing(instant: &DateTime<Utc>) -> String {
    utc_to_beijing(*instant)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl Localize for DingTalkError {
    fn localize(&self) -> Text {
        match self {
            DingTalkError::Configuration {
                api,
                reason,
                code,
                message,
            } => localize_configuration(api, *reason, code, message),
            DingTalkError::Throttled {
                api, retry_after, ..
            } => {
                let seconds = retry_after.as_secs_f64();
                text!(
                    en: "DingTalk throttled {api} and retries did not get through; wait {seconds:.1} s, and lower dingtalk.rate_limit_per_second if this repeats",
                    zh: "钉钉对 {api} 限流，重试仍未成功；请等待 {seconds:.1} 秒，如反复出现请调低 dingtalk.rate_limit_per_second",
                )
            }
            DingTalkError::QuotaExhausted { api, code, message } => text!(
                en: "the organisation's monthly DingTalk API quota is exhausted ({api}, code {code}: {message}); polling stops until the quota resets or the edition is upgraded",
                zh: "企业本月的钉钉接口调用次数已用完（{api}，错误码 {code}：{message}）；轮询停止，直到额度重置或升级版本",
            ),
            DingTalkError::InstanceNotFound {
                process_instance_id,
                message,
                ..
            } => text!(
                en: "approval instance {process_instance_id} does not exist in DingTalk ({message}); it may have been deleted",
                zh: "钉钉中不存在审批实例 {process_instance_id}（{message}）；它可能已被删除",
            ),
            DingTalkError::Transient { api, detail } => text!(
                en: "DingTalk {api} failed after retries: {detail}; it will be tried again at the next poll",
                zh: "钉钉 {api} 重试后仍失败：{detail}；将在下次轮询时再试",
            ),
            DingTalkError::Rejected { api, code, message } => text!(
                en: "DingTalk rejected the request to {api} (code {code}): {message}",
                zh: "钉钉拒绝了 {api} 请求（错误码 {code}）：{message}",
            ),
            DingTalkError::InvalidResponse { api, detail } => text!(
                en: "DingTalk {api} returned an unexpected reply: {detail}",
                zh: "钉钉 {api} 返回了无法识别的响应：{detail}",
            ),
            DingTalkError::RepeatedCursor {
                process_code,
                cursor,
                slice_start,
                slice_end,
                partial,
            } => {
                let (start, end, found) =
                    (beijing(slice_start), beijing(slice_end), partial.ids.len());
                text!(
                    en: "listing {process_code} stopped because DingTalk returned cursor {cursor} twice between {start} and {end} (Beijing time); {found} ids were found before the stop and the listing is incomplete",
                    zh: "列出 {process_code} 时钉钉在 {start} 至 {end}（北京时间）之间两次返回游标 {cursor}，已停止；停止前找到 {found} 个实例 ID，列表不完整",
                )
            }
            DingTalkError::WindowTooOld {
                start,
                earliest,
                max_lookback_days,
            } => {
                let (start, earliest) = (beijing(start), beijing(earliest));
                text!(
                    en: "the listing window starts at {start}, but DingTalk lists at most {max_lookback_days} days back; start at {earliest} (Beijing time) or later, or raise dingtalk.max_lookback_days if the organisation has OA 高级版 (premium, up to 1825)",
                    zh: "列表时间窗口从 {start} 开始，但钉钉最多只能查询 {max_lookback_days} 天内的实例；请从 {earliest}（北京时间）或之后开始，若企业开通了 OA 高级版，可调大 dingtalk.max_lookback_days（最多 1825）",
                )
            }
            DingTalkError::InvalidWindow { start, end } => {
                let (start, end) = (beijing(start), beijing(end));
                text!(
                    en: "the listing window ends ({end}) before it starts ({start})",
                    zh: "列表时间窗口的结束时间（{end}）早于开始时间（{start}）",
                )
            }
            DingTalkError::TooManyInstances {
                process_code,
                slice_start,
                slice_end,
            } => {
                let (start, end) = (beijing(slice_start), beijing(slice_end));
                text!(
                    en: "{process_code} has more than 10,000 instances between {start} and {end} (Beijing time), more than the list API returns for one query",
                    zh: "{process_code} 在 {start} 至 {end}（北京时间）之间的实例超过 10000 个，超出列表接口单次查询的上限",
                )
            }
        }
    }
}

fn localize_configuration(
    api: &str,
    reason: ConfigurationReason,
    code: &str,
    message: &str,
) -> Text {
    let (en_fix, zh_fix) = match reason {
        ConfigurationReason::InvalidCredentials => (
            "check dingtalk.app_key and dingtalk.app_secret against the app's credentials in the developer console",
            "请对照开发者后台中应用的凭证检查 dingtalk.app_key 和 dingtalk.app_secret",
        ),
        ConfigurationReason::TokenRejected => (
            "a new access token was rejected as well; check dingtalk.app_key, dingtalk.app_secret and that dingtalk.api matches the host",
            "新获取的 access_token 同样被拒绝；请检查 dingtalk.app_key、dingtalk.app_secret，以及 dingtalk.api 是否与主机一致",
        ),
        ConfigurationReason::PermissionDenied => (
            "grant the app the API permission in the developer console (Workflow.Instance.Read to read, Workflow.Instance.Write to comment), then restart",
            "请在开发者后台为应用开通接口权限（读取需要 Workflow.Instance.Read，评论需要 Workflow.Instance.Write），然后重启",
        ),
        ConfigurationReason::IpNotWhitelisted => (
            "add this server's egress IP to the app's IP whitelist in the developer console",
            "请在开发者后台把本服务器的出口 IP 加入应用的 IP 白名单",
        ),
        ConfigurationReason::UnknownProcessCode => (
            "check the process code (PROC-…) in the approval template's edit page URL",
            "请在审批模板编辑页面的地址中核对模板编码（PROC-…）",
        ),
        ConfigurationReason::UnknownApi => (
            "check dingtalk.api, dingtalk.oapi_base_url and dingtalk.api_base_url",
            "请检查 dingtalk.api、dingtalk.oapi_base_url 和 dingtalk.api_base_url",
        ),
        ConfigurationReason::MissingCommentUser => (
            "set dingtalk.comment_userid to the DingTalk userid shown as the comment author",
            "请把 dingtalk.comment_userid 设为评论作者的钉钉 userid",
        ),
        ConfigurationReason::UntrustedCertificate => (
            "the server's TLS certificate is not trusted; set dingtalk.tls_ca_file to the CA that signed it, or check the base URLs",
            "服务器的 TLS 证书不受信任；请把 dingtalk.tls_ca_file 设为签发该证书的 CA，或检查基础地址",
        ),
        ConfigurationReason::HttpClient => (
            "the HTTP client could not be set up; check dingtalk.tls_ca_file and the system's TLS certificates",
            "无法创建 HTTP 客户端；请检查 dingtalk.tls_ca_file 和系统的 TLS 证书",
        ),
    };
    let detail = if code.is_empty() {
        message.to_string()
    } else {
        format!("{code}: {message}")
    };
    text!(
        en: "DingTalk {api} failed ({detail}); {en_fix}",
        zh: "钉钉 {api} 调用失败（{detail}）；{zh_fix}",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_covers_throttled_and_transient() {
        let throttled = DingTalkError::Throttled {
            api: "topapi/processinstance/get",
            code: "90018".into(),
            retry_after: Duration::from_secs(1),
        };
        let quota = DingTalkError::QuotaExhausted {
            api: "topapi/processinstance/get",
            code: "90020".into(),
            message: String::new(),
        };
        assert!(throttled.is_retryable(), "throttling is retryable");
        assert!(!quota.is_retryable(), "an exhausted quota is not retryable");
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn window_error_names_key_and_date() {
        let error = DingTalkError::WindowTooOld {
            start: "2024-01-01T00:00:00Z".parse().unwrap(),
            earliest: "2025-01-01T16:00:00Z".parse().unwrap(),
            max_lookback_days: 365,
        };
        let text = error.localize();
        assert!(
            text.en.contains("dingtalk.max_lookback_days"),
            "names the key: {}",
            text.en
        );
        assert!(
            text.en.contains("2025-01-02 00:00:00"),
            "names the date in Beijing time"
        );
        assert!(
            text.zh.contains("dingtalk.max_lookback_days"),
            "names the key in Chinese"
        );
    }

    #[test]
    fn configuration_error_names_fix() {
        let error = DingTalkError::Configuration {
            api: "gettoken",
            reason: ConfigurationReason::InvalidCredentials,
            code: "40096".into(),
            message: "不合法的appKey或appSecret".into(),
        };
        let text = error.localize();
        assert!(
            text.en.contains("dingtalk.app_secret"),
            "names the key to fix"
        );
        assert!(text.zh.contains("40096"), "shows the code");
    }
}
