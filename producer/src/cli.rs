//! The `producer` command line: `run`, `once` and `backfill`, their Chinese help, and
//! their exit statuses.
//!
//! Exit statuses: 0 on success (also after SIGTERM or SIGINT stopped `run`), 1 when a
//! poll failed or the process could not work, 2 when the configuration, the DingTalk
//! app or the command line needs fixing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use dingk3::cli::ZhHelp;
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::i18n::{Lang, Localize};
use dingk3::text;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::error::{EXIT_CONFIGURATION, EXIT_FAILURE};
use crate::producer::Producer;
use crate::progress::TerminalProgress;
use crate::settings::ProducerConfig;
use crate::window::{BackfillDays, parse_date};

/// Polls DingTalk for approval instances and publishes the approved ones to RabbitMQ.
#[derive(Parser, Debug)]
#[command(name = "producer", version)]
pub struct Cli {
    /// Configuration file (TOML); defaults to the file named by DINGK3_CONFIG.
    #[arg(long, global = true, value_name = "FILE", env = "DINGK3_CONFIG")]
    pub config: Option<PathBuf>,

    /// Language of messages and help: zh or en (default: from LANG).
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The producer's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Poll every poll_interval_seconds and publish approvals until SIGTERM or SIGINT;
    /// a second producer of the same DingTalk app waits on standby.
    Run,

    /// Poll every process code once, print a summary and exit (0 success, 1 a poll
    /// failed, 2 configuration error).
    Once,

    /// List the approvals created on whole Beijing days again and publish the approved
    /// ones the ledger has not seen published. On a terminal it shows progress and logs
    /// only warnings and errors.
    Backfill(BackfillArgs),
}

/// Arguments of `producer backfill`.
#[derive(Args, Debug)]
pub struct BackfillArgs {
    /// First day, yyyy-MM-dd, Beijing time.
    #[arg(long, value_name = "DATE")]
    pub from: String,

    /// Last day, included, yyyy-MM-dd, Beijing time.
    #[arg(long, value_name = "DATE")]
    pub to: String,

    /// Only this process code (default: every [[routes]] entry).
    #[arg(long, value_name = "PROCESS_CODE")]
    pub process_code: Option<String>,
}

/// Log filter of `backfill` while it draws its progress line on a terminal.
const BACKFILL_TERMINAL_LOG_LEVEL: &str = "warn,lapin=error";

/// Chinese help of every command and argument.
pub const ZH_HELP: ZhHelp = &[
    ("", "轮询钉钉审批实例，把已通过的审批发布到 RabbitMQ。"),
    (
        ":config",
        "配置文件（TOML）；默认取环境变量 DINGK3_CONFIG 指定的文件",
    ),
    (":lang", "消息与帮助的语言：zh 或 en（默认取自 LANG）"),
    (
        "run",
        "每隔 poll_interval_seconds 秒轮询一次并发布已通过的审批，直到收到 SIGTERM 或 SIGINT；同一钉钉应用的第二个 producer 会待命",
    ),
    (
        "once",
        "对每个审批模板轮询一次，打印汇总后退出（0 成功，1 有轮询失败，2 配置错误）",
    ),
    (
        "backfill",
        "重新列出指定北京日期内创建的审批，并发布台账中尚未发布的已通过审批；在终端上显示进度，只记录警告和错误日志",
    ),
    ("backfill:from", "开始日期，yyyy-MM-dd，北京时间"),
    ("backfill:to", "结束日期（含当天），yyyy-MM-dd，北京时间"),
    (
        "backfill:process_code",
        "只处理该审批模板（默认处理所有 [[routes]]）",
    ),
];

/// Parses the arguments, runs the command and returns the exit status.
pub fn main() -> u8 {
    let (cli, lang): (Cli, Lang) = dingk3::cli::parse(&[ZH_HELP]);
    let config = match load_config(cli.config.as_deref()) {
        Ok(config) => config,
        Err(errors) => {
            print_config_errors(&errors, lang);
            return EXIT_CONFIGURATION;
        }
    };
    // A backfill on a terminal shows a progress line, which per-approval info logs
    // would scroll away. There it logs warnings and errors only, unless RUST_LOG is set.
    let progress_on_terminal =
        matches!(cli.command, Command::Backfill(_)) && std::io::stderr().is_terminal();
    let level = if progress_on_terminal {
        BACKFILL_TERMINAL_LOG_LEVEL
    } else {
        config.log.level.as_str()
    };
    dingk3::telemetry::init(config.log.format, level);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let message = text!(
                en: "cannot start the async runtime: {error}",
                zh: "无法启动异步运行时：{error}",
            );
            eprintln!("{}", message.get(lang));
            return EXIT_FAILURE;
        }
    };
    runtime.block_on(dispatch(cli.command, config, lang))
}

/// Reads and validates the configuration.
pub fn load_config(path: Option<&Path>) -> Result<ProducerConfig, Vec<ConfigError>> {
    let source = ConfigSource::load(path).map_err(|error| vec![error])?;
    ProducerConfig::from_source(&source)
}

fn print_config_errors(errors: &[ConfigError], lang: Lang) {
    let again = text!(en: "start again", zh: "重新启动");
    dingk3::config::print_errors(errors, lang, &again);
}

async fn dispatch(command: Command, config: ProducerConfig, lang: Lang) -> u8 {
    let producer = match Producer::open(config).await {
        Ok(producer) => producer,
        Err(error) => {
            eprintln!("{}", error.localize().get(lang));
            return error.exit_code();
        }
    };
    let stop = CancellationToken::new();
    watch_signals(stop.clone());
    let grace = producer.config().producer.shutdown_grace;

    let work = async {
        match command {
            Command::Run => run(&producer, stop.clone(), lang).await,
            Command::Once => once(&producer, &stop, lang).await,
            Command::Backfill(args) => backfill(&producer, &args, &stop, lang).await,
        }
    };
    tokio::select! {
        status = work => status,
        () = grace_expired(&stop, grace) => {
            error!(grace_seconds = grace.as_secs(), "shutdown grace expired before the batch in flight finished; exiting");
            let message = text!(
                en: "stopped after the shutdown grace period with work unfinished; the next poll repeats it",
                zh: "停止等待期已过，部分工作未完成；下次轮询会重做",
            );
            eprintln!("{}", message.get(lang));
            EXIT_FAILURE
        }
    }
}

async fn run(producer: &Producer, stop: CancellationToken, lang: Lang) -> u8 {
    if let Err(error) = producer.serve_operations().await {
        eprintln!("{}", error.localize().get(lang));
        return error.exit_code();
    }
    match producer.run(stop).await {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("{}", error.localize().get(lang));
            error.exit_code()
        }
    }
}

async fn once(producer: &Producer, stop: &CancellationToken, lang: Lang) -> u8 {
    match producer.once(stop).await {
        Ok(summary) => {
            print!("{}", summary.render("once", lang));
            summary.exit_code()
        }
        Err(error) => {
            eprintln!("{}", error.localize().get(lang));
            error.exit_code()
        }
    }
}

async fn backfill(
    producer: &Producer,
    args: &BackfillArgs,
    stop: &CancellationToken,
    lang: Lang,
) -> u8 {
    let days = match (
        parse_date("--from", &args.from),
        parse_date("--to", &args.to),
    ) {
        (Ok(from), Ok(to)) => BackfillDays { from, to },
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("{}", message.get(lang));
            return EXIT_CONFIGURATION;
        }
    };
    let progress = TerminalProgress::new(lang, std::io::stderr().is_terminal());
    let result = producer
        .backfill(days, args.process_code.as_deref(), &progress, stop)
        .await;
    progress.finish();
    match result {
        Ok(summary) => {
            print!("{}", summary.render("backfill", lang));
            summary.exit_code()
        }
        Err(error) => {
            eprintln!("{}", error.localize().get(lang));
            error.exit_code()
        }
    }
}

/// Cancels `stop` at the first SIGTERM or SIGINT.
fn watch_signals(stop: CancellationToken) {
    tokio::spawn(async move {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(terminate) => terminate,
            Err(error) => {
                error!(%error, "cannot listen for SIGTERM; only SIGINT stops the producer gracefully");
                let _ = tokio::signal::ctrl_c().await;
                info!("shutdown requested; finishing the batch in flight");
                stop.cancel();
                return;
            }
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        info!("shutdown requested; finishing the batch in flight");
        stop.cancel();
    });
}

/// Completes `grace` after `stop` was cancelled.
async fn grace_expired(stop: &CancellationToken, grace: Duration) {
    stop.cancelled().await;
    tokio::time::sleep(grace).await;
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_argument_has_chinese_help() {
        let missing = dingk3::cli::missing_translations(&Cli::command(), &[ZH_HELP]);
        assert!(missing.is_empty(), "missing zh-CN help for {missing:?}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn backfill_arguments_parse() {
        let args = [
            "producer",
            "--lang",
            "en",
            "backfill",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-03",
        ]
        .map(String::from)
        .to_vec();
        let (cli, lang): (Cli, Lang) = dingk3::cli::parse_from(args, &[ZH_HELP]);
        assert_eq!(lang, Lang::En);
        let Command::Backfill(backfill) = cli.command else {
            panic!("backfill was asked for");
        };
        assert_eq!(backfill.from, "2026-11-01");
        assert_eq!(backfill.to, "2026-11-03");
        assert_eq!(backfill.process_code, None);
    }
}
