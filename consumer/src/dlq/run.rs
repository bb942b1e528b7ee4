//! Running `consumer dlq …`: configuration, printing in the user's language, and exit
//! statuses.
//!
//! Exit statuses:
//!
//! - 0: success;
//! - 1: partial failure or a runtime failure: a message failed or was refused, an
//!   `--id` named no dead letter, `show` found nothing, or the broker or ledger could
//!   not be used;
//! - 2: invalid arguments or configuration, an existing output file, or `purge`
//!   without `--yes`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use chrono::Utc;
use dingk3::config::{ConfigError, ConfigSource};
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::telemetry::LogFormat;
use dingk3::text;
use indicatif::{ProgressBar, ProgressStyle};

use crate::dlq::cli::{
    DlqCommand, ExportArgs, FilterArgs, ListArgs, PurgeArgs, ReplayArgs, ReportFormat, ShowArgs,
};
use crate::dlq::error::DlqError;
use crate::dlq::export::{self, Destination};
use crate::dlq::filter::{Filter, parse_since};
use crate::dlq::letter::Letter;
use crate::dlq::list;
use crate::dlq::purge::{self, PurgeOptions};
use crate::dlq::queue::DeadQueue;
use crate::dlq::replay::{self, ReplayOptions};
use crate::dlq::report::{Outcome, Report};
use crate::dlq::settings::DlqSettings;
use crate::dlq::{operator_actor, show, show_render};

/// Success.
pub const EXIT_OK: u8 = 0;
/// Partial or runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Invalid arguments or configuration.
pub const EXIT_USAGE: u8 = 2;

/// Runs a dead-letter command and returns its exit status.
pub async fn run(command: DlqCommand, lang: Lang) -> u8 {
    let outcome = match command {
        DlqCommand::List(args) => list_command(args, lang).await,
        DlqCommand::Show(args) => show_command(args, lang).await,
        DlqCommand::Export(args) => export_command(args, lang).await,
        DlqCommand::Replay(args) => replay_command(args, lang).await,
        DlqCommand::Purge(args) => purge_command(args, lang).await,
    };
    match outcome {
        Ok(status) => status,
        Err(Failure::Usage) => EXIT_USAGE,
        Err(Failure::Command(error)) => {
            tracing::error!(%error, "dead-letter command failed");
            eprintln!("{}", error.localize().get(lang));
            if matches!(error, DlqError::OutputExists { .. }) {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}

/// Reason a command stopped early.
enum Failure {
    /// The problem was printed already.
    Usage,
    /// The command failed.
    Command(DlqError),
}

impl From<DlqError> for Failure {
    fn from(error: DlqError) -> Failure {
        Failure::Command(error)
    }
}

async fn list_command(args: ListArgs, lang: Lang) -> Result<u8, Failure> {
    let settings = load(args.config.as_deref(), lang)?;
    let filter = build_filter(Vec::new(), &args.filter, lang)?;
    let mut queue = DeadQueue::open(&settings.broker).await?;
    let routes = settings.routes();
    let max_bytes = settings.max_message_bytes;
    let taken = queue
        .take(|message, position| Letter::read(message, position, max_bytes, routes))
        .await;
    let letters: Vec<&Letter> = queue
        .held()
        .iter()
        .map(|held| &held.letter)
        .filter(|letter| filter.matches(letter))
        .collect();
    let output = list::render(&letters, args.format, lang);
    let (shown, read) = (letters.len(), queue.held().len());
    queue.release().await;
    taken?;

    print(&output);
    if args.format == list::ListFormat::Table {
        let queue_name = dingk3::broker::Topology::new(&settings.broker).dead_queue();
        print(&line(
            text!(
                en: "{shown} of {read} dead letters in {queue_name}; nothing was removed.",
                zh: "死信队列 {queue_name} 共 {read} 条，显示 {shown} 条；未删除任何消息。",
            ),
            lang,
        ));
    }
    Ok(EXIT_OK)
}

async fn show_command(args: ShowArgs, lang: Lang) -> Result<u8, Failure> {
    let settings = load(args.config.as_deref(), lang)?;
    let report = show::gather(&settings, &args.id).await?;
    match args.format {
        ReportFormat::Text => print(&show_render::render_text(&report, lang)),
        ReportFormat::Json => print(&json_text(&show_render::render_json(&report, lang))),
    }
    let complete = !report.letters.is_empty() && report.problems.is_empty();
    Ok(if complete { EXIT_OK } else { EXIT_FAILURE })
}

async fn export_command(args: ExportArgs, lang: Lang) -> Result<u8, Failure> {
    let settings = load(args.config.as_deref(), lang)?;
    let filter = build_filter(args.ids, &args.filter, lang)?;
    let destination = if args.out.as_os_str() == "-" {
        Destination::Stdout
    } else {
        Destination::File(args.out.clone())
    };
    let report = export::export(&settings, &filter, &destination).await?;
    let (exported, read) = (report.exported, report.read);
    let target = match &destination {
        Destination::Stdout => "stdout".to_string(),
        Destination::File(path) => path.display().to_string(),
    };
    eprintln!(
        "{}",
        text!(
            en: "Exported {exported} of {read} dead letters to {target}; nothing was removed.",
            zh: "已将 {read} 条死信中的 {exported} 条导出到 {target}；未删除任何消息。",
        )
        .get(lang)
    );
    for id in &report.unmatched_ids {
        eprintln!(
            "{}",
            text!(en: "Not found: no dead letter has the id {id}.", zh: "未找到：没有 ID 为 {id} 的死信。").get(lang)
        );
    }
    Ok(if report.unmatched_ids.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

async fn replay_command(args: ReplayArgs, lang: Lang) -> Result<u8, Failure> {
    let settings = load(args.config.as_deref(), lang)?;
    let options = ReplayOptions {
        filter: build_filter(args.ids, &args.filter, lang)?,
        dry_run: args.dry_run,
        max: args.max.map(|max| max as usize),
    };
    let progress = progress_bar();
    let report = replay::replay(&settings, &options, &operator_actor(), &progress).await?;

    let replayed = report.count(Outcome::Replayed);
    let would = report.count(Outcome::WouldReplay);
    let skipped = report.count(Outcome::Skipped);
    let refused = report.count(Outcome::Refused);
    let failed = report.count(Outcome::Failed);
    let summary = if args.dry_run {
        text!(
            en: "Dry run, nothing was changed: would replay {would}, skipped {skipped}, refused {refused}, failed {failed}.",
            zh: "演练，未做任何修改：将重放 {would} 条，跳过 {skipped} 条，拒绝 {refused} 条，失败 {failed} 条。",
        )
    } else {
        text!(
            en: "Replayed {replayed}, skipped {skipped}, refused {refused}, failed {failed}. Messages not replayed stay in the dead-letter queue.",
            zh: "已重放 {replayed} 条，跳过 {skipped} 条，拒绝 {refused} 条，失败 {failed} 条。未重放的消息仍留在死信队列中。",
        )
    };
    print_report(&report, &summary, args.format, lang);
    Ok(if report.partial() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}

async fn purge_command(args: PurgeArgs, lang: Lang) -> Result<u8, Failure> {
    let settings = load(args.config.as_deref(), lang)?;
    let options = PurgeOptions {
        filter: build_filter(args.ids, &args.filter, lang)?,
        confirmed: args.yes,
        out: args
            .out
            .unwrap_or_else(|| purge::default_export_file(Utc::now())),
    };
    let report = purge::purge(&settings, &options, &operator_actor()).await?;

    let would = report.count(Outcome::WouldPurge);
    let purged = report.count(Outcome::Purged);
    let failed = report.count(Outcome::Failed);
    if !args.yes {
        let summary = text!(
            en: "Nothing was removed: purge deletes dead letters for good, so it needs --yes. It would save and remove {would}.",
            zh: "未删除任何消息：清除会永久删除死信，必须加 --yes。将保存并删除 {would} 条。",
        );
        print_report(&report, &summary, args.format, lang);
        return Ok(EXIT_USAGE);
    }
    let summary = text!(
        en: "Purged {purged}, failed {failed}.",
        zh: "已清除 {purged} 条，失败 {failed} 条。",
    );
    print_report(&report, &summary, args.format, lang);
    Ok(if report.partial() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}

/// Loads the configuration and installs logging on stderr; prints every problem.
fn load(path: Option<&Path>, lang: Lang) -> Result<DlqSettings, Failure> {
    let source = ConfigSource::load(path).map_err(|error| report_config_errors(&[error], lang))?;
    let settings =
        DlqSettings::load(&source).map_err(|errors| report_config_errors(&errors, lang))?;
    // Warnings only: the command's own output is the report.
    dingk3::telemetry::init(LogFormat::Text, "warn,lapin=error");
    Ok(settings)
}

fn report_config_errors(errors: &[ConfigError], lang: Lang) -> Failure {
    let again = text!(en: "run the command again", zh: "重新运行");
    dingk3::config::print_errors(errors, lang, &again);
    Failure::Usage
}

fn build_filter(ids: Vec<String>, args: &FilterArgs, lang: Lang) -> Result<Filter, Failure> {
    let since = match &args.since {
        Some(value) => match parse_since(value, Utc::now()) {
            Ok(time) => Some(time),
            Err(problem) => {
                eprintln!("{}", problem.get(lang));
                return Err(Failure::Usage);
            }
        },
        None => None,
    };
    Ok(Filter {
        ids,
        kind: args.kind.map(|kind| kind.as_str().to_string()),
        process_code: args.process_code.clone(),
        since,
        grep: args.grep.clone().filter(|text| !text.is_empty()),
    })
}

/// Returns a progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

fn print_report(report: &Report, summary: &Text, format: ReportFormat, lang: Lang) {
    match format {
        ReportFormat::Text => print(&report.render_text(summary, lang)),
        ReportFormat::Json => {
            let mut json = report.render_json(lang);
            json["summary"] = serde_json::json!(summary.get(lang));
            print(&json_text(&json));
        }
    }
}

fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value always serializes") + "\n"
}

fn line(text: Text, lang: Lang) -> String {
    format!("{}\n", text.get(lang))
}

/// Writes to stdout; a closed pipe (`… | head`) ends the output quietly.
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
