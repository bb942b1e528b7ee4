//! `consumer run` and `consumer status`: arguments, configuration loading, signals and
//! exit statuses. The work itself is in the library.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dingk3::cli::ZhHelp;
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::i18n::{Lang, Localize};
use dingk3::text;
use dingk3_consumer::settings::{RunSettings, StatusSettings};
use dingk3_consumer::{app, status};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Success.
const EXIT_OK: u8 = 0;
/// A runtime failure: something the configuration names could not be reached or read.
const EXIT_FAILURE: u8 = 1;
/// Invalid arguments or configuration (clap uses 2 too).
const EXIT_USAGE: u8 = 2;

/// Options of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Options of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Configuration file (TOML); only the ledger and broker sections are read.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Number of latest errors to list.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub errors: u32,
}

/// Output format of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object for scripts.
    Json,
}

/// Chinese help of `run` and `status`.
pub const ZH_HELP: ZhHelp = &[
    (
        "run",
        "持续消费审批消息并写入单据，直到收到 SIGTERM 或 SIGINT。",
    ),
    (
        "run:config",
        "配置文件（TOML）；DINGK3_* 环境变量会覆盖其中的配置项",
    ),
    (
        "status",
        "显示台账中各状态的数量、死信队列深度和最近的错误。",
    ),
    (
        "status:config",
        "配置文件（TOML）；只读取其中的 ledger 和 broker 配置段",
    ),
    ("status:format", "输出格式：table 或 json"),
    ("status:errors", "列出最近错误的条数"),
];

/// Runs the consumer until SIGTERM or SIGINT; returns the exit status.
pub async fn run(args: RunArgs, lang: Lang) -> u8 {
    let source = match load_source(args.config.as_deref(), lang) {
        Ok(source) => source,
        Err(status) => return status,
    };
    let settings = match RunSettings::load(&source) {
        Ok(settings) => settings,
        Err(errors) => return report_config_errors(&errors, lang),
    };
    dingk3::telemetry::init(settings.log.format, &settings.log.level);

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    match app::run(settings, shutdown).await {
        Ok(()) => EXIT_OK,
        Err(error) => {
            tracing::error!(%error, "consumer failed to start");
            eprintln!("{}", error.localize().get(lang));
            EXIT_FAILURE
        }
    }
}

/// Prints the status report; returns the exit status.
pub async fn status(args: StatusArgs, lang: Lang) -> u8 {
    let source = match load_source(args.config.as_deref(), lang) {
        Ok(source) => source,
        Err(status) => return status,
    };
    let settings = match StatusSettings::load(&source) {
        Ok(settings) => settings,
        Err(errors) => return report_config_errors(&errors, lang),
    };
    let report = status::gather(&settings, args.errors).await;
    let output = match args.format {
        Format::Table => status::render_table(&report, lang),
        Format::Json => {
            let json = status::render_json(&report, lang);
            serde_json::to_string_pretty(&json).expect("a JSON value always serializes") + "\n"
        }
    };
    print_text(&output);
    if report.complete() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }
}

fn load_source(path: Option<&std::path::Path>, lang: Lang) -> Result<ConfigSource, u8> {
    ConfigSource::load(path).map_err(|error| report_config_errors(&[error], lang))
}

fn report_config_errors(errors: &[ConfigError], lang: Lang) -> u8 {
    let again = text!(en: "start again", zh: "重新启动");
    dingk3::config::print_errors(errors, lang, &again);
    EXIT_USAGE
}

/// Writes to stdout; a closed pipe (`… | head`) ends the output quietly.
fn print_text(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
async fn stop_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the consumer");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => info!(signal = "SIGTERM", "stopping"),
        _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "stopping"),
    }
    shutdown.cancel();
}
