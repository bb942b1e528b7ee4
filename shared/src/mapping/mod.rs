//! Routes and mappings from a DingTalk approval instance to a K3Cloud bill.
//!
//! Each company's expense form differs, so the mapping is data in the configuration
//! file, not code. [`RawRoutesConfig`] reads the file and [`RawRoutesConfig::validate`]
//! checks it into [`Routes`]. [`Routes::route_for`] finds the route of a process code.
//! [`Mapping::map`] turns an [`ApprovalInstance`](crate::approval::ApprovalInstance)
//! into a [`MappedBill`], or into [`MappingErrors`] that list every reason, each naming
//! the form field, the detail-table row and the value.
//!
//! # Configuration
//!
//! ```toml
//! [[routes]]
//! process_code = "PROC-…"         # DingTalk approval template
//! form_id = "AP_PAYBILL"          # K3Cloud form
//! mapping = "expense_claim"       # [mappings.expense_claim]
//!
//! [mappings.expense_claim]
//! bill_no = "DD-{business_id}"    # FBillNo template (this is the default)
//! total = "form:报销总额"          # optional: entry amounts must add up to it
//! header = [                      # header fields, in request order
//!   { key = "FPAYORGID", source = "var:org", as = "base_data" },
//!   { key = "FDATE", source = "instance:finish_time", as = "date" },
//!   { key = "FREMARK", template = "{business_id} {title}" },
//! ]
//!
//! [mappings.expense_claim.vars]   # constants for var:<name> and {var:<name>}
//! org = "100"
//!
//! [mappings.expense_claim.entries]
//! entity = "FPAYBILLENTRY"        # entry entity key
//! from_table = "报销明细"          # one entry per row; omit for one entry from the header
//! amount = "FPAYTOTALAMOUNTFOR"   # the money field summed into the bill total
//! fields = [
//!   { key = "FCOSTID", switch = "form:报销类别", cases = { "行政报销" = "form:行政报销类型", "项目报销" = "form:项目报销类型" }, map = "expense_item", as = "base_data" },
//!   { key = "FPAYTOTALAMOUNTFOR", source = "row:报销金额(元)", as = "money" },
//! ]
//!
//! [value_maps.expense_item]       # DingTalk value = K3Cloud value
//! "办公用品" = "FYXM001"
//! ```
//!
//! A field rule has a `key` and exactly one of:
//!
//! - `const`: a string, boolean or integer written as is (after conversion by `as`);
//! - `source`: `instance:<field>`, `form:<component id or label>`, `row:<component id or
//!   label>` (entries with `from_table` only) or `var:<name>`; instance fields are
//!   `process_instance_id`, `business_id`, `title`, `originator_userid`,
//!   `originator_dept_id`, `originator_dept_name`, `create_time`, `finish_time`,
//!   `create_date` and `finish_date`;
//! - `template`: text with `{source}` placeholders, where a bare name is an instance
//!   field and `{{`/`}}` are literal braces;
//! - `switch` with `cases`: the value of the `switch` source selects the source to read.
//!
//! Optional keys:
//!
//! - `map` looks the value up in `[value_maps.<name>]`. A value without an entry rejects
//!   the approval with a reason naming the value.
//! - `as` is `text` (default), `base_data` (`{"FNumber": …}`), `money`, `decimal`,
//!   `integer`, `bool` or `date` (`yyyy-MM-dd`).
//! - `required = false` leaves the field out when the value is empty, instead of
//!   rejecting the approval.
//!
//! # Output order
//!
//! K3Cloud applies model fields in JSON order, and base data that depends on an
//! organisation is resolved in the organisation already set. The model therefore starts
//! with the organisation fields (keys ending in `ORGID`) in configured order. Then come
//! `FBillNo` and the other header fields in configured order, and the entry entity is
//! last. Entry objects also put organisation fields first.
//!
//! # Money and dates
//!
//! See [`money`] for the amount grammar and the rounding rule (two decimals, half away
//! from zero). Dates are DingTalk's Beijing wall-clock times written as `yyyy-MM-dd`.

mod apply;
mod compile_rule;
mod config;
mod convert;
mod error;
mod evaluate;
pub mod money;
mod read;
mod request;
mod routes;
mod source;
mod validate;

pub use config::{
    RawConst, RawEntries, RawFieldRule, RawMapping, RawRoute, RawRoutesConfig, ValueKind,
};
pub use convert::K3_DATE_FORMAT;
pub use error::{ErrorCode, MappingError, MappingErrors};
pub use request::batch_save_request;
pub use routes::{MappedBill, Mapping, Route, Routes};
pub use validate::{BILL_NO_KEY, DEFAULT_BILL_NO};
