//! Arguments of `consumer dlq …` and their Chinese help. The commands run in
//! [`crate::dlq::run`].

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use dingk3::cli::ZhHelp;

use crate::dlq::list::ListFormat;

/// Dead-letter operations.
#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// List the dead letters, one row each, without removing any.
    List(ListArgs),

    /// Show one dead letter: its reason with every field error, the request the
    /// current mapping builds, and the ledger history.
    Show(ShowArgs),

    /// Copy dead letters losslessly to a JSON Lines file, without removing any.
    Export(ExportArgs),

    /// Send dead letters through the consumer again as new messages.
    Replay(ReplayArgs),

    /// Remove dead letters for good, after saving them to an export file.
    Purge(PurgeArgs),
}

/// Dead-letter kind, as the consumer records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// The body is not a readable approval message, or the approval is not approved.
    #[value(name = "invalid_message")]
    InvalidMessage,
    /// No route, or the mapping cannot build a bill.
    #[value(name = "mapping")]
    Mapping,
    /// K3Cloud rejected the bill.
    #[value(name = "rejected")]
    Rejected,
    /// Every retry failed.
    #[value(name = "exhausted")]
    Exhausted,
    /// No reason was recorded.
    #[value(name = "unknown")]
    Unknown,
}

impl KindArg {
    /// Returns the spelling in the `x-dingk3-error-kind` header.
    pub fn as_str(self) -> &'static str {
        match self {
            KindArg::InvalidMessage => "invalid_message",
            KindArg::Mapping => "mapping",
            KindArg::Rejected => "rejected",
            KindArg::Exhausted => "exhausted",
            KindArg::Unknown => "unknown",
        }
    }
}

/// Conditions every command accepts besides ids.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only dead letters of this kind.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,

    /// Only dead letters of this approval template (PROC-…).
    #[arg(long, value_name = "PROCESS_CODE")]
    pub process_code: Option<String>,

    /// Only dead letters that failed at or after this time: 2026-11-10 or
    /// "2026-11-10 09:00" (Beijing time), RFC 3339, or an age such as 24h or 7d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only dead letters whose ids, title, originator, kind, reason or detail contain
    /// this text, ignoring letter case.
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

/// Options of `dlq list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Output format of `show`, `replay` and `purge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for people.
    Text,
    /// One JSON object for scripts.
    Json,
}

/// Options of `dlq show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Process instance id, approval number (审批编号) or message id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Options of `dlq export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// File to write (JSON Lines, one message per line); it must not exist. `-`
    /// writes to standard output.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,

    /// Only these dead letters: process instance ids, approval numbers or message ids.
    #[arg(long = "id", value_name = "ID", num_args = 1..)]
    pub ids: Vec<String>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Options of `dlq replay`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("selection").required(true).multiple(true).args(["ids", "kind", "all"])))]
pub struct ReplayArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Replay these dead letters: process instance ids, approval numbers or message ids.
    #[arg(long = "id", value_name = "ID", num_args = 1..)]
    pub ids: Vec<String>,

    /// Replay every dead letter that the other conditions select.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Show what would be replayed and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Replay at most N dead letters; the others stay.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Options of `dlq purge`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("selection").required(true).multiple(true).args(["ids", "kind"])))]
pub struct PurgeArgs {
    /// Configuration file (TOML); DINGK3_* variables override its keys.
    #[arg(long, env = "DINGK3_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Purge these dead letters: process instance ids, approval numbers or message ids.
    #[arg(long = "id", value_name = "ID", num_args = 1..)]
    pub ids: Vec<String>,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Really remove them; without it the command only shows what it would remove.
    #[arg(long)]
    pub yes: bool,

    /// Export file written before anything is removed; it must not exist. Default:
    /// dlq-purge-<UTC time>.jsonl in the current folder.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Chinese help of the `dlq` commands.
pub const ZH_HELP: ZhHelp = &[
    ("dlq", "死信队列操作：查看、导出、重放、清除。"),
    ("dlq list", "列出死信，每条一行；不会删除任何消息。"),
    ("dlq list:config", CONFIG_ZH),
    ("dlq list:kind", KIND_ZH),
    ("dlq list:process_code", PROCESS_CODE_ZH),
    ("dlq list:since", SINCE_ZH),
    ("dlq list:grep", GREP_ZH),
    ("dlq list:format", "输出格式：table、json 或 csv"),
    (
        "dlq show",
        "显示一条死信的全部信息：原因及每个字段错误、按当前映射生成的请求、台账历史。",
    ),
    ("dlq show:config", CONFIG_ZH),
    ("dlq show:format", "输出格式：text 或 json"),
    ("dlq show:id", "审批实例 ID、审批编号或消息 ID"),
    (
        "dlq export",
        "把死信无损地导出为 JSON Lines 文件；不会删除任何消息。",
    ),
    ("dlq export:config", CONFIG_ZH),
    (
        "dlq export:out",
        "要写入的文件（JSON Lines，每行一条消息）；文件不能已存在。写 - 表示输出到标准输出",
    ),
    (
        "dlq export:ids",
        "只导出这些死信：审批实例 ID、审批编号或消息 ID",
    ),
    ("dlq export:kind", KIND_ZH),
    ("dlq export:process_code", PROCESS_CODE_ZH),
    ("dlq export:since", SINCE_ZH),
    ("dlq export:grep", GREP_ZH),
    ("dlq replay", "把死信作为新消息重新交给消费者处理。"),
    ("dlq replay:config", CONFIG_ZH),
    (
        "dlq replay:ids",
        "重放这些死信：审批实例 ID、审批编号或消息 ID",
    ),
    ("dlq replay:all", "重放其余条件选中的全部死信"),
    ("dlq replay:kind", KIND_ZH),
    ("dlq replay:process_code", PROCESS_CODE_ZH),
    ("dlq replay:since", SINCE_ZH),
    ("dlq replay:grep", GREP_ZH),
    ("dlq replay:dry_run", "只显示将会重放哪些死信，不做任何修改"),
    ("dlq replay:max", "最多重放 N 条死信，其余保留"),
    ("dlq replay:format", "输出格式：text 或 json"),
    ("dlq purge", "先把死信保存到导出文件，再永久删除。"),
    ("dlq purge:config", CONFIG_ZH),
    (
        "dlq purge:ids",
        "清除这些死信：审批实例 ID、审批编号或消息 ID",
    ),
    ("dlq purge:kind", KIND_ZH),
    ("dlq purge:process_code", PROCESS_CODE_ZH),
    ("dlq purge:since", SINCE_ZH),
    ("dlq purge:grep", GREP_ZH),
    (
        "dlq purge:yes",
        "确认删除；不加此项时只显示将会删除哪些死信",
    ),
    (
        "dlq purge:out",
        "删除前写入的导出文件，不能已存在。默认为当前目录下的 dlq-purge-<UTC 时间>.jsonl",
    ),
    ("dlq purge:format", "输出格式：text 或 json"),
];

const CONFIG_ZH: &str = "配置文件（TOML）；DINGK3_* 环境变量会覆盖其中的配置项";
const KIND_ZH: &str = "只选此类型的死信：invalid_message、mapping、rejected、exhausted 或 unknown";
const PROCESS_CODE_ZH: &str = "只选此审批模板（PROC-…）的死信";
const SINCE_ZH: &str = "只选在此时间及之后失败的死信：2026-11-10 或 \"2026-11-10 09:00\"（北京时间）、RFC 3339 时间，或 24h、7d 这样的时长";
const GREP_ZH: &str = "只选 ID、标题、提交人、类型、原因或详情中包含此文本的死信（不区分大小写）";
