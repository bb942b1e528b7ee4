//! Session logins (`ValidateUser`, `LoginByAppSecret`, `LoginBySign`), `Logout` and
//! `GetDataCenterList`.
//!
//! A successful login returns the `LoginResult` object with `LoginResultType` 1 and a
//! `KDSVCSessionId`; the caller's HTTP layer sets the session cookies. Failures return
//! the same object with `LoginResultType` 0 (user or password wrong) or -1 (other
//! failure) and `KDSVCSessionId: null`.
// NOTE: the failure messages are the simulator's wording; only the shape is documented.

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::k3cloud::auth::NewSession;
use crate::k3cloud::credentials::{Credentials, VALID_LCIDS};
use crate::k3cloud::request::Operation;
use crate::k3cloud::values::{as_i64, as_text};

/// Name of the simulated data center in login replies and `GetDataCenterList`.
pub const DATA_CENTER_NAME: &str = "dingk3 模拟账套";

/// The checked outcome of a login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginCheck {
    /// Credentials are right; open a session.
    Accepted {
        /// Locale id the caller asked for.
        lcid: i64,
    },
    /// Credentials are wrong: `LoginResultType` and message.
    Refused(i64, String),
}

/// Checks the positional arguments of a login operation.
pub fn check_login(op: Operation, args: &[Value], credentials: &Credentials) -> LoginCheck {
    let text = |index: usize| as_text(args.get(index)).unwrap_or_default();
    let lcid_at = |index: usize| as_i64(args.get(index)).unwrap_or(2052);
    let (acct_id, username, lcid) = (
        text(0),
        text(1),
        match op {
            Operation::ValidateUser => lcid_at(3),
            Operation::LoginByAppSecret => lcid_at(4),
            _ => lcid_at(5),
        },
    );
    if acct_id != credentials.acct_id {
        return LoginCheck::Refused(-1, format!("数据中心“{acct_id}”不存在或已停用"));
    }
    if !VALID_LCIDS.iter().any(|valid| i64::from(*valid) == lcid) {
        return LoginCheck::Refused(-1, format!("语言代码{lcid}无效"));
    }
    let user_ok = username == credentials.username;
    let secret = credentials.app_secret.expose_secret();
    let accepted = match op {
        Operation::ValidateUser => {
            if !(user_ok && text(2) == credentials.password.expose_secret()) {
                return LoginCheck::Refused(0, "用户名或密码错误！".to_string());
            }
            true
        }
        Operation::LoginByAppSecret => {
            user_ok && text(2) == credentials.app_id && text(3) == secret
        }
        Operation::LoginBySign => {
            let timestamp = as_i64(args.get(3)).unwrap_or_default();
            let expected = dingk3::k3cloud::signature::login_sign(
                &acct_id,
                &username,
                &credentials.app_id,
                secret,
                timestamp,
            );
            user_ok && text(2) == credentials.app_id && text(4).eq_ignore_ascii_case(&expected)
        }
        _ => false,
    };
    if accepted {
        LoginCheck::Accepted { lcid }
    } else {
        LoginCheck::Refused(
            -1,
            "第三方系统登录授权验证失败，请检查应用ID、应用密钥和用户".to_string(),
        )
    }
}

/// Builds the `LoginResult` of a successful login.
pub fn login_success(credentials: &Credentials, session: &NewSession, lcid: i64) -> Value {
    json!({
        "Message": null,
        "MessageCode": "CheckPasswordPolicy",
        "LoginResultType": 1,
        "Context": {
            "UserLocale": "zh-CN",
            "LogLocale": "zh-CN",
            "DBid": credentials.acct_id,
            "DatabaseType": 3,
            "SessionId": session.asp_session_id,
            "UseLanguages": [{"LocaleId": 2052, "LocaleName": "中文(简体)", "Alias": "CN", "LicenseType": 0}],
            "UserId": 100_008,
            "UserName": credentials.username,
            "CustomName": DATA_CENTER_NAME,
            "DisplayVersion": "9.0.0.0",
            "DataCenterName": DATA_CENTER_NAME,
            "UserToken": uuid::Uuid::new_v4().to_string(),
            "CurrentOrganizationInfo": {"ID": 1, "AcctOrgType": "1", "Name": "示例公司", "FunctionIds": [101, 102, 103, 104]},
            "IsCH_ZH_AutoTrans": false,
            "ClientType": 32,
            "GDCID": "",
            "Gsid": null,
            "TRLevel": 1,
            "ProductEdition": 0,
            "DataCenterNumber": "DINGK3",
            "ContextResultType": 0,
            "TenantId": "",
            "IsDeployAsPublicCloud": false
        },
        "KDSVCSessionId": session.kd_session_id,
        "FormId": null,
        "RedirectFormParam": null,
        "FormInputObject": null,
        "ErrorStackTrace": null,
        "Lcid": lcid,
        "AccessToken": null,
        "CustomParam": {},
        "KdAccessResult": null,
        "IsSuccessByAPI": true
    })
}

/// Builds the `LoginResult` of a rejected login.
pub fn login_failure(result_type: i64, message: &str) -> Value {
    json!({
        "Message": message,
        "MessageCode": "",
        "LoginResultType": result_type,
        "Context": null,
        "KDSVCSessionId": null,
        "FormId": null,
        "RedirectFormParam": null,
        "FormInputObject": null,
        "ErrorStackTrace": null,
        "Lcid": 0,
        "AccessToken": null,
        "CustomParam": null,
        "KdAccessResult": null,
        "IsSuccessByAPI": false
    })
}

/// Builds the reply of `GetDataCenterList`: one data center, the configured account set.
// NOTE: the field set of a data-center entry is not documented; these are the ones
// clients read (id, number, name).
pub fn data_center_list(credentials: &Credentials) -> Value {
    json!([{
        "Id": credentials.acct_id,
        "Number": "DINGK3",
        "Name": DATA_CENTER_NAME,
        "DatabaseType": 3,
        "ProductEdition": 0
    }])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::k3cloud::credentials::{DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PASSWORD};

    fn accepted(check: &LoginCheck) -> bool {
        matches!(check, LoginCheck::Accepted { .. })
    }

    #[test]
    fn validate_user_checks_password() {
        let credentials = Credentials::default();
        let good = [
            json!(credentials.acct_id),
            json!("dingk3"),
            json!(DEFAULT_PASSWORD),
            json!(2052),
        ];
        assert!(accepted(&check_login(
            Operation::ValidateUser,
            &good,
            &credentials
        )));
        let bad = [
            json!(credentials.acct_id),
            json!("dingk3"),
            json!("nope"),
            json!(2052),
        ];
        assert_eq!(
            check_login(Operation::ValidateUser, &bad, &credentials),
            LoginCheck::Refused(0, "用户名或密码错误！".to_string())
        );
    }

    #[test]
    fn login_by_app_secret_checks_pair() {
        let credentials = Credentials::default();
        let args = |secret: &str| {
            [
                json!(credentials.acct_id),
                json!("dingk3"),
                json!(DEFAULT_APP_ID),
                json!(secret),
                json!("2052"),
            ]
        };
        assert!(accepted(&check_login(
            Operation::LoginByAppSecret,
            &args(DEFAULT_APP_SECRET),
            &credentials
        )));
        assert!(!accepted(&check_login(
            Operation::LoginByAppSecret,
            &args("x"),
            &credentials
        )));
    }

    #[test]
    fn login_by_sign_checks_sha256() {
        let credentials = Credentials::default();
        let sign = dingk3::k3cloud::signature::login_sign(
            &credentials.acct_id,
            "dingk3",
            DEFAULT_APP_ID,
            DEFAULT_APP_SECRET,
            1_700_000_000,
        );
        let args = [
            json!(credentials.acct_id),
            json!("dingk3"),
            json!(DEFAULT_APP_ID),
            json!(1_700_000_000),
            json!(sign),
            json!(2052),
        ];
        assert!(accepted(&check_login(
            Operation::LoginBySign,
            &args,
            &credentials
        )));
        let mut wrong = args.clone();
        wrong[3] = json!(1_700_000_001);
        assert!(!accepted(&check_login(
            Operation::LoginBySign,
            &wrong,
            &credentials
        )));
    }

    #[test]
    fn unknown_account_is_refused() {
        let args = [
            json!("other"),
            json!("dingk3"),
            json!(DEFAULT_PASSWORD),
            json!(2052),
        ];
        assert!(matches!(
            check_login(Operation::ValidateUser, &args, &Credentials::default()),
            LoginCheck::Refused(-1, _)
        ));
    }
}
