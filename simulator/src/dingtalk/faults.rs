//! Fault injection: latency, server errors, each throttling shape, quota exhaustion,
//! a missing permission and a repeated listing cursor.
//!
//! A plan contains a latency and an ordered list of rules. For each call, the first rule
//! that covers the API and fires decides the fault. A rule fires on every call, with a
//! probability (`rate`, drawn from a seedable generator), or on the next N calls
//! (`next`), after which it is removed. A rule with `until_token_refresh` is also
//! removed when the app fetches a token, as a permission that an administrator grants
//! reaches the app with its next token. By default a rule covers the six business
//! APIs; the two token endpoints only when listed in `apis`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// An endpoint of the simulator, as counted and as named in fault rules.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `GET /gettoken`.
    Gettoken,
    /// `POST /topapi/processinstance/listids`.
    Listids,
    /// `POST /topapi/processinstance/get`.
    Get,
    /// `POST /topapi/process/instance/comment/add`.
    CommentAdd,
    /// `POST /v1.0/oauth2/accessToken`.
    AccessToken,
    /// `POST /v1.0/workflow/processes/instanceIds/query`.
    InstanceIdsQuery,
    /// `GET /v1.0/workflow/processInstances`.
    ProcessInstance,
    /// `POST /v1.0/workflow/processInstances/comments`.
    Comments,
}

impl Api {
    /// Reports whether this is a token endpoint, exempt from quotas and, by default,
    /// from faults.
    pub fn is_token(self) -> bool {
        matches!(self, Api::Gettoken | Api::AccessToken)
    }

    /// Reports whether this endpoint lists instance ids.
    pub fn is_listing(self) -> bool {
        matches!(self, Api::Listids | Api::InstanceIdsQuery)
    }
}

/// Effect of a firing rule on the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 5xx (`status`, default 503).
    ServerError,
    /// oapi `errcode` -1 系统繁忙; v1.0 HTTP 500 `systemError`.
    SystemBusy,
    /// oapi 88/`sub_code` 90018; v1.0 HTTP 403 `QpsLimitForAppkeyAndApi`.
    QpsLimit,
    /// oapi 90002; v1.0 HTTP 403 `QpsLimitForApi`.
    ApiDisabled,
    /// The app's per-minute limit on one API: oapi 90006; v1.0 HTTP 403
    /// `QpmLimitForAppkeyAndApi`.
    QpmLimit,
    /// The organisation's per-minute limit on one API: oapi 90005; v1.0 HTTP 403
    /// `QpmLimitForAppkeyAndApi`.
    OrgQpmLimit,
    /// The per-IP ban as an HTML page.
    IpBanHtml,
    /// The per-IP ban as `{"status":1111,"wait":5,…}`.
    IpBanJson,
    /// oapi 90020; v1.0 HTTP 403 `ApiCountLimitForOrg`.
    QuotaExhausted,
    /// The listing returns the request's own cursor as the next cursor.
    RepeatCursor,
    /// The app lacks the API's permission: oapi 88/`sub_code` 60011; v1.0 HTTP 403
    /// `AccessTokenPermissionDenied`.
    PermissionDenied,
}

impl FaultKind {
    /// Reports whether the fault is a throttling reply, the only kind that may carry a
    /// `Retry-After` header.
    pub fn is_throttling(self) -> bool {
        matches!(
            self,
            FaultKind::QpsLimit
                | FaultKind::ApiDisabled
                | FaultKind::QpmLimit
                | FaultKind::OrgQpmLimit
                | FaultKind::IpBanHtml
                | FaultKind::IpBanJson
        )
    }
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaultRule {
    /// Effect of the fault.
    pub kind: FaultKind,
    /// Probability per covered call, 0–1, ignored when `next` is set. With neither
    /// `rate` nor `next` the rule fires on every covered call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Number of covered calls still to hit; the rule is removed at 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u32>,
    /// APIs the rule covers; default the six business APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apis: Option<Vec<Api>>,
    /// HTTP status of `server_error`, 500–599.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds sent in a `Retry-After` header; throttling kinds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// Whether the app's next token fetch removes the rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub until_token_refresh: bool,
}

impl FaultRule {
    /// Creates a rule that fires on every covered call.
    pub fn always(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            rate: None,
            next: None,
            apis: None,
            status: None,
            retry_after_seconds: None,
            until_token_refresh: false,
        }
    }

    /// Creates a rule that fires on the next `count` covered calls.
    pub fn next(kind: FaultKind, count: u32) -> FaultRule {
        FaultRule {
            next: Some(count),
            ..FaultRule::always(kind)
        }
    }

    /// Creates a rule that fires with probability `rate`.
    pub fn rate(kind: FaultKind, rate: f64) -> FaultRule {
        FaultRule {
            rate: Some(rate),
            ..FaultRule::always(kind)
        }
    }

    /// Restricts the rule to `apis`.
    pub fn on(mut self, apis: &[Api]) -> FaultRule {
        self.apis = Some(apis.to_vec());
        self
    }

    /// Sends `Retry-After: seconds` with the rule's throttling replies.
    pub fn with_retry_after(mut self, seconds: u64) -> FaultRule {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// Removes the rule at the app's next token fetch.
    pub fn until_token_refresh(mut self) -> FaultRule {
        self.until_token_refresh = true;
        self
    }

    /// Returns an error message when a field is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!(
                "rate is {rate}, expected a probability from 0 to 1"
            ));
        }
        if let Some(status) = self.status
            && !(500..=599).contains(&status)
        {
            return Err(format!("status is {status}, expected 500 to 599"));
        }
        if self.retry_after_seconds.is_some() && !self.kind.is_throttling() {
            return Err(format!(
                "retry_after_seconds is set on {:?}, but only throttling kinds send Retry-After",
                self.kind
            ));
        }
        Ok(())
    }

    fn covers(&self, api: Api) -> bool {
        match &self.apis {
            Some(apis) => apis.contains(&api),
            None => !api.is_token(),
        }
    }
}

/// Delay added to every call: `fixed_ms` plus a uniform 0..=`jitter_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Constant part in milliseconds.
    #[serde(default)]
    pub fixed_ms: u64,
    /// Largest random addition in milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
}

/// Latency and fault rules, as set through the admin API or the command line.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaultPlan {
    /// Delay of every call, token endpoints included.
    #[serde(default)]
    pub latency: Latency,
    /// Rules in priority order.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Seed of the generator behind `rate` and jitter; absent means seed 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FaultPlan {
    /// Returns an error message naming the first invalid rule.
    pub fn validate(&self) -> Result<(), String> {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|problem| format!("rules[{index}]: {problem}"))?;
        }
        Ok(())
    }
}

/// A fault plan in force, with its random generator.
#[derive(Debug)]
pub struct FaultState {
    plan: FaultPlan,
    rng: StdRng,
}

/// The fault chosen for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// Effect of the fault.
    pub kind: FaultKind,
    /// HTTP status for `server_error`.
    pub status: u16,
    /// Seconds of the `Retry-After` header, when the rule sends one.
    pub retry_after_seconds: Option<u64>,
}

impl FaultState {
    /// Puts `plan` in force, seeding its generator.
    pub fn new(plan: FaultPlan) -> FaultState {
        let rng = StdRng::seed_from_u64(plan.seed.unwrap_or(0));
        FaultState { plan, rng }
    }

    /// Returns the plan in force, with `next` counts as they stand.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Appends a rule.
    pub fn push(&mut self, rule: FaultRule) {
        self.plan.rules.push(rule);
    }

    /// Removes the rules that last until the next token fetch; returns how many.
    pub fn clear_until_token_refresh(&mut self) -> usize {
        let before = self.plan.rules.len();
        self.plan.rules.retain(|rule| !rule.until_token_refresh);
        before - self.plan.rules.len()
    }

    /// Draws the delay for one call.
    pub fn delay(&mut self) -> Duration {
        let Latency {
            fixed_ms,
            jitter_ms,
        } = self.plan.latency;
        let jitter = if jitter_ms == 0 {
            0
        } else {
            self.rng.random_range(0..=jitter_ms)
        };
        Duration::from_millis(fixed_ms + jitter)
    }

    /// Chooses the fault for a call to `api`, consuming one use of a `next` rule.
    ///
    /// `repeat_cursor` rules only cover listing APIs, whatever `apis` lists.
    pub fn fire(&mut self, api: Api) -> Option<Fired> {
        let mut chosen = None;
        for rule in self.plan.rules.iter_mut() {
            if !rule.covers(api) || (rule.kind == FaultKind::RepeatCursor && !api.is_listing()) {
                continue;
            }
            let fires = match (rule.next, rule.rate) {
                (Some(0), _) => false,
                (Some(_), _) => true,
                (None, Some(rate)) => self.rng.random_bool(rate),
                (None, None) => true,
            };
            if fires {
                if let Some(left) = rule.next.as_mut() {
                    *left -= 1;
                }
                chosen = Some(Fired {
                    kind: rule.kind,
                    status: rule.status.unwrap_or(503),
                    retry_after_seconds: rule.retry_after_seconds,
                });
                break;
            }
        }
        self.plan.rules.retain(|rule| rule.next != Some(0));
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_rule_fires_exactly_n_times() {
        let mut state = FaultState::new(FaultPlan {
            rules: vec![FaultRule::next(FaultKind::QpsLimit, 2)],
            ..FaultPlan::default()
        });
        assert!(state.fire(Api::Listids).is_some(), "first call");
        assert!(state.fire(Api::Get).is_some(), "second call");
        assert_eq!(state.fire(Api::Get), None, "third call passes");
        assert!(state.plan().rules.is_empty(), "spent rule removed");
    }

    #[test]
    fn rules_skip_token_endpoints_by_default() {
        let mut state = FaultState::new(FaultPlan {
            rules: vec![FaultRule::always(FaultKind::ServerError)],
            ..FaultPlan::default()
        });
        assert_eq!(state.fire(Api::Gettoken), None, "token endpoint exempt");
        let listed = FaultRule::always(FaultKind::ServerError).on(&[Api::Gettoken]);
        let mut state = FaultState::new(FaultPlan {
            rules: vec![listed],
            ..FaultPlan::default()
        });
        assert!(state.fire(Api::Gettoken).is_some(), "listed token endpoint");
    }

    #[test]
    fn rate_rule_is_reproducible_per_seed() {
        let plan = FaultPlan {
            rules: vec![FaultRule::rate(FaultKind::ServerError, 0.3)],
            seed: Some(42),
            ..FaultPlan::default()
        };
        let draw = |plan: &FaultPlan| {
            let mut state = FaultState::new(plan.clone());
            (0..200)
                .map(|_| state.fire(Api::Get).is_some())
                .collect::<Vec<_>>()
        };
        let first = draw(&plan);
        assert_eq!(first, draw(&plan), "same seed, same faults");
        let hits = first.iter().filter(|hit| **hit).count();
        assert!(
            (30..90).contains(&hits),
            "about 30 % of 200 calls, got {hits}"
        );
    }

    #[test]
    fn repeat_cursor_only_hits_listing() {
        let mut state = FaultState::new(FaultPlan {
            rules: vec![FaultRule::next(FaultKind::RepeatCursor, 1)],
            ..FaultPlan::default()
        });
        assert_eq!(state.fire(Api::Get), None, "detail calls are not listings");
        let fired = state.fire(Api::InstanceIdsQuery).map(|fired| fired.kind);
        assert_eq!(fired, Some(FaultKind::RepeatCursor));
    }

    #[test]
    fn token_refresh_clears_marked_rules() {
        let mut state = FaultState::new(FaultPlan {
            rules: vec![
                FaultRule::always(FaultKind::PermissionDenied).until_token_refresh(),
                FaultRule::always(FaultKind::ServerError),
            ],
            ..FaultPlan::default()
        });
        assert_eq!(
            state.fire(Api::Get).map(|fired| fired.kind),
            Some(FaultKind::PermissionDenied),
            "the first rule fires before the fetch"
        );
        assert_eq!(state.clear_until_token_refresh(), 1, "one marked rule");
        assert_eq!(
            state.fire(Api::Get).map(|fired| fired.kind),
            Some(FaultKind::ServerError),
            "the unmarked rule stays"
        );
    }

    #[test]
    fn retry_after_travels_with_fault() {
        let mut state = FaultState::new(FaultPlan {
            rules: vec![FaultRule::next(FaultKind::QpmLimit, 1).with_retry_after(3)],
            ..FaultPlan::default()
        });
        let fired = state.fire(Api::Listids).expect("the rule fires");
        assert_eq!(fired.retry_after_seconds, Some(3));
    }

    #[test]
    fn retry_after_only_on_throttling() {
        let rule = FaultRule::always(FaultKind::QuotaExhausted).with_retry_after(3);
        assert!(rule.validate().is_err(), "quota errors send no Retry-After");
        let rule = FaultRule::always(FaultKind::IpBanHtml).with_retry_after(3);
        assert!(rule.validate().is_ok(), "the ban page may");
    }

    #[test]
    fn new_rule_fields_read_from_json() {
        let rule: FaultRule = serde_json::from_value(serde_json::json!({
            "kind": "permission_denied",
            "until_token_refresh": true
        }))
        .unwrap();
        assert!(rule.until_token_refresh);
        let rule: FaultRule = serde_json::from_value(serde_json::json!({
            "kind": "org_qpm_limit",
            "retry_after_seconds": 2
        }))
        .unwrap();
        assert_eq!(rule.kind, FaultKind::OrgQpmLimit);
        assert_eq!(rule.retry_after_seconds, Some(2));
        let written = serde_json::to_value(FaultRule::always(FaultKind::QpmLimit)).unwrap();
        assert_eq!(
            written,
            serde_json::json!({"kind": "qpm_limit"}),
            "unset fields are left out"
        );
    }

    #[test]
    fn validate_rejects_bad_rate() {
        let plan = FaultPlan {
            rules: vec![FaultRule::rate(FaultKind::QpsLimit, 1.5)],
            ..FaultPlan::default()
        };
        let problem = plan.validate().expect_err("rate 1.5");
        assert!(problem.starts_with("rules[0]"), "{problem}");
    }
}
