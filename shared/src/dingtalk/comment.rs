//! Writing a comment (评论) on an approval instance, e.g. the K3Cloud bill number.
//!
//! The v1.0 API limits a comment to 1024 characters. Longer text is truncated to 1023
//! characters plus "…" rather than rejected, because the comment is a notice written
//! by dingk3 and a shortened notice is more useful than none. The same limit is applied
//! to the legacy API, whose documentation states none.

use serde_json::{Value, json};

use super::client::DingTalkClient;
use super::config::ApiFlavor;
use super::endpoint::Endpoint;
use super::error::{ConfigurationReason, DingTalkError};
use super::transport::Request;

/// Maximum comment length DingTalk accepts, in characters ("最大长度1024字符").
pub const MAX_COMMENT_CHARS: usize = 1024;

impl DingTalkClient {
    /// Adds `text` as a comment to the instance, written as `comment_userid` or, when
    /// that is `None`, as the configured `comment_userid`.
    pub async fn add_comment(
        &self,
        process_instance_id: &str,
        text: &str,
        comment_userid: Option<&str>,
    ) -> Result<(), DingTalkError> {
        let settings = &self.inner.settings;
        let endpoint = match settings.api {
            ApiFlavor::Topapi => Endpoint::AddComment,
            ApiFlavor::V1 => Endpoint::Comments,
        };
        let Some(userid) = comment_userid.or(settings.comment_userid.as_deref()) else {
            return Err(DingTalkError::Configuration {
                api: endpoint.path(),
                reason: ConfigurationReason::MissingCommentUser,
                code: String::new(),
                message: "no comment author".to_string(),
            });
        };
        let text = truncate_comment(text);
        let body = match settings.api {
            // The legacy API wraps its parameters in a `request` object.
            ApiFlavor::Topapi => json!({"request": {
                "process_instance_id": process_instance_id,
                "text": text,
                "comment_userid": userid,
            }}),
            ApiFlavor::V1 => json!({
                "processInstanceId": process_instance_id,
                "text": text,
                "commentUserId": userid,
            }),
        };
        let request = Request {
            endpoint,
            query: Vec::new(),
            body: Some(body),
            process_instance_id: Some(process_instance_id),
        };
        let reply = self.inner.call(&request).await?;
        if is_false(reply.get("result")) || is_false(reply.get("success")) {
            return Err(DingTalkError::Rejected {
                api: endpoint.path(),
                code: "result false".to_string(),
                message: "DingTalk did not add the comment".to_string(),
            });
        }
        tracing::info!(process_instance_id, "dingtalk comment added");
        Ok(())
    }
}

/// Cuts `text` to [`MAX_COMMENT_CHARS`] characters, marking the cut with "…".
pub(crate) fn truncate_comment(text: &str) -> String {
    if text.chars().count() <= MAX_COMMENT_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_COMMENT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Returns true for `false` or `"false"`; v1.0 replies type `success` either way.
fn is_false(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => !flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_comment_unchanged() {
        assert_eq!(
            truncate_comment("已生成付款单 FKD000123"),
            "已生成付款单 FKD000123"
        );
    }

    #[test]
    fn long_comment_truncated_in_characters() {
        let text = "付".repeat(1500);
        let cut = truncate_comment(&text);
        assert_eq!(
            cut.chars().count(),
            MAX_COMMENT_CHARS,
            "counted in characters, not bytes"
        );
        assert!(cut.ends_with('…'), "the cut is marked");
    }

    #[test]
    fn exact_limit_unchanged() {
        let text = "a".repeat(MAX_COMMENT_CHARS);
        assert_eq!(truncate_comment(&text), text);
    }

    #[test]
    fn false_flags_detected() {
        assert!(is_false(Some(&json!(false))));
        assert!(is_false(Some(&json!("false"))));
        assert!(!is_false(Some(&json!(true))));
        assert!(!is_false(None));
    }
}
