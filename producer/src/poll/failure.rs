//! Logging, counting and reporting the errors of a poll, each with the same labels in
//! the log and the metrics.

use dingk3::dingtalk::DingTalkError;
use dingk3::i18n::{Localize, Text};
use dingk3::ledger::LedgerError;
use tracing::{error, warn};

use crate::metrics;
use crate::report::{PollOutcome, RouteReport};

/// Logs, counts and reports a DingTalk error of a poll.
pub(super) fn dingtalk_failure(
    report: &mut RouteReport,
    process_instance_id: Option<&str>,
    error: DingTalkError,
) {
    let kind = error.kind();
    let code = report.process_code.clone();
    metrics::POLL_ERRORS
        .with_label_values(&[code.as_str(), kind])
        .inc();
    let outcome = match &error {
        DingTalkError::Throttled { .. } => PollOutcome::Throttled,
        DingTalkError::QuotaExhausted { .. } => PollOutcome::QuotaExhausted,
        DingTalkError::Configuration { .. } => PollOutcome::Configuration,
        DingTalkError::RepeatedCursor { .. } => PollOutcome::Incomplete,
        _ if process_instance_id.is_some() => PollOutcome::Incomplete,
        _ => PollOutcome::Failed,
    };
    let id = process_instance_id.unwrap_or_default();
    match outcome {
        PollOutcome::QuotaExhausted | PollOutcome::Configuration => {
            error!(process_code = %code, process_instance_id = id, kind, %error, "dingtalk call failed");
        }
        _ => {
            warn!(process_code = %code, process_instance_id = id, kind, %error, "dingtalk call failed")
        }
    }
    report.fail(outcome, kind, process_instance_id, error.localize());
    if outcome == PollOutcome::Configuration {
        report.configuration_error = Some(error);
    }
}

/// Logs, counts and reports a ledger error of a poll.
pub(super) fn ledger_failure(
    report: &mut RouteReport,
    process_instance_id: Option<&str>,
    outcome: PollOutcome,
    error: &LedgerError,
) {
    let code = report.process_code.clone();
    metrics::POLL_ERRORS
        .with_label_values(&[code.as_str(), "ledger"])
        .inc();
    error!(process_code = %code, process_instance_id = process_instance_id.unwrap_or_default(), %error, "ledger operation failed during a poll");
    let message: Text = error.localize();
    report.fail(outcome, "ledger", process_instance_id, message);
}
