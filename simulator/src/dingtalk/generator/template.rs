//! The expense-claim template of the reference cases: component ids, labels, options
//! and the people who file and approve claims.
//!
//! The ids and labels equal those of the approval case files, so the default mapping
//! that handles the cases handles generated claims too. Option keys are this
//! simulator's own (the case files are not consistent about them); mappings match the
//! option label, never the key.

/// `TextField` 费用归属项目.
pub const PROJECT_FIELD: (&str, &str) = ("TextField_7K1ABCDEF0G0", "费用归属项目");
/// `DDSelectField` 报销类别.
pub const CATEGORY_FIELD: (&str, &str) = ("DDSelectField_1BXCATEGORY0", "报销类别");
/// `TextNote` with the filling hint.
pub const NOTE_FIELD: (&str, &str) = (
    "TextNote_7L0ZKXODKW40",
    "请按实际发生金额填写，发票需在30天内提交",
);
/// `DDSelectField` 行政报销类型, filled when the category is 行政报销.
pub const ADMIN_TYPE_FIELD: (&str, &str) = ("DDSelectField_2CXADMINTYPE0", "行政报销类型");
/// `DDSelectField` 项目报销类型, filled when the category is 项目报销.
pub const PROJECT_TYPE_FIELD: (&str, &str) = ("DDSelectField_3DXPROJTYPE00", "项目报销类型");
/// `TableField` 报销明细.
pub const TABLE_FIELD: (&str, &str) = ("TableField_1A2B3C4D5E6F0", "报销明细");
/// Table column `DDDateField` 费用发生日期.
pub const DATE_COLUMN: (&str, &str) = ("DDDateField_1QX3Y4Z5W6V70", "费用发生日期");
/// Table column `MoneyField` 报销金额(元).
pub const AMOUNT_COLUMN: (&str, &str) = ("MoneyField_2RX4Y5Z6W7V80", "报销金额(元)");
/// Table column `TextareaField` 费用明细.
pub const DETAIL_COLUMN: (&str, &str) = ("TextareaField_3SX5Y6Z7W8V90", "费用明细");

/// Options of 报销类别: label and option key.
pub const CATEGORIES: [(&str, &str); 2] = [("行政报销", "option_0"), ("项目报销", "option_1")];

/// An expense type with its option key, amount range in cents and typical details.
pub struct ExpenseType {
    /// Option label; the mapping turns it into a K3Cloud 费用项目.
    pub label: &'static str,
    /// Option key.
    pub key: &'static str,
    /// Smallest row amount in cents.
    pub min_cents: i64,
    /// Largest row amount in cents.
    pub max_cents: i64,
    /// Texts for the 费用明细 column.
    pub details: &'static [&'static str],
}

/// Expense types that the reference configuration maps.
pub const MAPPED_TYPES: [ExpenseType; 3] = [
    ExpenseType {
        label: "办公用品",
        key: "option_0",
        min_cents: 1_500,
        max_cents: 260_000,
        details: &[
            "打印纸 5 包",
            "显示器一台",
            "订书机",
            "白板笔 2 盒",
            "文件柜",
        ],
    },
    ExpenseType {
        label: "差旅费",
        key: "option_1",
        min_cents: 3_000,
        max_cents: 320_000,
        details: &[
            "高铁 上海-杭州 往返",
            "酒店 1 晚",
            "市内交通",
            "机票 北京-上海",
            "出差餐补",
        ],
    },
    ExpenseType {
        label: "快递费",
        key: "option_2",
        min_cents: 800,
        max_cents: 15_000,
        details: &["顺丰寄合同", "样品寄送", "文件快递"],
    },
];

/// An expense type that no K3Cloud 费用项目 is configured for; claims using it must be
/// rejected with a reason that names it.
pub const UNMAPPED_TYPE: ExpenseType = ExpenseType {
    label: "团建活动",
    key: "option_3",
    min_cents: 50_000,
    max_cents: 500_000,
    details: &["部门团建", "季度聚餐"],
};

/// Values of 费用归属项目 for 行政报销 claims.
pub const ADMIN_PROJECTS: [&str; 1] = ["总部日常运营"];

/// Values of 费用归属项目 for 项目报销 claims.
pub const DELIVERY_PROJECTS: [&str; 3] = ["杭州仓储项目", "苏州工厂改造项目", "上海维自项目"];

/// Someone who files claims.
pub struct Originator {
    /// DingTalk userid.
    pub userid: &'static str,
    /// Display name used in the title.
    pub name: &'static str,
    /// Department id.
    pub dept_id: &'static str,
    /// Department name.
    pub dept_name: &'static str,
}

/// The originators of the reference data, with their departments.
pub const ORIGINATORS: [Originator; 3] = [
    Originator {
        userid: "user-1001",
        name: "张三",
        dept_id: "10001",
        dept_name: "行政部",
    },
    Originator {
        userid: "user-1002",
        name: "李四",
        dept_id: "10002",
        dept_name: "交付中心-华东",
    },
    Originator {
        userid: "user-1003",
        name: "王五",
        dept_id: "10001",
        dept_name: "行政部",
    },
];

/// The approver of every generated claim.
pub const APPROVER: &str = "user-2001";

/// Remark of a refusal.
pub const REFUSAL_REMARK: &str = "发票不全，请补充后重新提交";
