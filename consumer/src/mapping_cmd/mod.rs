//! `consumer mapping check` and `consumer mapping preview`: the operator's tools for the
//! mapping, which runs nothing and writes nothing.
//!
//! Exit statuses: 0 valid configuration or a bill would be written; 2 usage or
//! configuration error; 3 the approval would be rejected; 4 the approval would be
//! skipped because it is not approved.

mod check;
mod preview;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use dingk3::cli::ZhHelp;
use dingk3::config::ConfigError;
use dingk3::i18n::{Lang, Text};
use dingk3::mapping::{RawRoutesConfig, Routes};
use dingk3::text;

/// The configuration is valid, or the approval would become a bill.
pub const EXIT_OK: u8 = 0;
/// Invalid arguments, an unreadable file or an invalid configuration (clap uses 2 too).
pub const EXIT_USAGE: u8 = 2;
/// The approval would be rejected by the mapping.
pub const EXIT_REJECTED: u8 = 3;
/// The approval is not an approved one, so no bill would be written.
pub const EXIT_SKIPPED: u8 = 4;

/// Mapping tools.
#[derive(Subcommand, Debug)]
pub enum MappingCommand {
    /// Validate every route, mapping and value map of a configuration file.
    Check(CheckArgs),

    /// Show the K3Cloud request a saved approval instance would become, or every reason
    /// it would be rejected.
    Preview(PreviewArgs),
}

/// Options of `mapping check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Configuration file (TOML); only its routes, mappings and value maps are read.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: PathBuf,
}

/// Options of `mapping preview`.
#[derive(Args, Debug)]
pub struct PreviewArgs {
    /// Configuration file (TOML); only its routes, mappings and value maps are read, and
    /// k3cloud.auto_submit_and_audit.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: PathBuf,

    /// Process instance id the instance was fetched with; the `get` body does not carry
    /// it. Optional for a dingk3 message envelope, which does.
    #[arg(long = "id", value_name = "PROCESS_INSTANCE_ID")]
    pub id: Option<String>,

    /// Process code (PROC-…) of the approval template; needed when the configuration
    /// has several routes and the file is not a message envelope.
    #[arg(long, value_name = "PROCESS_CODE")]
    pub process_code: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Instance file: a topapi `get` response body, a bare `process_instance` object, a
    /// v1.0 detail response or its `result`, or a dingk3 message envelope.
    #[arg(value_name = "INSTANCE.json")]
    pub instance: PathBuf,
}

/// Output format of `preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary for people and the request as indented JSON.
    Text,
    /// One JSON object with an `outcome` key.
    Json,
}

/// Chinese help of the `mapping` commands.
pub const ZH_HELP: ZhHelp = &[
    ("mapping", "检查审批到单据的映射，预览某个审批会生成什么。"),
    ("mapping check", "校验配置文件中的全部路由、映射和值映射。"),
    (
        "mapping check:config",
        "配置文件（TOML）；只读取其中的路由、映射和值映射",
    ),
    (
        "mapping preview",
        "显示一个已保存的审批实例会生成的金蝶云星空请求，或列出它会被拒绝的全部原因。",
    ),
    (
        "mapping preview:config",
        "配置文件（TOML）；只读取其中的路由、映射、值映射和 k3cloud.auto_submit_and_audit",
    ),
    (
        "mapping preview:id",
        "获取该实例时使用的审批实例 ID（get 接口的返回体中没有它）；dingk3 消息信封中已带有，可省略",
    ),
    (
        "mapping preview:process_code",
        "审批模板编码（PROC-…）；配置中有多条路由且文件不是消息信封时必须提供",
    ),
    ("mapping preview:format", "输出格式：text 或 json"),
    (
        "mapping preview:instance",
        "实例文件：topapi get 接口的返回体、单独的 process_instance 对象、v1.0 详情返回体或其 result，或 dingk3 消息信封",
    ),
];

/// Runs a mapping command and returns its exit status.
pub fn run(command: MappingCommand, lang: Lang) -> u8 {
    match command {
        MappingCommand::Check(args) => check::run(&args, lang),
        MappingCommand::Preview(args) => preview::run(&args, lang),
    }
}

/// Writes a line to stdout. A closed pipe (`… | head`) ends the output quietly instead
/// of panicking as `println!` does.
fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Loads and validates the routes of a configuration file.
fn load_routes(path: &Path) -> Result<Routes, Vec<ConfigError>> {
    RawRoutesConfig::load_file(path)
        .map_err(|error| vec![error])?
        .validate()
}

/// Describes a configuration error for a person, naming the file and the key.
fn describe_config_error(path: &Path, error: &ConfigError) -> Text {
    let file = path.display();
    let key = &error.key;
    let Text { en, zh } = &error.problem;
    if key.is_empty() {
        text!(en: "{file}: {en}", zh: "{file}：{zh}")
    } else {
        text!(en: "{file}: {key}: {en}", zh: "{file}：{key}：{zh}")
    }
}
