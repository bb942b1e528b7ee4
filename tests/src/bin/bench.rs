//! `bench [--quick] [options]`: measures how fast dingk3 drains approvals through the
//! local RabbitMQ into the K3Cloud simulator, and compares it with the broker's limit
//! and with Kingdee's Python SDK saving one bill per call.
//!
//! Run it from a release build: `cargo run -p dingk3-tests --release --bin bench --
//! --quick`. It needs RabbitMQ at `AMQP_URL`, PostgreSQL at `DATABASE_URL` (or
//! `--ledger sqlite`) and the SDK's venv (`--python`, default `target/ci-venv/bin/python`).
//! It prints one `bench:` line per baseline and scenario; `--table` adds the Markdown
//! table of `docs/BENCHMARKS.md`.
//!
//! Exit statuses: 0 every scenario completed, 1 a scenario or baseline could not
//! complete (the message names it), 2 invalid arguments. Speed never changes the exit
//! status.

use std::any::Any;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use dingk3::i18n::{Lang, Text};
use dingk3::text;
use dingk3_simulator::dingtalk::Expected;
use dingk3_simulator::k3cloud::FaultSettings;
use dingk3_tests::bench::scenario::{self, Scenario, Tuning};
use dingk3_tests::bench::{Report, broker_limit, sdk_loop};
use dingk3_tests::consumer::LedgerKind;
use dingk3_tests::consumer::cases::generated_envelopes;
use dingk3_tests::pipeline::process::binary_dir;

/// How much each part of a run does.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    broker_messages: usize,
    sdk_fast_bills: usize,
    sdk_slow_bills: usize,
    a_bills: usize,
    b1_bills: usize,
    b4_bills: usize,
    c_backlog: usize,
}

/// `--quick`: finishes in well under two minutes on a two-core machine.
const QUICK: Sizes = Sizes {
    broker_messages: 5_000,
    sdk_fast_bills: 200,
    sdk_slow_bills: 10,
    a_bills: 1_000,
    b1_bills: 300,
    b4_bills: 800,
    c_backlog: 2_000,
};

/// The full run.
const FULL: Sizes = Sizes {
    broker_messages: 50_000,
    sdk_fast_bills: 2_000,
    sdk_slow_bills: 50,
    a_bills: 10_000,
    b1_bills: 2_000,
    b4_bills: 5_000,
    c_backlog: 20_000,
};

/// Options from the command line.
#[derive(Debug)]
struct Args {
    lang: Lang,
    quick: bool,
    table: bool,
    python: PathBuf,
    ledger: LedgerKind,
    tuning: Tuning,
    only: Option<Vec<String>>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let lang = Lang::detect(Lang::from_args(&raw).as_deref());
    let args = match parse(&raw, lang) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{}", message.get(lang));
            eprintln!("{}", usage().get(lang));
            return ExitCode::from(2);
        }
    };
    // Stdout carries only the results, so the logs of the in-process simulators and the
    // harness go to stderr. Only warnings and errors are shown unless RUST_LOG sets
    // another filter.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();

    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let error = format!("{error:#}");
            let message = text!(
                en: "bench failed: {error}",
                zh: "基准测试失败：{error}",
            );
            eprintln!("{}", message.get(args.lang));
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let sizes = if args.quick { QUICK } else { FULL };
    let ledger = match args.ledger {
        LedgerKind::Postgres => "PostgreSQL",
        LedgerKind::Sqlite => "SQLite",
    };
    let mode = if args.quick { "quick" } else { "full" };
    let step = if std::env::var_os("DINGK3_BIN_DIR").is_some() {
        text!(
            en: "bench: {mode} run, ledger {ledger}; producer and consumer from DINGK3_BIN_DIR",
            zh: "bench：{mode} 模式，台账 {ledger}；producer 和 consumer 取自 DINGK3_BIN_DIR",
        )
    } else {
        text!(
            en: "bench: {mode} run, ledger {ledger}; building the producer and consumer (the first time can take minutes; set DINGK3_BIN_DIR=target/release after a release build to skip it)",
            zh: "bench：{mode} 模式，台账 {ledger}；正在构建 producer 和 consumer（首次可能需要几分钟；完成 release 构建后设置 DINGK3_BIN_DIR=target/release 可跳过）",
        )
    };
    progress(args.lang, step);
    let binaries = tokio::task::spawn_blocking(binary_dir).await?;
    let folder = binaries.display();
    progress(
        args.lang,
        text!(
            en: "bench: binaries in {folder}",
            zh: "bench：程序目录 {folder}",
        ),
    );

    let line = format!(
        "bench: run mode={mode} ledger={ledger} batch_size={} concurrent_batches={} batch_wait_ms={} publish_batch_size={}",
        args.tuning.batch_size,
        args.tuning.concurrent_batches,
        args.tuning.batch_wait_ms,
        args.tuning.publish_batch_size
    );
    println!("{line}");

    let payloads = message_bodies();
    let lang = args.lang;
    progress(lang, step_text(lang, "broker", 0));
    let count = sizes.broker_messages;
    let broker = guarded(baseline_label(lang, "broker"), async move {
        broker_limit::measure(&payloads, count).await
    })
    .await?;
    progress(lang, step_text(lang, "SDK", 0));
    let sdk_fast = sdk_baseline(args, no_latency(), sizes.sdk_fast_bills).await?;
    let sdk_slow = sdk_baseline(args, slow_k3cloud(), sizes.sdk_slow_bills).await?;

    let mut report = Report {
        broker,
        sdk_fast,
        sdk_slow,
        scenarios: Vec::new(),
    };
    for scenario in scenarios(args, sizes) {
        if let Some(only) = &args.only
            && !only
                .iter()
                .any(|name| name.eq_ignore_ascii_case(scenario.test))
        {
            continue;
        }
        progress(lang, step_text(lang, scenario.name, scenario.consumers));
        let label = scenario_label(lang, scenario.name, scenario.consumers);
        let result = guarded(label, scenario::run(scenario)).await?;
        report.scenarios.push(result);
    }

    for line in report.lines() {
        println!("{line}");
    }
    if args.table {
        println!("\n{}", report.markdown());
    }
    let seconds = started.elapsed().as_secs();
    println!("bench: done seconds={seconds}");
    Ok(())
}

/// Lists the scenarios of a run in the order they run.
fn scenarios(args: &Args, sizes: Sizes) -> Vec<Scenario> {
    let base = |name, test, bills, consumers, k3, backlog| Scenario {
        name,
        test,
        bills,
        consumers,
        k3,
        backlog,
        tuning: args.tuning,
        ledger: args.ledger,
    };
    vec![
        base(
            "A",
            SCENARIO_NAMES[0],
            sizes.a_bills,
            1,
            no_latency(),
            false,
        ),
        base(
            "B",
            SCENARIO_NAMES[1],
            sizes.b1_bills,
            1,
            slow_k3cloud(),
            false,
        ),
        base(
            "B",
            SCENARIO_NAMES[2],
            sizes.b4_bills,
            4,
            slow_k3cloud(),
            false,
        ),
        base(
            "C",
            SCENARIO_NAMES[3],
            sizes.c_backlog,
            4,
            no_latency(),
            true,
        ),
    ]
}

fn no_latency() -> FaultSettings {
    FaultSettings::default()
}

/// Scenario B's K3Cloud: 200 ms per call plus 5 ms per bill of a `BatchSave`.
fn slow_k3cloud() -> FaultSettings {
    FaultSettings {
        latency_ms: 200,
        batch_model_latency_ms: 5,
        ..FaultSettings::default()
    }
}

/// Runs `sdk_loop::measure` as the SDK baseline with `faults`.
async fn sdk_baseline(
    args: &Args,
    faults: FaultSettings,
    bills: usize,
) -> anyhow::Result<dingk3_tests::bench::SdkLoop> {
    let python = args.python.clone();
    guarded(baseline_label(args.lang, "SDK"), async move {
        sdk_loop::measure(&python, faults, bills).await
    })
    .await
}

/// Bodies of approval messages that map to a valid bill, as the producer sends them,
/// for the broker baseline.
fn message_bodies() -> Vec<Vec<u8>> {
    generated_envelopes(200, 1)
        .into_iter()
        .filter(|(_, expected)| matches!(expected, Expected::Saved { .. }))
        .map(|(envelope, _)| envelope.to_bytes())
        .collect()
}

/// Runs `work` as its own task and names `label` in its error, so that a failure or a
/// panic of the harness ends the run with a message naming the scenario or baseline.
async fn guarded<T, F>(label: String, work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result.with_context(|| label.clone()),
        Err(error) if error.is_panic() => {
            let message = panic_message(error.into_panic());
            Err(anyhow::anyhow!("{label}: panicked: {message}"))
        }
        Err(error) => Err(anyhow::anyhow!("{label}: {error}")),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        return (*text).to_string();
    }
    if let Some(text) = payload.downcast_ref::<String>() {
        return text.clone();
    }
    "(no message)".to_string()
}

fn scenario_label(lang: Lang, name: &str, consumers: usize) -> String {
    text!(
        en: "scenario {name} with {consumers} consumer(s)",
        zh: "场景 {name}（{consumers} 个 consumer）",
    )
    .get(lang)
    .to_string()
}

fn baseline_label(lang: Lang, name: &str) -> String {
    match name {
        "broker" => text!(
            en: "baseline broker limit",
            zh: "基线：broker 极限",
        ),
        _ => text!(
            en: "baseline SDK loop",
            zh: "基线：SDK 循环",
        ),
    }
    .get(lang)
    .to_string()
}

/// Returns the progress line of a step: a baseline when `consumers` is 0, else a
/// scenario.
fn step_text(lang: Lang, name: &str, consumers: usize) -> Text {
    let step = if consumers == 0 {
        baseline_label(lang, name)
    } else {
        scenario_label(lang, name, consumers)
    };
    text!(
        en: "bench: measuring {step}",
        zh: "bench：正在测量{step}",
    )
}

/// Prints a progress line on stderr, so stdout holds only results.
fn progress(lang: Lang, message: Text) {
    eprintln!("{}", message.get(lang));
}

fn usage() -> Text {
    text!(
        en: "usage: bench [--quick] [--table] [--python PATH] [--ledger postgres|sqlite] [--batch-size N] [--concurrent-batches N] [--batch-wait-ms MS] [--publish-batch-size N] [--only bench-a,bench-b1,bench-b4,bench-c] [--lang zh|en]
  --quick                a reduced run of under two minutes
  --table                also print the Markdown table of docs/BENCHMARKS.md
  --python PATH          Python with kingdee-cdp-webapi-sdk (default target/ci-venv/bin/python)
  --ledger KIND          ledger database (default postgres when DATABASE_URL is set, else sqlite)
  --batch-size N         consumer.batch_size (default 10)
  --concurrent-batches N consumer.concurrent_batches (default 2)
  --batch-wait-ms MS     consumer.batch_wait_ms (default 200)
  --publish-batch-size N producer.publish_batch_size (default 50)
  --only LIST            run only the named scenarios; the baselines always run
  --lang zh|en           language of the messages (default from LC_ALL, LC_MESSAGES, LANG)
Prints one `bench:` line per baseline and scenario on stdout. Needs RabbitMQ at AMQP_URL
and, for the PostgreSQL ledger, DATABASE_URL. Exit status 1 when a scenario or baseline
cannot complete, 2 for invalid arguments; speed never changes the exit status.",
        zh: "用法：bench [--quick] [--table] [--python 路径] [--ledger postgres|sqlite] [--batch-size N] [--concurrent-batches N] [--batch-wait-ms 毫秒] [--publish-batch-size N] [--only bench-a,bench-b1,bench-b4,bench-c] [--lang zh|en]
  --quick                缩减版运行，两分钟内完成
  --table                另外输出 docs/BENCHMARKS.md 中的 Markdown 表格
  --python 路径          装有 kingdee-cdp-webapi-sdk 的 Python（默认 target/ci-venv/bin/python）
  --ledger 类型          台账数据库（设置了 DATABASE_URL 时默认 postgres，否则 sqlite）
  --batch-size N         consumer.batch_size（默认 10）
  --concurrent-batches N consumer.concurrent_batches（默认 2）
  --batch-wait-ms 毫秒   consumer.batch_wait_ms（默认 200）
  --publish-batch-size N producer.publish_batch_size（默认 50）
  --only 列表            只运行列出的场景；基线总会运行
  --lang zh|en           消息语言（默认取自 LC_ALL、LC_MESSAGES、LANG）
在标准输出为每个基线和场景打印一行 `bench:`。需要 AMQP_URL 指向的 RabbitMQ；使用
PostgreSQL 台账时还需要 DATABASE_URL。有场景或基线无法完成时退出码为 1，参数无效时为 2；
速度从不影响退出码。",
    )
}

/// Parses the command line.
fn parse(raw: &[String], lang: Lang) -> Result<Args, Text> {
    let mut args = Args {
        lang,
        quick: false,
        table: false,
        python: PathBuf::from(sdk_loop::DEFAULT_PYTHON),
        ledger: if std::env::var_os("DATABASE_URL").is_some() {
            LedgerKind::Postgres
        } else {
            LedgerKind::Sqlite
        },
        tuning: Tuning::default(),
        only: None,
    };
    let mut items = raw.iter();
    while let Some(flag) = items.next() {
        match flag.as_str() {
            "--quick" => args.quick = true,
            "--table" => args.table = true,
            "--help" | "-h" => {
                println!("{}", usage().get(lang));
                std::process::exit(0);
            }
            "--lang" => {
                Lang::parse_flag(value(&mut items, flag)?)?;
            }
            lang_flag if lang_flag.starts_with("--lang=") => {
                Lang::parse_flag(&lang_flag["--lang=".len()..])?;
            }
            "--python" => args.python = PathBuf::from(value(&mut items, flag)?),
            "--ledger" => {
                args.ledger = match value(&mut items, flag)? {
                    "postgres" => LedgerKind::Postgres,
                    "sqlite" => LedgerKind::Sqlite,
                    other => {
                        return Err(text!(
                            en: "invalid --ledger {other}: expected postgres or sqlite",
                            zh: "--ledger {other} 无效：应为 postgres 或 sqlite",
                        ));
                    }
                }
            }
            "--batch-size" => args.tuning.batch_size = number(&mut items, flag)?,
            "--concurrent-batches" => args.tuning.concurrent_batches = number(&mut items, flag)?,
            "--batch-wait-ms" => args.tuning.batch_wait_ms = number(&mut items, flag)?,
            "--publish-batch-size" => args.tuning.publish_batch_size = number(&mut items, flag)?,
            "--only" => {
                let list = value(&mut items, flag)?;
                let mut names = Vec::new();
                for entry in list.split(',') {
                    let name = entry.trim().to_ascii_lowercase();
                    if !SCENARIO_NAMES.contains(&name.as_str()) {
                        let name = entry.trim();
                        let known = SCENARIO_NAMES.join(", ");
                        return Err(text!(
                            en: "invalid --only name {name}: expected one of {known}",
                            zh: "--only 中的名称 {name} 无效：应为 {known} 之一",
                        ));
                    }
                    names.push(name);
                }
                args.only = Some(names);
            }
            other => {
                return Err(text!(
                    en: "unknown argument {other}",
                    zh: "未知参数 {other}",
                ));
            }
        }
    }
    Ok(args)
}

/// Names that `--only` accepts, one per scenario run.
const SCENARIO_NAMES: [&str; 4] = ["bench-a", "bench-b1", "bench-b4", "bench-c"];

fn value<'a>(items: &mut std::slice::Iter<'a, String>, flag: &str) -> Result<&'a str, Text> {
    items.next().map(String::as_str).ok_or_else(|| {
        text!(
            en: "{flag} needs a value",
            zh: "{flag} 需要一个值",
        )
    })
}

fn number<T: TryFrom<u64>>(
    items: &mut std::slice::Iter<'_, String>,
    flag: &str,
) -> Result<T, Text> {
    let text = value(items, flag)?;
    let invalid = || {
        text!(
            en: "invalid {flag} {text}: expected a positive whole number",
            zh: "{flag} {text} 无效：应为正整数",
        )
    };
    let number: u64 = text.parse().map_err(|_| invalid())?;
    if number == 0 {
        return Err(invalid());
    }
    T::try_from(number).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Args, Text> {
        let raw: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        parse(&raw, Lang::En)
    }

    #[test]
    fn only_rejects_unknown_name() {
        let Err(error) = parse_args(&["--only", "bench-a,A"]) else {
            panic!("A is rejected");
        };
        assert!(error.en.contains("invalid --only name A"), "{}", error.en);
        assert!(
            error.en.contains("bench-b4"),
            "the valid names are listed: {}",
            error.en
        );
    }

    #[test]
    fn only_accepts_known_names() {
        let args = parse_args(&["--only", "bench-A, bench-c"]).expect("known names");
        let names = args.only.expect("a list");
        assert_eq!(names, vec!["bench-a".to_string(), "bench-c".to_string()]);
    }

    #[test]
    fn lang_rejects_unknown_value() {
        let Err(spaced) = parse_args(&["--lang", "fr"]) else {
            panic!("fr is rejected");
        };
        assert!(spaced.en.contains("invalid --lang fr"), "{}", spaced.en);
        let Err(joined) = parse_args(&["--lang=fr"]) else {
            panic!("fr is rejected");
        };
        assert!(joined.en.contains("invalid --lang fr"), "{}", joined.en);
    }

    #[test]
    fn lang_accepts_locale_forms() {
        assert!(parse_args(&["--lang", "zh_CN.UTF-8"]).is_ok());
        assert!(parse_args(&["--lang=en"]).is_ok());
    }
}
