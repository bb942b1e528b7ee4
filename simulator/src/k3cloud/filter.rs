//! `FilterString` of `ExecuteBillQuery`: parsing and evaluation.
//!
//! Two forms exist. Most clients send a SQL-like string such as
//! `FBillNo = 'X' and FDocumentStatus in ('A','B')`. The newer documentation shows an
//! array of `{"Left","FieldName","Compare","Value","Right","Logic"}` rows, where
//! `Compare` is an operator code (`"67"` is `=`) and `Logic` joins a row to the next
//! (0 AND, 1 OR). Both become one expression tree.
//!
//! Supported: `=`, `<>`/`!=`, `<`, `<=`, `>`, `>=`, `[NOT] IN (…)`, `[NOT] LIKE`,
//! `IS [NOT] NULL`, `AND`, `OR`, `NOT` and parentheses. Text compares ignoring letter
//! case, like the server's database collation.

use std::cmp::Ordering;
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::k3cloud::values::parse_date;

mod parse;

/// A value of one query column in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryValue {
    /// SQL `NULL`.
    Null,
    /// Integer (ids, base-data ids).
    Int(i64),
    /// Exact decimal.
    Decimal(Decimal),
    /// Text.
    Text(String),
    /// Date-time.
    Date(NaiveDateTime),
    /// Check box.
    Bool(bool),
}

/// A literal on the right side of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// Quoted text.
    Text(String),
    /// Number.
    Number(Decimal),
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// No condition.
    All,
    /// Every child holds.
    And(Vec<Filter>),
    /// Some child holds.
    Or(Vec<Filter>),
    /// The child does not hold.
    Not(Box<Filter>),
    /// `field op literal`.
    Compare {
        /// Field key as written.
        field: String,
        /// Operator.
        op: CompareOp,
        /// Right side.
        value: Literal,
    },
    /// `field [NOT] IN (…)`.
    In {
        /// Field key as written.
        field: String,
        /// Candidates.
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `field [NOT] LIKE 'pattern'` with `%` and `_`.
    Like {
        /// Field key as written.
        field: String,
        /// Pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `field IS [NOT] NULL`.
    IsNull {
        /// Field key as written.
        field: String,
        /// `IS NOT NULL`.
        negated: bool,
    },
}

/// Error parsing a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

impl Filter {
    /// Parses `FilterString` in either form; `null`, `""` and `[]` mean no filter.
    pub fn parse(value: &Value) -> Result<Filter, FilterError> {
        match value {
            Value::Null => Ok(Filter::All),
            Value::String(text) if text.trim().is_empty() => Ok(Filter::All),
            Value::String(text) => parse::parse_text(text),
            Value::Array(rows) if rows.is_empty() => Ok(Filter::All),
            Value::Array(rows) => parse::parse_rows(rows),
            other => Err(FilterError(format!("过滤条件格式无效：{other}"))),
        }
    }

    /// Returns every field key the filter mentions.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields = Vec::new();
        self.collect_fields(&mut fields);
        fields
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::All => {}
            Filter::And(children) | Filter::Or(children) => {
                children.iter().for_each(|child| child.collect_fields(out));
            }
            Filter::Not(child) => child.collect_fields(out),
            Filter::Compare { field, .. }
            | Filter::In { field, .. }
            | Filter::Like { field, .. }
            | Filter::IsNull { field, .. } => out.push(field),
        }
    }

    /// Returns the bill numbers the filter restricts to, when a top-level condition is
    /// `FBillNo = '…'` or `FBillNo IN (…)`, so a query can skip scanning every bill.
    pub fn bill_numbers(&self) -> Option<Vec<String>> {
        let is_bill_no = |field: &str| field.eq_ignore_ascii_case("FBillNo");
        match self {
            Filter::Compare {
                field,
                op: CompareOp::Eq,
                value,
            } if is_bill_no(field) => Some(vec![literal_text(value)]),
            Filter::In {
                field,
                values,
                negated: false,
            } if is_bill_no(field) => Some(values.iter().map(literal_text).collect()),
            Filter::And(children) => children.iter().find_map(Filter::bill_numbers),
            _ => None,
        }
    }

    /// Evaluates the filter on one row; `value_of` returns the value of a field key.
    pub fn matches(&self, value_of: &dyn Fn(&str) -> QueryValue) -> bool {
        match self {
            Filter::All => true,
            Filter::And(children) => children.iter().all(|child| child.matches(value_of)),
            Filter::Or(children) => children.iter().any(|child| child.matches(value_of)),
            Filter::Not(child) => !child.matches(value_of),
            Filter::Compare { field, op, value } => {
                let Some(ordering) = compare(&value_of(field), value) else {
                    return false;
                };
                match op {
                    CompareOp::Eq => ordering == Ordering::Equal,
                    CompareOp::Ne => ordering != Ordering::Equal,
                    CompareOp::Lt => ordering == Ordering::Less,
                    CompareOp::Le => ordering != Ordering::Greater,
                    CompareOp::Gt => ordering == Ordering::Greater,
                    CompareOp::Ge => ordering != Ordering::Less,
                }
            }
            Filter::In {
                field,
                values,
                negated,
            } => {
                let actual = value_of(field);
                if actual == QueryValue::Null {
                    return false;
                }
                let found = values
                    .iter()
                    .any(|candidate| compare(&actual, candidate) == Some(Ordering::Equal));
                found != *negated
            }
            Filter::Like {
                field,
                pattern,
                negated,
            } => match text_of(&value_of(field)) {
                Some(text) => like(&text.to_lowercase(), &pattern.to_lowercase()) != *negated,
                None => false,
            },
            Filter::IsNull { field, negated } => (value_of(field) == QueryValue::Null) != *negated,
        }
    }
}

fn literal_text(value: &Literal) -> String {
    match value {
        Literal::Text(text) => text.clone(),
        Literal::Number(number) => number.to_string(),
    }
}

fn text_of(value: &QueryValue) -> Option<String> {
    match value {
        QueryValue::Null => None,
        QueryValue::Int(number) => Some(number.to_string()),
        QueryValue::Decimal(number) => Some(number.normalize().to_string()),
        QueryValue::Text(text) => Some(text.clone()),
        QueryValue::Date(date) => Some(date.format("%Y-%m-%d %H:%M:%S").to_string()),
        QueryValue::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_string()),
    }
}

/// Compares a column value with a literal the way SQL Server would convert them.
/// Returns `None` for `NULL` and for values that do not convert.
pub fn compare(actual: &QueryValue, literal: &Literal) -> Option<Ordering> {
    let literal_number = || match literal {
        Literal::Number(number) => Some(*number),
        Literal::Text(text) => Decimal::from_str(text.trim()).ok(),
    };
    match actual {
        QueryValue::Null => None,
        QueryValue::Int(number) => Some(Decimal::from(*number).cmp(&literal_number()?)),
        QueryValue::Decimal(number) => Some(number.cmp(&literal_number()?)),
        QueryValue::Bool(flag) => Some(Decimal::from(u8::from(*flag)).cmp(&literal_number()?)),
        QueryValue::Date(date) => {
            let Literal::Text(text) = literal else {
                return None;
            };
            Some(date.cmp(&parse_date(text.trim())?))
        }
        QueryValue::Text(text) => Some(
            text.to_lowercase()
                .cmp(&literal_text(literal).to_lowercase()),
        ),
    }
}

/// Matches SQL `LIKE` patterns with `%` (any run) and `_` (one character).
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // matched[j]: pattern[..j] matches the text prefix consumed so far.
    let mut matched = vec![false; pattern.len() + 1];
    matched[0] = true;
    for j in 1..=pattern.len() {
        matched[j] = matched[j - 1] && pattern[j - 1] == '%';
    }
    for ch in text {
        let mut next = vec![false; pattern.len() + 1];
        for j in 1..=pattern.len() {
            next[j] = match pattern[j - 1] {
                '%' => next[j - 1] || matched[j],
                '_' => matched[j - 1],
                literal => matched[j - 1] && literal == ch,
            };
        }
        matched = next;
    }
    matched[pattern.len()]
}

#[cfg(test)]
mod tests;
