//! `simulator`: local stand-ins for DingTalk and K3Cloud.
//!
//! Each subcommand serves one vendor API on `--listen` and prints the bound base URL as
//! the first line on stdout, so scripts can start it on port 0 and read where it went.

use clap::{Parser, Subcommand};
use dingk3::cli::ZhHelp;
use dingk3_simulator::{dingtalk, k3cloud};

/// Local stand-ins for the DingTalk and K3Cloud APIs, for tests, benchmarks and the demo.
#[derive(Parser, Debug)]
#[command(name = "simulator", version)]
struct Cli {
    /// Language of messages and help: zh or en (default: from LANG).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the K3Cloud (金蝶云星空) WebAPI under http://ADDR/k3cloud/.
    K3cloud(k3cloud::cli::Args),

    /// Serve the DingTalk (钉钉) approval APIs.
    Dingtalk(dingtalk::cli::Args),
}

const ZH_ROOT: ZhHelp = &[
    (
        "",
        "钉钉与金蝶云星空接口的本地模拟服务，用于测试、基准测试和演示。",
    ),
    (":lang", "消息与帮助的语言：zh 或 en（默认取自 LANG）"),
    (
        "k3cloud",
        "在 http://ADDR/k3cloud/ 下模拟金蝶云星空 WebAPI。",
    ),
    ("dingtalk", "模拟钉钉审批接口。"),
];

#[tokio::main]
async fn main() {
    let zh = [ZH_ROOT, k3cloud::cli::ZH_HELP, dingtalk::cli::ZH_HELP];
    let (cli, lang): (Cli, _) = dingk3::cli::parse(&zh);
    let result = match cli.command {
        Command::K3cloud(args) => k3cloud::cli::run(args, lang).await,
        Command::Dingtalk(args) => dingtalk::cli::run(args, lang).await,
    };
    if let Err(error) = result {
        eprintln!("{}", error.get(lang));
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_argument_has_chinese_help() {
        let zh = [ZH_ROOT, k3cloud::cli::ZH_HELP, dingtalk::cli::ZH_HELP];
        let missing = dingk3::cli::missing_translations(&Cli::command(), &zh);
        assert!(missing.is_empty(), "missing zh-CN help for {missing:?}");
    }
}
