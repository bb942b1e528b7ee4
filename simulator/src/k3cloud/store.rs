//! Saved payment bills: ids, bill numbers, document status.
//!
//! Ids (内码) count up from 100001, like the ids seen in real replies. Bills saved
//! without `FBillNo` get `FKD` plus an eight-digit serial (`FKD00000001`), the shape of
//! the standard 付款单 numbering rule; a given `FBillNo` is kept. Numbers are unique
//! ignoring letter case, as the server's case-insensitive collation makes them.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::k3cloud::paybill::{BillDraft, Fields};

const FIRST_BILL_ID: i64 = 100_001;
const FIRST_ENTRY_ID: i64 = 100_001;

/// Prefix of generated bill numbers.
pub const NUMBER_PREFIX: &str = "FKD";

/// Document status (`FDocumentStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DocumentStatus {
    /// `A` 创建: saved, not submitted.
    #[serde(rename = "A")]
    Created,
    /// `B` 审核中: submitted.
    #[serde(rename = "B")]
    Submitted,
    /// `C` 已审核: audited.
    #[serde(rename = "C")]
    Audited,
    /// `D` 重新审核: un-audited, editable again.
    #[serde(rename = "D")]
    Reaudit,
}

impl DocumentStatus {
    /// Returns the one-letter code K3Cloud stores.
    pub fn code(self) -> &'static str {
        match self {
            DocumentStatus::Created => "A",
            DocumentStatus::Submitted => "B",
            DocumentStatus::Audited => "C",
            DocumentStatus::Reaudit => "D",
        }
    }
}

/// One saved entry row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Entry id (`FPAYBILLENTRY_FEntryID`).
    pub id: i64,
    /// 1-based row number (`FSeq`).
    pub seq: u32,
    /// Row values.
    pub fields: Fields,
}

/// One saved bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBill {
    /// Internal id (`FID`).
    pub id: i64,
    /// Bill number (`FBillNo`).
    pub number: String,
    /// Document status.
    pub status: DocumentStatus,
    /// Header values.
    pub header: Fields,
    /// Entry rows.
    pub entries: Vec<StoredEntry>,
    /// `FCreateDate`.
    pub created_at: NaiveDateTime,
    /// `FModifyDate`.
    pub modified_at: NaiveDateTime,
}

/// A status operation on saved bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// A or D → B.
    Submit,
    /// B → C.
    Audit,
    /// C → D.
    UnAudit,
    /// Removes a bill in A or D.
    Delete,
}

/// Formats the duplicate bill number message, verbatim as the server words it.
pub fn duplicate_number_message(number: &str) -> String {
    format!("违反字段唯一性要求：编码唯一。[{number}]在当前系统中已经被使用。")
}

/// All saved bills.
#[derive(Debug, Clone)]
pub struct BillStore {
    bills: BTreeMap<i64, StoredBill>,
    by_number: HashMap<String, i64>,
    next_id: i64,
    next_entry_id: i64,
    next_serial: u64,
}

impl Default for BillStore {
    fn default() -> Self {
        BillStore {
            bills: BTreeMap::new(),
            by_number: HashMap::new(),
            next_id: FIRST_BILL_ID,
            next_entry_id: FIRST_ENTRY_ID,
            next_serial: 1,
        }
    }
}

impl BillStore {
    /// Stores a validated draft; fails with the duplicate-number message if its
    /// `FBillNo` is taken.
    pub fn insert(
        &mut self,
        draft: BillDraft,
        status: DocumentStatus,
        now: NaiveDateTime,
    ) -> Result<&StoredBill, String> {
        let number = match draft.bill_no {
            Some(number) if self.by_number.contains_key(&number.to_uppercase()) => {
                return Err(duplicate_number_message(&number));
            }
            Some(number) => number,
            None => self.next_free_number(),
        };
        let id = self.next_id;
        self.next_id += 1;
        let entries = draft
            .entries
            .into_iter()
            .zip(1..)
            .map(|(fields, seq)| {
                let entry_id = self.next_entry_id;
                self.next_entry_id += 1;
                StoredEntry {
                    id: entry_id,
                    seq,
                    fields,
                }
            })
            .collect();
        self.by_number.insert(number.to_uppercase(), id);
        let bill = StoredBill {
            id,
            number,
            status,
            header: draft.header,
            entries,
            created_at: now,
            modified_at: now,
        };
        Ok(self.bills.entry(id).or_insert(bill))
    }

    /// Finds a bill by internal id.
    pub fn get(&self, id: i64) -> Option<&StoredBill> {
        self.bills.get(&id)
    }

    /// Finds a bill by number, ignoring letter case.
    pub fn find_number(&self, number: &str) -> Option<&StoredBill> {
        let id = self.by_number.get(&number.trim().to_uppercase())?;
        self.bills.get(id)
    }

    /// Iterates over every bill in id order.
    pub fn iter(&self) -> impl Iterator<Item = &StoredBill> {
        self.bills.values()
    }

    /// Number of saved bills.
    pub fn len(&self) -> usize {
        self.bills.len()
    }

    /// Applies a status operation to bill `id`; the error is the reason in Chinese.
    // NOTE: the refusal messages are the simulator's wording; no real sample is known.
    pub fn apply(
        &mut self,
        id: i64,
        action: StatusAction,
        now: NaiveDateTime,
    ) -> Result<(i64, String), String> {
        let Some(bill) = self.bills.get_mut(&id) else {
            return Err(format!("内码为{id}的单据不存在"));
        };
        use DocumentStatus::{Audited, Created, Reaudit, Submitted};
        let next = match (action, bill.status) {
            (StatusAction::Submit, Created | Reaudit) => Submitted,
            (StatusAction::Submit, Submitted) => {
                return Err(format!("单据[{}]已经提交，不能重复提交", bill.number));
            }
            (StatusAction::Submit, Audited) => {
                return Err(format!("单据[{}]已经审核，不能提交", bill.number));
            }
            (StatusAction::Audit, Submitted) => Audited,
            (StatusAction::Audit, Audited) => {
                return Err(format!("单据[{}]已经审核，不能重复审核", bill.number));
            }
            (StatusAction::Audit, Created | Reaudit) => {
                return Err(format!("单据[{}]未提交，不能审核", bill.number));
            }
            (StatusAction::UnAudit, Audited) => Reaudit,
            (StatusAction::UnAudit, _) => {
                return Err(format!("单据[{}]未审核，不能反审核", bill.number));
            }
            (StatusAction::Delete, Created | Reaudit) => {
                let removed = (bill.id, bill.number.clone());
                self.by_number.remove(&removed.1.to_uppercase());
                self.bills.remove(&id);
                return Ok(removed);
            }
            (StatusAction::Delete, Submitted | Audited) => {
                return Err(format!("单据[{}]已经提交或审核，不能删除", bill.number));
            }
        };
        bill.status = next;
        bill.modified_at = now;
        Ok((bill.id, bill.number.clone()))
    }

    fn next_free_number(&mut self) -> String {
        loop {
            let number = format!("{NUMBER_PREFIX}{:08}", self.next_serial);
            self.next_serial += 1;
            if !self.by_number.contains_key(&number) {
                return number;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 4)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap()
    }

    fn draft(bill_no: Option<&str>) -> BillDraft {
        BillDraft {
            fid: 0,
            bill_no: bill_no.map(str::to_string),
            header: Fields::new(),
            entries: vec![Fields::new(), Fields::new()],
        }
    }

    #[test]
    fn insert_assigns_ids_and_numbers() {
        let mut store = BillStore::default();
        let first = store
            .insert(draft(None), DocumentStatus::Created, now())
            .unwrap()
            .clone();
        assert_eq!(first.id, 100_001);
        assert_eq!(first.number, "FKD00000001");
        assert_eq!(first.entries[1].seq, 2);
        let second = store
            .insert(draft(Some("BX-1")), DocumentStatus::Audited, now())
            .unwrap();
        assert_eq!(second.number, "BX-1", "given numbers are kept");
        assert_eq!(second.id, 100_002);
    }

    #[test]
    fn duplicate_number_uses_server_wording() {
        let mut store = BillStore::default();
        store
            .insert(draft(Some("test5")), DocumentStatus::Created, now())
            .unwrap();
        let error = store
            .insert(draft(Some("TEST5")), DocumentStatus::Created, now())
            .unwrap_err();
        assert_eq!(
            error,
            "违反字段唯一性要求：编码唯一。[TEST5]在当前系统中已经被使用。"
        );
    }

    #[test]
    fn generated_numbers_skip_taken_ones() {
        let mut store = BillStore::default();
        store
            .insert(draft(Some("FKD00000001")), DocumentStatus::Created, now())
            .unwrap();
        let generated = store
            .insert(draft(None), DocumentStatus::Created, now())
            .unwrap();
        assert_eq!(generated.number, "FKD00000002");
    }

    #[test]
    fn status_follows_submit_audit_unaudit() {
        let mut store = BillStore::default();
        let id = store
            .insert(draft(None), DocumentStatus::Created, now())
            .unwrap()
            .id;
        assert!(
            store.apply(id, StatusAction::Audit, now()).is_err(),
            "audit of A"
        );
        store.apply(id, StatusAction::Submit, now()).unwrap();
        assert!(
            store.apply(id, StatusAction::Delete, now()).is_err(),
            "delete of B"
        );
        store.apply(id, StatusAction::Audit, now()).unwrap();
        assert_eq!(store.get(id).unwrap().status, DocumentStatus::Audited);
        store.apply(id, StatusAction::UnAudit, now()).unwrap();
        assert_eq!(store.get(id).unwrap().status, DocumentStatus::Reaudit);
        store.apply(id, StatusAction::Delete, now()).unwrap();
        assert!(store.get(id).is_none(), "deleted");
        assert!(store.find_number("FKD00000001").is_none(), "number freed");
    }
}
