//! User-facing language selection and bilingual texts.
//!
//! Operators of dingk3 read Chinese or English, so every message a person sees on a
//! terminal (errors, summaries, help) exists in both. Logs stay English: they are read by
//! tools and by support engineers, and constant English messages keep them searchable.
//!
//! A message is built once as a [`Text`] holding both languages side by side, which keeps
//! the translations next to each other in the code and impossible to forget.

use std::fmt;

/// Language of user-facing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English; the default when nothing asks for Chinese.
    #[default]
    En,
    /// Simplified Chinese (zh-CN).
    Zh,
}

impl Lang {
    /// Parses a `--lang` value such as `zh`, `zh-CN`, `zh_CN.UTF-8`, `en` or `en_US`.
    ///
    /// Returns `None` for anything else, so a caller can report the bad value.
    pub fn parse(value: &str) -> Option<Lang> {
        let lower = value.trim().to_ascii_lowercase();
        if lower.starts_with("zh") {
            Some(Lang::Zh)
        } else if lower.starts_with("en") || lower == "c" || lower == "posix" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Parses the value of a `--lang` flag, or returns the error to show for a value
    /// that names neither language, so that a typo is not silently read as English.
    pub fn parse_flag(value: &str) -> Result<Lang, Text> {
        Lang::parse(value).ok_or_else(|| {
            crate::text!(
                en: "invalid --lang {value}: expected zh or en",
                zh: "--lang {value} 无效：应为 zh 或 en",
            )
        })
    }

    /// Picks the language from an explicit `--lang` value, else from the locale
    /// variables in POSIX precedence (`LC_ALL`, `LC_MESSAGES`, `LANG`).
    pub fn detect(explicit: Option<&str>) -> Lang {
        if let Some(lang) = explicit.and_then(Lang::parse) {
            return lang;
        }
        for key in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(value) = std::env::var(key)
                && !value.is_empty()
            {
                return Lang::parse(&value).unwrap_or(Lang::En);
            }
        }
        Lang::En
    }

    /// Finds `--lang VALUE` or `--lang=VALUE` in raw process arguments.
    ///
    /// The language must be known before clap renders help or errors, so it is read
    /// ahead of the real parse.
    pub fn from_args<I, S>(args: I) -> Option<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let arg = arg.as_ref();
            if arg == "--lang" {
                return args.next().map(|value| value.as_ref().to_string());
            }
            if let Some(value) = arg.strip_prefix("--lang=") {
                return Some(value.to_string());
            }
        }
        None
    }
}

/// A message in both user languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// English wording.
    pub en: String,
    /// Simplified Chinese wording.
    pub zh: String,
}

impl Text {
    /// Creates a text from its two translations.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// Returns the wording for `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

/// English is the [`fmt::Display`] form, because `Display` feeds logs.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

/// Builds a [`Text`] from two format strings that share the same arguments.
///
/// ```
/// let value = "团建活动";
/// let text = dingk3::text!(
///     en: "no expense item is mapped for {value}",
///     zh: "{value} 没有对应的费用项目",
/// );
/// assert_eq!(text.en, "no expense item is mapped for 团建活动");
/// ```
#[macro_export]
macro_rules! text {
    (en: $en:literal, zh: $zh:literal $(,)?) => {
        $crate::i18n::Text::new(format!($en), format!($zh))
    };
}

/// Errors and outcomes that an operator reads implement this to speak both languages.
pub trait Localize {
    /// Describes the value for a person, in both languages.
    fn localize(&self) -> Text;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_locale_spellings() {
        assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::Zh));
        assert_eq!(Lang::parse("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn parse_flag_names_bad_value() {
        assert_eq!(Lang::parse_flag("zh_CN"), Ok(Lang::Zh));
        let error = Lang::parse_flag("fr").expect_err("fr names no language");
        assert!(error.en.contains("invalid --lang fr"), "{}", error.en);
        assert!(error.zh.contains("--lang fr"), "{}", error.zh);
    }

    #[test]
    fn explicit_lang_wins_over_environment() {
        assert_eq!(Lang::detect(Some("zh")), Lang::Zh);
        assert_eq!(Lang::detect(Some("en")), Lang::En);
    }

    #[test]
    fn from_args_finds_both_spellings() {
        assert_eq!(
            Lang::from_args(["consumer", "--lang", "zh", "run"]),
            Some("zh".to_string())
        );
        assert_eq!(
            Lang::from_args(["consumer", "--lang=en"]),
            Some("en".to_string())
        );
        assert_eq!(Lang::from_args(["consumer", "run"]), None);
    }

    #[test]
    fn text_macro_formats_both_languages() {
        let value = 3;
        let text = text!(en: "{value} rows", zh: "{value} 行");
        assert_eq!(text.get(Lang::En), "3 rows");
        assert_eq!(text.get(Lang::Zh), "3 行");
        assert_eq!(text.to_string(), "3 rows");
    }
}
