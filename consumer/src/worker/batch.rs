//! One batch of deliveries from receipt to settlement: inspect each message, claim the
//! candidates, write the claimed bills with one `BatchSave` per form, and settle every
//! delivery exactly once.

use std::sync::Arc;

use dingk3::broker::split;
use lapin::message::Delivery;

use crate::metrics::BATCH_SIZE;
use crate::worker::claim::claim_all;
use crate::worker::inspect::{Inspected, inspect};
use crate::worker::item::Item;
use crate::worker::settle::{LedgerMark, SavedItem, Settler};
use crate::worker::write::{Written, write_all};

/// Processes one batch to the end; every delivery is acked or rejected when it returns.
pub(crate) async fn process_batch(settler: Arc<Settler>, deliveries: Vec<Delivery>) {
    BATCH_SIZE.observe(deliveries.len() as f64);

    let mut candidates = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let (message, ack) = split(delivery);
        match inspect(&settler.shared, Item::new(message, ack)) {
            Inspected::Candidate(candidate) => candidates.push(candidate),
            Inspected::Invalid(item, dead) => {
                // The ledger is left alone: the fault lies with this message, and a
                // later valid message for the same approval must still be written.
                let attempt = item.headers.attempt;
                settler.dead_letter(item, dead, attempt, None).await;
            }
        }
    }

    let claimed = claim_all(&settler, candidates).await;
    if claimed.is_empty() {
        return;
    }

    // Saved bills are recorded together once the others are settled: one ledger
    // transaction per batch instead of one per bill.
    let mut saved = Vec::new();
    for (claimed, written) in write_all(&settler.shared, claimed).await {
        let item = claimed.item;
        match written {
            Written::Saved { bill_no, k3_id } => saved.push(SavedItem {
                item,
                bill_no,
                k3_id,
            }),
            Written::Rejected(dead) => {
                let attempt = item.headers.attempt;
                settler
                    .dead_letter(item, dead, attempt, Some(LedgerMark::Rejected))
                    .await;
            }
            Written::Failed(cause) => settler.retry(item, cause).await,
        }
    }
    settler.saved_all(saved).await;
}
