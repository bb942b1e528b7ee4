//! The K3Cloud services this client calls, with their service names and metric labels.
//!
//! Whether an operation writes decides how an ambiguous failure is reported: a write
//! that timed out may have run on the server, so it is never called transient.

use std::fmt;

/// Prefix of every form service (`DynamicFormService`).
const FORM_SERVICE: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService";

/// Prefix of the login services.
const AUTH_SERVICE: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService";

/// One K3Cloud WebAPI service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `Save`: one model.
    Save,
    /// `BatchSave`: several models; not atomic, each model is saved or rejected alone.
    BatchSave,
    /// `Submit` by bill numbers.
    Submit,
    /// `Audit` by bill numbers.
    Audit,
    /// `Delete` by bill numbers.
    Delete,
    /// `View`: one bill by number or id.
    View,
    /// `ExecuteBillQuery`: rows of chosen fields.
    ExecuteBillQuery,
    /// `AuthService.LoginByAppSecret`.
    LoginByAppSecret,
    /// `AuthService.ValidateUser` (user and password).
    ValidateUser,
}

impl Operation {
    /// Returns the full service name, the URL path segment before `.common.kdsvc`.
    pub fn service_name(self) -> String {
        let (prefix, name) = match self {
            Operation::Save => (FORM_SERVICE, "Save"),
            Operation::BatchSave => (FORM_SERVICE, "BatchSave"),
            Operation::Submit => (FORM_SERVICE, "Submit"),
            Operation::Audit => (FORM_SERVICE, "Audit"),
            Operation::Delete => (FORM_SERVICE, "Delete"),
            Operation::View => (FORM_SERVICE, "View"),
            Operation::ExecuteBillQuery => (FORM_SERVICE, "ExecuteBillQuery"),
            Operation::LoginByAppSecret => (AUTH_SERVICE, "LoginByAppSecret"),
            Operation::ValidateUser => (AUTH_SERVICE, "ValidateUser"),
        };
        format!("{prefix}.{name}")
    }

    /// Returns the `operation` label of metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Save => "save",
            Operation::BatchSave => "batch_save",
            Operation::Submit => "submit",
            Operation::Audit => "audit",
            Operation::Delete => "delete",
            Operation::View => "view",
            Operation::ExecuteBillQuery => "execute_bill_query",
            Operation::LoginByAppSecret => "login_by_app_secret",
            Operation::ValidateUser => "validate_user",
        }
    }

    /// Tells whether the service changes data, so that a lost reply leaves its outcome
    /// unknown and the client must never send it twice by itself.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::Save
                | Operation::BatchSave
                | Operation::Submit
                | Operation::Audit
                | Operation::Delete
        )
    }

    /// Tells whether the service is a login.
    pub fn is_login(self) -> bool {
        matches!(self, Operation::LoginByAppSecret | Operation::ValidateUser)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_match_the_webapi() {
        assert_eq!(
            Operation::BatchSave.service_name(),
            "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave"
        );
        assert_eq!(
            Operation::LoginByAppSecret.service_name(),
            "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret"
        );
    }

    #[test]
    fn writes_are_flagged() {
        for operation in [Operation::Save, Operation::BatchSave, Operation::Audit] {
            assert!(operation.is_write(), "{operation} writes");
        }
        for operation in [
            Operation::View,
            Operation::ExecuteBillQuery,
            Operation::ValidateUser,
        ] {
            assert!(!operation.is_write(), "{operation} only reads");
        }
    }
}
