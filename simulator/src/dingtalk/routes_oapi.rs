//! The legacy oapi endpoints: gettoken and the three topapi approval calls.
//!
//! The token travels in `?access_token=`; the v1.0 header is ignored here, so a
//! client that sends only the header gets the observed `88`/`40000` reply. Every
//! reply is HTTP 200 with `errcode`, errors included.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::catalogue;
use super::errors::{Failure, Generation, oapi_json, oapi_request_id};
use super::faults::Api;
use super::listing::ListQuery;
use super::render_topapi;
use super::request::{self, begin, decode_body};
use super::state::DingTalkHandle;
use super::tokens::TOKEN_LIFETIME_SECONDS;

type Params = Query<HashMap<String, String>>;

fn fail(failure: Failure) -> Response {
    failure.render(Generation::Oapi)
}

/// Size of a topapi page when the request names none.
///
/// NOTE: the document marks `size` optional without a default; 10 is its example.
const DEFAULT_PAGE_SIZE: i64 = 10;

/// `GET /gettoken?appkey=…&appsecret=…`. Parameters in a form body are not read,
/// which yields the observed 40035 reply.
pub async fn gettoken(State(handle): State<DingTalkHandle>, Query(params): Params) -> Response {
    if let Err(reply) = begin(&handle, Api::Gettoken, Generation::Oapi).await {
        return reply;
    }
    let Some(app_key) = params.get("appkey").filter(|key| !key.is_empty()) else {
        return gettoken_error(catalogue::gettoken_missing_parameter());
    };
    let app_secret = params.get("appsecret").map(String::as_str).unwrap_or("");
    match handle.issue_token(app_key, app_secret) {
        Ok(token) => oapi_json(
            StatusCode::OK,
            json!({
                "errcode": 0,
                "access_token": token,
                "errmsg": "ok",
                "expires_in": TOKEN_LIFETIME_SECONDS,
            }),
        ),
        Err(failure) => {
            tracing::warn!(app_key = %app_key, "rejected token request with bad credentials");
            gettoken_error(failure)
        }
    }
}

/// Renders a gettoken error as observed: `errcode` and `errmsg` without `request_id`.
fn gettoken_error(failure: Failure) -> Response {
    match failure {
        Failure::Request { oapi, .. } => oapi_json(
            StatusCode::OK,
            json!({"errcode": oapi.errcode, "errmsg": oapi.errmsg}),
        ),
        other => fail(other),
    }
}

/// Runs the shared steps of a topapi call and returns the decoded body.
async fn open(
    handle: &DingTalkHandle,
    api: Api,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Map<String, Value>, bool), Response> {
    let repeat_cursor = begin(handle, api, Generation::Oapi).await?;
    handle
        .check_token(params.get("access_token").map(String::as_str))
        .map_err(fail)?;
    let object = decode_body(headers, body).map_err(fail)?;
    Ok((object, repeat_cursor))
}

/// `POST /topapi/processinstance/listids`.
pub async fn listids(
    State(handle): State<DingTalkHandle>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (object, repeat_cursor) = match open(&handle, Api::Listids, &params, &headers, &body).await
    {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    let number =
        |key: &str| request::integer(&object, key).map_err(|()| catalogue::invalid_parameter(key));
    let query = (|| {
        Ok::<_, Failure>(ListQuery {
            process_code: request::text(&object, "process_code"),
            start_time: number("start_time")?,
            end_time: number("end_time")?,
            size: number("size")?.unwrap_or(DEFAULT_PAGE_SIZE),
            cursor: number("cursor")?.unwrap_or(0),
            userids: request::list(&object, "userid_list"),
            statuses: None,
        })
    })();
    let page = match query.and_then(|query| handle.list(&query, repeat_cursor, Generation::Oapi)) {
        Ok(page) => page,
        Err(failure) => return fail(failure),
    };
    let mut result = Map::new();
    result.insert("list".into(), json!(page.ids));
    if let Some(next) = page.next_cursor {
        result.insert("next_cursor".into(), json!(next));
    }
    oapi_json(
        StatusCode::OK,
        json!({"errcode": 0, "result": result, "errmsg": "ok", "request_id": oapi_request_id()}),
    )
}

/// `POST /topapi/processinstance/get`.
pub async fn get(
    State(handle): State<DingTalkHandle>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (object, _) = match open(&handle, Api::Get, &params, &headers, &body).await {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    let Some(id) = request::text(&object, "process_instance_id") else {
        return fail(catalogue::missing_parameter(
            "process_instance_id",
            "invalidParameter",
            "获取单个审批实例详情参数错误",
        ));
    };
    match handle.instance_for_detail(&id) {
        Ok(instance) => oapi_json(
            StatusCode::OK,
            render_topapi::render_get_body(&instance, &oapi_request_id()),
        ),
        Err(failure) => fail(failure),
    }
}

/// `POST /topapi/process/instance/comment/add` with the fields inside `request`.
pub async fn comment_add(
    State(handle): State<DingTalkHandle>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (object, _) = match open(&handle, Api::CommentAdd, &params, &headers, &body).await {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    let Some(Value::Object(inner)) = object.get("request") else {
        return fail(catalogue::missing_parameter(
            "request",
            "invalidParameter",
            "添加审批评论参数错误",
        ));
    };
    let Some(id) = request::text(inner, "process_instance_id") else {
        return fail(catalogue::missing_parameter(
            "request.process_instance_id",
            "invalidInstanceId",
            "添加审批评论参数错误",
        ));
    };
    let Some(user) = request::text(inner, "comment_userid") else {
        return fail(catalogue::missing_parameter(
            "request.comment_userid",
            "invalidInstanceCommentUserId",
            "添加审批评论参数错误",
        ));
    };
    let text = request::text(inner, "text").unwrap_or_default();
    match handle.comment(&id, &text, &user, Api::CommentAdd) {
        Ok(()) => {
            tracing::info!(process_instance_id = %id, "recorded comment");
            oapi_json(
                StatusCode::OK,
                json!({"errcode": 0, "errmsg": "ok", "result": true, "success": true,
                       "request_id": oapi_request_id()}),
            )
        }
        Err(failure) => fail(failure),
    }
}

/// Replies to an unknown oapi path with the observed `errcode` 22.
pub fn unknown_path(path: &str) -> Response {
    let trimmed = path.trim_start_matches('/');
    let api_name = trimmed
        .strip_prefix("topapi/")
        .unwrap_or(trimmed)
        .replace('/', ".");
    let sub_msg = format!("不合法ApiName，ApiName = dingtalk.oapi.{api_name}");
    oapi_json(
        StatusCode::OK,
        json!({
            "errcode": 22,
            "sub_msg": sub_msg,
            "errmsg": format!("Invalid method[submsg={sub_msg}]"),
            "request_id": oapi_request_id(),
        }),
    )
}
