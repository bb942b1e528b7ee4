//! Tests of listing limits and cursor paging.

use super::*;
use crate::dingtalk::errors::Failure;
use crate::dingtalk::model::ApprovalResult;
use crate::dingtalk::time;

const CODE: &str = "PROC-TEST";
const NOW: i64 = 1_796_400_000_000;

fn instance(index: usize, created_millis: i64, user: &str, status: Status) -> Instance {
    let created = time::from_epoch_seconds(created_millis / 1000).expect("in range");
    Instance {
        process_instance_id: format!("id-{index:05}"),
        process_code: CODE.to_string(),
        title: String::new(),
        business_id: String::new(),
        create_time: created,
        finish_time: None,
        originator_userid: user.to_string(),
        originator_dept_id: "10001".to_string(),
        originator_dept_name: String::new(),
        status,
        result: ApprovalResult::Empty,
        approver_userids: None,
        cc_userids: Vec::new(),
        biz_action: "NONE".to_string(),
        attached_process_instance_ids: Vec::new(),
        main_process_instance_id: None,
        form_component_values: Vec::new(),
        operation_records: Vec::new(),
        tasks: Vec::new(),
    }
}

fn query(start: i64, end: Option<i64>, size: i64, cursor: i64) -> ListQuery {
    ListQuery {
        process_code: Some(CODE.to_string()),
        start_time: Some(start),
        end_time: end,
        size,
        cursor,
        userids: Vec::new(),
        statuses: None,
    }
}

fn oapi_code(failure: Failure) -> (i64, String) {
    match failure {
        Failure::Request { oapi, v1 } => (oapi.errcode, v1.code),
        other => panic!("expected a request failure, got {other:?}"),
    }
}

#[test]
fn validate_rejects_page_size_over_20() {
    let error = validate(&query(NOW - 1000, None, 21, 0), NOW).expect_err("size 21");
    assert_eq!(oapi_code(error).1, "invalidMaxResults");
    assert!(
        validate(&query(NOW - 1000, None, 20, 0), NOW).is_ok(),
        "size 20 is allowed"
    );
    assert!(
        validate(&query(NOW - 1000, None, 0, 0), NOW).is_err(),
        "size 0 is invalid"
    );
}

#[test]
fn validate_rejects_window_over_120_days() {
    let start = NOW - 200 * DAY_MILLIS;
    let error =
        validate(&query(start, Some(start + 121 * DAY_MILLIS), 20, 0), NOW).expect_err("121 days");
    assert_eq!(oapi_code(error).1, "invalidEndTime");
    let exact = query(start, Some(start + 120 * DAY_MILLIS), 20, 0);
    assert!(validate(&exact, NOW).is_ok(), "exactly 120 days is allowed");
}

#[test]
fn validate_open_window_ends_now() {
    let error = validate(&query(NOW - 121 * DAY_MILLIS, None, 20, 0), NOW)
        .expect_err("only start, 121 days back");
    assert_eq!(oapi_code(error).1, "invalidEndTime");
}

#[test]
fn validate_rejects_end_before_start() {
    let error =
        validate(&query(NOW - 1000, Some(NOW - 2000), 20, 0), NOW).expect_err("end < start");
    assert_eq!(oapi_code(error).1, "invalidEndTime");
}

#[test]
fn validate_rejects_start_over_365_days_back() {
    let start = NOW - 366 * DAY_MILLIS;
    let error =
        validate(&query(start, Some(start + DAY_MILLIS), 20, 0), NOW).expect_err("366 days");
    assert_eq!(oapi_code(error).1, "dateTooEarly");
}

#[test]
fn validate_treats_seconds_as_far_past() {
    let seconds = NOW / 1000;
    let error = validate(&query(seconds, Some(seconds + 86_400), 20, 0), NOW).expect_err("seconds");
    assert_eq!(oapi_code(error).1, "dateTooEarly", "seconds read as 1970");
    let mixed = validate(&query(seconds, Some(NOW), 20, 0), NOW).expect_err("seconds start");
    assert_eq!(
        oapi_code(mixed).1,
        "dateTooEarly",
        "age is checked before the window"
    );
}

#[test]
fn validate_requires_start_time() {
    let mut missing = query(0, None, 20, 0);
    missing.start_time = None;
    let (errcode, code) = oapi_code(validate(&missing, NOW).expect_err("no start"));
    assert_eq!(errcode, 40035, "topapi missing parameter");
    assert_eq!(code, "invalidInstanceListIdsStartTime");
}

#[test]
fn validate_rejects_eleven_userids() {
    let mut many = query(NOW - 1000, None, 20, 0);
    many.userids = (0..11).map(|i| format!("user-{i}")).collect();
    assert_eq!(
        oapi_code(validate(&many, NOW).expect_err("11 users")).1,
        "invalidUserIds"
    );
}

#[test]
fn page_walks_105_instances() {
    let instances: Vec<Instance> = (0..105)
        .map(|i| {
            instance(
                i,
                NOW - 10 * DAY_MILLIS + i as i64 * 60_000,
                "user-1001",
                Status::Running,
            )
        })
        .collect();
    let mut cursor = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let q = query(NOW - 20 * DAY_MILLIS, None, 20, cursor);
        let window = validate(&q, NOW).expect("valid");
        let page = page(instances.iter(), CODE, &q, window);
        pages += 1;
        seen.extend(page.ids);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(pages, 6, "5 full pages and a short one");
    assert_eq!(seen.len(), 105, "every id once");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("id-00000"),
        "oldest first"
    );
}

#[test]
fn page_omits_cursor_on_exact_last_page() {
    let instances: Vec<Instance> = (0..40)
        .map(|i| instance(i, NOW - DAY_MILLIS + i as i64, "user-1001", Status::Running))
        .collect();
    let q = query(NOW - 2 * DAY_MILLIS, None, 20, 20);
    let page = page(instances.iter(), CODE, &q, validate(&q, NOW).unwrap());
    assert_eq!(page.ids.len(), 20);
    assert_eq!(page.next_cursor, None, "no cursor after the last id");
}

#[test]
fn page_filters_on_creation_time_window() {
    let instances = [
        instance(0, NOW - 5 * DAY_MILLIS, "user-1001", Status::Completed),
        instance(1, NOW - DAY_MILLIS, "user-1001", Status::Completed),
    ];
    let q = query(NOW - 2 * DAY_MILLIS, None, 20, 0);
    let page = page(instances.iter(), CODE, &q, validate(&q, NOW).unwrap());
    assert_eq!(
        page.ids,
        vec!["id-00001".to_string()],
        "created before the window"
    );
}

#[test]
fn page_filters_users_and_statuses() {
    let instances = [
        instance(0, NOW - 3000, "user-1001", Status::Completed),
        instance(1, NOW - 2000, "user-1002", Status::Completed),
        instance(2, NOW - 1000, "user-1002", Status::Running),
    ];
    let mut q = query(NOW - DAY_MILLIS, None, 20, 0);
    q.userids = vec!["user-1002".to_string()];
    q.statuses = Some(vec![Status::Completed]);
    let page = page(instances.iter(), CODE, &q, validate(&q, NOW).unwrap());
    assert_eq!(page.ids, vec!["id-00001".to_string()]);
}

#[test]
fn page_stops_at_ten_thousand_ids() {
    let instances: Vec<Instance> = (0..10_030)
        .map(|i| instance(i, NOW - DAY_MILLIS + i as i64, "user-1001", Status::Running))
        .collect();
    let q = query(NOW - 2 * DAY_MILLIS, None, 20, 9_990);
    let last = page(instances.iter(), CODE, &q, validate(&q, NOW).unwrap());
    assert_eq!(last.ids.len(), 10, "cut at the cap");
    assert_eq!(last.next_cursor, None, "the loop ends at the cap");

    let q = query(NOW - 2 * DAY_MILLIS, None, 20, 10_000);
    let beyond = page(instances.iter(), CODE, &q, validate(&q, NOW).unwrap());
    assert!(beyond.ids.is_empty(), "nothing past the cap");
    assert_eq!(beyond.next_cursor, None);
}
