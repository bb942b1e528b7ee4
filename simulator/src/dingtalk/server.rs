//! Starting and stopping the DingTalk simulator.
//!
//! One axum server serves the paths of both real hosts (`oapi.dingtalk.com` and
//! `api.dingtalk.com`) and the `/__sim/` admin API on a single address, so a client
//! configured with the same base URL for both generations reaches everything.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::FaultPlan;
use super::generator;
use super::loader::{self, LoadError};
use super::shift;
use super::state::{Baseline, Config, DingTalkHandle, Entry, Origin};
use super::tokens::TokenPolicy;
use super::{admin, routes_oapi, routes_v1};

/// App key accepted unless configured otherwise.
pub const DEFAULT_APP_KEY: &str = "dingsimulatorappkey";
/// App secret accepted unless configured otherwise.
pub const DEFAULT_APP_SECRET: &str = "dingsimulator-app-secret";
/// Template code of the reference expense-claim cases.
pub const DEFAULT_PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

/// Everything a simulator starts with.
#[derive(Debug)]
pub struct DingTalkOptions {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Accepted app key.
    pub app_key: String,
    /// Accepted app secret.
    pub app_secret: SecretString,
    /// Template code of loaded and generated instances.
    pub process_code: String,
    /// Directory of cases to load (`NAME.json` with `NAME.expected.json`).
    pub instances_dir: Option<PathBuf>,
    /// Whether to move loaded cases so the newest finish time is within the last day.
    pub shift_dates: bool,
    /// Number of claims to generate at start.
    pub generate: usize,
    /// Seed of the generated claims.
    pub seed: u64,
    /// Faults in force at start.
    pub faults: FaultPlan,
    /// Token lifetime and failure shapes at start.
    pub tokens: TokenPolicy,
    /// Whether the last v1.0 page carries `"nextToken": ""` instead of no key.
    pub v1_empty_next_token: bool,
    /// Whether to act as an OA 高级版 (premium) organisation, whose v1.0 listing
    /// accepts a start up to five years back.
    pub premium: bool,
}

impl Default for DingTalkOptions {
    fn default() -> Self {
        DingTalkOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            app_key: DEFAULT_APP_KEY.to_string(),
            app_secret: SecretString::from(DEFAULT_APP_SECRET),
            process_code: DEFAULT_PROCESS_CODE.to_string(),
            instances_dir: None,
            shift_dates: false,
            generate: 0,
            seed: 0,
            faults: FaultPlan::default(),
            tokens: TokenPolicy::default(),
            v1_empty_next_token: false,
            premium: false,
        }
    }
}

/// A simulator that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The cases cannot be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Two cases or claims share an instance id.
    #[error("instance id {0} appears twice")]
    DuplicateId(String),
    /// The start options are out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// Entry point of the library API.
pub struct DingTalkSimulator;

/// A simulator serving in the background of the current tokio runtime.
pub struct RunningDingTalk {
    address: SocketAddr,
    handle: DingTalkHandle,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl DingTalkSimulator {
    /// Loads and generates the starting instances, binds `options.listen` and serves.
    pub async fn start(options: DingTalkOptions) -> Result<RunningDingTalk, StartError> {
        options
            .faults
            .validate()
            .map_err(StartError::InvalidOption)?;
        options
            .tokens
            .validate()
            .map_err(StartError::InvalidOption)?;
        let (entries, shift_days) = starting_entries(&options)?;
        let config = Config {
            app_key: options.app_key,
            app_secret: options.app_secret,
            process_code: options.process_code,
            v1_empty_next_token: options.v1_empty_next_token,
            premium: options.premium,
        };
        let baseline = Baseline {
            entries,
            faults: options.faults,
            tokens: options.tokens,
            shift_days,
        };
        let handle = DingTalkHandle::new(config, baseline);

        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| StartError::Bind {
                address: options.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: options.listen,
            source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(handle.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(error = %error, "dingtalk simulator stopped with an error");
            }
        });
        tracing::info!(address = %address, shift_days, premium = options.premium, "dingtalk simulator listening");
        Ok(RunningDingTalk {
            address,
            handle,
            stop: Some(stop),
            task,
        })
    }
}

fn starting_entries(options: &DingTalkOptions) -> Result<(Vec<Entry>, i64), StartError> {
    let mut cases = match &options.instances_dir {
        Some(dir) => loader::load_cases(dir, &options.process_code)?,
        None => Vec::new(),
    };
    let mut shift_days = 0;
    if options.shift_dates {
        let instances: Vec<_> = cases.iter().map(|case| case.instance.clone()).collect();
        shift_days = shift::days_to_recent(&instances, Utc::now());
        for case in &mut cases {
            shift::shift_instance(&mut case.instance, shift_days);
        }
    }
    let mut entries: Vec<Entry> = cases
        .into_iter()
        .map(|case| Entry {
            instance: case.instance,
            outcome_if_approved: case.outcome_if_approved,
            case_expected: Some(case.case_expected),
            origin: Origin::Case { name: case.name },
        })
        .collect();
    let claims = generator::generate_claims(
        options.generate,
        options.seed,
        &options.process_code,
        Utc::now(),
    );
    entries.extend(claims.into_iter().map(|claim| Entry {
        instance: claim.instance,
        outcome_if_approved: Some(claim.outcome_if_approved),
        case_expected: None,
        origin: Origin::Generated { seed: options.seed },
    }));

    let mut seen = std::collections::HashSet::new();
    for entry in &entries {
        if !seen.insert(entry.instance.process_instance_id.as_str()) {
            return Err(StartError::DuplicateId(
                entry.instance.process_instance_id.clone(),
            ));
        }
    }
    Ok((entries, shift_days))
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/v1.0/") {
        routes_v1::unknown_path()
    } else {
        routes_oapi::unknown_path(path)
    }
}

fn router(handle: DingTalkHandle) -> Router {
    Router::new()
        .route(
            "/gettoken",
            get(routes_oapi::gettoken).post(routes_oapi::gettoken),
        )
        .route(
            "/topapi/processinstance/listids",
            post(routes_oapi::listids),
        )
        .route("/topapi/processinstance/get", post(routes_oapi::get))
        .route(
            "/topapi/process/instance/comment/add",
            post(routes_oapi::comment_add),
        )
        .route("/v1.0/oauth2/accessToken", post(routes_v1::access_token))
        .route(
            "/v1.0/workflow/processes/instanceIds/query",
            post(routes_v1::instance_ids_query),
        )
        .route(
            "/v1.0/workflow/processInstances",
            get(routes_v1::process_instance),
        )
        .route(
            "/v1.0/workflow/processInstances/comments",
            post(routes_v1::comments),
        )
        .route("/__sim/info", get(admin::info))
        .route(
            "/__sim/instances",
            get(admin::list_instances).post(admin::add_instance),
        )
        .route("/__sim/instances/{id}", get(admin::get_instance))
        .route("/__sim/instances/{id}/status", post(admin::change_status))
        .route("/__sim/generate", post(admin::generate))
        .route("/__sim/comments", get(admin::comments))
        .route("/__sim/counters", get(admin::counters))
        .route(
            "/__sim/faults",
            get(admin::get_faults)
                .put(admin::put_faults)
                .post(admin::add_fault)
                .delete(admin::clear_faults),
        )
        .route(
            "/__sim/tokens",
            get(admin::get_tokens).put(admin::put_tokens),
        )
        .route("/__sim/tokens/expire", post(admin::expire_tokens))
        .route("/__sim/reset", post(admin::reset))
        .fallback(fallback)
        .with_state(handle)
}

impl RunningDingTalk {
    /// Returns `http://ADDRESS` without a trailing slash; both generations' paths and
    /// `/__sim/` hang below it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns a handle to inspect and change the state while it serves.
    pub fn handle(&self) -> DingTalkHandle {
        self.handle.clone()
    }

    /// Stops accepting connections and waits for open requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(error) = (&mut self.task).await {
            tracing::error!(error = %error, "dingtalk simulator task failed");
        }
        tracing::info!(address = %self.address, "dingtalk simulator stopped");
    }
}
