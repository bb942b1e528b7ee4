//! The simulator's mutable state and the handle that tests and handlers share.
//!
//! One mutex guards everything: instances, recorded comments, call counters, the
//! fault plan and tokens. Handlers never hold it across an `.await`, and every
//! operation is a short in-memory update, so contention stays negligible at the call
//! rates DingTalk allows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Timelike, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::catalogue;
use super::errors::{Failure, Generation};
use super::faults::{Api, FaultPlan, FaultRule, FaultState, Fired};
use super::lifecycle::{self, StatusChange};
use super::listing::{self, ListPage, ListQuery};
use super::model::Instance;
use super::time;
use super::tokens::{TokenPolicy, TokenStore};
use super::truth::{Expected, GroundTruth};

/// Source of an instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A case file, by name without `.json`.
    Case {
        /// File name stem.
        name: String,
    },
    /// The claim generator.
    Generated {
        /// Seed of the batch.
        seed: u64,
    },
    /// The admin API or the library handle.
    Added,
}

/// An instance with what tests need to know about it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The instance as served.
    pub instance: Instance,
    /// Expected outcome once the instance is approved, when known.
    pub outcome_if_approved: Option<Expected>,
    /// Content of the case's `*.expected.json`, for instances loaded from files.
    pub case_expected: Option<Value>,
    /// Source of the instance.
    pub origin: Origin,
}

impl Entry {
    /// Returns the truth for the instance's current status.
    pub fn truth(&self) -> GroundTruth {
        GroundTruth::of(&self.instance, self.outcome_if_approved.as_ref())
    }
}

/// A comment received through either comment endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommentRecord {
    /// Instance commented on.
    pub process_instance_id: String,
    /// Comment text.
    pub text: String,
    /// Commenter's userid.
    pub comment_user_id: String,
    /// When it arrived, Beijing time `yyyy-MM-dd HH:mm:ss`.
    pub time: String,
    /// Endpoint that received it.
    pub api: Api,
}

/// Settings fixed for the life of a simulator.
#[derive(Debug)]
pub struct Config {
    /// Accepted app key.
    pub app_key: String,
    /// Accepted app secret.
    pub app_secret: SecretString,
    /// Process code of loaded and generated instances; always a known template.
    pub process_code: String,
    /// Whether the last v1.0 page carries `"nextToken": ""` instead of no key.
    pub v1_empty_next_token: bool,
    /// Whether the organisation has OA 高级版, whose v1.0 listing reaches five years
    /// back instead of 365 days.
    pub premium: bool,
}

/// State that `reset` restores.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Instances present at start.
    pub entries: Vec<Entry>,
    /// Fault plan at start.
    pub faults: FaultPlan,
    /// Token policy at start.
    pub tokens: TokenPolicy,
    /// Days the loaded cases were shifted by.
    pub shift_days: i64,
}

struct State {
    entries: BTreeMap<String, Entry>,
    comments: Vec<CommentRecord>,
    counters: BTreeMap<Api, u64>,
    faults: FaultState,
    tokens: TokenStore,
    token_policy: TokenPolicy,
}

struct Shared {
    config: Config,
    baseline: Baseline,
    state: Mutex<State>,
}

/// Cloneable access to a running simulator's state.
#[derive(Clone)]
pub struct DingTalkHandle {
    shared: Arc<Shared>,
}

/// An admin request that cannot be carried out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdminError {
    /// No instance has the id.
    #[error("no instance has id {0}")]
    NotFound(String),
    /// An instance with the id exists already.
    #[error("an instance with id {0} exists already")]
    Duplicate(String),
    /// The request is invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
}

fn beijing_now() -> NaiveDateTime {
    let now = time::to_beijing(Utc::now());
    now.with_nanosecond(0).unwrap_or(now)
}

impl DingTalkHandle {
    /// Creates the state from its fixed settings and starting content.
    pub fn new(config: Config, baseline: Baseline) -> DingTalkHandle {
        let state = State {
            entries: BTreeMap::new(),
            comments: Vec::new(),
            counters: BTreeMap::new(),
            faults: FaultState::new(baseline.faults.clone()),
            tokens: TokenStore::default(),
            token_policy: baseline.tokens.clone(),
        };
        let handle = DingTalkHandle {
            shared: Arc::new(Shared {
                config,
                baseline,
                state: Mutex::new(state),
            }),
        };
        handle.reset();
        handle
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still usable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the fixed settings.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Returns the days the loaded cases were shifted by (0 without `--shift-dates`).
    pub fn shift_days(&self) -> i64 {
        self.shared.baseline.shift_days
    }

    /// Restores the starting instances, fault plan and token policy, and clears
    /// comments, counters and tokens.
    pub fn reset(&self) {
        let baseline = &self.shared.baseline;
        let mut state = self.lock();
        state.entries = baseline
            .entries
            .iter()
            .map(|entry| (entry.instance.process_instance_id.clone(), entry.clone()))
            .collect();
        state.comments.clear();
        state.counters.clear();
        state.faults = FaultState::new(baseline.faults.clone());
        state.tokens.clear();
        state.token_policy = baseline.tokens.clone();
    }

    /// Adds an instance; its id must be new.
    pub fn add(&self, entry: Entry) -> Result<(), AdminError> {
        let id = entry.instance.process_instance_id.clone();
        if id.is_empty() {
            return Err(AdminError::Invalid(
                "process_instance_id is empty".to_string(),
            ));
        }
        let mut state = self.lock();
        if state.entries.contains_key(&id) {
            return Err(AdminError::Duplicate(id));
        }
        state.entries.insert(id, entry);
        Ok(())
    }

    /// Changes an instance's status, for example approving a claim days after it was
    /// filed.
    pub fn change_status(&self, id: &str, change: &StatusChange) -> Result<(), AdminError> {
        let mut state = self.lock();
        let entry = state
            .entries
            .get_mut(id)
            .ok_or_else(|| AdminError::NotFound(id.to_string()))?;
        let mut updated = entry.instance.clone();
        lifecycle::apply_status(&mut updated, change, beijing_now())
            .map_err(AdminError::Invalid)?;
        entry.instance = updated;
        Ok(())
    }

    /// Returns every instance, ordered by id.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.values().cloned().collect()
    }

    /// Returns one instance.
    pub fn entry(&self, id: &str) -> Option<Entry> {
        self.lock().entries.get(id).cloned()
    }

    /// Returns the comments received so far, oldest first.
    pub fn comments(&self) -> Vec<CommentRecord> {
        self.lock().comments.clone()
    }

    /// Returns the number of calls per endpoint, failed ones included.
    pub fn counters(&self) -> BTreeMap<Api, u64> {
        self.lock().counters.clone()
    }

    /// Returns how many distinct tokens were issued since the last reset.
    pub fn tokens_issued(&self) -> u64 {
        self.lock().tokens.issued()
    }

    /// Returns the fault plan in force.
    pub fn faults(&self) -> FaultPlan {
        self.lock().faults.plan().clone()
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), AdminError> {
        plan.validate().map_err(AdminError::Invalid)?;
        self.lock().faults = FaultState::new(plan);
        Ok(())
    }

    /// Appends a fault rule.
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), AdminError> {
        rule.validate().map_err(AdminError::Invalid)?;
        self.lock().faults.push(rule);
        Ok(())
    }

    /// Removes every fault rule and the latency.
    pub fn clear_faults(&self) {
        self.lock().faults = FaultState::new(FaultPlan::default());
    }

    /// Returns the token policy in force.
    pub fn token_policy(&self) -> TokenPolicy {
        self.lock().token_policy.clone()
    }

    /// Replaces the token policy.
    pub fn set_token_policy(&self, policy: TokenPolicy) -> Result<(), AdminError> {
        policy.validate().map_err(AdminError::Invalid)?;
        self.lock().token_policy = policy;
        Ok(())
    }

    /// Expires every token now, so the next business call fails as with an expired
    /// token and the next fetch issues a new one.
    pub fn expire_tokens(&self) {
        self.lock().tokens.expire_all(Instant::now());
    }

    /// Counts a call and draws its delay and fault.
    pub(crate) fn begin_call(&self, api: Api) -> (Duration, Option<Fired>) {
        let mut state = self.lock();
        *state.counters.entry(api).or_default() += 1;
        let delay = state.faults.delay();
        let fired = state.faults.fire(api);
        (delay, fired)
    }

    /// Issues the app's token when the credentials match.
    pub(crate) fn issue_token(&self, app_key: &str, app_secret: &str) -> Result<String, Failure> {
        let config = &self.shared.config;
        if app_key != config.app_key || app_secret != config.app_secret.expose_secret() {
            return Err(catalogue::bad_credentials());
        }
        let mut state = self.lock();
        let lifetime = Duration::from_secs(state.token_policy.lifetime_seconds);
        let cleared = state.faults.clear_until_token_refresh();
        if cleared > 0 {
            tracing::info!(
                cleared,
                "token fetch removed faults that last until a refresh"
            );
        }
        Ok(state.tokens.issue(app_key, lifetime, Instant::now()))
    }

    /// Accepts a current token or returns the failure the policy prescribes.
    pub(crate) fn check_token(&self, token: Option<&str>) -> Result<(), Failure> {
        let Some(token) = token.filter(|token| !token.is_empty()) else {
            return Err(Failure::token_missing());
        };
        let state = self.lock();
        if state.tokens.is_valid(token, Instant::now()) {
            return Ok(());
        }
        let policy = &state.token_policy;
        Err(Failure::token_invalid(policy.oapi_shape, policy.v1_status))
    }

    /// Serves one listing page of `generation`'s list API; `repeat_cursor` returns the
    /// request's cursor as the next cursor.
    pub(crate) fn list(
        &self,
        query: &ListQuery,
        repeat_cursor: bool,
        generation: Generation,
    ) -> Result<ListPage, Failure> {
        let Some(process_code) = query
            .process_code
            .as_deref()
            .filter(|code| !code.is_empty())
        else {
            return Err(catalogue::missing_parameter(
                "process_code",
                "invalidProcessCode",
                "审批模板processCode不能为空",
            ));
        };
        // The five-year reach of OA 高级版 is documented for the v1.0 query only.
        let lookback = match generation {
            Generation::V1 if self.shared.config.premium => listing::PREMIUM_LOOKBACK_MILLIS,
            _ => listing::MAX_LOOKBACK_MILLIS,
        };
        let window =
            listing::validate_with_lookback(query, Utc::now().timestamp_millis(), lookback)?;
        let state = self.lock();
        let known: BTreeSet<&str> = state
            .entries
            .values()
            .map(|entry| entry.instance.process_code.as_str())
            .chain([self.shared.config.process_code.as_str()])
            .collect();
        if !known.contains(process_code) {
            return Err(catalogue::unknown_process_code());
        }
        let instances = state.entries.values().map(|entry| &entry.instance);
        let mut page = listing::page(instances, process_code, query, window);
        if repeat_cursor {
            page.next_cursor = Some(query.cursor);
        }
        Ok(page)
    }

    /// Returns the instance for a detail call.
    pub(crate) fn instance_for_detail(&self, id: &str) -> Result<Instance, Failure> {
        self.lock()
            .entries
            .get(id)
            .map(|entry| entry.instance.clone())
            .ok_or_else(catalogue::instance_not_found)
    }

    /// Records a comment and appends its `ADD_REMARK` record to the instance.
    pub(crate) fn comment(
        &self,
        id: &str,
        text: &str,
        user: &str,
        api: Api,
    ) -> Result<(), Failure> {
        let now = beijing_now();
        let mut state = self.lock();
        let entry = state
            .entries
            .get_mut(id)
            .ok_or_else(catalogue::comment_instance_not_found)?;
        lifecycle::add_comment(&mut entry.instance, text, user, now)?;
        state.comments.push(CommentRecord {
            process_instance_id: id.to_string(),
            text: text.to_string(),
            comment_user_id: user.to_string(),
            time: time::format_topapi(now),
            api,
        });
        Ok(())
    }
}
