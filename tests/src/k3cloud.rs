//! Helpers for tests that drive the K3Cloud client against the in-process K3Cloud
//! simulator: clients for each authentication mode, payment bill models that pass or
//! fail the simulator's rules, and checks on the bills the simulator holds.
//!
//! Clients built here time out after 5 s. Hang tests build theirs with
//! [`client_with_timeout`] and a shorter timeout, so they finish quickly.

use std::time::Duration;

use dingk3::k3cloud::{K3CloudClient, K3CloudSettings, RawK3CloudConfig};
use dingk3_simulator::k3cloud::{
    DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME,
    K3CloudSimulator, RunningK3Cloud, SimulatorOptions,
};
use secrecy::SecretString;
use serde_json::{Value, json};

/// Form id of the payment bill.
pub const PAYBILL: &str = "AP_PAYBILL";

/// How a client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `X-Api-*`/`X-Kd-*` signature headers on every request.
    Signature,
    /// One `AuthService.LoginByAppSecret`, then session cookies.
    AppSecretSession,
    /// One `AuthService.ValidateUser`, then session cookies.
    PasswordSession,
}

impl AuthMode {
    /// Every mode.
    pub const ALL: [AuthMode; 3] = [
        AuthMode::Signature,
        AuthMode::AppSecretSession,
        AuthMode::PasswordSession,
    ];

    /// The two session modes.
    pub const SESSIONS: [AuthMode; 2] = [AuthMode::AppSecretSession, AuthMode::PasswordSession];

    /// Returns the simulator's counter name of the login service, if the mode logs in.
    pub fn login_operation(self) -> Option<&'static str> {
        match self {
            AuthMode::Signature => None,
            AuthMode::AppSecretSession => Some("LoginByAppSecret"),
            AuthMode::PasswordSession => Some("ValidateUser"),
        }
    }
}

/// Starts a simulator with the default credentials, the reference base data and no
/// faults.
pub async fn start_simulator() -> RunningK3Cloud {
    K3CloudSimulator::start(SimulatorOptions::default())
        .await
        .expect("the K3Cloud simulator starts on 127.0.0.1:0")
}

/// Returns the `[k3cloud]` section of a client for `mode` pointed at `simulator`, with
/// the simulator's default credentials.
pub fn raw_config(simulator: &RunningK3Cloud, mode: AuthMode) -> RawK3CloudConfig {
    let (auth, session_login) = match mode {
        AuthMode::Signature => ("signature", "app_secret"),
        AuthMode::AppSecretSession => ("session", "app_secret"),
        AuthMode::PasswordSession => ("session", "password"),
    };
    RawK3CloudConfig {
        base_url: simulator.base_url(),
        acct_id: DEFAULT_ACCT_ID.to_string(),
        username: DEFAULT_USERNAME.to_string(),
        auth: auth.to_string(),
        session_login: session_login.to_string(),
        app_id: DEFAULT_APP_ID.to_string(),
        app_secret: Some(SecretString::from(DEFAULT_APP_SECRET)),
        password: Some(SecretString::from(DEFAULT_PASSWORD)),
        connect_timeout_ms: 2_000,
        request_timeout_ms: 5_000,
        ..RawK3CloudConfig::default()
    }
}

/// Builds a client from a raw section.
pub fn client_from(raw: &RawK3CloudConfig) -> K3CloudClient {
    let settings: K3CloudSettings = raw.validate().expect("the test client settings are valid");
    K3CloudClient::new(settings).expect("the client builds")
}

/// Builds a client for `mode` pointed at `simulator`.
pub fn client(simulator: &RunningK3Cloud, mode: AuthMode) -> K3CloudClient {
    client_from(&raw_config(simulator, mode))
}

/// Builds a client whose calls time out after `timeout`.
pub fn client_with_timeout(
    simulator: &RunningK3Cloud,
    mode: AuthMode,
    timeout: Duration,
) -> K3CloudClient {
    let mut raw = raw_config(simulator, mode);
    raw.request_timeout_ms = timeout.as_millis() as u64;
    raw.connect_timeout_ms = raw.request_timeout_ms.min(raw.connect_timeout_ms);
    client_from(&raw)
}

/// Builds a payment bill that passes every rule of the simulator's reference base
/// data: an employee payee and two wire-transfer rows paid from our bank account.
pub fn paybill(bill_no: &str) -> Value {
    paybill_with_cost_item(bill_no, "FYXM001")
}

/// Builds the bill of [`paybill`] with `cost_item` as the expense item (`FCOSTID`) of
/// its first row.
pub fn paybill_with_cost_item(bill_no: &str, cost_item: &str) -> Value {
    json!({
        "FPAYORGID": {"FNumber": "100"},
        "FSETTLEORGID": {"FNumber": "100"},
        "FBillNo": bill_no,
        "FBillTypeID": {"FNUMBER": "FKDLX02_SYS"},
        "FDATE": "2026-11-04",
        "FCONTACTUNITTYPE": "BD_Empinfo",
        "FCONTACTUNIT": {"FNumber": "EMP001"},
        "FRECTUNITTYPE": "BD_Empinfo",
        "FRECTUNIT": {"FNumber": "EMP001"},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FDepartment": {"FNumber": "BM001"},
        "FREMARK": "办公用品报销",
        "FPAYBILLENTRY": [
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": 120.50,
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": cost_item},
                "FCOMMENT": "打印纸"
            },
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": 1280.00,
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": "FYXM002"}
            }
        ]
    })
}

/// Returns the numbers of every bill the simulator holds, sorted, duplicates kept.
pub fn stored_numbers(simulator: &RunningK3Cloud) -> Vec<String> {
    let mut numbers: Vec<String> = simulator
        .handle()
        .bills()
        .into_iter()
        .map(|bill| bill.number)
        .collect();
    numbers.sort();
    numbers
}

/// Asserts that the simulator contains exactly the bills `expected`, each once.
#[track_caller]
pub fn assert_stored(simulator: &RunningK3Cloud, expected: &[&str], case: &str) {
    let mut expected: Vec<String> = expected.iter().map(|number| number.to_string()).collect();
    expected.sort();
    assert_eq!(
        stored_numbers(simulator),
        expected,
        "{case}: the simulator must hold each expected bill exactly once"
    );
}

/// Returns how many calls of `operation` the simulator counted, whatever their outcome.
pub fn calls(simulator: &RunningK3Cloud, operation: &str) -> u64 {
    simulator.handle().stats().total(operation)
}
