//! The ledger claim of each candidate: only the holder of an instance's lease writes
//! its bill. Candidates that need no write are settled here.

use chrono::{DateTime, Utc};
use dingk3::ledger::{Claim, ClaimRequest, LedgerError};
use dingk3::mapping::MappedBill;
use tracing::{info, warn};

use crate::metrics::WRITE_FAILURES;
use crate::worker::inspect::{Candidate, Plan};
use crate::worker::item::Item;
use crate::worker::outcome::{Outcome, RetryCause};
use crate::worker::settle::{LedgerMark, Settler};

/// A message whose lease this consumer holds and whose bill is to be written.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// The delivery.
    pub(crate) item: Item,

    /// The bill to write.
    pub(crate) bill: MappedBill,

    /// When the lease ends.
    pub(crate) until: DateTime<Utc>,
}

/// Claims every candidate with one ledger call; returns those whose bill is to be
/// written and settles the others.
pub(crate) async fn claim_all(settler: &Settler, candidates: Vec<Candidate>) -> Vec<Claimed> {
    let shared = &settler.shared;
    let mut reserved = Vec::with_capacity(candidates.len());
    for mut candidate in candidates {
        let id = candidate.summary.process_instance_id.as_str();
        match shared.reserve(id) {
            Some(reservation) => {
                candidate.item.reservation = Some(reservation);
                reserved.push(candidate);
            }
            None => {
                // Another batch of this process has the same instance: the ledger would
                // grant the lease to this process twice, so this copy waits in a retry
                // queue.
                settler
                    .retry_later(candidate.item, "another batch of this consumer")
                    .await;
            }
        }
    }
    if reserved.is_empty() {
        return Vec::new();
    }

    let owner = &shared.settings.consumer_id;
    let results = {
        let requests: Vec<ClaimRequest<'_>> = reserved
            .iter()
            .map(|candidate| ClaimRequest {
                process_instance_id: &candidate.summary.process_instance_id,
                summary_if_missing: Some(&candidate.summary),
            })
            .collect();
        shared.ledger.claim_all(&requests, owner, Utc::now()).await
    };

    let mut claimed = Vec::with_capacity(reserved.len());
    match results {
        Ok(results) => {
            for (candidate, result) in reserved.into_iter().zip(results) {
                if let Some(ready) = settle_claim(settler, candidate, result.as_ref()).await {
                    claimed.push(ready);
                }
            }
        }
        Err(failure) => {
            for candidate in reserved {
                settle_claim(settler, candidate, Err(&failure)).await;
            }
        }
    }
    claimed
}

/// Settles one candidate by the result of its ledger claim.
async fn settle_claim(
    settler: &Settler,
    candidate: Candidate,
    claim: Result<&Claim, &LedgerError>,
) -> Option<Claimed> {
    let Candidate {
        mut item,
        summary,
        plan,
    } = candidate;
    let id = summary.process_instance_id;
    let claim = match claim {
        Ok(claim) => claim.clone(),
        Err(failure) => {
            WRITE_FAILURES.with_label_values(&["ledger"]).inc();
            warn!(process_instance_id = %id, business_id = item.ids.business(), error = %failure, "ledger claim failed");
            let cause = RetryCause::new("ledger", format!("the ledger claim failed: {failure}"));
            settler.retry(item, cause).await;
            return None;
        }
    };

    match claim {
        Claim::Claimed { attempts, until } => {
            item.claimed = true;
            match plan {
                Plan::Write(bill) => Some(Claimed { item, bill, until }),
                Plan::Reject(dead) => {
                    let attempt = item.headers.attempt;
                    info!(process_instance_id = %id, attempts, "approval rejected by the mapping");
                    settler
                        .dead_letter(item, dead, attempt, Some(LedgerMark::Rejected))
                        .await;
                    None
                }
            }
        }
        Claim::AlreadySaved { bill_no, k3_id } => {
            info!(process_instance_id = %id, business_id = item.ids.business(), bill_no = %bill_no, k3_id = %k3_id, "approval already saved; duplicate message acked");
            settler.ack(item, Outcome::Duplicate).await;
            None
        }
        Claim::HeldByOther { owner, until } => {
            info!(process_instance_id = %id, holder = %owner, until = %until, "approval leased by another consumer; sent to a retry queue");
            settler.retry_later(item, &owner).await;
            None
        }
        Claim::Terminal { status } => {
            info!(process_instance_id = %id, business_id = item.ids.business(), status = %status, "approval already finished in the ledger; duplicate message acked");
            settler.ack(item, Outcome::Duplicate).await;
            None
        }
    }
}
