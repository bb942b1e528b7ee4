//! Command-line helpers shared by the three binaries: Chinese help texts and localized
//! argument errors.
//!
//! English help comes from the clap derive doc comments. Chinese help comes from a table
//! that each binary keeps next to its argument definitions, keyed by command path and
//! argument id; [`missing_translations`] lets a unit test prove that the table covers
//! every command and argument.

use clap::{ArgMatches, Command, FromArgMatches};

use crate::i18n::Lang;

/// Chinese help texts: `(key, text)` pairs. Functions here take a list of tables, so a
/// binary can combine the tables of the modules it is built from.
///
/// Keys: `""` is the root command's description, `"dlq list"` a subcommand's, and
/// `"dlq list:kind"` the argument with id `kind` of that subcommand (`":lang"` for a root
/// argument). clap's own `help` and `version` flags are translated here and need no entry.
pub type ZhHelp = &'static [(&'static str, &'static str)];

/// Returns `cmd` with its help in `lang`.
pub fn localize(cmd: Command, lang: Lang, zh: &[ZhHelp]) -> Command {
    match lang {
        Lang::En => cmd,
        Lang::Zh => {
            // Building adds clap's own `--help`, `--version` and `help` subcommand, which
            // otherwise appear later in English under an "Options" heading of their own.
            let mut cmd = cmd;
            cmd.build();
            localize_zh(cmd, "", zh)
        }
    }
}

fn lookup(zh: &[ZhHelp], key: &str) -> Option<&'static str> {
    zh.iter()
        .flat_map(|table| table.iter())
        .find(|(k, _)| *k == key)
        .map(|(_, text)| *text)
}

fn localize_zh(mut cmd: Command, path: &str, zh: &[ZhHelp]) -> Command {
    let own_about = match cmd.get_name() {
        "help" if cmd.get_arguments().all(|arg| arg.is_positional()) => {
            Some("显示本帮助，或指定子命令的帮助")
        }
        _ => None,
    };
    if let Some(about) = lookup(zh, path).or(own_about) {
        cmd = cmd.about(about).long_about(None);
    }
    cmd = cmd
        .help_template("{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("命令")
        .subcommand_value_name("命令");

    let arg_ids: Vec<String> = cmd
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in arg_ids {
        let key = format!("{path}:{id}");
        let text = match id.as_str() {
            "help" => Some("显示帮助"),
            "version" => Some("显示版本"),
            // A global argument (`--lang`) is propagated to every subcommand and keeps
            // the root command's text.
            _ => lookup(zh, &key).or_else(|| lookup(zh, &format!(":{id}"))),
        };
        cmd = cmd.mut_arg(&id, |arg| {
            let heading = if arg.is_positional() {
                "参数"
            } else {
                "选项"
            };
            let arg = arg.help_heading(heading);
            match text {
                Some(text) => arg.help(text).long_help(None),
                None => arg,
            }
        });
    }

    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| localize_zh(sub, &sub_path, zh));
    }
    cmd
}

/// Lists the keys of commands and arguments of `cmd` that `zh` does not translate.
pub fn missing_translations(cmd: &Command, zh: &[ZhHelp]) -> Vec<String> {
    let mut missing = Vec::new();
    collect_missing(cmd, "", zh, &mut missing);
    missing
}

fn collect_missing(cmd: &Command, path: &str, zh: &[ZhHelp], missing: &mut Vec<String>) {
    if lookup(zh, path).is_none() {
        missing.push(path.to_string());
    }
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" || arg.is_hide_set() {
            continue;
        }
        let key = format!("{path}:{id}");
        if lookup(zh, &key).is_none() {
            missing.push(key);
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_path = if path.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{path} {}", sub.get_name())
        };
        collect_missing(sub, &sub_path, zh, missing);
    }
}

/// Parses the process arguments into `T` with help and errors in the user's language.
///
/// Exits the process like clap does: status 0 after `--help` or `--version`, status 2
/// on an invalid argument. Returns the parsed value and the language in force.
pub fn parse<T: clap::CommandFactory + FromArgMatches>(zh: &[ZhHelp]) -> (T, Lang) {
    let args: Vec<String> = std::env::args().collect();
    parse_from(args, zh)
}

/// Like [`parse`] but from explicit arguments, for tests.
pub fn parse_from<T: clap::CommandFactory + FromArgMatches>(
    args: Vec<String>,
    zh: &[ZhHelp],
) -> (T, Lang) {
    let lang = Lang::detect(Lang::from_args(&args).as_deref());
    let cmd = localize(T::command(), lang, zh);
    let matches: ArgMatches = match cmd.try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => exit_with(error, lang),
    };
    match T::from_arg_matches(&matches) {
        Ok(value) => (value, lang),
        Err(error) => exit_with(error, lang),
    }
}

fn exit_with(error: clap::Error, lang: Lang) -> ! {
    use clap::error::ErrorKind;
    let is_help = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if lang == Lang::Zh && !is_help {
        // clap renders its own messages in English only; say in Chinese what happened and
        // keep clap's precise English detail below it.
        eprintln!("命令行参数有误，详情见下方说明；加 --help 查看用法。");
    }
    error.exit()
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser, Subcommand};

    use super::*;

    /// Demo tool.
    #[derive(Parser, Debug)]
    #[command(name = "demo")]
    struct Cli {
        /// Output language.
        #[arg(long, global = true)]
        lang: Option<String>,

        #[command(subcommand)]
        command: Sub,
    }

    #[derive(Subcommand, Debug)]
    enum Sub {
        /// Run it.
        Run {
            /// How many.
            #[arg(long)]
            count: u32,
        },
    }

    const ZH: ZhHelp = &[
        ("", "演示工具"),
        (":lang", "输出语言"),
        ("run", "运行"),
        ("run:count", "数量"),
    ];

    #[test]
    fn localize_replaces_help_in_chinese() {
        let mut cmd = localize(Cli::command(), Lang::Zh, &[ZH]);
        let help = cmd.render_help().to_string();
        assert!(help.contains("演示工具"), "{help}");
        assert!(help.contains("用法："), "{help}");
        let mut run = cmd.find_subcommand_mut("run").unwrap().clone();
        let help = run.render_help().to_string();
        assert!(help.contains("数量"), "{help}");
    }

    #[test]
    fn localize_keeps_english_by_default() {
        let mut cmd = localize(Cli::command(), Lang::En, &[ZH]);
        let help = cmd.render_help().to_string();
        assert!(help.contains("Demo tool"), "{help}");
        assert!(help.contains("Usage:"), "{help}");
    }

    #[test]
    fn missing_translations_lists_uncovered_keys() {
        assert!(missing_translations(&Cli::command(), &[ZH]).is_empty());
        let partial: ZhHelp = &[("", "演示工具"), ("run", "运行")];
        assert_eq!(
            missing_translations(&Cli::command(), &[partial]),
            vec![":lang".to_string(), "run:count".to_string()]
        );
    }

    #[test]
    fn parse_from_reads_lang_flag() {
        let args = ["demo", "--lang", "zh", "run", "--count", "3"]
            .map(String::from)
            .to_vec();
        let (cli, lang): (Cli, Lang) = parse_from(args, &[ZH]);
        assert_eq!(lang, Lang::Zh);
        assert!(matches!(cli.command, Sub::Run { count: 3 }));
    }
}
