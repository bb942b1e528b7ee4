//! Turning figment's errors into [`ConfigError`]s that name the key.
//!
//! figment reports where a value came from (a file or an environment variable) and the
//! path of the key; an operator needs both, in their language, with the fix.

use crate::config::ConfigError;
use crate::text;

/// Turns a TOML syntax or type error into a [`ConfigError`] naming the key.
pub fn from_figment_error(error: figment::Error) -> ConfigError {
    use figment::error::Kind;

    let mut key = error.path.join(".");
    let problem = match &error.kind {
        Kind::UnknownField(field, expected) => {
            key = join_key(&key, field);
            let expected = expected.join(", ");
            text!(
                en: "unknown key {field}; the keys allowed here are: {expected}",
                zh: "未知的配置项 {field}；此处可用的配置项：{expected}",
            )
        }
        Kind::MissingField(field) => {
            key = join_key(&key, field);
            text!(
                en: "missing; add {field}",
                zh: "缺少该项；请添加 {field}",
            )
        }
        Kind::UnknownVariant(value, expected) => {
            let expected = expected.join(", ");
            text!(
                en: "invalid value {value:?}; use one of: {expected}",
                zh: "取值 {value:?} 无效；可用的取值：{expected}",
            )
        }
        Kind::InvalidType(actual, expected) => text!(
            en: "wrong type: found {actual}, expected {expected}",
            zh: "类型错误：实际为 {actual}，应为 {expected}",
        ),
        Kind::Message(message) if message.contains("untagged enum RawConst") => text!(
            en: "const must be a string, a boolean or an integer; write decimals as strings \
                 with as = \"decimal\" or \"money\"",
            zh: "const 只能是字符串、布尔值或整数；小数请写成字符串并配合 as = \"decimal\" 或 \"money\"",
        ),
        other => {
            let detail = other.to_string();
            text!(
                en: "cannot read the file: {detail}",
                zh: "无法解析配置文件：{detail}",
            )
        }
    };
    ConfigError::new(key, problem)
}

/// Appends `field` unless figment's path already ends with it (it does for unknown
/// fields, whose value it has visited).
fn join_key(prefix: &str, field: &str) -> String {
    if prefix == field || prefix.ends_with(&format!(".{field}")) {
        prefix.to_string()
    } else if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}
