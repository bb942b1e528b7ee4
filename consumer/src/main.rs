//! `consumer`: maps approved DingTalk expense approvals to K3Cloud payment bills.
//!
//! - `consumer run` consumes the approvals queue until SIGTERM or SIGINT.
//! - `consumer status` shows the ledger counts, the dead-letter queue depth and the
//!   latest errors.
//! - `consumer mapping check|preview` checks the mapping and shows what an approval
//!   becomes.
//! - `consumer dlq list|show|export|replay|purge` inspects and replays dead letters;
//!   its exit statuses are described in `dingk3_consumer::dlq::run`.
//!
//! Exit statuses of `run` and `status`:
//!
//! - 0: success (`run`: stopped by SIGTERM or SIGINT after finishing its work);
//! - 1: a runtime failure. For `run`, the ledger or the operations endpoint could not
//!   be opened. For `status`, a part of the report could not be read;
//! - 2: invalid arguments or configuration.

mod commands;
mod mapping_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dingk3::cli::ZhHelp;

/// Maps approved DingTalk expense approvals to K3Cloud payment bills.
#[derive(Parser, Debug)]
#[command(name = "consumer", version)]
struct Cli {
    /// Language of messages and help: zh or en (default: from LANG).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Consume approvals and write their bills until SIGTERM or SIGINT.
    Run(commands::RunArgs),

    /// Show ledger counts per status, the dead-letter queue depth and the latest errors.
    Status(commands::StatusArgs),

    /// Check the approval-to-bill mappings and preview what an approval becomes.
    #[command(subcommand)]
    Mapping(mapping_cmd::MappingCommand),

    /// Inspect, export, replay and purge dead letters.
    #[command(subcommand)]
    Dlq(dingk3_consumer::dlq::DlqCommand),
}

const ZH_ROOT: ZhHelp = &[
    ("", "把钉钉中已通过的费用报销审批写成金蝶云星空付款单。"),
    (":lang", "消息与帮助的语言：zh 或 en（默认取自 LANG）"),
];

fn zh_help() -> [ZhHelp; 4] {
    [
        ZH_ROOT,
        commands::ZH_HELP,
        mapping_cmd::ZH_HELP,
        dingk3_consumer::dlq::ZH_HELP,
    ]
}

/// Runs on a multi-thread runtime: the broker supervisor needs one (with lapin 4.12.3
/// it was seen to stall on a current-thread runtime after a forced connection close).
#[tokio::main]
async fn main() -> ExitCode {
    let (cli, lang): (Cli, _) = dingk3::cli::parse(&zh_help());
    let status = match cli.command {
        Command::Run(args) => commands::run(args, lang).await,
        Command::Status(args) => commands::status(args, lang).await,
        Command::Mapping(command) => mapping_cmd::run(command, lang),
        Command::Dlq(command) => dingk3_consumer::dlq::run(command, lang).await,
    };
    ExitCode::from(status)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_argument_has_chinese_help() {
        let missing = dingk3::cli::missing_translations(&Cli::command(), &zh_help());
        assert!(missing.is_empty(), "missing zh-CN help for {missing:?}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
