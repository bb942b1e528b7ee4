//! Claiming an instance before writing its bill.
//!
//! The claim is what prevents duplicate bills when a message is delivered twice or two
//! consumers receive copies of it. It is one conditional `UPDATE`. On PostgreSQL the
//! row lock orders concurrent claimers, and on SQLite the database write lock does, so
//! at most one consumer has an unexpired lease.

use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::AnyConnection;

use crate::ledger::connect::Ledger;
use crate::ledger::error::{LedgerError, database};
use crate::ledger::metrics;
use crate::ledger::model::{
    Claim, EventAction, InstanceRecord, InstanceSummary, Status, from_millis, to_millis,
};
use crate::ledger::rows::{
    NewEvent, fetch_record, fill_missing_summary, insert_event, insert_if_missing, lock_order,
};

/// How often a claim re-reads a row that changed between its `UPDATE` and its `SELECT`
/// before giving up with [`LedgerError::Contention`]. Only PostgreSQL can see such a
/// change, because a SQLite transaction holds the write lock throughout.
const CLAIM_ROUNDS: usize = 5;

/// One instance to claim in a batch.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// The instance whose bill the caller is about to write.
    pub process_instance_id: &'a str,

    /// Summary of the same instance, which creates its row when the ledger has none, as
    /// [`Ledger::claim`] explains.
    pub summary_if_missing: Option<&'a InstanceSummary>,
}

impl Ledger {
    /// Claims an instance for writing its bill, with a lease until `now` plus the
    /// configured lease duration.
    ///
    /// `summary_if_missing` describes the same instance. It creates the row as
    /// `published` when the ledger has none, e.g. for a message published by another
    /// deployment. Without it, such a claim fails with [`LedgerError::NotFound`].
    /// Claiming again while holding the lease renews it and counts another attempt. A
    /// lease that expired is taken over by the next claimer.
    pub async fn claim(
        &self,
        process_instance_id: &str,
        summary_if_missing: Option<&InstanceSummary>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let started = Instant::now();
        let result = self
            .claim_inner(process_instance_id, summary_if_missing, owner, now)
            .await;
        observe_claim(started, &result);
        result
    }

    /// Claims several instances as [`Ledger::claim`] does, in one transaction.
    ///
    /// A consumer claims a whole batch at once because one commit per approval
    /// bounded how fast it drained a backlog. The outer error means the database failed
    /// and nothing was claimed. Otherwise there is one result per request, in order.
    pub async fn claim_all(
        &self,
        requests: &[ClaimRequest<'_>],
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Claim, LedgerError>>, LedgerError> {
        let started = Instant::now();
        let result = self.claim_all_inner(requests, owner, now).await;
        match &result {
            Ok(results) => {
                for item in results {
                    observe_claim(started, item);
                }
            }
            Err(_) => {
                for _ in requests {
                    metrics::observe("claim", "error", started);
                }
            }
        }
        result
    }

    async fn claim_all_inner(
        &self,
        requests: &[ClaimRequest<'_>],
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Claim, LedgerError>>, LedgerError> {
        let lease = self.lease_window(now);
        let mut results: Vec<Option<Result<Claim, LedgerError>>> =
            requests.iter().map(|_| None).collect();
        let mut tx = self.begin().await.map_err(database("claim"))?;

        for index in lock_order(requests, |request| request.process_instance_id) {
            let request = &requests[index];
            let id = request.process_instance_id;
            match claim_row(&mut tx, id, request.summary_if_missing, owner, lease).await {
                Ok(Some(claim)) => results[index] = Some(Ok(claim)),
                // The row changed after the UPDATE; claimed alone below.
                Ok(None) => {}
                // A failed statement aborts a PostgreSQL transaction, so a database
                // error fails every request of the call.
                Err(error @ LedgerError::Database { .. }) => return Err(error),
                Err(error) => results[index] = Some(Err(error)),
            }
        }
        tx.commit().await.map_err(database("claim"))?;

        let mut claims = Vec::with_capacity(requests.len());
        for (request, result) in requests.iter().zip(results) {
            let id = request.process_instance_id;
            let result = match result {
                Some(result) => {
                    log_claim(id, owner, &result);
                    result
                }
                None => {
                    self.claim_inner(id, request.summary_if_missing, owner, now)
                        .await
                }
            };
            claims.push(result);
        }
        Ok(claims)
    }

    async fn claim_inner(
        &self,
        id: &str,
        summary: Option<&InstanceSummary>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let lease = self.lease_window(now);
        for _ in 0..CLAIM_ROUNDS {
            let mut tx = self.begin().await.map_err(database("claim"))?;
            let claim = claim_row(&mut tx, id, summary, owner, lease).await?;
            tx.commit().await.map_err(database("claim"))?;
            if let Some(claim) = claim {
                let result = Ok(claim);
                log_claim(id, owner, &result);
                return result;
            }
            // The row changed after the UPDATE looked at it (PostgreSQL only); look again.
        }

        Err(LedgerError::Contention {
            process_instance_id: id.to_string(),
        })
    }

    fn lease_window(&self, now: DateTime<Utc>) -> LeaseWindow {
        let now_millis = to_millis(now);
        LeaseWindow {
            now,
            now_millis,
            until_millis: now_millis.saturating_add(self.lease_millis),
        }
    }
}

/// The time of a claim and the end of the lease it grants.
#[derive(Debug, Clone, Copy)]
struct LeaseWindow {
    now: DateTime<Utc>,
    now_millis: i64,
    until_millis: i64,
}

/// Claims one instance inside the caller's transaction. Returns `None` when the row
/// changed between the `UPDATE` and the read that explains its outcome.
async fn claim_row(
    conn: &mut AnyConnection,
    id: &str,
    summary: Option<&InstanceSummary>,
    owner: &str,
    lease: LeaseWindow,
) -> Result<Option<Claim>, LedgerError> {
    const OPERATION: &str = "claim";
    debug_assert!(
        summary.is_none_or(|summary| summary.process_instance_id == id),
        "the summary must describe the claimed instance"
    );
    let LeaseWindow {
        now,
        now_millis,
        until_millis,
    } = lease;

    if let Some(summary) = summary {
        let inserted = insert_if_missing(
            conn,
            OPERATION,
            summary,
            Status::Published,
            now_millis,
            None,
        )
        .await?;
        if inserted {
            let event = NewEvent {
                process_instance_id: id,
                occurred_at_millis: now_millis,
                actor: owner,
                action: EventAction::Recorded,
                status: Status::Published,
                detail: "message received for an instance the ledger did not hold",
            };
            insert_event(conn, OPERATION, event).await?;
        } else {
            fill_missing_summary(conn, OPERATION, summary).await?;
        }
    }

    if let Some(attempts) = take_lease(conn, id, owner, now_millis, until_millis).await? {
        let until = from_millis(until_millis).unwrap_or(now);
        let detail = format!(
            "attempt {attempts}, lease until {}",
            until.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
        let event = NewEvent {
            process_instance_id: id,
            occurred_at_millis: now_millis,
            actor: owner,
            action: EventAction::Claimed,
            status: Status::Saving,
            detail: &detail,
        };
        insert_event(conn, OPERATION, event).await?;
        return Ok(Some(Claim::Claimed { attempts, until }));
    }

    let Some(record) = fetch_record(conn, OPERATION, id).await? else {
        return Err(LedgerError::NotFound {
            process_instance_id: id.to_string(),
        });
    };
    unclaimable_reason(&record, owner, now)
}

/// Counts one claim by its outcome.
fn observe_claim(started: Instant, result: &Result<Claim, LedgerError>) {
    let outcome = match result {
        Ok(Claim::Claimed { .. }) => "claimed",
        Ok(Claim::AlreadySaved { .. }) => "already_saved",
        Ok(Claim::HeldByOther { .. }) => "held_by_other",
        Ok(Claim::Terminal { .. }) => "terminal",
        Err(_) => "error",
    };
    metrics::observe("claim", outcome, started);
}

/// Logs a committed claim at debug level.
fn log_claim(id: &str, owner: &str, result: &Result<Claim, LedgerError>) {
    match result {
        Ok(Claim::Claimed { attempts, .. }) => {
            tracing::debug!(
                process_instance_id = id,
                owner,
                attempts,
                "ledger claim taken"
            );
        }
        Ok(claim) => {
            tracing::debug!(
                process_instance_id = id,
                owner,
                ?claim,
                "ledger claim not granted"
            );
        }
        Err(_) => {}
    }
}

/// Runs the conditional `UPDATE` that takes the lease; returns the attempt number, or
/// `None` when the instance is not claimable by `owner` at `now`.
async fn take_lease(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    now_millis: i64,
    until_millis: i64,
) -> Result<Option<u32>, LedgerError> {
    let attempts: Option<i64> = sqlx::query_scalar(
        "UPDATE ledger_instances SET status = 'saving', lease_owner = $2, lease_until = $3, \
         attempts = attempts + 1, published_at = COALESCE(published_at, $4), updated_at = $4 \
         WHERE process_instance_id = $1 \
         AND (status IN ('pending', 'published') \
              OR (status = 'saving' AND (lease_owner = $2 OR lease_until <= $4))) \
         RETURNING attempts",
    )
    .bind(id)
    .bind(owner)
    .bind(until_millis)
    .bind(now_millis)
    .fetch_optional(&mut *conn)
    .await
    .map_err(database("claim"))?;
    Ok(attempts.map(|attempts| u32::try_from(attempts).unwrap_or(u32::MAX)))
}

/// Explains why `owner` cannot claim `record` at `now`, or `None` if it could (the row
/// changed after the claim's `UPDATE`).
fn unclaimable_reason(
    record: &InstanceRecord,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Option<Claim>, LedgerError> {
    let id = record.process_instance_id.as_str();
    let claim = match record.status {
        Status::Saved => {
            let (Some(bill_no), Some(k3_id)) = (&record.bill_no, &record.k3_id) else {
                return Err(LedgerError::InvalidRow {
                    process_instance_id: id.to_string(),
                    problem: "saved without bill number or K3Cloud id".to_string(),
                });
            };
            Some(Claim::AlreadySaved {
                bill_no: bill_no.clone(),
                k3_id: k3_id.clone(),
            })
        }
        Status::Skipped | Status::Rejected | Status::Dead => Some(Claim::Terminal {
            status: record.status,
        }),
        Status::Saving => match (&record.lease_owner, record.lease_until) {
            (Some(holder), Some(until)) if holder != owner && until > now => {
                Some(Claim::HeldByOther {
                    owner: holder.clone(),
                    until,
                })
            }
            _ => None,
        },
        Status::Pending | Status::Published => None,
    };
    Ok(claim)
}
