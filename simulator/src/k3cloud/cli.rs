//! `simulator k3cloud`: runs the K3Cloud simulator as a process.
//!
//! The bound base URL is the first line on stdout, so a script can start the simulator
//! on port 0 and read where it listens. Logs go to stderr (`RUST_LOG` sets the level).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;

use dingk3::cli::ZhHelp;
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::text;
use secrecy::SecretString;

use crate::k3cloud::{
    BaseData, Credentials, DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PASSWORD,
    DEFAULT_USERNAME, FaultSettings, K3CloudSimulator, LostReplyMode, SimulatorOptions,
};

/// Options of the K3Cloud simulator.
#[derive(clap::Args, Debug)]
#[command(after_help = after_help())]
pub struct Args {
    /// Address to listen on; port 0 picks a free port. The base URL is printed as the
    /// first line on stdout.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,

    /// Account set id (acctID) that may log in.
    #[arg(long, value_name = "ID", default_value = DEFAULT_ACCT_ID)]
    pub acct_id: String,

    /// User name that may log in.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_USERNAME)]
    pub username: String,

    /// App id for signature auth and LoginByAppSecret/LoginBySign:
    /// <client id>_<32-character secret part>.
    #[arg(long, value_name = "APP_ID", default_value = DEFAULT_APP_ID)]
    pub app_id: String,

    /// App secret paired with the app id.
    #[arg(long, value_name = "SECRET", env = "K3CLOUD_SIM_APP_SECRET", default_value = DEFAULT_APP_SECRET)]
    pub app_secret: String,

    /// Password of the user for ValidateUser.
    #[arg(long, value_name = "PASSWORD", env = "K3CLOUD_SIM_PASSWORD", default_value = DEFAULT_PASSWORD)]
    pub password: String,

    /// Idle time after which a session expires, in seconds (sliding; K3Cloud uses 20
    /// minutes).
    #[arg(long, value_name = "SECONDS", default_value_t = 1200, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_seconds: u64,

    /// End every session each time this many seconds pass; 0 turns it off.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub expire_sessions_every_seconds: u64,

    /// JSON file whose base data replaces the built-in reference data (format below).
    #[arg(long, value_name = "FILE")]
    pub base_data: Option<String>,

    /// Delay added to every WebAPI call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Extra random delay per call, uniform between 0 and this, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,

    /// Extra delay per model of a BatchSave, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub batch_model_latency_ms: u64,

    /// Probability (0 to 1) that a call fails with HTTP 500, unprocessed.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub http_5xx_rate: f64,

    /// Probability (0 to 1) that a call hangs for --hang-seconds, unprocessed, then
    /// loses its connection.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub hang_rate: f64,

    /// How long a hung call waits before its connection closes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub hang_seconds: u64,

    /// Probability (0 to 1) that a write fails with a 网控 conflict (MsgCode 13),
    /// unprocessed.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub network_conflict_rate: f64,

    /// Probability (0 to 1) that a write is processed (bills saved) but its reply is lost.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub lost_reply_rate: f64,

    /// Form of a lost reply: drop (connection closes mid-reply) or 5xx (HTTP 502).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = LostReplyMode::Drop)]
    pub lost_reply_mode: LostReplyMode,

    /// Seed of the fault generator; the same seed and call order give the same faults.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
}

/// Chinese help texts for this subcommand's arguments.
pub const ZH_HELP: ZhHelp = &[
    (
        "k3cloud:listen",
        "监听地址；端口 0 表示自动选择空闲端口。启动后在标准输出第一行打印基础 URL。",
    ),
    ("k3cloud:acct_id", "允许登录的账套 id（acctID）。"),
    ("k3cloud:username", "允许登录的用户名。"),
    (
        "k3cloud:app_id",
        "签名认证及 LoginByAppSecret/LoginBySign 使用的应用 ID：<客户端 id>_<32 位密钥部分>。",
    ),
    ("k3cloud:app_secret", "与应用 ID 配对的应用密钥。"),
    ("k3cloud:password", "ValidateUser 登录时该用户的密码。"),
    (
        "k3cloud:session_idle_seconds",
        "会话空闲多少秒后失效（滑动计时；金蝶云星空为 20 分钟）。",
    ),
    (
        "k3cloud:expire_sessions_every_seconds",
        "每隔多少秒使全部会话失效；0 表示关闭。",
    ),
    (
        "k3cloud:base_data",
        "用该 JSON 文件中的基础资料替换内置参考数据（格式见下文）。",
    ),
    (
        "k3cloud:latency_ms",
        "每次 WebAPI 调用增加的延迟，单位毫秒。",
    ),
    (
        "k3cloud:jitter_ms",
        "每次调用额外的随机延迟，在 0 到该值之间均匀分布，单位毫秒。",
    ),
    (
        "k3cloud:batch_model_latency_ms",
        "BatchSave 每个单据数据包额外增加的延迟，单位毫秒。",
    ),
    (
        "k3cloud:http_5xx_rate",
        "调用在处理前以 HTTP 500 失败的概率（0 到 1）。",
    ),
    (
        "k3cloud:hang_rate",
        "调用不被处理、挂起 --hang-seconds 秒后断开连接的概率（0 到 1）。",
    ),
    ("k3cloud:hang_seconds", "挂起的调用等待多少秒后断开连接。"),
    (
        "k3cloud:network_conflict_rate",
        "写操作在处理前以网控冲突（MsgCode 13）失败的概率（0 到 1）。",
    ),
    (
        "k3cloud:lost_reply_rate",
        "写操作已处理（单据已保存）但应答丢失的概率（0 到 1）。",
    ),
    (
        "k3cloud:lost_reply_mode",
        "应答丢失的表现：drop（应答中途断开连接）或 5xx（HTTP 502）。",
    ),
    (
        "k3cloud:seed",
        "故障注入随机数种子；相同种子和相同调用顺序产生相同的故障。",
    ),
];

fn parse_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .parse()
        .map_err(|_| format!("{value} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

fn after_help() -> String {
    let lang = Lang::detect(Lang::from_args(std::env::args()).as_deref());
    let template = match lang {
        Lang::En => AFTER_HELP_EN,
        Lang::Zh => AFTER_HELP_ZH,
    };
    template
        .replace("{ACCT_ID}", DEFAULT_ACCT_ID)
        .replace("{USERNAME}", DEFAULT_USERNAME)
        .replace("{APP_ID}", DEFAULT_APP_ID)
        .replace("{APP_SECRET}", DEFAULT_APP_SECRET)
        .replace("{PASSWORD}", DEFAULT_PASSWORD)
}

const AFTER_HELP_EN: &str = "\
Default credentials (test values):
  acct id     {ACCT_ID}
  user name   {USERNAME}
  app id      {APP_ID}
  app secret  {APP_SECRET}
  password    {PASSWORD}
Clients authenticate with the official SDK's signature headers or log in with
AuthService.ValidateUser / LoginByAppSecret / LoginBySign and send the session back as
cookie kdservice-sessionid, header kdservice-sessionid or header SID.

Services: POST http://ADDR/k3cloud/<service>.common.kdsvc for AuthService.ValidateUser,
LoginByAppSecret, LoginBySign, Logout, AccountService.GetDataCenterList and
DynamicFormService.Save, BatchSave, Submit, Audit, UnAudit, Delete, View,
ExecuteBillQuery, BillQuery. Only the form AP_PAYBILL exists. Bills saved without
FBillNo are numbered FKD00000001, FKD00000002, ...; ids start at 100001. Updating a
saved bill (FID > 0) is not simulated.

Admin endpoints:
  GET  /__sim/bills             saved bills as JSON (View shape)
  GET  /__sim/bills/NUMBER      one saved bill; 404 if absent
  GET  /__sim/stats             calls per operation and outcome; bill and session counts
  POST /__sim/reset             drop bills, sessions and counters; restore start-up
                                base data and faults
  GET  /__sim/base-data         base data in the --base-data format
  POST /__sim/base-data         add or replace records (same format)
  PUT  /__sim/base-data         replace all base data
  GET  /__sim/faults            fault settings and seed
  PUT  /__sim/faults            change the settings named in a JSON object: latency_ms,
                                jitter_ms, batch_model_latency_ms, http_5xx_rate,
                                hang_rate, hang_ms, network_conflict_rate,
                                lost_reply_rate, lost_reply_mode (drop|5xx),
                                session_idle_ms, expire_sessions_every_ms, seed
  POST /__sim/sessions/expire   end every session now

Base data file: a JSON object from K3Cloud form id to a list of records
{\"number\", \"name\", optional \"id\", optional \"kind\"}, e.g.
  {\"BD_Empinfo\": [{\"number\": \"EMP001\", \"name\": \"张三\"}],
   \"BD_SETTLETYPE\": [{\"number\": \"JSFS04_SYS\", \"name\": \"电汇\", \"kind\": \"bank\"}]}
Form ids: ORG_Organizations, BD_Currency, BOS_BillType, BD_Empinfo, BD_Department,
BD_Supplier, BD_Customer, FIN_OTHERS, BD_BANK, BD_Expense (费用项目), BD_SETTLETYPE
(kind cash|bank|bill; bank types require FACCOUNTID), CN_RECPAYPURPOSE, CN_BANKACNT,
CN_CASHACCOUNT. Without --base-data: employees EMP001-EMP003, departments BM001-BM002,
expense items FYXM001-FYXM003, organisation 100, currency PRE001, settlement types
JSFS01_SYS-JSFS09_SYS, purposes SFKYT08_SYS-SFKYT10_SYS, bank account YH001, cash
account XJ001, bill types FKDLX01_SYS and FKDLX02_SYS.";

const AFTER_HELP_ZH: &str = "\
默认凭据（测试用值）：
  账套 id    {ACCT_ID}
  用户名     {USERNAME}
  应用 ID    {APP_ID}
  应用密钥   {APP_SECRET}
  密码       {PASSWORD}
客户端可使用官方 SDK 的签名请求头认证，或通过 AuthService.ValidateUser /
LoginByAppSecret / LoginBySign 登录，并以 Cookie kdservice-sessionid、请求头
kdservice-sessionid 或请求头 SID 回传会话。

服务：POST http://ADDR/k3cloud/<服务名>.common.kdsvc，支持 AuthService.ValidateUser、
LoginByAppSecret、LoginBySign、Logout、AccountService.GetDataCenterList，以及
DynamicFormService.Save、BatchSave、Submit、Audit、UnAudit、Delete、View、
ExecuteBillQuery、BillQuery。只有表单 AP_PAYBILL。未提供 FBillNo 的单据编号为
FKD00000001、FKD00000002……；内码从 100001 开始。不模拟修改已保存的单据（FID > 0）。

管理接口：
  GET  /__sim/bills             以 JSON 列出已保存的单据（View 的结构）
  GET  /__sim/bills/编号        单张单据；不存在时返回 404
  GET  /__sim/stats             按操作和结果统计的调用次数；单据数和会话数
  POST /__sim/reset             清空单据、会话和计数；恢复启动时的基础资料和故障设置
  GET  /__sim/base-data         当前基础资料（--base-data 文件格式）
  POST /__sim/base-data         新增或替换记录（同一格式）
  PUT  /__sim/base-data         替换全部基础资料
  GET  /__sim/faults            故障设置和随机种子
  PUT  /__sim/faults            修改 JSON 对象中给出的设置：latency_ms、jitter_ms、
                                batch_model_latency_ms、http_5xx_rate、hang_rate、
                                hang_ms、network_conflict_rate、lost_reply_rate、
                                lost_reply_mode（drop|5xx）、session_idle_ms、
                                expire_sessions_every_ms、seed
  POST /__sim/sessions/expire   立即使全部会话失效

基础资料文件：JSON 对象，键为金蝶表单 id，值为记录列表
{\"number\", \"name\", 可选 \"id\", 可选 \"kind\"}，例如
  {\"BD_Empinfo\": [{\"number\": \"EMP001\", \"name\": \"张三\"}],
   \"BD_SETTLETYPE\": [{\"number\": \"JSFS04_SYS\", \"name\": \"电汇\", \"kind\": \"bank\"}]}
表单 id：ORG_Organizations、BD_Currency、BOS_BillType、BD_Empinfo、BD_Department、
BD_Supplier、BD_Customer、FIN_OTHERS、BD_BANK、BD_Expense（费用项目）、BD_SETTLETYPE
（kind 为 cash|bank|bill；bank 类结算方式必须填 FACCOUNTID）、CN_RECPAYPURPOSE、
CN_BANKACNT、CN_CASHACCOUNT。未指定 --base-data 时：员工 EMP001-EMP003，部门
BM001-BM002，费用项目 FYXM001-FYXM003，组织 100，币别 PRE001，结算方式
JSFS01_SYS-JSFS09_SYS，付款用途 SFKYT08_SYS-SFKYT10_SYS，银行账号 YH001，现金账号
XJ001，单据类型 FKDLX01_SYS 和 FKDLX02_SYS。";

impl Args {
    /// Turns the options into simulator options, reading the base-data file.
    pub fn to_options(&self) -> Result<SimulatorOptions, Text> {
        let base_data = match &self.base_data {
            Some(path) => BaseData::from_file(path).map_err(|error| error.localize())?,
            None => BaseData::reference(),
        };
        let faults = FaultSettings {
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            batch_model_latency_ms: self.batch_model_latency_ms,
            http_5xx_rate: self.http_5xx_rate,
            hang_rate: self.hang_rate,
            hang_ms: self.hang_seconds.saturating_mul(1000),
            network_conflict_rate: self.network_conflict_rate,
            lost_reply_rate: self.lost_reply_rate,
            lost_reply_mode: self.lost_reply_mode,
            session_idle_ms: self.session_idle_seconds.saturating_mul(1000),
            expire_sessions_every_ms: self.expire_sessions_every_seconds.saturating_mul(1000),
        };
        Ok(SimulatorOptions {
            listen: self.listen,
            credentials: Credentials {
                acct_id: self.acct_id.clone(),
                username: self.username.clone(),
                app_id: self.app_id.clone(),
                app_secret: SecretString::from(self.app_secret.clone()),
                password: SecretString::from(self.password.clone()),
            },
            base_data,
            faults,
            seed: self.seed,
        })
    }
}

/// Runs the simulator until SIGINT or SIGTERM.
pub async fn run(args: Args, _lang: Lang) -> Result<(), Text> {
    init_logging();
    let options = args.to_options()?;
    let running = K3CloudSimulator::start(options)
        .await
        .map_err(|error| error.localize())?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())
        .and_then(|()| stdout.flush())
        .map_err(|error| {
            text!(
                en: "cannot write the base URL to stdout: {error}",
                zh: "无法向标准输出写入基础 URL：{error}",
            )
        })?;
    drop(stdout);

    wait_for_stop_signal().await;
    running.shutdown().await;
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Wrapper {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        let argv = std::iter::once("k3cloud").chain(extra.iter().copied());
        Wrapper::try_parse_from(argv).map(|wrapper| wrapper.args)
    }

    #[test]
    fn defaults_use_default_credentials() {
        let options = parse(&[]).unwrap().to_options().unwrap();
        assert_eq!(options.credentials.acct_id, DEFAULT_ACCT_ID);
        assert_eq!(options.faults, FaultSettings::default());
        assert!(!options.base_data.is_empty(), "reference base data");
    }

    #[test]
    fn rates_outside_zero_to_one_are_rejected() {
        assert!(parse(&["--lost-reply-rate", "1.5"]).is_err(), "1.5");
        assert!(parse(&["--hang-rate", "-0.1"]).is_err(), "negative");
        assert!(parse(&["--http-5xx-rate", "0.25"]).is_ok(), "0.25");
    }

    #[test]
    fn session_idle_must_be_positive() {
        assert!(parse(&["--session-idle-seconds", "0"]).is_err());
    }

    #[test]
    fn faults_convert_to_milliseconds() {
        let options = parse(&[
            "--session-idle-seconds",
            "2",
            "--hang-seconds",
            "3",
            "--lost-reply-mode",
            "5xx",
        ])
        .unwrap()
        .to_options()
        .unwrap();
        assert_eq!(options.faults.session_idle_ms, 2000);
        assert_eq!(options.faults.hang_ms, 3000);
        assert_eq!(options.faults.lost_reply_mode, LostReplyMode::Status5xx);
    }

    #[test]
    fn missing_base_data_file_is_reported() {
        let error = parse(&["--base-data", "/nonexistent/base.json"])
            .unwrap()
            .to_options()
            .unwrap_err();
        assert!(error.en.contains("/nonexistent/base.json"), "{}", error.en);
    }

    #[test]
    fn help_lists_admin_endpoints_and_credentials() {
        let help = after_help();
        for needle in [
            "/__sim/faults",
            "/__sim/reset",
            DEFAULT_APP_ID,
            DEFAULT_PASSWORD,
        ] {
            assert!(help.contains(needle), "help lacks {needle}");
        }
    }
}
