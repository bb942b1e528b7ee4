//! No log line of any process shows a secret or a full bank account number.
//!
//! The pipeline runs as child processes against simulators that accept only unusual
//! credentials: a DingTalk app secret given to the producer through
//! `DINGK3_DINGTALK__APP_SECRET`, a K3Cloud app secret in the file for a signature
//! consumer, and a K3Cloud password given to a session consumer through
//! `DINGK3_K3CLOUD__PASSWORD`. The claims carry payee accounts (收款账号), written
//! whole and in groups of four. A mapping variant looks each one up in a value map of
//! registered accounts and writes it into `FOPPOSITEBANKACCOUNT`. Error paths log too:
//!
//! - a producer with a wrong DingTalk secret, which exits with status 2;
//! - K3Cloud HTTP 500s, 网控 conflicts and lost replies;
//! - an expired DingTalk token, replaced mid-run;
//! - unregistered accounts, rejected with a reason that names the account;
//! - a consumer with a wrong K3Cloud password, whose approval ends as a dead letter.
//!
//! At the end every line of every process's log is searched for each secret, each
//! DingTalk token and K3Cloud session id the simulators issued, and each account (as
//! written and as bare digits). The dingk3 crates log at debug level here, one level
//! below the default. The masked form of a rejected account, its last four digits,
//! must appear.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::config::ConfigSource;
use dingk3::ledger::Status;
use dingk3::telemetry::mask_account;
use dingk3_consumer::settings::RunSettings;
use dingk3_simulator::dingtalk::{DEFAULT_APP_KEY, DingTalkOptions, DingTalkSimulator};
use dingk3_simulator::k3cloud::{Credentials, FaultSettings, K3CloudSimulator, SimulatorOptions};
use dingk3_tests::pipeline::process::binary_dir;
use dingk3_tests::pipeline::{Pipeline, PipelineOptions, RunMode};
use secrecy::SecretString;
use serde_json::{Value as Json, json};
use toml::{Table, Value};

/// DingTalk app secret the simulator accepts; only the environment carries it.
const DINGTALK_APP_SECRET: &str = "dtSecret-Qv7Zr2Lx9Np4Wk1Ey6";

/// DingTalk app secret of the producer that must fail.
const WRONG_DINGTALK_APP_SECRET: &str = "dtWrong-Jd4Hs8Bw2Mc6Tn9";

/// K3Cloud app secret of the signature consumer, written in the file.
const K3_APP_SECRET: &str = "k3AppSecret-Hm3Tf8Jc6Rb2Yd5";

/// K3Cloud password of the session consumer; only the environment carries it.
const K3_PASSWORD: &str = "k3Pass-Ux4Gs9Ke7Vn3Oq8";

/// K3Cloud password of the consumer whose logins must fail.
const WRONG_K3_PASSWORD: &str = "k3Wrong-Pz5Lq1Xv7Cr3";

/// Time the run gets to settle after each phase.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// One expense claim paid to `account`.
struct Claim {
    /// Process instance id.
    id: &'static str,
    /// Approval number; its last four digits differ from every account's, so a masked
    /// approval number is never taken for a masked account.
    business_id: &'static str,
    /// The 收款账号 as the originator typed it.
    account: &'static str,
    /// Whether the account is in the value map of registered accounts.
    registered: bool,
}

impl Claim {
    /// Returns the account without separators.
    fn digits(&self) -> String {
        self.account.chars().filter(char::is_ascii_digit).collect()
    }
}

/// Claims of the signature consumer: a registered account saved, an unregistered one
/// rejected, both written whole.
const SIGNATURE_CLAIMS: [Claim; 2] = [
    Claim {
        id: "secrets-saved-whole",
        business_id: "202611031015000129101",
        account: "6222021234567890123",
        registered: true,
    },
    Claim {
        id: "secrets-rejected-whole",
        business_id: "202611031015000129103",
        account: "6228480402564890018",
        registered: false,
    },
];

/// Claims of the session consumer, written in groups of four.
const SESSION_CLAIMS: [Claim; 2] = [
    Claim {
        id: "secrets-saved-grouped",
        business_id: "202611031015000129102",
        account: "6217 0012 3456 7890 456",
        registered: true,
    },
    Claim {
        id: "secrets-rejected-grouped",
        business_id: "202611031015000129104",
        account: "6225 8812 3456 7890",
        registered: false,
    },
];

/// The claim the consumer with the wrong K3Cloud password takes.
const LOCKED_OUT: Claim = Claim {
    id: "secrets-wrong-password",
    business_id: "202611031015000129105",
    account: "6214-8301-2345-6789",
    registered: true,
};

/// Faults of the K3Cloud simulator: failed and lost calls, so retries and probes log.
/// A write fails unsent in 44 % of calls, so all three calls of a delivery fail in
/// about one delivery of twelve. A bill fails all five deliveries (four retry tiers) a
/// few times in a million runs. Both figures are estimates from the rates that ignore
/// failed probes.
fn k3_faults() -> FaultSettings {
    FaultSettings {
        http_5xx_rate: 0.3,
        network_conflict_rate: 0.2,
        lost_reply_rate: 0.3,
        ..FaultSettings::default()
    }
}

/// Returns every claim of the run.
fn all_claims() -> impl Iterator<Item = &'static Claim> {
    SIGNATURE_CLAIMS
        .iter()
        .chain(SESSION_CLAIMS.iter())
        .chain([&LOCKED_OUT])
}

/// Returns how many K3Cloud calls failed by an injected fault.
fn faults_fired(pipeline: &Pipeline) -> u64 {
    pipeline
        .k3
        .handle()
        .stats()
        .calls
        .values()
        .flat_map(|outcomes| outcomes.iter())
        .filter(|(outcome, _)| outcome.starts_with("fault_"))
        .map(|(_, count)| count)
        .sum()
}

/// Appends `DINGK3_…` variables that make a consumer log in with `password`.
fn session_env(env: &[(String, String)], password: &str) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    for (name, value) in [
        ("DINGK3_K3CLOUD__AUTH", "session"),
        ("DINGK3_K3CLOUD__SESSION_LOGIN", "password"),
        ("DINGK3_K3CLOUD__PASSWORD", password),
    ] {
        env.push((name.to_string(), value.to_string()));
    }
    env
}

/// Builds the topapi instance of `claim`: created `age` ago and approved a minute ago,
/// with one 快递费 row whose description also names the account.
fn instance(claim: &Claim, age: TimeDelta) -> Json {
    let finished = utc_to_beijing(Utc::now() - TimeDelta::minutes(1));
    let created = utc_to_beijing(Utc::now() - age);
    let rows = json!([{
        "rowNumber": "TableField_1A2B3C4D5E6F0_0000ROW",
        "rowValue": [
            {"componentType": "DDDateField", "label": "费用发生日期", "key": "DDDateField_1QX3Y4Z5W6V70",
             "value": created.format("%Y-%m-%d").to_string()},
            {"componentType": "MoneyField", "label": "报销金额(元)", "key": "MoneyField_2RX4Y5Z6W7V80",
             "value": "88.00"},
            {"componentType": "TextareaField", "label": "费用明细", "key": "TextareaField_3SX5Y6Z7W8V90",
             "value": format!("快递费，请转账至 {}", claim.account)},
        ],
    }]);
    json!({
        "business_id": claim.business_id,
        "title": "张三提交的费用报销",
        "originator_userid": "user-1001",
        "originator_dept_id": "10001",
        "originator_dept_name": "行政部",
        "status": "COMPLETED",
        "result": "agree",
        "create_time": created.format("%Y-%m-%d %H:%M:%S").to_string(),
        "finish_time": finished.format("%Y-%m-%d %H:%M:%S").to_string(),
        "form_component_values": [
            {"component_type": "DDSelectField", "id": "DDSelectField_1BXCATEGORY0", "name": "报销类别", "value": "行政报销"},
            {"component_type": "DDSelectField", "id": "DDSelectField_2CXADMINTYPE0", "name": "行政报销类型", "value": "快递费"},
            {"component_type": "DDSelectField", "id": "DDSelectField_3DXPROJTYPE00", "name": "项目报销类型", "value": "null"},
            {"component_type": "TextField", "id": "TextField_PAYEEACCOUNT0", "name": "收款账号", "value": claim.account},
            {"component_type": "TableField", "id": "TableField_1A2B3C4D5E6F0", "name": "报销明细", "value": rows.to_string()},
        ],
        "operation_records": [],
        "tasks": [],
    })
}

/// Adds `claim`, created `age` ago, to the DingTalk simulator of `pipeline`. The
/// producer lists a claim on its first poll whatever its age, and later only when it
/// was created since the previous poll's window, less the overlap.
fn add_claim(pipeline: &Pipeline, claim: &Claim, age: TimeDelta) {
    pipeline
        .dingtalk
        .handle()
        .add_topapi(claim.id, None, &instance(claim, age), None)
        .unwrap_or_else(|error| panic!("the simulator rejects claim {}: {error}", claim.id));
}

/// Replaces the harness's simulators by ones that accept only the test's credentials,
/// and points the configuration at them.
async fn start_simulators(pipeline: &mut Pipeline) {
    let dingtalk = DingTalkSimulator::start(DingTalkOptions {
        app_secret: SecretString::from(DINGTALK_APP_SECRET),
        ..DingTalkOptions::default()
    })
    .await
    .expect("the DingTalk simulator starts on 127.0.0.1:0");
    let k3 = K3CloudSimulator::start(SimulatorOptions {
        credentials: Credentials {
            app_secret: SecretString::from(K3_APP_SECRET),
            password: SecretString::from(K3_PASSWORD),
            ..Credentials::default()
        },
        faults: k3_faults(),
        seed: 29,
        ..SimulatorOptions::default()
    })
    .await
    .expect("the K3Cloud simulator starts on 127.0.0.1:0");
    std::mem::replace(&mut pipeline.dingtalk, dingtalk)
        .shutdown()
        .await;
    std::mem::replace(&mut pipeline.k3, k3).shutdown().await;

    let dingtalk_url = pipeline.dingtalk.base_url();
    let k3_url = pipeline.k3.base_url();
    pipeline.set_config("dingtalk", "oapi_base_url", dingtalk_url.as_str());
    pipeline.set_config("dingtalk", "api_base_url", dingtalk_url.as_str());
    pipeline.set_config("k3cloud", "base_url", k3_url.as_str());
}

/// Writes the test's secrets, log level and mapping variant into the configuration.
fn configure(pipeline: &mut Pipeline) {
    // The DingTalk secret only comes from the environment; set_config rewrites the
    // file without it below.
    if let Some(Value::Table(dingtalk)) = pipeline.config.get_mut("dingtalk") {
        dingtalk.remove("app_secret");
    }
    pipeline.set_config("k3cloud", "app_secret", K3_APP_SECRET);
    pipeline.set_config(
        "log",
        "level",
        "info,dingk3=debug,dingk3_producer=debug,dingk3_consumer=debug,producer=debug,consumer=debug,lapin=off",
    );

    let mut mapping = match pipeline.config.get("mappings") {
        Some(Value::Table(mappings)) => match mappings.get("expense_claim") {
            Some(Value::Table(mapping)) => mapping.clone(),
            other => panic!("the run has no mapping expense_claim: {other:?}"),
        },
        other => panic!("the run has no mappings: {other:?}"),
    };
    let Some(Value::Table(entries)) = mapping.get_mut("entries") else {
        panic!("the mapping expense_claim has no entries table");
    };
    let Some(Value::Array(fields)) = entries.get_mut("fields") else {
        panic!("the entries of expense_claim have no fields");
    };
    let mut rule = Table::new();
    rule.insert("key".into(), "FOPPOSITEBANKACCOUNT".into());
    rule.insert("source".into(), "form:收款账号".into());
    rule.insert("map".into(), "payee_account".into());
    fields.push(Value::Table(rule));
    pipeline.set_config("mappings", "expense_claim", mapping);

    let registered: Table = all_claims()
        .filter(|claim| claim.registered)
        .map(|claim| (claim.account.to_string(), Value::from(claim.digits())))
        .collect();
    pipeline.set_config("value_maps", "payee_account", registered);

    let text = std::fs::read_to_string(&pipeline.config_path).expect("the config file reads");
    let source = ConfigSource::from_toml_str(&text).expect("the run's configuration parses");
    if let Err(errors) = RunSettings::load(&source) {
        panic!("the consumer rejects the run's configuration: {errors:?}");
    }
}

/// Runs `producer once` with the wrong DingTalk secret, logging to `log`, and returns
/// its exit code.
async fn run_wrong_secret_producer(config: &Path, log: &Path) -> Option<i32> {
    let file = std::fs::File::create(log).expect("the log file can be created");
    let stderr = file.try_clone().expect("the log file handle can be cloned");
    let mut command = tokio::process::Command::new(binary_dir().join("producer"));
    command
        .arg("once")
        .env("DINGK3_CONFIG", config)
        .env("DINGK3_DINGTALK__APP_SECRET", WRONG_DINGTALK_APP_SECRET)
        .env("DINGK3_PRODUCER__METRICS_LISTEN", "127.0.0.1:0")
        .env_remove("DINGK3_BIN_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    let status = tokio::time::timeout(Duration::from_secs(60), command.status())
        .await
        .expect("producer once ends within 60 s")
        .expect("producer once starts");
    status.code()
}

/// Fetches the DingTalk app's current access token, which the simulator shares with
/// every caller of the same app while it is valid.
async fn current_token(base_url: &str) -> String {
    let reply: Json = reqwest::Client::new()
        .get(format!("{base_url}/gettoken"))
        .query(&[
            ("appkey", DEFAULT_APP_KEY),
            ("appsecret", DINGTALK_APP_SECRET),
        ])
        .send()
        .await
        .expect("the DingTalk simulator answers gettoken")
        .json()
        .await
        .expect("gettoken returns JSON");
    reply["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("gettoken returned no token: {reply}"))
        .to_string()
}

/// A log file and its text.
struct Log {
    path: PathBuf,
    text: String,
}

/// Returns the first line of any log that contains `needle`, with its file.
fn find(logs: &[Log], needle: &str) -> Option<String> {
    logs.iter().find_map(|log| {
        log.text
            .lines()
            .find(|line| line.contains(needle))
            .map(|line| format!("{}: {line}", log.path.display()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hide_secrets_and_accounts() {
    let Some(mut pipeline) = Pipeline::prepare(PipelineOptions {
        test: "secrets",
        cases: false,
        consumers: 0,
        mode: RunMode::Processes,
        tiers: vec!["1s", "2s", "3s", "4s"],
        ..PipelineOptions::default()
    })
    .await
    else {
        panic!("a SQLite ledger always opens");
    };
    start_simulators(&mut pipeline).await;
    configure(&mut pipeline);
    for claim in &SIGNATURE_CLAIMS {
        add_claim(&pipeline, claim, TimeDelta::days(2));
    }

    // A producer with the wrong DingTalk secret stops with a configuration error.
    let wrong_secret_log = pipeline.folder().join("producer-wrong-secret.log");
    let wrong_secret_exit =
        run_wrong_secret_producer(&pipeline.config_path, &wrong_secret_log).await;

    // The signature consumer, with the app secret from the file, takes the first claims.
    // Every child gets the DingTalk secret from the environment.
    let dingtalk_env = vec![(
        "DINGK3_DINGTALK__APP_SECRET".to_string(),
        DINGTALK_APP_SECRET.to_string(),
    )];
    pipeline.child_env = dingtalk_env.clone();
    pipeline.start_consumer().await;
    pipeline.start_producer().await;

    // The first token dies mid-run, so the producer fetches a second one.
    pipeline
        .producer()
        .wait_more_polls(1, Duration::from_secs(30))
        .await;
    let first_token = current_token(&pipeline.dingtalk.base_url()).await;
    pipeline.dingtalk.handle().expire_tokens();
    pipeline
        .producer()
        .wait_more_polls(2, Duration::from_secs(30))
        .await;
    pipeline.wait_settled(SETTLE_TIMEOUT).await;

    // The session consumer, with the password from the environment, logs JSON.
    pipeline.stop_consumers().await;
    pipeline.child_env = session_env(&dingtalk_env, K3_PASSWORD);
    pipeline
        .child_env
        .push(("DINGK3_LOG__FORMAT".to_string(), "json".to_string()));
    pipeline.start_consumer().await;
    for claim in &SESSION_CLAIMS {
        add_claim(&pipeline, claim, TimeDelta::minutes(2));
    }
    pipeline.wait_settled(SETTLE_TIMEOUT).await;
    let session_ids = pipeline.k3.handle().session_ids();

    // A consumer with the wrong password takes the last claim; its logins fail until
    // the claim has used every retry tier.
    pipeline.stop_consumers().await;
    pipeline.child_env = session_env(&dingtalk_env, WRONG_K3_PASSWORD);
    pipeline.start_consumer().await;
    add_claim(&pipeline, &LOCKED_OUT, TimeDelta::minutes(2));
    pipeline.wait_settled(SETTLE_TIMEOUT).await;

    let last_token = current_token(&pipeline.dingtalk.base_url()).await;
    let tokens_issued = pipeline.dingtalk.handle().tokens_issued();
    let faults = faults_fired(&pipeline);
    let rows = pipeline.ledger_view().rows().await;
    let bills = pipeline.k3.handle().bills();
    pipeline.stop_all().await;
    let logs: Vec<Log> = pipeline
        .log_files()
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            Log { path, text }
        })
        .collect();
    pipeline.finish().await;

    // The run went through every path the log check relies on.
    assert_eq!(
        wrong_secret_exit,
        Some(2),
        "the producer with the wrong DingTalk secret exits with status 2"
    );
    assert_eq!(
        tokens_issued, 2,
        "the simulator issued exactly the two tokens the test read"
    );
    assert!(
        !session_ids.is_empty(),
        "the session consumer logged in to K3Cloud"
    );
    assert!(faults > 0, "K3Cloud faults made the consumers log errors");
    assert_eq!(logs.len(), 5, "two producers and three consumers logged");
    for claim in SIGNATURE_CLAIMS.iter().chain(&SESSION_CLAIMS) {
        let status = rows.get(claim.id).map(|row| row.status);
        let expected = if claim.registered {
            Status::Saved
        } else {
            Status::Rejected
        };
        assert_eq!(status, Some(expected), "claim {}", claim.id);
    }
    assert_eq!(
        rows.get(LOCKED_OUT.id).map(|row| row.status),
        Some(Status::Dead),
        "the claim of the consumer with the wrong password is dead-lettered"
    );
    for claim in SIGNATURE_CLAIMS
        .iter()
        .chain(&SESSION_CLAIMS)
        .filter(|claim| claim.registered)
    {
        let carried = bills
            .iter()
            .any(|bill| bill.view.to_string().contains(&claim.digits()));
        assert!(
            carried,
            "a K3Cloud bill carries the full account of {}",
            claim.id
        );
    }

    // No secret, token or session id appears in any log line.
    let mut secrets = vec![
        ("the DingTalk app secret", DINGTALK_APP_SECRET.to_string()),
        (
            "the wrong DingTalk app secret",
            WRONG_DINGTALK_APP_SECRET.to_string(),
        ),
        ("the K3Cloud app secret", K3_APP_SECRET.to_string()),
        ("the K3Cloud password", K3_PASSWORD.to_string()),
        ("the wrong K3Cloud password", WRONG_K3_PASSWORD.to_string()),
        ("the first DingTalk token", first_token),
        ("the second DingTalk token", last_token),
    ];
    for id in session_ids {
        secrets.push(("a K3Cloud session id", id));
    }
    for (name, secret) in &secrets {
        assert_eq!(find(&logs, secret), None, "a log line shows {name}");
    }

    // No full account appears, as typed or as bare digits; rejected ones appear masked.
    for claim in all_claims() {
        assert_eq!(
            find(&logs, claim.account),
            None,
            "a log line shows the account of {} as typed",
            claim.id
        );
        assert_eq!(
            find(&logs, &claim.digits()),
            None,
            "a log line shows the account of {} as digits",
            claim.id
        );
    }
    for claim in all_claims().filter(|claim| !claim.registered) {
        let masked = mask_account(claim.account);
        assert!(
            find(&logs, &masked).is_some(),
            "the rejection of {} is logged with the account masked as {masked}",
            claim.id
        );
    }
}
