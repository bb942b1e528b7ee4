//! The DingTalk endpoints the client calls, with their host, method and envelope.
//!
//! The path doubles as the `api` label of metrics and logs, so an operator can match a
//! log line to DingTalk's documentation directly.

use reqwest::Method;

/// Reply envelope of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Envelope {
    /// `oapi.dingtalk.com`: HTTP 200 with `errcode` (0 on success).
    Oapi,
    /// `api.dingtalk.com`: HTTP status plus a string `code` on failure.
    V1,
}

/// One DingTalk API the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /gettoken?appkey=&appsecret=`.
    GetToken,
    /// `POST /v1.0/oauth2/accessToken`.
    AccessToken,
    /// `POST /topapi/processinstance/listids`.
    ListIds,
    /// `POST /v1.0/workflow/processes/instanceIds/query`.
    InstanceIdsQuery,
    /// `POST /topapi/processinstance/get`.
    GetInstance,
    /// `GET /v1.0/workflow/processInstances?processInstanceId=`.
    ProcessInstance,
    /// `POST /topapi/process/instance/comment/add`.
    AddComment,
    /// `POST /v1.0/workflow/processInstances/comments`.
    Comments,
}

impl Endpoint {
    /// Returns the path below the host root, also used as the `api` label.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::GetToken => "gettoken",
            Endpoint::AccessToken => "v1.0/oauth2/accessToken",
            Endpoint::ListIds => "topapi/processinstance/listids",
            Endpoint::InstanceIdsQuery => "v1.0/workflow/processes/instanceIds/query",
            Endpoint::GetInstance => "topapi/processinstance/get",
            Endpoint::ProcessInstance => "v1.0/workflow/processInstances",
            Endpoint::AddComment => "topapi/process/instance/comment/add",
            Endpoint::Comments => "v1.0/workflow/processInstances/comments",
        }
    }

    /// Returns the reply envelope, which also decides the host and how the token is sent.
    pub(crate) fn envelope(self) -> Envelope {
        match self {
            Endpoint::GetToken
            | Endpoint::ListIds
            | Endpoint::GetInstance
            | Endpoint::AddComment => Envelope::Oapi,
            Endpoint::AccessToken
            | Endpoint::InstanceIdsQuery
            | Endpoint::ProcessInstance
            | Endpoint::Comments => Envelope::V1,
        }
    }

    /// Returns the HTTP method.
    pub(crate) fn method(self) -> Method {
        match self {
            Endpoint::GetToken | Endpoint::ProcessInstance => Method::GET,
            _ => Method::POST,
        }
    }
}
