//! Client behaviour over real HTTP against a scripted server on 127.0.0.1: headers and
//! bodies, session handling, single-flight login, timeouts and broken connections.
//!
//! The scripted server replies with fixed K3Cloud bodies, so each test controls exactly
//! the reply sequence that the rule under test needs (a session lost mid-burst, a reply
//! that never comes). End-to-end runs against the K3Cloud simulator live in `tests/`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use super::signature::{SignatureInput, sign};
use super::*;

const APP_ID: &str = "123456_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "pw-7d1c9e";

const SAVED_ONE: &str = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100029,"Number":"DD-1","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100029,"Number":"DD-1","NeedReturnData":[{}]}}"#;
const SESSION_LOST: &str = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}"#;

/// One request the scripted server received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Value,
}

impl Seen {
    fn service(&self) -> &str {
        let name = self.path.trim_end_matches(".common.kdsvc");
        name.rsplit('.').next().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A reply of the scripted server.
struct Reply {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
    delay: Duration,
}

impl Reply {
    fn ok(body: &str) -> Reply {
        Reply {
            status: 200,
            body: body.to_string(),
            set_cookies: Vec::new(),
            delay: Duration::ZERO,
        }
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

#[derive(Clone)]
struct Stub {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Script>,
}

impl Stub {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, service: &str) -> usize {
        self.requests()
            .iter()
            .filter(|seen| seen.service() == service)
            .count()
    }
}

async fn handle(State(stub): State<Stub>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let seen = Seen {
        path: uri.path().to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    stub.seen.lock().unwrap().push(seen.clone());
    let reply = (stub.script)(&seen);
    tokio::time::sleep(reply.delay).await;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for cookie in reply.set_cookies {
        response
            .headers_mut()
            .append("set-cookie", cookie.parse().unwrap());
    }
    response
}

/// Starts the scripted server; returns it and its base URL.
async fn serve(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (Stub, String) {
    let stub = Stub {
        seen: Arc::new(Mutex::new(Vec::new())),
        script: Arc::new(script),
    };
    let app = Router::new().fallback(handle).with_state(stub.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (stub, format!("http://{address}/k3cloud/"))
}

fn signature_settings(base_url: &str) -> RawK3CloudConfig {
    RawK3CloudConfig {
        base_url: base_url.to_string(),
        acct_id: "62f1a2b3c4d5e6".to_string(),
        username: "demo".to_string(),
        app_id: APP_ID.to_string(),
        app_secret: Some(SecretString::from(APP_SECRET)),
        request_timeout_ms: 2_000,
        connect_timeout_ms: 1_000,
        ..RawK3CloudConfig::default()
    }
}

fn session_settings(base_url: &str) -> RawK3CloudConfig {
    RawK3CloudConfig {
        auth: "session".to_string(),
        session_login: "password".to_string(),
        app_secret: None,
        password: Some(SecretString::from(PASSWORD)),
        ..signature_settings(base_url)
    }
}

fn client(raw: RawK3CloudConfig) -> K3CloudClient {
    K3CloudClient::new(raw.validate().unwrap()).unwrap()
}

fn login_reply(session: &str) -> Reply {
    Reply {
        set_cookies: vec![
            format!("kdservice-sessionid={session}; path=/"),
            format!("ASP.NET_SessionId=asp-{session}; path=/; HttpOnly"),
        ],
        ..Reply::ok(&format!(
            r#"{{"Message":null,"LoginResultType":1,"Context":{{"SessionId":"asp-{session}"}},"KDSVCSessionId":"{session}","IsSuccessByAPI":true}}"#
        ))
    }
}

fn model() -> Value {
    json!({"FBillNo": "DD-1", "FPAYORGID": {"FNumber": "100"}})
}

#[tokio::test]
async fn signature_headers_verify() {
    let (stub, base) = serve(|_| Reply::ok(SAVED_ONE)).await;
    let outcomes = client(signature_settings(&base))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], ModelOutcome::Saved { k3_id: 100029, .. }),
        "{outcomes:?}"
    );

    let seen = &stub.requests()[0];
    assert_eq!(
        seen.path,
        "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc"
    );
    let timestamp: i64 = seen.header("x-api-timestamp").unwrap().parse().unwrap();
    let expected = sign(&SignatureInput {
        path: &seen.path,
        acct_id: "62f1a2b3c4d5e6",
        username: "demo",
        app_id: APP_ID,
        app_secret: APP_SECRET,
        lcid: 2052,
        org_num: "0",
        timestamp,
    });
    for (name, value) in &expected.headers {
        assert_eq!(seen.header(name), Some(value.as_str()), "header {name}");
    }
}

#[tokio::test]
async fn batch_save_sends_named_body() {
    let (stub, base) = serve(|_| Reply::ok(SAVED_ONE)).await;
    let client = client(signature_settings(&base));
    client.batch_save("AP_PAYBILL", &[model()]).await.unwrap();
    let seen = &stub.requests()[0];
    assert_eq!(seen.body["formid"], "AP_PAYBILL");
    assert_eq!(
        seen.body["data"],
        client.batch_save_preview(&[model()]),
        "the preview is exactly what is sent"
    );
    assert_eq!(seen.body["data"]["IsVerifyBaseDataField"], "true");
}

#[tokio::test]
async fn signature_echoes_session_cookie() {
    let (stub, base) = serve(|_| Reply {
        set_cookies: vec!["kdservice-sessionid=sid-1; path=/".to_string()],
        ..Reply::ok(SAVED_ONE)
    })
    .await;
    let client = client(signature_settings(&base));
    client.save("AP_PAYBILL", &model()).await.unwrap();
    client.save("AP_PAYBILL", &model()).await.unwrap();
    let second = &stub.requests()[1];
    assert_eq!(second.header("cookie"), Some("kdservice-sessionid=sid-1"));
    assert_eq!(second.header("kdservice-sessionid"), Some("sid-1"));
}

#[tokio::test]
async fn signature_session_lost_is_configuration() {
    let (stub, base) = serve(|_| Reply::ok(SESSION_LOST)).await;
    let error = client(signature_settings(&base))
        .view("AP_PAYBILL", &ViewKey::Number("DD-1".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Configuration {
                reason: Reason::CredentialsRejected { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        stub.requests().len(),
        1,
        "wrong credentials are never retried"
    );
}

#[tokio::test]
async fn session_login_is_reused() {
    let (stub, base) = serve(|seen| match seen.service() {
        "ValidateUser" => login_reply("s1"),
        _ => Reply::ok("[]"),
    })
    .await;
    let client = client(session_settings(&base));
    let query = BillQuery::new("AP_PAYBILL", &["FID"]);
    client.execute_bill_query(&query).await.unwrap();
    client.execute_bill_query(&query).await.unwrap();

    assert_eq!(stub.count("ValidateUser"), 1, "one login for two calls");
    let login = &stub.requests()[0];
    assert_eq!(login.body["acctID"], "62f1a2b3c4d5e6");
    assert_eq!(login.body["password"], PASSWORD);
    let query = &stub.requests()[2];
    assert_eq!(
        query.header("cookie"),
        Some("kdservice-sessionid=s1; ASP.NET_SessionId=asp-s1")
    );
    assert!(
        query.header("X-Kd-Signature").is_none(),
        "no signature under session auth"
    );
}

/// Replies `MsgCode` 1 to every request still carrying session `s1`.
fn expiring_server(seen: &Seen, logins: &AtomicUsize, data: &str) -> Reply {
    if seen.service() == "ValidateUser" {
        let count = logins.fetch_add(1, Ordering::SeqCst) + 1;
        return login_reply(&format!("s{count}"));
    }
    if seen.header("kdservice-sessionid") == Some("s1") {
        return Reply::ok(SESSION_LOST);
    }
    Reply::ok(data)
}

#[tokio::test]
async fn session_lost_read_is_retried_once() {
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let (stub, base) = serve(move |seen| expiring_server(seen, &counter, r#"[[1,"DD-1"]]"#)).await;
    let rows = client(session_settings(&base))
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID", "FBillNo"]))
        .await
        .unwrap();
    assert_eq!(rows, vec![vec![json!(1), json!("DD-1")]]);
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "login, then one login again"
    );
    assert_eq!(stub.count("ExecuteBillQuery"), 2, "the read is sent twice");
}

#[tokio::test]
async fn session_lost_write_is_not_resent() {
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let (stub, base) = serve(move |seen| expiring_server(seen, &counter, SAVED_ONE)).await;
    let client = client(session_settings(&base));
    let error = client
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::SessionLost { .. }), "{error:?}");
    assert_eq!(
        stub.count("BatchSave"),
        1,
        "a write is never resent by the client"
    );
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "the session is re-established"
    );

    let outcomes = client.batch_save("AP_PAYBILL", &[model()]).await.unwrap();
    assert!(
        matches!(outcomes[0], ModelOutcome::Saved { .. }),
        "the next call uses the new session"
    );
}

#[tokio::test]
async fn session_login_is_single_flight() {
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let (_stub, base) = serve(move |seen| {
        let mut reply = expiring_server(seen, &counter, "[]");
        reply.delay = Duration::from_millis(50);
        reply
    })
    .await;
    let client = client(session_settings(&base));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID"]))
                .await
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .expect("every read succeeds after the new login");
    }
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "eight tasks share the first login and the login after the session loss"
    );
}

#[tokio::test]
async fn login_rejection_is_configuration() {
    let (_stub, base) = serve(|_| {
        Reply::ok(r#"{"Message":"用户名或密码错误","MessageCode":"","LoginResultType":0,"Context":null,"FormId":null}"#)
    })
    .await;
    let error = client(session_settings(&base))
        .view("AP_PAYBILL", &ViewKey::Id(1))
        .await
        .unwrap_err();
    let CallError::Configuration {
        reason: Reason::LoginRejected {
            result_type,
            message,
        },
        ..
    } = &error
    else {
        panic!("login rejection expected: {error:?}");
    };
    assert_eq!(*result_type, Some(0));
    assert_eq!(message, "用户名或密码错误", "the server's message is kept");
}

#[tokio::test]
async fn login_form_handling_needs_session() {
    let (_stub, base) = serve(|seen| match seen.service() {
        "ValidateUser" => Reply::ok(r#"{"Message":"许可即将到期","LoginResultType":-5,"KDSVCSessionId":null,"FormId":"BOS_CloudInspection"}"#),
        _ => Reply::ok("[]"),
    })
    .await;
    let error = client(session_settings(&base))
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Configuration {
                reason: Reason::LoginRejected {
                    result_type: Some(-5),
                    ..
                },
                ..
            }
        ),
        "-5 without a session id is not a login: {error:?}"
    );
}

#[tokio::test]
async fn login_form_handling_with_session_passes() {
    let (_stub, base) = serve(|seen| match seen.service() {
        "ValidateUser" => Reply::ok(r#"{"Message":"","LoginResultType":-5,"KDSVCSessionId":"s9","FormId":"BOS_CloudInspection"}"#),
        _ => Reply::ok("[]"),
    })
    .await;
    let rows = client(session_settings(&base))
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID"]))
        .await;
    assert_eq!(
        rows,
        Ok(Vec::new()),
        "K3Cloud accepts -5 with a session id for API logins"
    );
}

#[tokio::test]
async fn write_timeout_is_unknown_outcome() {
    let (_stub, base) = serve(|_| Reply {
        delay: Duration::from_secs(3),
        ..Reply::ok(SAVED_ONE)
    })
    .await;
    let raw = RawK3CloudConfig {
        request_timeout_ms: 300,
        connect_timeout_ms: 300,
        ..signature_settings(&base)
    };
    let client = client(raw);
    let write = client
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            write,
            CallError::UnknownOutcome {
                reason: Reason::Timeout { .. },
                ..
            }
        ),
        "a timed-out write may have run: {write:?}"
    );
    let read = client
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            read,
            CallError::Transient {
                reason: Reason::Timeout { .. },
                ..
            }
        ),
        "{read:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = client(signature_settings(&format!("http://{address}/k3cloud/")))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Transient {
                reason: Reason::Connect { .. },
                ..
            }
        ),
        "nothing was sent: {error:?}"
    );
}

#[tokio::test]
async fn dropped_connection_after_write_is_unknown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    let error = client(signature_settings(&format!("http://{address}/k3cloud/")))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::UnknownOutcome {
                reason: Reason::ReplyLost { .. },
                ..
            }
        ),
        "the request left the client, so the bill may exist: {error:?}"
    );
}

#[tokio::test]
async fn html_reply_is_unknown_outcome() {
    let (_stub, base) = serve(|_| {
        Reply::ok(&format!(
            "<html><body>Runtime Error, key {APP_SECRET}</body></html>"
        ))
    })
    .await;
    let error = client(signature_settings(&base))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    let CallError::UnknownOutcome {
        reason: Reason::UnexpectedReply { excerpt, .. },
        ..
    } = &error
    else {
        panic!("unknown outcome expected: {error:?}");
    };
    assert!(
        excerpt.starts_with("<html>"),
        "excerpt shows the page: {excerpt}"
    );
    assert!(
        !error.to_string().contains(APP_SECRET),
        "the app secret is masked: {error}"
    );
}

#[tokio::test]
async fn wrong_account_set_is_configuration() {
    let (_stub, base) = serve(|_| Reply {
        status: 500,
        ..Reply::ok("Fail to verify thirty passport")
    })
    .await;
    let error = client(signature_settings(&base))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Configuration {
                reason: Reason::UnknownAccountSet { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn network_control_is_transient() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"网控冲突","DIndex":0}],"SuccessEntitys":[],"MsgCode":13}}}"#;
    let (_stub, base) = serve(move |_| Reply::ok(body)).await;
    let error = client(signature_settings(&base))
        .batch_save("AP_PAYBILL", &[model()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Transient {
                reason: Reason::NetworkControl { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn view_reads_bill_or_none() {
    let (_stub, base) = serve(|seen| {
        if seen.body["data"]["Number"] == "DD-1" {
            Reply::ok(
                r#"{"Result":{"ResponseStatus":null,"Result":{"Id":100024,"FBillNo":"DD-1"}}}"#,
            )
        } else {
            Reply::ok(r#"{"Result":{"ResponseStatus":null,"Result":{}}}"#)
        }
    })
    .await;
    let client = client(signature_settings(&base));
    let found = client
        .view("AP_PAYBILL", &ViewKey::Number("DD-1".into()))
        .await
        .unwrap();
    assert_eq!(found.unwrap()["Id"], 100024);
    let missing = client
        .view("AP_PAYBILL", &ViewKey::Number("DD-2".into()))
        .await
        .unwrap();
    assert_eq!(missing, None, "an empty bill is not found");
}

#[tokio::test]
async fn existing_bills_chunks_numbers() {
    let (stub, base) = serve(|seen| {
        let filter = seen.body["data"]["FilterString"].as_str().unwrap_or("");
        if filter.contains("'DD-7'") {
            Reply::ok(r#"[["1007","DD-7"],[1003,"DD-7"]]"#)
        } else if filter.contains("'DD-60'") {
            Reply::ok(r#"[[1060,"DD-60"]]"#)
        } else {
            Reply::ok("[]")
        }
    })
    .await;
    let numbers: Vec<String> = (0..=PROBE_CHUNK + 10).map(|n| format!("DD-{n}")).collect();
    let found = client(signature_settings(&base))
        .existing_bills("AP_PAYBILL", &numbers)
        .await
        .unwrap();
    assert_eq!(
        found.get("DD-7"),
        Some(&1003),
        "the older of two bills with one number"
    );
    assert_eq!(found.get("DD-60"), Some(&1060));
    assert_eq!(found.len(), 2);

    let requests = stub.requests();
    assert_eq!(
        requests.len(),
        2,
        "61 numbers take two queries of at most 50"
    );
    let data = &requests[0].body["data"];
    assert_eq!(data["FieldKeys"], "FID,FBillNo");
    assert!(
        data["FilterString"]
            .as_str()
            .unwrap()
            .starts_with("FBillNo in ('DD-0','DD-1',"),
        "an in filter on FBillNo: {}",
        data["FilterString"]
    );
}

#[tokio::test]
async fn existing_bills_without_numbers_sends_nothing() {
    let (stub, base) = serve(|_| Reply::ok("[]")).await;
    let found = client(signature_settings(&base))
        .existing_bills("AP_PAYBILL", &[])
        .await
        .unwrap();
    assert!(found.is_empty());
    assert!(stub.requests().is_empty(), "no request for an empty list");
}

#[tokio::test]
async fn query_error_is_configuration() {
    let body = r#"[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"元数据中标识为FNoSuchField的字段不存在","DIndex":0}],"MsgCode":9}}}]]"#;
    let (_stub, base) = serve(move |_| Reply::ok(body)).await;
    let error = client(signature_settings(&base))
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FNoSuchField"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Configuration {
                reason: Reason::Refused {
                    msg_code: Some(9),
                    ..
                },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn debug_hides_secrets_and_sessions() {
    let (_stub, base) = serve(|seen| match seen.service() {
        "ValidateUser" => login_reply("sess-4f2a"),
        _ => Reply::ok("[]"),
    })
    .await;
    let client = client(session_settings(&base));
    client
        .execute_bill_query(&BillQuery::new("AP_PAYBILL", &["FID"]))
        .await
        .unwrap();
    let text = format!("{client:?} {:?}", client.settings());
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
    assert!(!text.contains("sess-4f2a"), "session id leaked: {text}");

    let signed = self::client(signature_settings(&base));
    let text = format!("{signed:?} {:?}", signed.settings());
    assert!(!text.contains(APP_SECRET), "app secret leaked: {text}");
}
