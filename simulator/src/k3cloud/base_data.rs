//! Base data (基础资料) the simulated K3Cloud resolves `{"FNumber": …}` references against.
//!
//! Records are grouped by the K3Cloud form id of their table (`BD_Empinfo` for
//! employees, `BD_SETTLETYPE` for settlement types, …). Numbers match ignoring letter
//! case, as they do on the real server's case-insensitive database collation. The
//! default set is the reference data of the project's approval cases; `--base-data`
//! and the admin endpoint replace or extend it.
//!
//! File and admin format: a JSON object from form id to a list of records, e.g.
//! `{"BD_Empinfo": [{"number": "EMP004", "name": "赵六"}],
//!   "BD_SETTLETYPE": [{"number": "JSFS04_SYS", "name": "电汇", "kind": "bank"}]}`.
//! `id` is optional (assigned when absent); `kind` (`cash`, `bank` or `bill`) only
//! matters for settlement types: `bank` ones require our bank account `FACCOUNTID`.

use std::collections::BTreeMap;

use dingk3::i18n::{Localize, Text};
use dingk3::text;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Form ids of the base-data tables the payment bill refers to.
pub mod forms {
    /// 组织机构: payer, settlement and purchase organisations.
    pub const ORGANIZATIONS: &str = "ORG_Organizations";
    /// 币别: currencies.
    pub const CURRENCY: &str = "BD_Currency";
    /// 单据类型: bill types of the payment bill.
    pub const BILL_TYPE: &str = "BOS_BillType";
    /// 员工: employees, a contact-unit type.
    pub const EMPLOYEE: &str = "BD_Empinfo";
    /// 部门: departments, also a contact-unit type.
    pub const DEPARTMENT: &str = "BD_Department";
    /// 供应商: suppliers, a contact-unit type.
    pub const SUPPLIER: &str = "BD_Supplier";
    /// 客户: customers, a contact-unit type.
    pub const CUSTOMER: &str = "BD_Customer";
    /// 其他往来单位: other contact units.
    pub const OTHER_UNIT: &str = "FIN_OTHERS";
    /// 银行: banks, a contact-unit type.
    pub const BANK: &str = "BD_BANK";
    /// 费用项目: expense items (`FCOSTID`).
    pub const EXPENSE_ITEM: &str = "BD_Expense";
    /// 结算方式: settlement types (`FSETTLETYPEID`).
    pub const SETTLEMENT_TYPE: &str = "BD_SETTLETYPE";
    /// 收付款用途: payment purposes (`FPURPOSEID`).
    pub const PAYMENT_PURPOSE: &str = "CN_RECPAYPURPOSE";
    /// 银行账号: our bank accounts (`FACCOUNTID`).
    pub const BANK_ACCOUNT: &str = "CN_BANKACNT";
    /// 现金账号: our cash accounts (`FCashAccount`).
    pub const CASH_ACCOUNT: &str = "CN_CASHACCOUNT";
    /// 内部账户: internal accounts (`FINNERACCOUNTID`).
    pub const INNER_ACCOUNT: &str = "CN_INNERACCOUNT";
    /// 物料: materials (`FMATERIALID`).
    pub const MATERIAL: &str = "BD_MATERIAL";
    /// 计量单位: units of measure (`FPRICEUNITID`).
    pub const UNIT: &str = "BD_UNIT";
    /// 银行网点: bank branches (`FBankDetail`).
    pub const BANK_DETAIL: &str = "BD_BankDetail";

    /// Contact-unit types (`FCONTACTUNITTYPE`, `FRECTUNITTYPE`) and the table each
    /// one resolves its unit in.
    pub const CONTACT_UNIT_TYPES: [&str; 7] = [
        SUPPLIER,
        CUSTOMER,
        DEPARTMENT,
        EMPLOYEE,
        OTHER_UNIT,
        ORGANIZATIONS,
        BANK,
    ];
}

/// Business class of a settlement type (结算方式的业务分类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettlementKind {
    /// 现金业务: cash.
    Cash,
    /// 银行业务: needs our bank account on the entry.
    Bank,
    /// 票据业务: bills of exchange.
    Bill,
}

/// One base-data record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRecord {
    /// Internal id (内码) that replies show; assigned when a file leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,

    /// Number (编码) that `{"FNumber": …}` references match.
    pub number: String,

    /// Display name.
    #[serde(default)]
    pub name: String,

    /// Settlement class; meaningful for `BD_SETTLETYPE` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SettlementKind>,
}

/// A base-data record found by a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Form id of the table it was found in.
    pub form: &'static str,
    /// Internal id.
    pub id: i64,
    /// Number as stored (its original letter case).
    pub number: String,
    /// Display name.
    pub name: String,
    /// Settlement class, if any.
    pub kind: Option<SettlementKind>,
}

/// Error loading base data.
#[derive(Debug, thiserror::Error)]
pub enum BaseDataError {
    /// The file could not be read.
    #[error("cannot read base data file {path}: {source}")]
    Read {
        /// Path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The content is not in the documented format.
    #[error("invalid base data: {0}")]
    Invalid(String),
}

impl Localize for BaseDataError {
    fn localize(&self) -> Text {
        match self {
            BaseDataError::Read { path, source } => text!(
                en: "cannot read base data file {path}: {source}",
                zh: "无法读取基础资料文件 {path}：{source}",
            ),
            BaseDataError::Invalid(detail) => text!(
                en: "invalid base data ({detail}); expected a JSON object from form id to a list of {{\"number\", \"name\"}} records",
                zh: "基础资料格式无效（{detail}）；应为 JSON 对象：键为表单 id，值为 {{\"number\", \"name\"}} 记录列表",
            ),
        }
    }
}

/// All base data of one simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaseData {
    /// Form id (as first written) → upper-cased number → record (id always set).
    tables: BTreeMap<String, BTreeMap<String, BaseRecord>>,
    next_id: i64,
}

const FIRST_ID: i64 = 1001;

impl BaseData {
    /// Creates an empty set of base data.
    pub fn empty() -> BaseData {
        BaseData {
            tables: BTreeMap::new(),
            next_id: FIRST_ID,
        }
    }

    /// Builds the reference data that the project's approval cases and example
    /// configuration use.
    pub fn reference() -> BaseData {
        use SettlementKind::{Bank, Bill, Cash};
        let mut data = BaseData::empty();
        let plain: [(&str, &[(&str, &str)]); 9] = [
            (forms::ORGANIZATIONS, &[("100", "示例公司")]),
            (forms::CURRENCY, &[("PRE001", "人民币")]),
            (
                forms::BILL_TYPE,
                &[
                    ("FKDLX01_SYS", "采购业务付款单"),
                    ("FKDLX02_SYS", "其他业务付款单"),
                ],
            ),
            (
                forms::EMPLOYEE,
                &[("EMP001", "张三"), ("EMP002", "李四"), ("EMP003", "王五")],
            ),
            (
                forms::DEPARTMENT,
                &[("BM001", "行政部"), ("BM002", "交付中心-华东")],
            ),
            (
                forms::EXPENSE_ITEM,
                &[
                    ("FYXM001", "办公用品"),
                    ("FYXM002", "差旅费"),
                    ("FYXM003", "快递费"),
                ],
            ),
            (
                forms::PAYMENT_PURPOSE,
                // NOTE: the name of SFKYT10_SYS is a placeholder; no source gives it.
                &[
                    ("SFKYT08_SYS", "采购付款"),
                    ("SFKYT09_SYS", "预付款"),
                    ("SFKYT10_SYS", "费用报销"),
                ],
            ),
            (forms::BANK_ACCOUNT, &[("YH001", "基本户")]),
            (forms::CASH_ACCOUNT, &[("XJ001", "现金账户")]),
        ];
        for (form, records) in plain {
            for (number, name) in records {
                data.insert(form, record(number, name, None));
            }
        }
        // The business class of each standard settlement type decides whether an entry
        // needs our bank account.
        let settlement = [
            ("JSFS01_SYS", "现金", Cash),
            ("JSFS02_SYS", "现金支票", Bank),
            ("JSFS03_SYS", "转账支票", Bank),
            ("JSFS04_SYS", "电汇", Bank),
            ("JSFS05_SYS", "信汇", Bank),
            ("JSFS06_SYS", "商业承兑汇票", Bill),
            ("JSFS07_SYS", "银行承兑汇票", Bill),
            ("JSFS08_SYS", "信用证", Bank),
            ("JSFS09_SYS", "应收票据背书", Bill),
        ];
        for (number, name, kind) in settlement {
            data.insert(forms::SETTLEMENT_TYPE, record(number, name, Some(kind)));
        }
        data
    }

    /// Parses the documented JSON format.
    pub fn from_json(value: &Value) -> Result<BaseData, BaseDataError> {
        let tables: BTreeMap<String, Vec<BaseRecord>> = serde_json::from_value(value.clone())
            .map_err(|error| BaseDataError::Invalid(error.to_string()))?;
        let mut data = BaseData::empty();
        for (form, records) in tables {
            if form.trim().is_empty() {
                return Err(BaseDataError::Invalid("empty form id".to_string()));
            }
            for record in records {
                if record.number.trim().is_empty() {
                    return Err(BaseDataError::Invalid(format!(
                        "a record of {form} has an empty number"
                    )));
                }
                data.insert(&form, record);
            }
        }
        Ok(data)
    }

    /// Reads the documented JSON format from a file.
    pub fn from_file(path: &str) -> Result<BaseData, BaseDataError> {
        let content = std::fs::read_to_string(path).map_err(|source| BaseDataError::Read {
            path: path.to_string(),
            source,
        })?;
        let value: Value = serde_json::from_str(&content)
            .map_err(|error| BaseDataError::Invalid(error.to_string()))?;
        BaseData::from_json(&value)
    }

    /// Renders the documented JSON format, ids included.
    pub fn to_json(&self) -> Value {
        let tables: BTreeMap<&str, Vec<&BaseRecord>> = self
            .tables
            .iter()
            .map(|(form, records)| (form.as_str(), records.values().collect()))
            .collect();
        serde_json::to_value(tables).unwrap_or(Value::Null)
    }

    /// Adds or replaces (by number) one record; assigns an id when it has none.
    pub fn insert(&mut self, form: &str, mut record: BaseRecord) {
        let id = record.id.unwrap_or_else(|| {
            self.next_id += 1;
            self.next_id - 1
        });
        self.next_id = self.next_id.max(id + 1);
        record.id = Some(id);
        let key = self.table_key(form);
        self.tables
            .entry(key)
            .or_default()
            .insert(record.number.to_uppercase(), record);
    }

    /// Adds or replaces every record of `other`.
    pub fn merge(&mut self, other: &BaseData) {
        for (form, records) in &other.tables {
            for record in records.values() {
                let mut copy = record.clone();
                // Ids of `other` may collide with ours; keep ours for replaced records.
                copy.id = self
                    .find(form, &record.number)
                    .and_then(|existing| existing.id);
                self.insert(form, copy);
            }
        }
    }

    /// Finds a record by number (ignoring case) in table `form`.
    pub fn lookup(&self, form: &'static str, number: &str) -> Option<Resolved> {
        self.find(form, number).map(|record| resolved(form, record))
    }

    /// Finds a record by internal id in table `form`.
    pub fn lookup_id(&self, form: &'static str, id: i64) -> Option<Resolved> {
        self.table(form)?
            .values()
            .find(|record| record.id == Some(id))
            .map(|record| resolved(form, record))
    }

    /// Returns the number of records over all tables.
    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// Returns true if there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(&self, form: &str, number: &str) -> Option<&BaseRecord> {
        self.table(form)?.get(&number.trim().to_uppercase())
    }

    fn table(&self, form: &str) -> Option<&BTreeMap<String, BaseRecord>> {
        self.tables.get(form).or_else(|| {
            self.tables
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(form))
                .map(|(_, table)| table)
        })
    }

    fn table_key(&self, form: &str) -> String {
        self.tables
            .keys()
            .find(|key| key.eq_ignore_ascii_case(form))
            .cloned()
            .unwrap_or_else(|| form.trim().to_string())
    }
}

fn record(number: &str, name: &str, kind: Option<SettlementKind>) -> BaseRecord {
    BaseRecord {
        id: None,
        number: number.to_string(),
        name: name.to_string(),
        kind,
    }
}

fn resolved(form: &'static str, record: &BaseRecord) -> Resolved {
    Resolved {
        form,
        id: record.id.unwrap_or_default(),
        number: record.number.clone(),
        name: record.name.clone(),
        kind: record.kind,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reference_holds_case_data() {
        let data = BaseData::reference();
        for (form, number) in [
            (forms::EMPLOYEE, "EMP003"),
            (forms::DEPARTMENT, "BM002"),
            (forms::EXPENSE_ITEM, "FYXM003"),
            (forms::ORGANIZATIONS, "100"),
            (forms::CURRENCY, "PRE001"),
            (forms::BANK_ACCOUNT, "YH001"),
            (forms::CASH_ACCOUNT, "XJ001"),
            (forms::BILL_TYPE, "FKDLX02_SYS"),
            (forms::PAYMENT_PURPOSE, "SFKYT10_SYS"),
            (forms::SETTLEMENT_TYPE, "JSFS09_SYS"),
        ] {
            assert!(data.lookup(form, number).is_some(), "{form} {number}");
        }
        let wire = data.lookup(forms::SETTLEMENT_TYPE, "JSFS04_SYS").unwrap();
        assert_eq!(wire.kind, Some(SettlementKind::Bank), "电汇 is a bank type");
    }

    #[test]
    fn lookup_ignores_letter_case() {
        let data = BaseData::reference();
        let found = data.lookup(forms::EMPLOYEE, "emp001").expect("found");
        assert_eq!(found.number, "EMP001");
        assert_eq!(found.name, "张三");
    }

    #[test]
    fn from_json_reads_documented_format() {
        let data = BaseData::from_json(&json!({
            "bd_empinfo": [{"number": "EMP009", "name": "赵六"}],
            "BD_SETTLETYPE": [{"number": "X1", "name": "网银", "kind": "bank", "id": 77}]
        }))
        .expect("valid");
        assert!(data.lookup(forms::EMPLOYEE, "EMP009").is_some(), "employee");
        let settlement = data.lookup(forms::SETTLEMENT_TYPE, "X1").unwrap();
        assert_eq!(settlement.id, 77);
        assert!(data.lookup(forms::EMPLOYEE, "EMP001").is_none(), "replaced");
    }

    #[test]
    fn from_json_rejects_bad_shapes() {
        assert!(BaseData::from_json(&json!([1, 2])).is_err(), "array");
        assert!(
            BaseData::from_json(&json!({"BD_Empinfo": [{"number": " "}]})).is_err(),
            "empty number"
        );
        assert!(
            BaseData::from_json(&json!({"BD_SETTLETYPE": [{"number": "a", "kind": "x"}]})).is_err(),
            "unknown kind"
        );
    }

    #[test]
    fn merge_adds_and_keeps_ids() {
        let mut data = BaseData::reference();
        let before = data.lookup(forms::EMPLOYEE, "EMP001").unwrap().id;
        let extra = BaseData::from_json(&json!({
            "BD_Empinfo": [{"number": "EMP001", "name": "张三丰"}, {"number": "EMP004", "name": "赵六"}]
        }))
        .unwrap();
        data.merge(&extra);
        let renamed = data.lookup(forms::EMPLOYEE, "EMP001").unwrap();
        assert_eq!(renamed.name, "张三丰");
        assert_eq!(renamed.id, before, "replaced record keeps its id");
        assert!(data.lookup(forms::EMPLOYEE, "EMP004").is_some(), "added");
    }

    #[test]
    fn to_json_round_trips() {
        let data = BaseData::reference();
        let again = BaseData::from_json(&data.to_json()).unwrap();
        assert_eq!(again.len(), data.len());
        assert_eq!(
            again.lookup(forms::CURRENCY, "PRE001"),
            data.lookup(forms::CURRENCY, "PRE001")
        );
    }
}
