//! Detail tables (`TableField`, 明细).
//!
//! A table's value is a JSON string that DingTalk fills in one of three ways:
//!
//! - rows: `[{"rowValue": [cell, …], "rowNumber": "…"}, …]`, where each cell is
//!   `{"key", "label", "value", "componentType"?, "extendValue"?}`;
//! - the table's *schema* when the user entered no rows: `[{"componentName",
//!   "componentType", "props": {…}}, …]`, which means zero rows, not a parse failure;
//! - a two-dimensional array of `{"name", "value"}` pairs, the shape DingTalk uses when
//!   instances are created through the API.
//!
//! Cells are found by component id (`key`) or by label, because templates made through
//! old APIs use labels as ids.

use serde_json::Value;

use super::component::{FormValue, decode_value, value_to_string};

/// A decoded detail table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The rows in form order; empty when the user entered none.
    pub rows: Vec<TableRow>,
}

/// One row of a detail table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// `<table id>_<row id>`, when DingTalk sent it (old templates omit it).
    pub row_number: Option<String>,

    /// Cells in form order. A cell the user left empty may be missing altogether.
    pub cells: Vec<TableCell>,
}

/// One cell of a detail-table row.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCell {
    /// Child component id (`key`); equals the label in templates made by old APIs.
    pub key: Option<String>,

    /// Column label.
    pub label: Option<String>,

    /// Child component type; inferred from the id prefix when DingTalk omits it.
    pub component_type: Option<String>,

    /// The decoded value.
    pub value: FormValue,
}

impl TableRow {
    /// Finds a cell by component id, then by label.
    pub fn cell(&self, id_or_label: &str) -> Option<&TableCell> {
        self.cells
            .iter()
            .find(|cell| cell.key.as_deref() == Some(id_or_label))
            .or_else(|| {
                self.cells
                    .iter()
                    .find(|cell| cell.label.as_deref() == Some(id_or_label))
            })
    }
}

impl Table {
    /// Decodes a table value; the error says why the text is not a table.
    pub fn decode(text: &str) -> Result<Table, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| format!("the detail table is not valid JSON ({error})"))?;
        let Value::Array(items) = value else {
            return Err("the detail table value is not a JSON array".to_string());
        };
        if items.is_empty() || items.iter().all(is_schema_entry) {
            return Ok(Table { rows: Vec::new() });
        }
        let rows = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                decode_row(item).ok_or_else(|| format!("row {} has an unknown shape", index + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table { rows })
    }
}

/// An entry of the schema DingTalk returns for a table without rows.
fn is_schema_entry(item: &Value) -> bool {
    item.get("rowValue").is_none()
        && item.get("props").is_some()
        && (item.get("componentName").is_some() || item.get("componentType").is_some())
}

fn decode_row(item: &Value) -> Option<TableRow> {
    if let Some(cells) = item.get("rowValue").and_then(Value::as_array) {
        return Some(TableRow {
            row_number: item.get("rowNumber").map(value_to_string),
            cells: cells.iter().filter_map(decode_cell).collect(),
        });
    }
    // Two-dimensional form: each row is an array of {name, value} pairs.
    let pairs = item.as_array()?;
    Some(TableRow {
        row_number: None,
        cells: pairs.iter().filter_map(decode_cell).collect(),
    })
}

fn decode_cell(cell: &Value) -> Option<TableCell> {
    let object = cell.as_object()?;
    let key = object
        .get("key")
        .or_else(|| object.get("id"))
        .map(value_to_string);
    let label = object
        .get("label")
        .or_else(|| object.get("name"))
        .map(value_to_string);
    let component_type = object
        .get("componentType")
        .or_else(|| object.get("component_type"))
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| key.as_deref().and_then(infer_type));
    let raw_value = object.get("value").map(value_to_string);
    let value = decode_value(
        component_type.as_deref().unwrap_or("TextField"),
        raw_value.as_deref(),
        object
            .get("extendValue")
            .or_else(|| object.get("ext_value")),
    );
    Some(TableCell {
        key,
        label,
        component_type,
        value,
    })
}

/// Infers a component type from an id such as `MoneyField_T2TFVV7BXN40`; DingTalk omits
/// `componentType` in the cells of some v1.0 responses.
fn infer_type(key: &str) -> Option<String> {
    const KNOWN: [&str; 14] = [
        "TextField",
        "TextareaField",
        "NumberField",
        "MoneyField",
        "DDSelectField",
        "DDMultiSelectField",
        "DDDateField",
        "DDDateRangeField",
        "DDAttachment",
        "DDPhotoField",
        "InnerContactField",
        "DepartmentField",
        "PhoneField",
        "CalculateField",
    ];
    let prefix = key.split(['_', '-']).next()?;
    KNOWN
        .iter()
        .find(|known| **known == prefix)
        .map(|known| known.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reads_rows_and_cells() {
        let text = r#"[{"rowValue":[{"componentType":"MoneyField","label":"金额","value":"1,280.00","key":"MoneyField_A"},{"componentType":"DDSelectField","label":"类型","value":"是","key":"DDSelectField_B","extendValue":{"label":"是","key":"option_0"}}],"rowNumber":"T_1"}]"#;
        let table = Table::decode(text).unwrap();
        assert_eq!(table.rows.len(), 1);
        let row = &table.rows[0];
        assert_eq!(row.row_number.as_deref(), Some("T_1"));
        let money = row.cell("金额").unwrap();
        assert_eq!(
            money.value,
            FormValue::Money {
                amount: "1,280.00".into(),
                upper: None
            }
        );
        let select = row.cell("DDSelectField_B").unwrap();
        assert_eq!(select.value.as_text().as_deref(), Some("是"));
        match &select.value {
            FormValue::Select(option) => assert_eq!(option.key.as_deref(), Some("option_0")),
            other => panic!("expected a select value, got {other:?}"),
        }
    }

    #[test]
    fn decode_treats_schema_as_zero_rows() {
        let text = r#"[{"componentName":"TextField","componentType":"TextField","props":{"id":"TextField_X","label":"故障类型","required":true}}]"#;
        assert!(Table::decode(text).unwrap().rows.is_empty());
    }

    #[test]
    fn decode_reads_two_dimensional_shape() {
        let text = r#"[[{"name":"总金额","value":"100"},{"name":"数量","value":"2"}]]"#;
        let table = Table::decode(text).unwrap();
        assert_eq!(table.rows.len(), 1);
        let cell = table.rows[0].cell("总金额").unwrap();
        assert_eq!(cell.value, FormValue::Text("100".into()));
    }

    #[test]
    fn decode_infers_cell_type_from_key() {
        let text = r#"[{"rowValue":[{"label":"金额（元）","value":"600","key":"MoneyField_T2TFVV7BXN40"},{"label":"部门","extendValue":[{"deptName":"HR","itemId":"1059093807","name":"HR","id":"1059093807"}],"value":"HR","key":"DepartmentField_EOBTEPPWJGO0"}],"rowNumber":"T_A"}]"#;
        let row = &Table::decode(text).unwrap().rows[0];
        assert_eq!(row.cells[0].component_type.as_deref(), Some("MoneyField"));
        match &row.cells[1].value {
            FormValue::Departments(departments) => {
                assert_eq!(departments[0].id.as_deref(), Some("1059093807"));
            }
            other => panic!("expected departments, got {other:?}"),
        }
    }

    #[test]
    fn decode_rejects_non_json_and_objects() {
        assert!(Table::decode("[{\"rowValue\": [").is_err());
        assert!(Table::decode("{\"rowValue\": []}").is_err());
        assert!(Table::decode("[42]").is_err());
    }

    #[test]
    fn missing_cell_is_none() {
        let text = r#"[{"rowValue":[{"componentType":"TextField","label":"物品名称","value":"电脑","key":"物品名称"}]}]"#;
        let row = &Table::decode(text).unwrap().rows[0];
        assert!(row.cell("图片").is_none());
        assert!(row.cell("物品名称").is_some());
    }
}
