//! Moves every time of loaded instances by whole days.
//!
//! Case files are dated when they were written, but the list APIs refuse a window that
//! starts more than 365 days back and serve only windows of up to 120 days. Shifting
//! the cases so that the newest finish time falls within the last day keeps them
//! listable. Instance ids and business ids keep their original digits, because tests
//! and expected files refer to them.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::Value;

use super::model::Instance;
use super::time;

const SECONDS_PER_DAY: i64 = 86_400;

/// Returns the whole number of days to add so the newest finish time (or creation
/// time, when nothing is finished) lands in the day before `now`; 0 for no instances.
pub fn days_to_recent(instances: &[Instance], now: DateTime<Utc>) -> i64 {
    let newest = instances
        .iter()
        .map(|instance| instance.finish_time.unwrap_or(instance.create_time))
        .max();
    let Some(newest) = newest else {
        return 0;
    };
    let gap = time::to_beijing(now) - newest;
    gap.num_seconds().div_euclid(SECONDS_PER_DAY)
}

/// Adds `days` to every time of the instance: creation, finish, tasks, operation
/// records, date fields and date cells of detail tables.
pub fn shift_instance(instance: &mut Instance, days: i64) {
    if days == 0 {
        return;
    }
    let delta = Duration::days(days);
    let shift = |time: NaiveDateTime| time + delta;

    instance.create_time = shift(instance.create_time);
    instance.finish_time = instance.finish_time.map(shift);
    for record in &mut instance.operation_records {
        record.date = shift(record.date);
    }
    for task in &mut instance.tasks {
        task.create_time = task.create_time.map(shift);
        task.finish_time = task.finish_time.map(shift);
    }
    for component in &mut instance.form_component_values {
        let Some(value) = &component.value else {
            continue;
        };
        let shifted = match component.component_type.as_str() {
            "DDDateField" => time::shift_date_value(value, days),
            "TableField" => shift_table_dates(value, days),
            _ => None,
        };
        if let Some(shifted) = shifted {
            component.value = Some(shifted);
        }
    }
}

/// Shifts `DDDateField` cells of a `rowValue` table; `None` when nothing changed.
///
/// A changed table is serialized compactly, as DingTalk itself sends it.
fn shift_table_dates(value: &str, days: i64) -> Option<String> {
    let mut rows: Value = serde_json::from_str(value).ok()?;
    let mut changed = false;
    for row in rows.as_array_mut()? {
        let Some(cells) = row.get_mut("rowValue").and_then(Value::as_array_mut) else {
            continue;
        };
        for cell in cells {
            let is_date = cell.get("componentType").and_then(Value::as_str) == Some("DDDateField")
                || cell
                    .get("key")
                    .and_then(Value::as_str)
                    .is_some_and(|key| key.starts_with("DDDateField"));
            if !is_date {
                continue;
            }
            let shifted = cell
                .get("value")
                .and_then(Value::as_str)
                .and_then(|text| time::shift_date_value(text, days));
            if let Some(shifted) = shifted {
                cell["value"] = Value::String(shifted);
                changed = true;
            }
        }
    }
    if !changed {
        return None;
    }
    serde_json::to_string(&rows).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn instance() -> Instance {
        let table = json!([{"rowValue": [
            {"componentType": "DDDateField", "label": "费用发生日期", "value": "2026-10-28", "key": "DDDateField_1"},
            {"componentType": "MoneyField", "label": "报销金额(元)", "value": "120.50", "key": "MoneyField_2"}
        ], "rowNumber": "TableField_1_0000ROW"}]);
        let raw = json!({
            "business_id": "202611031015000123401",
            "create_time": "2026-11-03 10:15:22",
            "finish_time": "2026-11-04 16:40:05",
            "status": "COMPLETED",
            "result": "agree",
            "form_component_values": [
                {"component_type": "TableField", "id": "TableField_1", "name": "报销明细",
                 "value": table.to_string()},
                {"component_type": "DDDateField", "id": "DDDateField_9", "name": "日期", "value": "2026-11-01"}
            ],
            "operation_records": [{"date": "2026-11-03 10:15:22", "operation_type": "START_PROCESS_INSTANCE",
                                   "operation_result": "NONE", "userid": "user-1001"}],
            "tasks": [{"taskid": "1", "userid": "user-2001", "task_status": "COMPLETED", "task_result": "AGREE",
                       "create_time": "2026-11-03 10:15:22", "finish_time": "2026-11-04 16:40:05"}]
        });
        Instance::from_topapi("kNpmUavZQwSHP_ZJvVdL7g07561762136122", "PROC-1", &raw)
            .expect("valid")
    }

    #[test]
    fn days_to_recent_reaches_last_day() {
        let instances = vec![instance()];
        let now = time::from_beijing(time::parse_topapi("2026-12-04 20:00:00").unwrap());
        let days = days_to_recent(&instances, now);
        assert_eq!(days, 30, "2026-11-04 16:40 + 30 days is 3 h before now");
    }

    #[test]
    fn days_to_recent_moves_future_cases_back() {
        let instances = vec![instance()];
        let now = time::from_beijing(time::parse_topapi("2026-11-01 08:00:00").unwrap());
        let days = days_to_recent(&instances, now);
        assert_eq!(days, -4, "2026-11-04 16:40 - 4 days is before now");
    }

    #[test]
    fn shift_instance_moves_every_time() {
        let mut shifted = instance();
        shift_instance(&mut shifted, 30);

        assert_eq!(
            time::format_topapi(shifted.create_time),
            "2026-12-03 10:15:22",
            "creation time shifted"
        );
        assert_eq!(
            shifted.finish_time.map(time::format_topapi).as_deref(),
            Some("2026-12-04 16:40:05"),
            "finish time shifted"
        );
        assert_eq!(
            time::format_topapi(shifted.operation_records[0].date),
            "2026-12-03 10:15:22",
            "operation record shifted"
        );
        assert_eq!(
            shifted.tasks[0]
                .finish_time
                .map(time::format_topapi)
                .as_deref(),
            Some("2026-12-04 16:40:05"),
            "task finish shifted"
        );

        let date = shifted
            .component("DDDateField_9")
            .and_then(|c| c.value.clone());
        assert_eq!(date.as_deref(), Some("2026-12-01"), "date field shifted");

        let table = shifted
            .component("TableField_1")
            .and_then(|c| c.value.clone())
            .unwrap();
        let rows: Value = serde_json::from_str(&table).unwrap();
        assert_eq!(
            rows[0]["rowValue"][0]["value"],
            json!("2026-11-27"),
            "date cell shifted"
        );
        assert_eq!(
            rows[0]["rowValue"][1]["value"],
            json!("120.50"),
            "amount cell kept"
        );
    }

    #[test]
    fn shift_instance_keeps_ids() {
        let mut shifted = instance();
        shift_instance(&mut shifted, 30);
        assert_eq!(shifted.business_id, "202611031015000123401");
        assert_eq!(
            shifted.process_instance_id,
            "kNpmUavZQwSHP_ZJvVdL7g07561762136122"
        );
    }
}
