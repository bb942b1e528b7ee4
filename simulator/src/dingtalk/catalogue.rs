//! The failures the simulated endpoints return, with their codes and messages.
//!
//! v1.0 codes and messages of the listing, detail and comment endpoints are the
//! documented ones. The topapi listing and detail documents list no error codes, so
//! topapi failures reuse codes of the global error table. A missing parameter gets
//! `40035` (不合法的参数) and an invalid one `400002` (参数错误). An unknown instance gets
//! `820005` (审批单状态异常, "check the instance id"), and an unknown template `830001`.
//! Where a v1.0 message exists, the topapi `errmsg` reuses it.

use super::errors::Failure;

/// Returns the failure for an absent required parameter.
pub fn missing_parameter(oapi_name: &str, v1_code: &str, v1_message: &str) -> Failure {
    Failure::request(
        40035,
        format!("缺少参数 {oapi_name}"),
        400,
        v1_code,
        v1_message,
    )
}

/// Returns the failure for a parameter of the wrong type, such as a time that is not
/// a number.
pub fn invalid_parameter(name: &str) -> Failure {
    let message = format!("参数错误：{name}");
    Failure::request(400002, message.clone(), 400, "invalidParameter", message)
}

/// Returns the failure for a body that is neither JSON nor a form.
pub fn malformed_body() -> Failure {
    Failure::request(40035, "不合法的参数", 400, "invalidParameter", "参数错误")
}

/// Returns the failure for a `size`/`maxResults` outside 1..=20.
pub fn page_size() -> Failure {
    let message = "获取审批实例ID列表，分页参数非法，每页大小，最多传20。";
    Failure::request(400002, message, 400, "invalidMaxResults", message)
}

/// Returns the failure for a cursor that is negative or not a number.
pub fn bad_cursor() -> Failure {
    let message = "获取审批实例ID列表，分页查询的游标不能为空";
    Failure::request(400002, message, 400, "invalidNextToken", message)
}

/// Returns the failure for a window that ends before it starts or spans more than
/// 120 days.
pub fn window_too_long() -> Failure {
    let message =
        "获取审批实例ID列表，审批实例结束时间不能小于开始时间；且查询时间范围不能超过120天。";
    Failure::request(400002, message, 400, "invalidEndTime", message)
}

/// Returns the failure for a window that starts more than 365 days back.
///
/// A seconds timestamp sent where milliseconds belong reads as January 1970, so it
/// fails here too.
/// NOTE: the listing documents give the 365-day limit but no code for it, so this
/// uses the global `dateTooEarly` (时间不能在指定天数之前).
pub fn start_too_old() -> Failure {
    let message = "时间不能在指定天数之前";
    Failure::request(400002, message, 400, "dateTooEarly", message)
}

/// Returns the failure for more than 10 originator userids.
pub fn too_many_users() -> Failure {
    let message = "获取审批实例ID列表，发起userid列表参数非法，最大列表长度为10。";
    Failure::request(400002, message, 400, "invalidUserIds", message)
}

/// Returns the failure for a `statuses` entry that is not an instance status.
pub fn bad_status_filter(value: &str) -> Failure {
    let message = format!("参数错误：statuses 不支持 {value}");
    Failure::request(400002, message.clone(), 400, "invalidParameter", message)
}

/// Returns the failure for a process code that names no template.
pub fn unknown_process_code() -> Failure {
    Failure::request(
        830001,
        "审批模板不存在，或者是processCode值不正确",
        400,
        "processCodeError",
        "获取审批模板失败或者模板已被删除",
    )
}

/// Returns the detail endpoint's failure for an id that names no instance.
pub fn instance_not_found() -> Failure {
    Failure::request(
        820005,
        "审批单状态异常",
        400,
        "processInstanceNotExist",
        "审批实例不存在",
    )
}

/// Returns the comment endpoint's failure for an id that names no instance.
pub fn comment_instance_not_found() -> Failure {
    Failure::request(
        820005,
        "审批单状态异常",
        400,
        "aflowProcessInstNotExist",
        "审批实例不存在",
    )
}

/// Returns the failure for an empty comment text.
pub fn comment_text_empty() -> Failure {
    let message = "评论内容不能为空";
    Failure::request(400002, message, 400, "invalidInstanceCommentText", message)
}

/// Returns the failure for a comment text over 1024 characters.
pub fn comment_text_too_long() -> Failure {
    let message = "添加审批评论参数错误";
    Failure::request(400002, message, 400, "invalidParameter", message)
}

/// Returns the failure for an unknown app key or a wrong secret.
pub fn bad_credentials() -> Failure {
    Failure::request(
        40096,
        "不合法的appKey或appSecret",
        400,
        "invalidClientIdOrSecret",
        "无效的clientId或者clientSecret",
    )
}

/// Returns the gettoken failure for parameters missing from the query string, for
/// example because they were sent in a form body.
pub fn gettoken_missing_parameter() -> Failure {
    Failure::request(
        40035,
        "缺少参数 corpid or appkey",
        400,
        "invalidClientIdOrSecret",
        "无效的clientId或者clientSecret",
    )
}

/// Returns the failure for an app over 20 calls per second on one API: 88/90018 or
/// HTTP 403.
///
/// NOTE: the 90018 `sub_msg` is not published verbatim. Clients parse the end time
/// after `限制将在`, so the text contains it.
pub fn qps_limit(until: &str) -> Failure {
    let sub_msg =
        format!("应用调用当前接口的频率超过了每秒上限，请求被暂时禁用了，限制将在 {until} 结束");
    Failure::gateway(
        "90018",
        &sub_msg,
        403,
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "应用调用当前接口的频率超过了每秒上限",
    )
}

/// Returns the failure for an API throttled for every caller: 90002 or HTTP 403
/// `QpsLimitForApi`.
pub fn api_disabled() -> Failure {
    let message = "您的服务器调用钉钉开放平台当前接口的所有请求都被暂时禁用了";
    Failure::request(
        90002,
        message,
        403,
        "Forbidden.AccessDenied.QpsLimitForApi",
        message,
    )
}

/// Returns the failure for an app over its per-minute limit on one API: 90006 or
/// HTTP 403 `QpmLimitForAppkeyAndApi`.
///
/// NOTE: only the codes are documented (90006 is the app's per-minute limit on one
/// API). The messages are this simulator's wording.
pub fn qpm_limit() -> Failure {
    Failure::request(
        90006,
        "应用调用当前接口的次数超过了每分钟上限，请求被暂时禁用了",
        403,
        "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
        "应用调用当前接口的次数超过了每分钟上限",
    )
}

/// Returns the failure for an organisation over its per-minute limit on one API: 90005.
///
/// NOTE: no v1.0 code for the organisation's per-minute limit is documented, so the
/// v1.0 reply reuses the app's `QpmLimitForAppkeyAndApi`. The messages are this
/// simulator's wording.
pub fn org_qpm_limit() -> Failure {
    Failure::request(
        90005,
        "企业调用当前接口的次数超过了每分钟上限，请求被暂时禁用了",
        403,
        "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
        "企业调用当前接口的次数超过了每分钟上限",
    )
}

/// Returns the failure for an app without the API's permission (权限点): 88 with
/// `sub_code` 60011, or HTTP 403 `AccessTokenPermissionDenied`.
pub fn permission_denied() -> Failure {
    let message = "没有调用该接口的权限";
    Failure::gateway(
        "60011",
        message,
        403,
        "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        message,
    )
}

/// Returns the failure for an organisation out of its monthly call quota: 90020 or
/// HTTP 403.
///
/// NOTE: only the codes are documented. The message is this simulator's wording.
pub fn quota_exhausted() -> Failure {
    let message = "企业调用开放平台接口的次数已超过本月上限";
    Failure::request(
        90020,
        message,
        403,
        "Forbidden.AccessDenied.ApiCountLimitForOrg",
        message,
    )
}

/// Returns the failure for a busy server: -1 or HTTP 500 `systemError`.
pub fn system_busy() -> Failure {
    Failure::request(-1, "系统繁忙", 500, "systemError", "系统繁忙")
}
