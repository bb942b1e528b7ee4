//! Sources of mapped values: source references (`form:报销类别`) and templates
//! (`DD-{business_id}`), parsed once when the configuration is validated.

use std::collections::BTreeMap;

use crate::i18n::Text;
use crate::text;

/// A field of the approval instance itself rather than of its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceField {
    ProcessInstanceId,
    BusinessId,
    Title,
    OriginatorUserid,
    OriginatorDeptId,
    OriginatorDeptName,
    CreateTime,
    FinishTime,
    CreateDate,
    FinishDate,
}

impl InstanceField {
    /// Every field with the name used in sources and placeholders.
    pub(crate) const ALL: [(&'static str, InstanceField); 10] = [
        ("process_instance_id", InstanceField::ProcessInstanceId),
        ("business_id", InstanceField::BusinessId),
        ("title", InstanceField::Title),
        ("originator_userid", InstanceField::OriginatorUserid),
        ("originator_dept_id", InstanceField::OriginatorDeptId),
        ("originator_dept_name", InstanceField::OriginatorDeptName),
        ("create_time", InstanceField::CreateTime),
        ("finish_time", InstanceField::FinishTime),
        ("create_date", InstanceField::CreateDate),
        ("finish_date", InstanceField::FinishDate),
    ];

    fn parse(name: &str) -> Option<InstanceField> {
        InstanceField::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, field)| *field)
    }

    /// Returns the name used in sources and in error messages.
    pub(crate) fn name(self) -> &'static str {
        InstanceField::ALL
            .iter()
            .find(|(_, field)| *field == self)
            .map(|(name, _)| *name)
            .expect("every instance field is listed in ALL")
    }
}

/// A checked source reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `instance:<field>`.
    Instance(InstanceField),
    /// `form:<id or label>`: a header component of the form.
    Form(String),
    /// `row:<id or label>`: a cell of the current detail-table row.
    Row(String),
    /// `var:<name>`, resolved to the variable's value.
    Literal(String),
}

impl Source {
    /// Parses `kind:name`. `vars` resolves `var:` references; `rows_allowed` is false
    /// where no detail-table row is being read.
    pub(crate) fn parse(
        text: &str,
        vars: &BTreeMap<String, String>,
        rows_allowed: bool,
    ) -> Result<Source, Text> {
        let Some((kind, name)) = text.split_once(':') else {
            return Err(text!(
                en: "{text:?} is not a source; write instance:<field>, form:<id or label>, \
                     row:<id or label> or var:<name>",
                zh: "{text:?} 不是有效的来源；请写成 instance:<字段>、form:<组件 ID 或标签>、\
                     row:<组件 ID 或标签> 或 var:<变量名>",
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(text!(
                en: "{text:?} names nothing after the colon",
                zh: "{text:?} 的冒号后没有名称",
            ));
        }
        match kind.trim() {
            "instance" => InstanceField::parse(name)
                .map(Source::Instance)
                .ok_or_else(|| unknown_instance_field(name)),
            "form" => Ok(Source::Form(name.to_string())),
            "row" if rows_allowed => Ok(Source::Row(name.to_string())),
            "row" => Err(text!(
                en: "{text:?} reads a detail-table row, but no row is read here; \
                     use row: only in entries with from_table",
                zh: "{text:?} 读取明细行，但此处没有明细行；row: 只能用于设置了 from_table 的 entries",
            )),
            "var" => match vars.get(name) {
                Some(value) => Ok(Source::Literal(value.clone())),
                None => {
                    let known = list(vars.keys());
                    Err(text!(
                        en: "variable {name:?} is not defined; add it under vars (defined: {known})",
                        zh: "变量 {name:?} 未定义；请在 vars 中添加（已定义：{known}）",
                    ))
                }
            },
            other => Err(text!(
                en: "unknown source kind {other:?}; use instance, form, row or var",
                zh: "未知的来源类型 {other:?}；可用 instance、form、row 或 var",
            )),
        }
    }

    /// Returns true when the source reads the approval form.
    pub(crate) fn reads_form(&self) -> bool {
        matches!(self, Source::Form(_) | Source::Row(_))
    }
}

fn unknown_instance_field(name: &str) -> Text {
    let known = list(InstanceField::ALL.iter().map(|(name, _)| name));
    text!(
        en: "unknown instance field {name:?}; use one of: {known}",
        zh: "未知的实例字段 {name:?}；可用：{known}",
    )
}

/// Joins names for a message, or `-` when there are none.
pub(crate) fn list<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|item| item.as_ref().to_string()).collect();
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text copied as written.
    Literal(String),
    /// A placeholder replaced by its source's value.
    Source(Source),
}

/// A parsed template such as `{business_id} {title}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    /// Parses a template. A placeholder is `{source}`, where a name without a kind is an
    /// instance field (`{business_id}` = `{instance:business_id}`); `{{` and `}}` stand
    /// for literal braces.
    pub(crate) fn parse(
        text: &str,
        vars: &BTreeMap<String, String>,
        rows_allowed: bool,
    ) -> Result<Template, Text> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(text!(
                            en: "a placeholder opened with {{ is never closed; close it with }} \
                                 or write {{{{ for a literal brace",
                            zh: "占位符的 {{ 没有闭合；请用 }} 闭合，或用 {{{{ 表示字面的花括号",
                        ));
                    }
                    let inner = inner.trim();
                    let source = if inner.contains(':') {
                        Source::parse(inner, vars, rows_allowed)?
                    } else {
                        InstanceField::parse(inner)
                            .map(Source::Instance)
                            .ok_or_else(|| unknown_instance_field(inner))?
                    };
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Source(source));
                }
                '}' => {
                    return Err(text!(
                        en: "a }} without a matching {{; write }}}} for a literal brace",
                        zh: "}} 没有匹配的 {{；字面的花括号请写成 }}}}",
                    ));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template { segments })
    }

    /// Returns true when some placeholder reads the approval form.
    pub(crate) fn reads_form(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| matches!(segment, Segment::Source(source) if source.reads_form()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([("org".to_string(), "100".to_string())])
    }

    #[test]
    fn parse_reads_every_kind() {
        let vars = vars();
        assert_eq!(
            Source::parse("instance:finish_time", &vars, false),
            Ok(Source::Instance(InstanceField::FinishTime))
        );
        assert_eq!(
            Source::parse("form:报销类别", &vars, false),
            Ok(Source::Form("报销类别".into()))
        );
        assert_eq!(
            Source::parse("row:报销金额(元)", &vars, true),
            Ok(Source::Row("报销金额(元)".into()))
        );
        assert_eq!(
            Source::parse("var:org", &vars, false),
            Ok(Source::Literal("100".into()))
        );
    }

    #[test]
    fn parse_rejects_bad_references() {
        let vars = vars();
        for text in [
            "报销类别",
            "form:",
            "instance:nope",
            "row:金额",
            "var:bank",
            "cell:金额",
        ] {
            assert!(
                Source::parse(text, &vars, false).is_err(),
                "{text:?} must be rejected"
            );
        }
    }

    #[test]
    fn template_splits_placeholders() {
        let template =
            Template::parse("DD-{business_id} {{x}} {form:项目}", &vars(), false).unwrap();
        assert_eq!(
            template.segments,
            vec![
                Segment::Literal("DD-".into()),
                Segment::Source(Source::Instance(InstanceField::BusinessId)),
                Segment::Literal(" {x} ".into()),
                Segment::Source(Source::Form("项目".into())),
            ]
        );
        assert!(template.reads_form());
    }

    #[test]
    fn template_rejects_unbalanced_braces() {
        assert!(Template::parse("DD-{business_id", &vars(), false).is_err());
        assert!(Template::parse("DD-}", &vars(), false).is_err());
        assert!(Template::parse("{nope}", &vars(), false).is_err());
    }
}
