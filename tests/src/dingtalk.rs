//! Helpers for tests that drive the DingTalk client against the in-process simulator.
//!
//! The simulator serves both API generations on one address, so both base URLs of the
//! client point at it. Clients built here retry after 10 ms instead of a second and
//! pace at 500 calls per second, so fault tests finish quickly. The simulator enforces
//! no rate of its own unless a fault rule injects throttling.

use chrono::{DateTime, Days, Utc};
use dingk3::dingtalk::{DingTalkClient, DingTalkSettings, RawDingTalkConfig};
use dingk3_simulator::dingtalk::{
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DingTalkOptions, DingTalkSimulator, RunningDingTalk,
};
use secrecy::SecretString;
use serde_json::json;

pub use dingk3_simulator::dingtalk::DEFAULT_PROCESS_CODE as PROCESS_CODE;

/// The two API generations, as written in `dingtalk.api`.
pub const GENERATIONS: [&str; 2] = ["topapi", "v1"];

/// Starts a simulator with `generate` claims from a fixed seed.
pub async fn start_simulator(generate: usize) -> RunningDingTalk {
    start_simulator_with(DingTalkOptions {
        generate,
        seed: 7,
        ..DingTalkOptions::default()
    })
    .await
}

/// Starts a simulator with explicit options.
pub async fn start_simulator_with(options: DingTalkOptions) -> RunningDingTalk {
    DingTalkSimulator::start(options)
        .await
        .expect("the DingTalk simulator starts on 127.0.0.1:0")
}

/// Returns settings of a client for `api` (`topapi` or `v1`) pointed at `simulator`,
/// with the simulator's credentials and fast retries.
pub fn settings(simulator: &RunningDingTalk, api: &str) -> DingTalkSettings {
    let base_url = simulator.base_url();
    RawDingTalkConfig {
        api: api.to_string(),
        oapi_base_url: base_url.clone(),
        api_base_url: base_url,
        app_key: DEFAULT_APP_KEY.to_string(),
        app_secret: Some(SecretString::from(DEFAULT_APP_SECRET)),
        rate_limit_per_second: 500,
        request_timeout_ms: 10_000,
        connect_timeout_ms: 2_000,
        comment_userid: Some("finance-bot".to_string()),
        retry_attempts: 4,
        retry_initial_delay_ms: 10,
        retry_max_delay_ms: 2_000,
        ..RawDingTalkConfig::default()
    }
    .validate()
    .expect("the test client settings are valid")
}

/// Builds a client from `settings`.
pub fn client_from(settings: DingTalkSettings) -> DingTalkClient {
    DingTalkClient::new(settings).expect("the client builds")
}

/// Builds a client for `api` pointed at `simulator`.
pub fn client(simulator: &RunningDingTalk, api: &str) -> DingTalkClient {
    client_from(settings(simulator, api))
}

/// Returns a listing window that covers every generated claim: 90 days back to a
/// minute from now.
pub fn recent_window() -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    (now - Days::new(90), now + chrono::TimeDelta::minutes(1))
}

/// Adds a running instance created at `created` (Beijing wall clock,
/// `yyyy-MM-dd HH:mm:ss`) and returns its id.
pub fn add_instance_created_at(simulator: &RunningDingTalk, id: &str, created: &str) -> String {
    let raw = json!({
        "title": "测试用户提交的费用报销",
        "business_id": "202601010000000000001",
        "originator_userid": "user-1001",
        "originator_dept_id": "-1",
        "originator_dept_name": "财务部",
        "status": "RUNNING",
        "result": "",
        "create_time": created,
        "form_component_values": [],
        "operation_records": [],
        "tasks": [],
    });
    simulator
        .handle()
        .add_topapi(id, None, &raw, None)
        .expect("the simulator accepts the instance");
    id.to_string()
}
