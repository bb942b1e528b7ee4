//! Short excerpts of server replies for errors, logs and dead letters.
//!
//! A reply that cannot be understood is reported with its first characters so an
//! operator can see what came back (an HTML error page, a proxy message, a truncated
//! body). Login replies carry session ids and tokens, so values of those keys are masked
//! before the text is cut. The client also masks its own secrets with [`redact`].

/// Characters kept from a reply.
pub const EXCERPT_CHARS: usize = 200;

/// Characters of the body read before masking, so a query reply of megabytes is not
/// scanned whole. A value cut at this point is masked up to the cut.
const HEAD_CHARS: usize = 4 * EXCERPT_CHARS;

/// Replacement text of a masked value.
const MASK: &str = "***";

/// JSON keys (compared case-insensitively) whose string values are credentials.
const SENSITIVE_KEYS: [&str; 8] = [
    "kdsvcsessionid",
    "sessionid",
    "usertoken",
    "accesstoken",
    "appsecret",
    "password",
    "sign",
    "gsid",
];

/// Cookie names whose values are masked when a reply echoes them as `name=value`.
const SENSITIVE_COOKIES: [&str; 2] = ["kdservice-sessionid=", "asp.net_sessionid="];

/// Returns at most [`EXCERPT_CHARS`] characters of `body`, whitespace collapsed,
/// credential values masked.
pub fn excerpt(body: &str) -> String {
    let head = match body.char_indices().nth(HEAD_CHARS) {
        Some((cut, _)) => &body[..cut],
        None => body,
    };
    let masked = mask_sensitive(head);
    let collapsed: String = masked.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    let mut short: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    let body_was_cut = head.len() < body.len();
    if chars.next().is_some() || body_was_cut {
        short.push('…');
    }
    short
}

/// Replaces every occurrence of each secret in `text`; secrets shorter than four
/// characters are skipped because masking them would garble ordinary words.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut result = text.to_string();
    for secret in secrets {
        if secret.chars().count() >= 4 && result.contains(secret) {
            result = result.replace(secret, MASK);
        }
    }
    result
}

/// Masks the string values of [`SENSITIVE_KEYS`] and the values of
/// [`SENSITIVE_COOKIES`]. ASCII lowercasing keeps byte offsets, so ranges found in the
/// lowercase copy apply to the original.
fn mask_sensitive(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for key in SENSITIVE_KEYS {
        let needle = format!("\"{key}\"");
        let mut from = 0;
        while let Some(found) = lower[from..].find(&needle) {
            let after_key = from + found + needle.len();
            if let Some(range) = json_string_value(body.as_bytes(), after_key) {
                ranges.push(range);
            }
            from = after_key;
        }
    }
    for cookie in SENSITIVE_COOKIES {
        let mut from = 0;
        while let Some(found) = lower[from..].find(cookie) {
            let start = from + found + cookie.len();
            let end = body[start..]
                .find(|c: char| c == ';' || c == '"' || c == ',' || c.is_whitespace())
                .map_or(body.len(), |offset| start + offset);
            ranges.push((start, end));
            from = start;
        }
    }
    replace_ranges(body, ranges)
}

/// Finds the content of a JSON string value after a key: `: "…"`. Returns the byte
/// range between the quotes, up to the end of the text when the closing quote is missing
/// (a truncated reply).
fn json_string_value(bytes: &[u8], mut position: usize) -> Option<(usize, usize)> {
    while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
        position += 1;
    }
    if bytes.get(position) != Some(&b':') {
        return None;
    }
    position += 1;
    while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
        position += 1;
    }
    if bytes.get(position) != Some(&b'"') {
        return None;
    }
    let start = position + 1;
    let mut index = start;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return Some((start, index)),
            _ => index += 1,
        }
    }
    Some((start, bytes.len()))
}

fn replace_ranges(body: &str, mut ranges: Vec<(usize, usize)>) -> String {
    ranges.retain(|(start, end)| start < end);
    ranges.sort_unstable();
    let mut result = String::with_capacity(body.len());
    let mut cursor = 0;
    for (start, end) in ranges {
        let end = end.min(body.len());
        if start < cursor || !body.is_char_boundary(start) || !body.is_char_boundary(end) {
            continue;
        }
        result.push_str(&body[cursor..start]);
        result.push_str(MASK);
        cursor = end;
    }
    result.push_str(&body[cursor..]);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_bodies() {
        let body = "x".repeat(500);
        let short = excerpt(&body);
        assert_eq!(
            short.chars().count(),
            EXCERPT_CHARS + 1,
            "200 characters and an ellipsis"
        );
        assert!(short.ends_with('…'));
    }

    #[test]
    fn excerpt_marks_cut_after_whitespace() {
        let body = format!("{}tail", " ".repeat(1000));
        assert_eq!(
            excerpt(&body),
            "…",
            "the text after the scanned head is marked as cut"
        );
    }

    #[test]
    fn excerpt_collapses_whitespace() {
        assert_eq!(
            excerpt("<html>\n  <body>  500 </body>"),
            "<html> <body> 500 </body>"
        );
    }

    #[test]
    fn excerpt_masks_session_ids() {
        let body = r#"{"LoginResultType":1,"Context":{"SessionId":"n3xfizba4et0"},"KDSVCSessionId" : "2c6dfa6c-039b"}"#;
        let short = excerpt(body);
        assert!(
            !short.contains("n3xfizba4et0"),
            "ASP.NET session id leaked: {short}"
        );
        assert!(
            !short.contains("2c6dfa6c-039b"),
            "K3Cloud session id leaked: {short}"
        );
        assert!(
            short.contains("\"LoginResultType\":1"),
            "other fields stay: {short}"
        );
    }

    #[test]
    fn excerpt_masks_truncated_value() {
        let short = excerpt(r#"{"KDSVCSessionId":"2c6dfa6c-03"#);
        assert!(
            !short.contains("2c6dfa6c"),
            "a value without closing quote is masked: {short}"
        );
    }

    #[test]
    fn excerpt_masks_cookie_values() {
        let short = excerpt("Set-Cookie: kdservice-sessionid=abc123; path=/");
        assert!(!short.contains("abc123"), "cookie value leaked: {short}");
    }

    #[test]
    fn redact_replaces_known_secrets() {
        let text = redact("password pw-9f3a rejected", &["pw-9f3a", "ab"]);
        assert_eq!(text, "password *** rejected");
    }
}
