//! Transport behaviour the DingTalk simulator cannot produce: permission errors, token
//! replies without a usable expiry, and failures that must not reveal the secret. A
//! scripted HTTP server on 127.0.0.1 replaces DingTalk here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use crate::dingtalk::{DingTalkClient, RawDingTalkConfig};

use super::*;

/// Replies of the scripted server and what it received.
#[derive(Default)]
struct Script {
    /// `expires_in` of every gettoken reply, `None` for a reply without it.
    expires_in: Option<i64>,
    /// Replies to business calls, in order. When the queue is empty, calls succeed.
    replies: VecDeque<(u16, String)>,
    /// Tokens issued.
    token_calls: usize,
    /// Business calls with their query strings.
    calls: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

async fn serve(State(script): State<Shared>, request: HttpRequest) -> Response {
    let mut script = script.lock().unwrap();
    if request.uri().path() == "/gettoken" {
        script.token_calls += 1;
        let token = format!("token-{}", script.token_calls);
        let body = match script.expires_in {
            Some(seconds) => json!({"errcode": 0, "access_token": token, "expires_in": seconds}),
            None => json!({"errcode": 0, "access_token": token}),
        };
        return (StatusCode::OK, body.to_string()).into_response();
    }
    script
        .calls
        .push(request.uri().query().unwrap_or_default().to_string());
    let (status, body) = script.replies.pop_front().unwrap_or_else(|| {
        (
            200,
            json!({"errcode": 0, "process_instance": {"status": "RUNNING", "create_time": "2026-11-04 16:40:05"}}).to_string(),
        )
    });
    (StatusCode::from_u16(status).unwrap(), body).into_response()
}

async fn start(script: Script) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(script));
    let app = Router::new().fallback(serve).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{address}"), shared)
}

fn client(base_url: &str) -> DingTalkClient {
    let settings = RawDingTalkConfig {
        oapi_base_url: base_url.to_string(),
        api_base_url: base_url.to_string(),
        app_key: "app-key".to_string(),
        app_secret: Some(SecretString::from("secret-that-must-not-leak")),
        rate_limit_per_second: 1000,
        retry_initial_delay_ms: 5,
        retry_max_delay_ms: 50,
        connect_timeout_ms: 500,
        request_timeout_ms: 2_000,
        ..RawDingTalkConfig::default()
    }
    .validate()
    .unwrap();
    DingTalkClient::new(settings).unwrap()
}

fn permission_denied() -> (u16, String) {
    (
        200,
        json!({"errcode": 60011, "errmsg": "应用尚未开通所需的权限：[Workflow.Instance.Read]"})
            .to_string(),
    )
}

#[tokio::test]
async fn permission_error_refreshes_token_once() {
    let (base_url, script) = start(Script {
        replies: VecDeque::from([permission_denied()]),
        ..Script::default()
    })
    .await;

    let instance = client(&base_url).get_instance("pi-1").await;

    assert!(
        instance.is_ok(),
        "a newly granted permission works with a new token: {instance:?}"
    );
    let script = script.lock().unwrap();
    assert_eq!(script.token_calls, 2, "the token is replaced once");
    assert!(
        script.calls[1].contains("access_token=token-2"),
        "the retry uses the new token"
    );
}

#[tokio::test]
async fn permission_error_twice_is_configuration() {
    let (base_url, script) = start(Script {
        replies: VecDeque::from([
            permission_denied(),
            permission_denied(),
            permission_denied(),
        ]),
        ..Script::default()
    })
    .await;

    let error = client(&base_url).get_instance("pi-1").await.unwrap_err();

    assert!(
        matches!(
            error,
            DingTalkError::Configuration {
                reason: ConfigurationReason::PermissionDenied,
                ..
            }
        ),
        "{error:?}"
    );
    let script = script.lock().unwrap();
    assert_eq!(script.calls.len(), 2, "one retry, then the error");
    assert_eq!(script.token_calls, 2);
}

#[tokio::test]
async fn missing_expiry_reuses_token() {
    for expires_in in [None, Some(0), Some(-1)] {
        let (base_url, script) = start(Script {
            expires_in,
            ..Script::default()
        })
        .await;
        let client = client(&base_url);

        for _ in 0..5 {
            client.get_instance("pi-1").await.unwrap();
        }

        assert_eq!(
            script.lock().unwrap().token_calls,
            1,
            "expires_in {expires_in:?} must not cause a fetch per call"
        );
    }
}

#[tokio::test]
async fn plain_invalid_token_replaced() {
    let (base_url, script) = start(Script {
        replies: VecDeque::from([(
            200,
            json!({"errcode": 42001, "errmsg": "access_token超时"}).to_string(),
        )]),
        ..Script::default()
    })
    .await;

    let instance = client(&base_url).get_instance("pi-1").await;

    assert!(instance.is_ok(), "{instance:?}");
    assert_eq!(script.lock().unwrap().token_calls, 2);
}

#[tokio::test]
async fn connection_failure_hides_secret() {
    // Bind and drop a listener to get a port without a listening server.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = client(&format!("http://127.0.0.1:{port}"));

    let error = client.get_instance("pi-1").await.unwrap_err();

    assert!(
        matches!(error, DingTalkError::Transient { .. }),
        "{error:?}"
    );
    let error_output = format!("{error} {error:?}");
    assert!(
        !error_output.contains("secret-that-must-not-leak"),
        "the secret leaked: {error_output}"
    );
    assert!(
        !error_output.contains("appsecret"),
        "the URL leaked: {error_output}"
    );
}
