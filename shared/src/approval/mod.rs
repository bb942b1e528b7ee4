//! The typed approval model.
//!
//! DingTalk serves an approval instance in two generations of JSON (`topapi` snake_case
//! with `"null"` for empty values, v1.0 camelCase with empty values omitted) and nests
//! JSON inside string values. This module decodes both into one model: an
//! [`ApprovalInstance`] with its form as [`FormComponent`]s, each holding a typed
//! [`FormValue`]. The original JSON is kept beside the typed view, so nothing DingTalk
//! sent is lost and a later fix of the decoder applies to messages already queued.

mod component;
mod instance;
mod table;
pub mod time;

pub use component::{
    Attachment, Contact, Department, FormComponent, FormDate, FormValue, RelatedApproval,
    SelectOption,
};
pub use instance::{ApiGeneration, ApprovalInstance, ApprovalResult, DecodeError, InstanceStatus};
pub use table::{Table, TableCell, TableRow};
