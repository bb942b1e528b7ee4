//! Concurrent use of one ledger by many tasks over two connection pools, as several
//! consumer processes would use it: every claim round has exactly one holder per
//! instance, and concurrent producer writes stay idempotent.

mod ledger_support;

use std::collections::HashMap;

use chrono::Duration;
use dingk3::ledger::{Claim, ClaimRequest, EventAction, Ledger, Status};
use ledger_support::{LEASE_SECONDS, TestDb, summary, t0};
use tokio::task::JoinSet;

const TASKS: usize = 12;
const INSTANCES: usize = 15;
const ROUNDS: usize = 3;

fn instance_ids() -> Vec<String> {
    (0..INSTANCES).map(|n| format!("pi-{n:03}")).collect()
}

/// Runs one claim by every task on every instance, all tasks at once; returns the
/// claims per instance.
async fn claim_round(
    handles: &[Ledger],
    ids: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> HashMap<String, Vec<(String, Claim)>> {
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let ledger = handles[task % handles.len()].clone();
        let ids = ids.to_vec();
        tasks.spawn(async move {
            let owner = format!("consumer-{task}");
            let mut claims = Vec::new();
            for id in ids {
                let claim = ledger
                    .claim(&id, Some(&summary(&id)), &owner, now)
                    .await
                    .unwrap_or_else(|error| panic!("{owner} claiming {id}: {error}"));
                claims.push((id, owner.clone(), claim));
            }
            claims
        });
    }

    let mut by_instance: HashMap<String, Vec<(String, Claim)>> = HashMap::new();
    while let Some(result) = tasks.join_next().await {
        for (id, owner, claim) in result.expect("claim task finished") {
            by_instance.entry(id).or_default().push((owner, claim));
        }
    }
    by_instance
}

ledger_test!(batch_claims_one_holder, batch_claims_one_holder_case);
async fn batch_claims_one_holder_case(db: TestDb) {
    let handles = [db.ledger.clone(), db.second_handle().await];
    let ids = instance_ids();
    let summaries: Vec<_> = ids.iter().map(|id| summary(id)).collect();

    // Every task claims all instances in one call, half of them in reverse order, as
    // consumers with overlapping batches would.
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let ledger = handles[task % handles.len()].clone();
        let mut summaries = summaries.clone();
        if task % 2 == 1 {
            summaries.reverse();
        }
        tasks.spawn(async move {
            let owner = format!("consumer-{task}");
            let requests: Vec<ClaimRequest<'_>> = summaries
                .iter()
                .map(|summary| ClaimRequest {
                    process_instance_id: &summary.process_instance_id,
                    summary_if_missing: Some(summary),
                })
                .collect();
            let results = ledger
                .claim_all(&requests, &owner, t0())
                .await
                .unwrap_or_else(|error| panic!("{owner} claiming a batch: {error}"));
            let claims: Vec<(String, Claim)> = summaries
                .iter()
                .zip(results)
                .map(|(summary, result)| {
                    let id = summary.process_instance_id.clone();
                    let claim =
                        result.unwrap_or_else(|error| panic!("{owner} claiming {id}: {error}"));
                    (id, claim)
                })
                .collect();
            claims
        });
    }

    let mut holders: HashMap<String, usize> = HashMap::new();
    while let Some(result) = tasks.join_next().await {
        for (id, claim) in result.expect("claim task finished") {
            if matches!(claim, Claim::Claimed { .. }) {
                *holders.entry(id).or_default() += 1;
            }
        }
    }
    for id in &ids {
        assert_eq!(holders.get(id), Some(&1), "exactly one holder of {id}");
    }
}

ledger_test!(claims_race_one_holder, claims_race_one_holder_case);
async fn claims_race_one_holder_case(db: TestDb) {
    let handles = [db.ledger.clone(), db.second_handle().await];
    let ids = instance_ids();
    let lease = Duration::seconds(LEASE_SECONDS as i64);

    for round in 0..ROUNDS {
        // Each round starts when the previous round's leases have expired.
        let now = t0() + lease * round as i32;
        let claims = claim_round(&handles, &ids, now).await;

        for id in &ids {
            let results = &claims[id];
            assert_eq!(results.len(), TASKS, "every task answered for {id}");
            let holders: Vec<&(String, Claim)> = results
                .iter()
                .filter(|(_, claim)| matches!(claim, Claim::Claimed { .. }))
                .collect();
            assert_eq!(
                holders.len(),
                1,
                "round {round}: exactly one holder of {id}, got {holders:?}"
            );
            let (holder, claim) = holders[0];
            assert_eq!(
                claim,
                &Claim::Claimed {
                    attempts: round as u32 + 1,
                    until: now + lease
                },
                "round {round}: the holder's attempt number for {id}"
            );
            for (owner, claim) in results.iter().filter(|(owner, _)| owner != holder) {
                assert_eq!(
                    claim,
                    &Claim::HeldByOther {
                        owner: holder.clone(),
                        until: now + lease
                    },
                    "round {round}: {owner} is told who holds {id}"
                );
            }
        }
    }

    let events = db.ledger.history(&ids[0]).await.unwrap();
    let claimed = events
        .iter()
        .filter(|event| event.action == EventAction::Claimed)
        .count();
    assert_eq!(claimed, ROUNDS, "one claim event per round");
    let recorded = events
        .iter()
        .filter(|event| event.action == EventAction::Recorded)
        .count();
    assert_eq!(recorded, 1, "the missing row is inserted once");
}

ledger_test!(
    saved_never_reclaimed_in_race,
    saved_never_reclaimed_in_race_case
);
async fn saved_never_reclaimed_in_race_case(db: TestDb) {
    let handles = [db.ledger.clone(), db.second_handle().await];
    let ids = instance_ids();

    let claims = claim_round(&handles, &ids, t0()).await;
    for id in &ids {
        let (holder, _) = claims[id]
            .iter()
            .find(|(_, claim)| matches!(claim, Claim::Claimed { .. }))
            .expect("one holder");
        db.ledger
            .mark_saved(id, holder, &format!("FKD-{id}"), &format!("K3-{id}"))
            .await
            .unwrap();
    }

    let far_later = t0() + Duration::days(365);
    let claims = claim_round(&handles, &ids, far_later).await;
    for id in &ids {
        for (owner, claim) in &claims[id] {
            assert_eq!(
                claim,
                &Claim::AlreadySaved {
                    bill_no: format!("FKD-{id}"),
                    k3_id: format!("K3-{id}")
                },
                "{owner} must see {id} as saved"
            );
        }
    }
}

ledger_test!(producer_writes_race, producer_writes_race_case);
async fn producer_writes_race_case(db: TestDb) {
    let handles = [db.ledger.clone(), db.second_handle().await];
    let ids = instance_ids();

    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let ledger = handles[task % handles.len()].clone();
        let ids = ids.clone();
        tasks.spawn(async move {
            for id in &ids {
                ledger.record_pending(&summary(id)).await.unwrap();
                ledger.mark_published(id).await.unwrap();
                ledger.record_pending(&summary(id)).await.unwrap();
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("producer task finished");
    }

    let counts = db.ledger.counts_by_status().await.unwrap();
    assert_eq!(
        counts[&Status::Published],
        INSTANCES as u64,
        "every instance is published once: {counts:?}"
    );
    for id in &ids {
        let actions: Vec<EventAction> = db
            .ledger
            .history(id)
            .await
            .unwrap()
            .iter()
            .map(|event| event.action)
            .collect();
        assert_eq!(
            actions,
            vec![EventAction::Recorded, EventAction::Published],
            "concurrent repeats add no events for {id}"
        );
    }
}
