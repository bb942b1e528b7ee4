//! Request fragments shared by the simulator's unit and HTTP tests.

use serde_json::{Value, json};

/// Builds a payment bill model that passes every rule with the reference base data.
/// The payee is an employee, and both rows are paid by wire transfer from our bank
/// account.
pub fn valid_model(bill_no: &str) -> Value {
    json!({
        "FBillNo": bill_no,
        "FBillTypeID": {"FNUMBER": "FKDLX02_SYS"},
        "FDATE": "2026-11-04 00:00:00",
        "FCONTACTUNITTYPE": "BD_Empinfo",
        "FCONTACTUNIT": {"FNumber": "EMP001"},
        "FRECTUNITTYPE": "BD_Empinfo",
        "FRECTUNIT": {"FNumber": "EMP001"},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FPAYORGID": {"FNumber": "100"},
        "FSETTLEORGID": {"FNumber": "100"},
        "FDepartment": {"FNumber": "BM001"},
        "FREMARK": "办公用品报销",
        "FPAYBILLENTRY": [
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": 120.50,
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": "FYXM001"},
                "FCOMMENT": "打印纸"
            },
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": "1280.00",
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": "FYXM002"}
            }
        ]
    })
}
