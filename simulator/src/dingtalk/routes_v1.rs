//! The v1.0 endpoints: token, instance-id query, instance detail and comments.
//!
//! The token travels in the `x-acs-dingtalk-access-token` header; a token in the query
//! string is not read, which yields the observed `AuthenticationFailed.MissingParameter`
//! reply. Errors are HTTP 4xx/5xx with `{"code", "message", "requestid"}`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::catalogue;
use super::errors::{Failure, Generation, v1_json};
use super::faults::Api;
use super::listing::ListQuery;
use super::model::Status;
use super::render_v1;
use super::request::{self, begin, decode_body};
use super::state::DingTalkHandle;
use super::tokens::TOKEN_LIFETIME_SECONDS;

/// Header that carries the v1.0 token.
pub const TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

fn fail(failure: Failure) -> Response {
    failure.render(Generation::V1)
}

/// `POST /v1.0/oauth2/accessToken` with `appKey`/`appSecret` in a JSON body.
pub async fn access_token(
    State(handle): State<DingTalkHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(reply) = begin(&handle, Api::AccessToken, Generation::V1).await {
        return reply;
    }
    let object = match decode_body(&headers, &body) {
        Ok(object) => object,
        Err(_) => return fail(catalogue::bad_credentials()),
    };
    let app_key = request::text(&object, "appKey").unwrap_or_default();
    let app_secret = request::text(&object, "appSecret").unwrap_or_default();
    match handle.issue_token(&app_key, &app_secret) {
        Ok(token) => v1_json(
            StatusCode::OK,
            json!({"accessToken": token, "expireIn": TOKEN_LIFETIME_SECONDS}),
        ),
        Err(failure) => {
            tracing::warn!(app_key = %app_key, "rejected token request with bad credentials");
            fail(failure)
        }
    }
}

/// Runs the shared steps of a v1.0 call.
async fn open(handle: &DingTalkHandle, api: Api, headers: &HeaderMap) -> Result<bool, Response> {
    let repeat_cursor = begin(handle, api, Generation::V1).await?;
    let token = headers
        .get(TOKEN_HEADER)
        .and_then(|value| value.to_str().ok());
    handle.check_token(token).map_err(fail)?;
    Ok(repeat_cursor)
}

fn decode(object: &Map<String, Value>) -> Result<ListQuery, Failure> {
    let number = |key: &str| request::integer(object, key);
    let next_token = number("nextToken")
        .map_err(|()| catalogue::bad_cursor())?
        .ok_or_else(catalogue::bad_cursor)?;
    let max_results = number("maxResults")
        .map_err(|()| catalogue::page_size())?
        .ok_or_else(catalogue::page_size)?;
    let start_time = number("startTime").map_err(|()| catalogue::invalid_parameter("startTime"))?;
    let end_time = number("endTime").map_err(|()| catalogue::invalid_parameter("endTime"))?;
    let statuses = match object.get("statuses") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let names = request::list(object, "statuses");
            let parsed = names
                .iter()
                .map(|name| Status::parse(name).ok_or_else(|| catalogue::bad_status_filter(name)))
                .collect::<Result<Vec<_>, _>>()?;
            (!parsed.is_empty()).then_some(parsed)
        }
    };
    Ok(ListQuery {
        process_code: request::text(object, "processCode"),
        start_time,
        end_time,
        size: max_results,
        cursor: next_token,
        userids: request::list(object, "userIds"),
        statuses,
    })
}

/// `POST /v1.0/workflow/processes/instanceIds/query`.
pub async fn instance_ids_query(
    State(handle): State<DingTalkHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let repeat_cursor = match open(&handle, Api::InstanceIdsQuery, &headers).await {
        Ok(repeat_cursor) => repeat_cursor,
        Err(reply) => return reply,
    };
    let page = decode_body(&headers, &body)
        .and_then(|object| decode(&object))
        .and_then(|query| {
            if query.process_code.is_none() {
                return Err(catalogue::missing_parameter(
                    "processCode",
                    "invalidProcessCode",
                    "审批模板processCode不能为空",
                ));
            }
            handle.list(&query, repeat_cursor, Generation::V1)
        });
    let page = match page {
        Ok(page) => page,
        Err(failure) => return fail(failure),
    };
    let mut result = Map::new();
    result.insert("list".into(), json!(page.ids));
    match page.next_cursor {
        Some(next) => {
            result.insert("nextToken".into(), json!(next.to_string()));
        }
        None if handle.config().v1_empty_next_token => {
            result.insert("nextToken".into(), json!(""));
        }
        None => {}
    }
    v1_json(StatusCode::OK, json!({"result": result, "success": true}))
}

/// `GET /v1.0/workflow/processInstances?processInstanceId=…`.
pub async fn process_instance(
    State(handle): State<DingTalkHandle>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(reply) = open(&handle, Api::ProcessInstance, &headers).await {
        return reply;
    }
    let Some(id) = params.get("processInstanceId").filter(|id| !id.is_empty()) else {
        return fail(catalogue::missing_parameter(
            "processInstanceId",
            "invalidParameter",
            "获取单个审批实例详情参数错误",
        ));
    };
    match handle.instance_for_detail(id) {
        Ok(instance) => v1_json(StatusCode::OK, render_v1::render_get_body(&instance)),
        Err(failure) => fail(failure),
    }
}

/// `POST /v1.0/workflow/processInstances/comments`.
pub async fn comments(
    State(handle): State<DingTalkHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(reply) = open(&handle, Api::Comments, &headers).await {
        return reply;
    }
    let object = match decode_body(&headers, &body) {
        Ok(object) => object,
        Err(failure) => return fail(failure),
    };
    let Some(id) = request::text(&object, "processInstanceId") else {
        return fail(catalogue::missing_parameter(
            "processInstanceId",
            "invalidInstanceId",
            "添加审批评论参数错误",
        ));
    };
    let Some(user) = request::text(&object, "commentUserId") else {
        return fail(catalogue::missing_parameter(
            "commentUserId",
            "invalidInstanceCommentUserId",
            "添加审批评论参数错误",
        ));
    };
    let text = request::text(&object, "text").unwrap_or_default();
    match handle.comment(&id, &text, &user, Api::Comments) {
        Ok(()) => {
            tracing::info!(process_instance_id = %id, "recorded comment");
            v1_json(StatusCode::OK, json!({"result": true, "success": true}))
        }
        Err(failure) => fail(failure),
    }
}

/// Replies to an unknown v1.0 path.
///
/// NOTE: the real reply to an unknown v1.0 path is not recorded; this follows the
/// Alibaba Cloud API gateway that serves `api.dingtalk.com`.
pub fn unknown_path() -> Response {
    let failure = Failure::request(
        22,
        "",
        404,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
    );
    fail(failure)
}
