//! `simulator dingtalk`: serves the DingTalk simulator until interrupted.
//!
//! The first line on stdout is the bound base URL, so scripts can start it on port 0
//! and read where it went. Everything else (shift applied, instance count, logs) goes
//! to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use dingk3::cli::ZhHelp;
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::text;
use secrecy::SecretString;

use super::errors::OapiTokenShape;
use super::faults::{FaultKind, FaultPlan, FaultRule, Latency};
use super::server::{
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_PROCESS_CODE, DingTalkOptions, DingTalkSimulator,
    StartError,
};
use super::tokens::{TOKEN_LIFETIME_SECONDS, TokenPolicy};

mod help;

/// Throttling reply of `--throttle-rate`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleShape {
    /// oapi 88/sub_code 90018; v1.0 HTTP 403 QpsLimitForAppkeyAndApi.
    QpsLimit,
    /// oapi 90002; v1.0 HTTP 403 QpsLimitForApi.
    ApiDisabled,
    /// oapi 90006; v1.0 HTTP 403 QpmLimitForAppkeyAndApi (per-minute, per app).
    QpmLimit,
    /// oapi 90005 (per-minute, per organisation); v1.0 as qpm-limit.
    OrgQpmLimit,
    /// The per-IP ban as an HTML page.
    IpBanHtml,
    /// The per-IP ban as {"status":1111,"wait":5,…}.
    IpBanJson,
}

/// How long the permission error of `--permission-denied` lasts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionDeniedArg {
    /// Every business call fails until the simulator stops.
    Always,
    /// Business calls fail until the app fetches a token again.
    UntilTokenRefresh,
}

/// oapi reply to an expired token, for `--oapi-token-shape`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenShapeArg {
    /// errcode 88 with sub_code 40014 (observed on live servers).
    #[value(name = "sub-code-40014")]
    SubCode40014,
    /// Plain errcode 40014.
    #[value(name = "errcode-40014")]
    Errcode40014,
    /// Plain errcode 42001.
    #[value(name = "errcode-42001")]
    Errcode42001,
}

/// Options of `simulator dingtalk`.
#[derive(clap::Args, Debug)]
#[command(after_help = help::admin_help())]
pub struct Args {
    /// Address to serve on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8092")]
    pub listen: SocketAddr,

    /// App key that the token endpoints accept.
    #[arg(long, value_name = "KEY", default_value = DEFAULT_APP_KEY)]
    pub app_key: String,

    /// App secret that the token endpoints accept.
    #[arg(
        long,
        value_name = "SECRET",
        default_value = DEFAULT_APP_SECRET,
        env = "DINGK3_SIM_DINGTALK_APP_SECRET",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub app_secret: SecretString,

    /// Directory of cases to serve: every NAME.json with a sibling NAME.expected.json,
    /// served under the expected file's process_instance_id.
    #[arg(long, value_name = "DIR")]
    pub instances: Option<PathBuf>,

    /// Template code of loaded and generated instances.
    #[arg(long, value_name = "CODE", default_value = DEFAULT_PROCESS_CODE)]
    pub process_code: String,

    /// Move every time of the loaded cases by whole days so the newest finish time
    /// falls within the last day; ids stay unchanged. The shift is printed on stderr.
    #[arg(long)]
    pub shift_dates: bool,

    /// Number of expense claims to generate at start.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate: usize,

    /// Seed of the generated claims; the same seed gives the same claims.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Fixed delay added to every call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Largest random delay added on top of --latency-ms, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,

    /// Share of business calls that get an HTTP 5xx reply, from 0 to 1.
    #[arg(long, value_name = "RATE")]
    pub server_error_rate: Option<f64>,

    /// HTTP status of --server-error-rate replies.
    #[arg(long, value_name = "STATUS", default_value_t = 503)]
    pub server_error_status: u16,

    /// Share of business calls that get the --throttle-shape reply, from 0 to 1.
    #[arg(long, value_name = "RATE")]
    pub throttle_rate: Option<f64>,

    /// Throttling reply of --throttle-rate.
    #[arg(long, value_enum, value_name = "SHAPE", default_value = "qps-limit")]
    pub throttle_shape: ThrottleShape,

    /// Send a Retry-After header with this many seconds on --throttle-rate replies.
    #[arg(long, value_name = "SECONDS")]
    pub throttle_retry_after: Option<u64>,

    /// Reply to business calls with the missing-permission error (88/60011 /
    /// Forbidden.AccessDenied.AccessTokenPermissionDenied), always or until the app
    /// fetches a token again.
    #[arg(long, value_enum, value_name = "UNTIL")]
    pub permission_denied: Option<PermissionDeniedArg>,

    /// Reply to every business call with the monthly-quota error (90020 /
    /// Forbidden.AccessDenied.ApiCountLimitForOrg).
    #[arg(long)]
    pub quota_exhausted: bool,

    /// Reply to the next N listing calls with their own cursor as the next cursor.
    #[arg(long, value_name = "N")]
    pub repeat_cursor: Option<u32>,

    /// Seed of the random faults and jitter.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub fault_seed: u64,

    /// Real token lifetime in seconds; replies still report 7200.
    #[arg(long, value_name = "SECONDS", default_value_t = TOKEN_LIFETIME_SECONDS)]
    pub token_lifetime_secs: u64,

    /// oapi reply to an expired or unknown token.
    #[arg(
        long,
        value_enum,
        value_name = "SHAPE",
        default_value = "sub-code-40014"
    )]
    pub oapi_token_shape: TokenShapeArg,

    /// v1.0 HTTP status for an expired or unknown token: 400 or 401.
    #[arg(long, value_name = "STATUS", default_value_t = 400)]
    pub v1_token_status: u16,

    /// End the last v1.0 listing page with "nextToken": "" instead of omitting it.
    #[arg(long)]
    pub v1_empty_next_token: bool,

    /// Act as an OA 高级版 (premium) organisation: the v1.0 instance-id query accepts a
    /// start up to five years back instead of 365 days. The topapi listing keeps 365.
    #[arg(long)]
    pub premium: bool,
}

/// Wraps the secret at once, so `Debug` output of the arguments never shows it.
fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// Chinese help texts for this subcommand's arguments.
pub const ZH_HELP: ZhHelp = help::ZH_HELP;

impl Args {
    /// Builds the start options.
    pub fn to_options(&self) -> DingTalkOptions {
        let mut rules = Vec::new();
        if self.quota_exhausted {
            rules.push(FaultRule::always(FaultKind::QuotaExhausted));
        }
        if let Some(count) = self.repeat_cursor {
            rules.push(FaultRule::next(FaultKind::RepeatCursor, count));
        }
        if let Some(until) = self.permission_denied {
            let rule = FaultRule::always(FaultKind::PermissionDenied);
            rules.push(match until {
                PermissionDeniedArg::Always => rule,
                PermissionDeniedArg::UntilTokenRefresh => rule.until_token_refresh(),
            });
        }
        if let Some(rate) = self.throttle_rate {
            let kind = match self.throttle_shape {
                ThrottleShape::QpsLimit => FaultKind::QpsLimit,
                ThrottleShape::ApiDisabled => FaultKind::ApiDisabled,
                ThrottleShape::QpmLimit => FaultKind::QpmLimit,
                ThrottleShape::OrgQpmLimit => FaultKind::OrgQpmLimit,
                ThrottleShape::IpBanHtml => FaultKind::IpBanHtml,
                ThrottleShape::IpBanJson => FaultKind::IpBanJson,
            };
            let mut rule = FaultRule::rate(kind, rate);
            rule.retry_after_seconds = self.throttle_retry_after;
            rules.push(rule);
        }
        if let Some(rate) = self.server_error_rate {
            let mut rule = FaultRule::rate(FaultKind::ServerError, rate);
            rule.status = Some(self.server_error_status);
            rules.push(rule);
        }
        let oapi_shape = match self.oapi_token_shape {
            TokenShapeArg::SubCode40014 => OapiTokenShape::SubCode40014,
            TokenShapeArg::Errcode40014 => OapiTokenShape::Errcode40014,
            TokenShapeArg::Errcode42001 => OapiTokenShape::Errcode42001,
        };
        DingTalkOptions {
            listen: self.listen,
            app_key: self.app_key.clone(),
            app_secret: self.app_secret.clone(),
            process_code: self.process_code.clone(),
            instances_dir: self.instances.clone(),
            shift_dates: self.shift_dates,
            generate: self.generate,
            seed: self.seed,
            faults: FaultPlan {
                latency: Latency {
                    fixed_ms: self.latency_ms,
                    jitter_ms: self.jitter_ms,
                },
                rules,
                seed: Some(self.fault_seed),
            },
            tokens: TokenPolicy {
                lifetime_seconds: self.token_lifetime_secs,
                oapi_shape,
                v1_status: self.v1_token_status,
            },
            v1_empty_next_token: self.v1_empty_next_token,
            premium: self.premium,
        }
    }
}

impl Localize for StartError {
    fn localize(&self) -> Text {
        match self {
            StartError::Load(error) => text!(
                en: "cannot load the cases: {error}",
                zh: "无法加载审批用例：{error}",
            ),
            StartError::DuplicateId(id) => text!(
                en: "instance id {id} appears twice; give each case its own process_instance_id",
                zh: "审批实例 ID {id} 出现了两次；请为每个用例设置不同的 process_instance_id",
            ),
            StartError::InvalidOption(problem) => text!(
                en: "invalid option: {problem}",
                zh: "选项无效：{problem}",
            ),
            StartError::Bind { address, source } => text!(
                en: "cannot listen on {address}: {source}; choose another --listen address",
                zh: "无法监听 {address}：{source}；请用 --listen 换一个地址",
            ),
        }
    }
}

/// Runs the simulator until interrupted.
pub async fn run(args: Args, lang: Lang) -> Result<(), Text> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let running = DingTalkSimulator::start(args.to_options())
        .await
        .map_err(|error| error.localize())?;
    println!("{}", running.base_url());
    let _ = std::io::stdout().flush();

    let handle = running.handle();
    let count = handle.entries().len();
    let days = handle.shift_days();
    let loaded = text!(
        en: "serving {count} approval instances; loaded cases shifted by {days} days",
        zh: "正在提供 {count} 个审批实例；已加载的用例日期平移了 {days} 天",
    );
    eprintln!("{}", loaded.get(lang));

    wait_for_stop_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (what container runtimes send).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
                return;
            }
            Err(error) => tracing::warn!(error = %error, "cannot listen for SIGTERM"),
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %error, "cannot wait for ctrl-c; stopping");
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use secrecy::ExposeSecret;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> Args {
        let mut argv = vec!["dingtalk"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv).expect("valid arguments").args
    }

    #[test]
    fn defaults_match_library_defaults() {
        let options = parse(&[]).to_options();
        assert_eq!(options.app_key, DEFAULT_APP_KEY);
        assert_eq!(options.app_secret.expose_secret(), DEFAULT_APP_SECRET);
        assert_eq!(options.process_code, DEFAULT_PROCESS_CODE);
        assert_eq!(options.tokens, TokenPolicy::default());
        assert!(options.faults.rules.is_empty(), "no faults by default");
    }

    #[test]
    fn fault_flags_become_rules() {
        let options = parse(&[
            "--quota-exhausted",
            "--throttle-rate",
            "0.2",
            "--throttle-shape",
            "ip-ban-json",
            "--repeat-cursor",
            "1",
        ])
        .to_options();
        let kinds: Vec<FaultKind> = options.faults.rules.iter().map(|rule| rule.kind).collect();
        assert_eq!(
            kinds,
            vec![
                FaultKind::QuotaExhausted,
                FaultKind::RepeatCursor,
                FaultKind::IpBanJson
            ]
        );
    }

    #[test]
    fn new_fault_flags_become_rules() {
        let options = parse(&[
            "--permission-denied",
            "until-token-refresh",
            "--throttle-rate",
            "1",
            "--throttle-shape",
            "qpm-limit",
            "--throttle-retry-after",
            "2",
            "--premium",
        ])
        .to_options();
        let rules = &options.faults.rules;
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert_eq!(rules[0].kind, FaultKind::PermissionDenied);
        assert!(rules[0].until_token_refresh, "cleared by a token fetch");
        assert_eq!(rules[1].kind, FaultKind::QpmLimit);
        assert_eq!(rules[1].retry_after_seconds, Some(2));
        assert!(options.premium, "--premium reaches the options");

        let always = parse(&["--permission-denied", "always"]).to_options();
        assert!(
            !always.faults.rules[0].until_token_refresh,
            "a lasting permission error"
        );
        assert!(!always.premium, "standard edition by default");
    }

    #[test]
    fn token_flags_set_policy() {
        let options = parse(&[
            "--token-lifetime-secs",
            "30",
            "--oapi-token-shape",
            "errcode-42001",
            "--v1-token-status",
            "401",
        ])
        .to_options();
        assert_eq!(options.tokens.lifetime_seconds, 30);
        assert_eq!(options.tokens.oapi_shape, OapiTokenShape::Errcode42001);
        assert_eq!(options.tokens.v1_status, 401);
    }
}
