//! Checked routes and mappings, as produced by
//! [`RawRoutesConfig::validate`](super::RawRoutesConfig::validate).
//!
//! Everything here has been checked: sources parse, value maps and variables exist,
//! constants are already converted to their JSON form, and the amount field is a money
//! field. Mapping an instance can then fail only because of the instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::Value;

use super::config::ValueKind;
use super::source::{Source, Template};

/// Every configured route, looked up by process code.
#[derive(Debug, Clone)]
pub struct Routes {
    pub(crate) routes: Vec<Route>,
}

/// One approval template and the mapping that turns its instances into bills.
#[derive(Debug, Clone)]
pub struct Route {
    /// DingTalk process code (`PROC-…`).
    pub process_code: String,

    /// K3Cloud form id of the bills.
    pub form_id: String,

    /// The compiled mapping, which carries `form_id` into every bill it maps.
    pub mapping: Mapping,
}

/// A compiled mapping from an approval instance to one K3Cloud bill model.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Name under `[mappings.<name>]`, for messages.
    pub name: String,
    pub(crate) form_id: String,
    pub(crate) bill_no: Template,
    pub(crate) total: Option<Source>,
    pub(crate) header: Vec<FieldRule>,
    pub(crate) entries: Entries,
    /// Whether any rule reads the form, so an instance without form values is reported
    /// once as such instead of once per field.
    pub(crate) reads_form: bool,
}

/// The entry rows of a bill.
#[derive(Debug, Clone)]
pub(crate) struct Entries {
    pub(crate) entity: String,
    pub(crate) from_table: Option<String>,
    pub(crate) amount_key: String,
    pub(crate) fields: Vec<FieldRule>,
}

/// One K3Cloud field and where its value comes from.
#[derive(Debug, Clone)]
pub(crate) struct FieldRule {
    pub(crate) key: String,
    pub(crate) producer: Producer,
    pub(crate) map: Option<Arc<ValueMap>>,
    pub(crate) kind: ValueKind,
    pub(crate) required: bool,
    /// Set on the entry amount rule: a payment bill line must be greater than zero.
    pub(crate) positive: bool,
}

/// Producer of a rule's value.
#[derive(Debug, Clone)]
pub(crate) enum Producer {
    /// Already in its JSON form.
    Const(Value),
    Source(Source),
    Template(Template),
    /// Reads `on`, then the source of the case its value selects.
    Switch {
        on: Source,
        cases: BTreeMap<String, Source>,
    },
}

/// A named lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueMap {
    pub(crate) name: String,
    pub(crate) entries: BTreeMap<String, String>,
}

/// One approval mapped to a bill, ready to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedBill {
    /// K3Cloud form id, e.g. `AP_PAYBILL`.
    pub form_id: String,

    /// The bill number (`FBillNo`) derived from the approval; the idempotency key
    /// K3Cloud is searched by before a save.
    pub bill_no: String,

    /// The bill model (`Model` of a Save, one element of a BatchSave's `Model`), keys in
    /// request order: organisation fields, `FBillNo`, other header fields as configured,
    /// then the entry entity.
    pub model: Value,

    /// Sum of the entry amounts, two decimals.
    pub total: Decimal,

    /// Number of entry rows.
    pub entries: usize,
}

impl Routes {
    /// Returns the route of a process code.
    pub fn route_for(&self, process_code: &str) -> Option<&Route> {
        self.routes
            .iter()
            .find(|route| route.process_code == process_code)
    }

    /// Iterates over the routes in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Returns true when no route is configured (validation rejects that, so only a
    /// default value is empty).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

impl Mapping {
    /// K3Cloud form id of the bills this mapping produces.
    pub fn form_id(&self) -> &str {
        &self.form_id
    }
}
