//! Reading one source from an approval instance: an instance field, a form component or
//! a cell of the detail-table row being mapped.
//!
//! A value comes back with its [`Origin`], the field name an operator recognises (the
//! form label rather than the id the mapping used), so every error can name it.

use crate::approval::{ApprovalInstance, FormValue, TableRow};
use crate::text;

use super::convert::{K3_DATE_FORMAT, ReadValue};
use super::error::{ErrorCode, MappingError};
use super::source::{InstanceField, Source};

/// DingTalk's own layout of instance times, used when a time is written as text.
const INSTANCE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Mapping context: the instance, and the detail-table row for entry fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) instance: &'a ApprovalInstance,
    /// 1-based row number and the row.
    pub(crate) row: Option<(usize, &'a TableRow)>,
}

impl Context<'_> {
    pub(crate) fn row_number(&self) -> Option<usize> {
        self.row.map(|(number, _)| number)
    }
}

/// The field a value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) field: String,
    pub(crate) row: Option<usize>,
}

/// The outcome of reading a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Read {
    Value(Origin, ReadValue),
    /// The field exists but is empty.
    Empty(Origin),
    /// The form has no such component.
    Absent(Origin),
}

/// Reads a source; fails for values DingTalk sent but that cannot be read. The error is
/// boxed because it is large and rare.
pub(crate) fn read(source: &Source, context: &Context<'_>) -> Result<Read, Box<MappingError>> {
    match source {
        Source::Literal(text) => Ok(Read::Value(
            Origin {
                field: "var".to_string(),
                row: None,
            },
            ReadValue::text(text.clone()),
        )),
        Source::Instance(field) => Ok(read_instance(*field, context.instance)),
        Source::Form(name) => match context.instance.component(name) {
            None => Ok(Read::Absent(Origin {
                field: name.clone(),
                row: None,
            })),
            Some(component) => {
                let origin = Origin {
                    field: component
                        .name
                        .clone()
                        .unwrap_or_else(|| component.id.clone()),
                    row: None,
                };
                read_form_value(&component.value, &component.component_type, origin)
            }
        },
        Source::Row(name) => {
            let (number, row) = context
                .row
                .expect("validation allows row: sources only where a row is read");
            match row.cell(name) {
                // DingTalk leaves out cells the user did not fill in.
                None => Ok(Read::Empty(Origin {
                    field: name.clone(),
                    row: Some(number),
                })),
                Some(cell) => {
                    let origin = Origin {
                        field: cell
                            .label
                            .clone()
                            .or_else(|| cell.key.clone())
                            .unwrap_or_else(|| name.clone()),
                        row: Some(number),
                    };
                    let kind = cell.component_type.as_deref().unwrap_or("TextField");
                    read_form_value(&cell.value, kind, origin)
                }
            }
        }
    }
}

fn read_instance(field: InstanceField, instance: &ApprovalInstance) -> Read {
    let origin = Origin {
        field: field.name().to_string(),
        row: None,
    };
    let text = |value: &str| {
        if value.trim().is_empty() {
            Read::Empty(origin.clone())
        } else {
            Read::Value(origin.clone(), ReadValue::text(value))
        }
    };
    let time = |value: Option<chrono::NaiveDateTime>, format: &str| match value {
        None => Read::Empty(origin.clone()),
        Some(time) => Read::Value(
            origin.clone(),
            ReadValue {
                text: time.format(format).to_string(),
                date: Some(time.date()),
            },
        ),
    };
    match field {
        InstanceField::ProcessInstanceId => text(&instance.process_instance_id),
        InstanceField::BusinessId => text(&instance.business_id),
        InstanceField::Title => text(&instance.title),
        InstanceField::OriginatorUserid => text(&instance.originator_userid),
        InstanceField::OriginatorDeptId => {
            text(instance.originator_dept_id.as_deref().unwrap_or_default())
        }
        InstanceField::OriginatorDeptName => {
            text(instance.originator_dept_name.as_deref().unwrap_or_default())
        }
        InstanceField::CreateTime => time(instance.create_time, INSTANCE_TIME_FORMAT),
        InstanceField::FinishTime => time(instance.finish_time, INSTANCE_TIME_FORMAT),
        InstanceField::CreateDate => time(instance.create_time, K3_DATE_FORMAT),
        InstanceField::FinishDate => time(instance.finish_time, K3_DATE_FORMAT),
    }
}

fn read_form_value(
    value: &FormValue,
    kind: &str,
    origin: Origin,
) -> Result<Read, Box<MappingError>> {
    match value {
        FormValue::Empty => Ok(Read::Empty(origin)),
        FormValue::Malformed { reason, raw } => Err(Box::new(
            MappingError::new(
                origin.field,
                origin.row,
                ErrorCode::MalformedValue,
                text!(
                en: "DingTalk sent a value that cannot be decoded ({reason})",
                zh: "钉钉返回的值无法解析（{reason}）",
                ),
            )
            .with_value(raw.clone()),
        )),
        FormValue::Date(date) => Ok(Read::Value(
            origin,
            ReadValue {
                text: date.to_string(),
                date: Some(date.date),
            },
        )),
        FormValue::Table(_)
        | FormValue::Suite(_)
        | FormValue::Attachments(_)
        | FormValue::RelatedApprovals(_) => Err(Box::new(MappingError::new(
            origin.field,
            origin.row,
            ErrorCode::MalformedValue,
            text!(
                en: "the field is a {kind}, which has no single value to write; map one of its \
                     parts instead (a detail-table column with row:)",
                zh: "该字段是 {kind}，没有可写入的单一取值；请改为映射其中的一部分（明细列用 row:）",
            ),
        ))),
        other => Ok(match other.as_text() {
            Some(text) if !text.trim().is_empty() => Read::Value(origin, ReadValue::text(text)),
            _ => Read::Empty(origin),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn instance() -> ApprovalInstance {
        let raw = json!({
            "business_id": "202611031015000123401",
            "title": "张三提交的费用报销",
            "originator_userid": "user-1001",
            "finish_time": "2026-11-04 16:40:05",
            "form_component_values": [
                {"component_type": "DDSelectField", "id": "DDSelectField_A", "name": "报销类别", "value": "行政报销"},
                {"component_type": "DDDateField", "id": "DDDateField_B", "name": "日期", "value": "not a date"},
                {"component_type": "TextField", "id": "TextField_C", "name": "备注", "value": "null"}
            ]
        });
        ApprovalInstance::from_raw("pid-1", raw).unwrap()
    }

    fn context(instance: &ApprovalInstance) -> Context<'_> {
        Context {
            instance,
            row: None,
        }
    }

    #[test]
    fn read_form_names_label_when_read_by_id() {
        let instance = instance();
        let read = read(&Source::Form("DDSelectField_A".into()), &context(&instance)).unwrap();
        let Read::Value(origin, value) = read else {
            panic!("expected a value, got {read:?}");
        };
        assert_eq!(origin.field, "报销类别");
        assert_eq!(value.text, "行政报销");
    }

    #[test]
    fn read_form_distinguishes_empty_and_absent() {
        let instance = instance();
        let empty = read(&Source::Form("备注".into()), &context(&instance)).unwrap();
        assert!(matches!(empty, Read::Empty(_)), "{empty:?}");
        let absent = read(&Source::Form("金额".into()), &context(&instance)).unwrap();
        assert!(matches!(absent, Read::Absent(_)), "{absent:?}");
    }

    #[test]
    fn read_form_rejects_malformed_value() {
        let instance = instance();
        let error = read(&Source::Form("日期".into()), &context(&instance)).unwrap_err();
        assert_eq!(error.code, ErrorCode::MalformedValue);
        assert_eq!(error.field, "日期");
        assert_eq!(error.value.as_deref(), Some("not a date"));
    }

    #[test]
    fn read_instance_formats_times() {
        let instance = instance();
        let read_text = |field| match read(&Source::Instance(field), &context(&instance)) {
            Ok(Read::Value(_, value)) => value.text,
            other => panic!("expected a value, got {other:?}"),
        };
        assert_eq!(read_text(InstanceField::FinishTime), "2026-11-04 16:40:05");
        assert_eq!(read_text(InstanceField::FinishDate), "2026-11-04");
        assert_eq!(read_text(InstanceField::OriginatorUserid), "user-1001");
        let create = read(
            &Source::Instance(InstanceField::CreateTime),
            &context(&instance),
        );
        assert!(matches!(create, Ok(Read::Empty(_))), "{create:?}");
    }
}
