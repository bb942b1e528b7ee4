//! Field metadata of the payment bill (付款单, form `AP_PAYBILL`).
//!
//! The metadata decides which model keys Save reads, matching them ignoring letter
//! case and ignoring keys it does not list. It also says which values are base-data
//! references and in which table they resolve, which fields are required, and which
//! keys `ExecuteBillQuery` accepts. Labels are the Chinese captions K3Cloud puts into its
//! validation messages.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::k3cloud::base_data::forms;

/// Form id of the payment bill.
pub const FORM_ID: &str = "AP_PAYBILL";

/// Entity key of the payment detail rows.
pub const ENTRY_KEY: &str = "FPAYBILLENTRY";

/// Caption of the payment detail entity in messages.
pub const ENTRY_LABEL: &str = "付款明细";

/// Value kind of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Reference into one base-data table.
    BaseData(&'static str),
    /// Contact unit whose table is named by the value of another header field.
    UnitOf(&'static str),
    /// Exact decimal (amounts, rates).
    Decimal,
    /// Date-time.
    Date,
    /// Text or combo value.
    Text,
    /// Check box.
    Bool,
    /// Integer.
    Integer,
}

/// One field of the bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// Field key in its usual spelling.
    pub key: &'static str,
    /// Chinese caption.
    pub label: &'static str,
    /// Value kind.
    pub kind: FieldKind,
}

const fn field(key: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef { key, label, kind }
}

use FieldKind::{BaseData, Bool, Date, Decimal, Integer, Text, UnitOf};

/// Header fields a model may set. `FID`, `FBillNo` and `FDOCUMENTSTATUS` are read
/// separately; the document status is always set by the server.
pub const HEADER_FIELDS: &[FieldDef] = &[
    field("FBillTypeID", "单据类型", BaseData(forms::BILL_TYPE)),
    field("FDATE", "业务日期", Date),
    field("FCONTACTUNITTYPE", "往来单位类型", Text),
    field("FCONTACTUNIT", "往来单位", UnitOf("FCONTACTUNITTYPE")),
    field("FRECTUNITTYPE", "收款单位类型", Text),
    field("FRECTUNIT", "收款单位", UnitOf("FRECTUNITTYPE")),
    field("FCURRENCYID", "币别", BaseData(forms::CURRENCY)),
    field("FPAYORGID", "付款组织", BaseData(forms::ORGANIZATIONS)),
    field("FSETTLEORGID", "结算组织", BaseData(forms::ORGANIZATIONS)),
    field("FPURCHASEORGID", "采购组织", BaseData(forms::ORGANIZATIONS)),
    field("FPURCHASEDEPTID", "采购部门", BaseData(forms::DEPARTMENT)),
    field("FDepartment", "部门", BaseData(forms::DEPARTMENT)),
    field("FSETTLECUR", "结算币别", BaseData(forms::CURRENCY)),
    field("FSETTLEMAINBOOKID", "结算本位币", BaseData(forms::CURRENCY)),
    field("FEXCHANGERATE", "汇率", Decimal),
    field("FSETTLERATE", "结算汇率", Decimal),
    field("FREMARK", "备注", Text),
    field("FBUSINESSTYPE", "业务类型", Text),
    field("FCancelStatus", "作废状态", Text),
    field("FISINIT", "期初单据", Bool),
    field("FISSAMEORG", "同一组织", Bool),
    field("FIsCredit", "信用证付款", Bool),
    field("FIsWriteOff", "核销", Bool),
    field("FREALPAY", "实付", Bool),
    field("FISCARRYRATE", "携带汇率", Bool),
    field("FMoreReceive", "多收款", Bool),
    field("FVirIsSameAcctOrg", "同一核算组织", Bool),
    field("FMatchMethodID", "核销方式", Integer),
    field("FPAYTOTALAMOUNTFOR_H", "应付金额合计", Decimal),
    field("FREALPAYAMOUNTFOR_H", "实付金额合计", Decimal),
];

/// Fields of one `FPAYBILLENTRY` row. `FEntryID` is read separately.
pub const ENTRY_FIELDS: &[FieldDef] = &[
    field(
        "FSETTLETYPEID",
        "结算方式",
        BaseData(forms::SETTLEMENT_TYPE),
    ),
    field("FPURPOSEID", "付款用途", BaseData(forms::PAYMENT_PURPOSE)),
    field("FPAYTOTALAMOUNTFOR", "应付金额", Decimal),
    field("FPAYAMOUNTFOR_E", "付款金额", Decimal),
    field("FSETTLEPAYAMOUNTFOR", "折后金额", Decimal),
    field("FREALPAYAMOUNTFOR_D", "实付金额", Decimal),
    field("FSETTLEDISTAMOUNTFOR", "现金折扣", Decimal),
    field("FHANDLINGCHARGEFOR", "手续费", Decimal),
    field("FOVERSHORTAGEFOR", "长短款", Decimal),
    field("FPAYAMOUNT_E", "付款金额本位币", Decimal),
    field("FNOTVERIFICATEAMOUNT", "未核销金额", Decimal),
    field("FCollectionAmount", "托收金额", Decimal),
    field("FXDexchangeRate", "汇率", Decimal),
    field("FRELATEREFUNDAMOUNT", "关联退款金额", Decimal),
    field("FTaxAmt", "税额", Decimal),
    field("FPRICE", "单价", Decimal),
    field("FQTY", "数量", Decimal),
    field("FACCOUNTID", "我方银行账号", BaseData(forms::BANK_ACCOUNT)),
    field("FCashAccount", "现金账号", BaseData(forms::CASH_ACCOUNT)),
    field(
        "FINNERACCOUNTID",
        "内部账户",
        BaseData(forms::INNER_ACCOUNT),
    ),
    field("FCOSTID", "费用项目", BaseData(forms::EXPENSE_ITEM)),
    field(
        "FEXPENSEDEPTID_E",
        "费用承担部门",
        BaseData(forms::DEPARTMENT),
    ),
    field("FMATERIALID", "物料编码", BaseData(forms::MATERIAL)),
    field("FPRICEUNITID", "计价单位", BaseData(forms::UNIT)),
    field("FBankDetail", "银行网点", BaseData(forms::BANK_DETAIL)),
    field("FOPPOSITEBANKACCOUNT", "对方银行账号", Text),
    field("FOPPOSITECCOUNTNAME", "对方账户名称", Text),
    field("FOPPOSITEBANKNAME", "对方开户行", Text),
    field("FRecType", "收方账户类型", Text),
    field("FCNAPS", "联行号", Text),
    field("FOpenAddressRec", "开户行地址", Text),
    field("FBankTypeRec", "收款银行", Text),
    field("FProvince", "省份", Text),
    field("FCity", "城市", Text),
    field("FDistrict", "区县", Text),
    field("FCOMMENT", "备注", Text),
    field("FSETTLENO", "结算号", Text),
    field("FPOSTDATE", "登账日期", Date),
    field("FPURCHASEORDERID", "采购订单内码", Integer),
    field("FPURCHASEORDERNO", "采购订单号", Text),
    field("FORDERENTRYID", "订单分录内码", Integer),
    field("FMATERIALSEQ", "订单行号", Integer),
    field("FRuZhangType", "入账类型", Text),
    field("FPayType", "支付类型", Text),
    field("FNoteStatus", "票据状态", Text),
    field("FMessageInstruct", "指令状态", Text),
    field("FUnique", "唯一标识", Integer),
    field("FBankInvoice", "银行回单", Bool),
    field("FByAgentBank", "代理行付款", Bool),
    field("FOverseaPay", "境外付款", Bool),
];

/// Header fields Save requires, in the order their errors are reported.
pub const REQUIRED_HEADER: [&str; 9] = [
    "FBillTypeID",
    "FDATE",
    "FCONTACTUNITTYPE",
    "FCONTACTUNIT",
    "FRECTUNITTYPE",
    "FRECTUNIT",
    "FCURRENCYID",
    "FPAYORGID",
    "FSETTLEORGID",
];

/// Entry fields Save requires on every row.
pub const REQUIRED_ENTRY: [&str; 3] = ["FSETTLETYPEID", "FPURPOSEID", "FPAYTOTALAMOUNTFOR"];

/// Maps every upper-cased key of `fields` to its position, so a model's keys are
/// matched in one pass instead of one scan per field.
fn position_index(fields: &'static [FieldDef]) -> HashMap<String, usize> {
    fields
        .iter()
        .enumerate()
        .map(|(position, def)| (def.key.to_ascii_uppercase(), position))
        .collect()
}

/// Positions of header fields by upper-cased key.
pub fn header_positions() -> &'static HashMap<String, usize> {
    static INDEX: LazyLock<HashMap<String, usize>> =
        LazyLock::new(|| position_index(HEADER_FIELDS));
    &INDEX
}

/// Positions of entry fields by upper-cased key.
pub fn entry_positions() -> &'static HashMap<String, usize> {
    static INDEX: LazyLock<HashMap<String, usize>> = LazyLock::new(|| position_index(ENTRY_FIELDS));
    &INDEX
}

/// Finds a header field by key, ignoring letter case.
pub fn header_field(key: &str) -> Option<&'static FieldDef> {
    HEADER_FIELDS
        .iter()
        .find(|def| def.key.eq_ignore_ascii_case(key))
}

/// Finds an entry field by key, ignoring letter case.
pub fn entry_field(key: &str) -> Option<&'static FieldDef> {
    ENTRY_FIELDS
        .iter()
        .find(|def| def.key.eq_ignore_ascii_case(key))
}

/// Canonical spelling of a contact-unit type, or `None` if it is not one.
pub fn unit_type(value: &str) -> Option<&'static str> {
    forms::CONTACT_UNIT_TYPES
        .into_iter()
        .find(|form| form.eq_ignore_ascii_case(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_are_known() {
        for key in REQUIRED_HEADER {
            assert!(header_field(key).is_some(), "header {key}");
        }
        for key in REQUIRED_ENTRY {
            assert!(entry_field(key).is_some(), "entry {key}");
        }
    }

    #[test]
    fn lookups_ignore_letter_case() {
        assert_eq!(header_field("FrectUNITTYPE").unwrap().key, "FRECTUNITTYPE");
        assert_eq!(
            entry_field("FOversHORTAGEFOR").unwrap().key,
            "FOVERSHORTAGEFOR"
        );
        assert_eq!(unit_type("bd_empinfo"), Some("BD_Empinfo"));
        assert_eq!(unit_type("BD_Nothing"), None);
    }
}
