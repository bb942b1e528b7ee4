//! `fault_suite [--claims N] [--seed S] [--consumers C] [--ledger postgres|sqlite]
//! [--timeout-seconds T] [--report FILE] [--lang zh|en]`: runs the whole pipeline as
//! child processes on the local RabbitMQ while K3Cloud and DingTalk fail, processes are
//! killed and broker connections are closed, then checks that every approved valid
//! claim became exactly one bill and every invalid one a dead letter with its reason.
//!
//! Build it in release mode: `cargo run -p dingk3-tests --release --bin fault_suite --
//! --claims 2000 --seed 1`. The PostgreSQL ledger (the default) needs `DATABASE_URL`;
//! the broker is `AMQP_URL` or the local one. `rabbitmqctl` must be allowed to list and
//! close connections (root on a Debian broker).
//!
//! Exit statuses: 0 every invariant held, 1 an invariant was broken (the report lists
//! each), 2 invalid arguments. A crash, a process that does not reconnect, or a run that
//! does not end within the timeout panics with the processes' logs (status 101).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use dingk3::i18n::{Lang, Text};
use dingk3::text;
use dingk3_tests::consumer::LedgerKind;
use dingk3_tests::reliability::plan::SuiteOptions;
use dingk3_tests::reliability::suite;

/// Claims of a run unless `--claims` sets another.
const DEFAULT_CLAIMS: usize = 2_000;

/// Consumer processes unless `--consumers` sets another.
const DEFAULT_CONSUMERS: usize = 3;

/// Time limit of a run unless `--timeout-seconds` sets another.
const DEFAULT_TIMEOUT_SECONDS: u64 = 1_800;

/// Parsed command line.
struct Args {
    options: SuiteOptions,
    report: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let lang = Lang::detect(Lang::from_args(&raw).as_deref());
    if raw.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{}", help().get(lang));
        return ExitCode::SUCCESS;
    }
    let args = match parse(&raw) {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("{}", problem.get(lang));
            eprintln!("{}", usage().get(lang));
            return ExitCode::from(2);
        }
    };
    if args.options.ledger == LedgerKind::Postgres && std::env::var_os("DATABASE_URL").is_none() {
        let problem = text!(
            en: "DATABASE_URL is not set; point it at a PostgreSQL database (e.g. postgres://postgres@127.0.0.1:5432/test) or pass --ledger sqlite",
            zh: "未设置 DATABASE_URL；请把它指向一个 PostgreSQL 数据库（例如 postgres://postgres@127.0.0.1:5432/test），或使用 --ledger sqlite",
        );
        eprintln!("{}", problem.get(lang));
        return ExitCode::from(2);
    }

    // The in-process simulators log every injected fault at info, and the report's
    // timeline already lists them. Only warnings and errors are shown unless RUST_LOG
    // sets another filter.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();

    let report = suite::run(&args.options, lang).await;
    print!("{}", report.render(lang));
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).expect("the report serializes");
        if let Err(error) = std::fs::write(path, json + "\n") {
            let location = path.display();
            let problem = text!(
                en: "cannot write the report to {location}: {error}",
                zh: "无法把报告写入 {location}：{error}",
            );
            eprintln!("{}", problem.get(lang));
            return ExitCode::from(1);
        }
    }
    if report.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Returns the usage line.
fn usage() -> Text {
    text!(
        en: "usage: fault_suite [--claims N (2000)] [--seed S (1)] [--consumers C (3)] [--ledger postgres|sqlite (postgres)] [--timeout-seconds T (1800)] [--report FILE.json] [--lang zh|en]",
        zh: "用法：fault_suite [--claims 报销单数 (2000)] [--seed 种子 (1)] [--consumers consumer 数 (3)] [--ledger postgres|sqlite (postgres)] [--timeout-seconds 秒 (1800)] [--report 报告.json] [--lang zh|en]",
    )
}

/// Returns the text of `--help`: what the suite does, every option and the exit
/// statuses.
fn help() -> Text {
    let usage = usage();
    text!(
        en: "{usage}

Runs the whole pipeline as child processes on the local RabbitMQ while the K3Cloud and
DingTalk simulators inject faults, consumers and the producer are killed and broker
connections are closed. Then checks that every approved valid claim became exactly one
bill and every invalid one a dead letter with its reason.

  --claims N            generated claims (default 2000)
  --seed S              seed of the claims, faults and schedule; the same seed repeats them (default 1)
  --consumers C         consumer processes (default 3)
  --ledger KIND         postgres (needs DATABASE_URL) or sqlite (default postgres)
  --timeout-seconds T   give up after T seconds (default 1800)
  --report FILE.json    also write the report as JSON
  --lang zh|en          language of messages (default from LANG)

Environment: AMQP_URL (default the local broker), DATABASE_URL, DINGK3_BIN_DIR (folder
of prebuilt producer and consumer binaries; without it they are built first).
rabbitmqctl must be allowed to list and close connections.

Exit status: 0 every invariant held, 1 an invariant was broken, 2 invalid arguments.",
        zh: "{usage}

在本机 RabbitMQ 上以子进程运行完整流水线，同时 K3Cloud 和钉钉模拟器注入故障、consumer 和
producer 被强制结束、broker 连接被关闭。结束后检查：每张已审批且有效的报销单恰好生成一张
单据，每张无效的报销单都以原因进入死信队列。

  --claims N            生成的报销单数（默认 2000）
  --seed S              报销单、故障和时间表的种子；相同种子重复相同内容（默认 1）
  --consumers C         consumer 进程数（默认 3）
  --ledger 类型         postgres（需要 DATABASE_URL）或 sqlite（默认 postgres）
  --timeout-seconds T   T 秒后放弃（默认 1800）
  --report 文件.json    同时以 JSON 写出报告
  --lang zh|en          消息语言（默认取自 LANG）

环境变量：AMQP_URL（默认本机 broker）、DATABASE_URL、DINGK3_BIN_DIR（预先构建的 producer
和 consumer 程序所在目录；未设置时先构建它们）。rabbitmqctl 需要有列出和关闭连接的权限。

退出码：0 所有不变量成立，1 有不变量被破坏，2 参数无效。",
    )
}

/// Parses the command line; the error names the argument.
fn parse(raw: &[String]) -> Result<Args, Text> {
    let mut args = Args {
        options: SuiteOptions {
            claims: DEFAULT_CLAIMS,
            seed: 1,
            consumers: DEFAULT_CONSUMERS,
            ledger: LedgerKind::Postgres,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
        },
        report: None,
    };
    let mut rest = raw.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next().cloned().ok_or_else(|| {
                text!(
                    en: "{flag} needs a value",
                    zh: "{flag} 需要一个值",
                )
            })
        };
        match flag.as_str() {
            "--claims" => args.options.claims = number(flag, &value()?, 1)?,
            "--seed" => args.options.seed = number(flag, &value()?, 0)? as u64,
            "--consumers" => args.options.consumers = number(flag, &value()?, 1)?,
            "--timeout-seconds" => {
                args.options.timeout = Duration::from_secs(number(flag, &value()?, 1)? as u64);
            }
            "--ledger" => {
                args.options.ledger = match value()?.as_str() {
                    "postgres" => LedgerKind::Postgres,
                    "sqlite" => LedgerKind::Sqlite,
                    other => {
                        return Err(text!(
                            en: "--ledger is {other:?}; use postgres or sqlite",
                            zh: "--ledger 的取值 {other:?} 无效；请使用 postgres 或 sqlite",
                        ));
                    }
                };
            }
            "--report" => args.report = Some(PathBuf::from(value()?)),
            "--lang" => {
                Lang::parse_flag(&value()?)?;
            }
            lang_flag if lang_flag.starts_with("--lang=") => {
                Lang::parse_flag(&lang_flag["--lang=".len()..])?;
            }
            other => {
                return Err(text!(
                    en: "unknown argument {other:?}",
                    zh: "未知参数 {other:?}",
                ));
            }
        }
    }
    Ok(args)
}

/// Parses a whole number of at least `minimum` given to `flag`.
fn number(flag: &str, text: &str, minimum: usize) -> Result<usize, Text> {
    match text.parse::<usize>() {
        Ok(value) if value >= minimum => Ok(value),
        _ => Err(text!(
            en: "{flag} is {text:?}; expected a whole number of at least {minimum}",
            zh: "{flag} 的取值 {text:?} 无效；应为不小于 {minimum} 的整数",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn defaults_without_arguments() {
        let args = parse(&[]).unwrap_or_else(|problem| panic!("{}", problem.en));
        assert_eq!(args.options.claims, DEFAULT_CLAIMS);
        assert_eq!(args.options.consumers, DEFAULT_CONSUMERS);
        assert_eq!(args.options.ledger, LedgerKind::Postgres);
    }

    #[test]
    fn every_flag_read() {
        let raw = strings(&[
            "--claims",
            "500",
            "--seed",
            "9",
            "--consumers",
            "2",
            "--ledger",
            "sqlite",
            "--timeout-seconds",
            "60",
            "--report",
            "r.json",
            "--lang",
            "zh",
        ]);
        let args = parse(&raw).unwrap_or_else(|problem| panic!("{}", problem.en));
        assert_eq!(args.options.claims, 500);
        assert_eq!(args.options.seed, 9);
        assert_eq!(args.options.consumers, 2);
        assert_eq!(args.options.ledger, LedgerKind::Sqlite);
        assert_eq!(args.options.timeout, Duration::from_secs(60));
        assert_eq!(args.report, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (raw, flag) in [
            (strings(&["--claims", "0"]), "--claims"),
            (strings(&["--seed", "x"]), "--seed"),
            (strings(&["--ledger", "mysql"]), "--ledger"),
            (strings(&["--report"]), "--report"),
            (strings(&["--fast"]), "--fast"),
            (strings(&["--lang", "fr"]), "--lang"),
            (strings(&["--lang=fr"]), "--lang"),
        ] {
            let problem = parse(&raw).err().expect("rejected");
            assert!(problem.en.contains(flag), "{raw:?}: {}", problem.en);
            assert!(problem.zh.contains(flag), "{raw:?}: {}", problem.zh);
        }
    }
}
