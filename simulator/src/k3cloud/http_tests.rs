//! In-process HTTP tests: raw JSON bodies and headers exactly as the official SDKs and
//! common clients send them, against a simulator bound to 127.0.0.1:0.

use std::time::Duration;

use dingk3::k3cloud::signature::{SignatureInput, sign};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::*;
use crate::k3cloud::test_support::valid_model;

const SAVE: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save";
const BATCH_SAVE: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave";
const QUERY: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery";
const VIEW: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.View";
const SUBMIT: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Submit";
const AUDIT: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Audit";
const VALIDATE_USER: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser";

struct Sim {
    running: RunningK3Cloud,
    client: reqwest::Client,
}

async fn start() -> Sim {
    start_with(SimulatorOptions::default()).await
}

async fn start_with(options: SimulatorOptions) -> Sim {
    let running = K3CloudSimulator::start(options)
        .await
        .expect("simulator starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Sim { running, client }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Sim {
    fn url(&self, service: &str) -> String {
        format!("{}{service}.common.kdsvc", self.running.base_url())
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}/__sim/{path}", self.running.address())
    }

    /// Posts with the signature headers the Python SDK computes for `credentials`.
    async fn signed(
        &self,
        service: &str,
        body: &Value,
        credentials: &Credentials,
    ) -> reqwest::Response {
        self.try_signed(service, body, credentials)
            .await
            .expect("request sent")
    }

    async fn try_signed(
        &self,
        service: &str,
        body: &Value,
        credentials: &Credentials,
    ) -> reqwest::Result<reqwest::Response> {
        let url = self.url(service);
        let path = format!("/k3cloud/{service}.common.kdsvc");
        let headers = sign(&SignatureInput {
            path: &path,
            acct_id: &credentials.acct_id,
            username: &credentials.username,
            app_id: &credentials.app_id,
            app_secret: credentials.app_secret.expose_secret(),
            lcid: 2052,
            org_num: "0",
            timestamp: unix_now(),
        });
        let mut request = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for (name, value) in headers.headers {
            request = request.header(name, value);
        }
        request.send().await
    }

    async fn signed_json(&self, service: &str, body: &Value) -> Value {
        let response = self.signed(service, body, &Credentials::default()).await;
        assert_eq!(response.status(), StatusCode::OK, "HTTP status");
        response.json().await.expect("JSON reply")
    }

    async fn plain(&self, service: &str, body: &Value, sid: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url(service)).body(body.to_string());
        if let Some(sid) = sid {
            request = request.header("Cookie", format!("kdservice-sessionid={sid}"));
        }
        request.send().await.expect("request sent")
    }
}

fn batch_body(models: Vec<Value>, verify: bool) -> Value {
    json!({"formid": "AP_PAYBILL", "data": {
        "NeedUpDateFields": [], "NeedReturnFields": [], "IsDeleteEntry": "true",
        "IsVerifyBaseDataField": verify.to_string(), "IsAutoSubmitAndAudit": "false",
        "Model": models
    }})
}

fn status(reply: &Value) -> &Value {
    &reply["Result"]["ResponseStatus"]
}

#[tokio::test]
async fn batch_save_partial_success_by_dindex() {
    let sim = start().await;
    let mut invalid = valid_model("BX-BAD");
    invalid["FPAYBILLENTRY"][0]["FCOSTID"] = json!({"FNumber": "团建活动"});
    let body = batch_body(vec![valid_model("BX-OK"), invalid], true);
    let response = sim.signed(BATCH_SAVE, &body, &Credentials::default()).await;
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2, "session cookies after signature auth");
    let reply: Value = response.json().await.unwrap();

    let status = status(&reply);
    assert_eq!(status["IsSuccess"], json!(false));
    assert_eq!(status["ErrorCode"], json!(500));
    assert_eq!(status["SuccessEntitys"][0]["Number"], json!("BX-OK"));
    assert_eq!(status["SuccessEntitys"][0]["DIndex"], json!(0));
    assert_eq!(status["Errors"][0]["DIndex"], json!(1));
    assert_eq!(status["Errors"][0]["FieldName"], json!("FCOSTID"));
    assert_eq!(
        sim.running.handle().bill_count(),
        1,
        "only the valid bill is saved"
    );
    let stats = sim.running.handle().stats();
    assert_eq!(stats.count("BatchSave", Outcome::PartialSuccess), 1);
}

#[tokio::test]
async fn positional_parameters_with_json_text_save() {
    let sim = start().await;
    let data = json!({"IsAutoSubmitAndAudit": true, "Model": valid_model("BX-P1")}).to_string();
    let body = json!({"parameters": ["AP_PAYBILL", data]});
    let reply = sim.signed_json(SAVE, &body).await;
    assert_eq!(status(&reply)["IsSuccess"], json!(true));
    assert_eq!(reply["Result"]["Number"], json!("BX-P1"));
    assert!(
        status(&reply).get("ErrorCode").is_none(),
        "no ErrorCode on success"
    );
    let bill = sim.running.handle().bill("BX-P1").unwrap();
    assert_eq!(
        bill.status,
        DocumentStatus::Audited,
        "auto submit and audit"
    );
    assert_eq!(bill.total.to_string(), "1400.50");
}

#[tokio::test]
async fn generated_number_and_duplicate_number() {
    let sim = start().await;
    let mut unnumbered = valid_model("");
    unnumbered.as_object_mut().unwrap().remove("FBillNo");
    let reply = sim
        .signed_json(
            SAVE,
            &json!({"formid": "AP_PAYBILL", "data": {"Model": unnumbered}}),
        )
        .await;
    assert_eq!(reply["Result"]["Number"], json!("FKD00000001"));
    assert_eq!(reply["Result"]["Id"], json!(100_001));

    let body = json!({"formid": "AP_PAYBILL", "data": {"Model": valid_model("test5")}});
    sim.signed_json(SAVE, &body).await;
    let duplicate = sim.signed_json(SAVE, &body).await;
    let status = status(&duplicate);
    assert_eq!(status["MsgCode"], json!(11));
    assert_eq!(status["Errors"][0]["FieldName"], json!("FBillNo"));
    assert_eq!(
        status["Errors"][0]["Message"],
        json!("违反字段唯一性要求：编码唯一。[test5]在当前系统中已经被使用。")
    );
}

#[tokio::test]
async fn query_and_view_find_saved_bill() {
    let sim = start().await;
    sim.signed_json(BATCH_SAVE, &batch_body(vec![valid_model("BX-Q1")], false))
        .await;
    let query = json!({"data": {"FormId": "AP_PAYBILL",
        "FieldKeys": "FBillNo,FID,FPAYBILLENTRY_FEntryID,FPAYTOTALAMOUNTFOR,FDATE",
        "FilterString": "FBillNo in ('BX-Q1','BX-Q2')", "OrderString": "", "TopRowCount": 0,
        "StartRow": 0, "Limit": 2000, "SubSystemId": ""}});
    let rows = sim.signed_json(QUERY, &query).await;
    assert_eq!(rows.as_array().unwrap().len(), 2, "one row per entry");
    assert_eq!(rows[0][0], json!("BX-Q1"));
    assert_eq!(rows[0][4], json!("2026-11-04T00:00:00"));

    let none = json!({"data": {"FormId": "AP_PAYBILL", "FieldKeys": "FID",
        "FilterString": [{"Left": "", "FieldName": "FBillNo", "Compare": "67", "Value": "nope",
                          "Right": "", "Logic": 0}]}});
    assert_eq!(sim.signed_json(QUERY, &none).await, json!([]));

    let view = sim
        .signed_json(
            VIEW,
            &json!({"formid": "AP_PAYBILL", "data": {"Number": "BX-Q1"}}),
        )
        .await;
    assert_eq!(view["Result"]["ResponseStatus"], Value::Null);
    assert_eq!(view["Result"]["Result"]["FBillNo"], json!("BX-Q1"));
    let id = view["Result"]["Result"]["Id"].clone();
    let by_id = sim
        .signed_json(
            VIEW,
            &json!({"formid": "AP_PAYBILL", "data": {"Id": id.to_string()}}),
        )
        .await;
    assert_eq!(by_id["Result"]["Result"]["FBillNo"], json!("BX-Q1"));
}

#[tokio::test]
async fn wrong_secret_and_unknown_account() {
    let sim = start().await;
    let query = json!({"data": {"FormId": "AP_PAYBILL", "FieldKeys": "FID"}});
    let wrong = Credentials {
        app_secret: SecretString::from("not-the-secret"),
        ..Credentials::default()
    };
    let reply: Value = sim
        .signed(QUERY, &query, &wrong)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply[0][0]["Result"]["ResponseStatus"]["MsgCode"], json!(1));
    assert_eq!(
        reply[0][0]["Result"]["ResponseStatus"]["Errors"][0]["Message"],
        json!(SESSION_LOST_MESSAGE)
    );

    let foreign = Credentials {
        acct_id: "000000000000ff".to_string(),
        ..Credentials::default()
    };
    let response = sim.signed(QUERY, &query, &foreign).await;
    assert_ne!(
        response.status(),
        StatusCode::OK,
        "unknown account is non-200"
    );
    assert_eq!(response.text().await.unwrap(), PASSPORT_FAILURE);
}

#[tokio::test]
async fn session_login_cookie_and_idle_expiry() {
    let sim = start().await;
    let login = json!({"acctID": DEFAULT_ACCT_ID, "username": DEFAULT_USERNAME,
                       "password": DEFAULT_PASSWORD, "lcid": 2052});
    let response = sim.plain(VALIDATE_USER, &login, None).await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .collect();
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["LoginResultType"], json!(1));
    let sid = result["KDSVCSessionId"].as_str().unwrap().to_string();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("kdservice-sessionid={sid}")))
    );
    assert!(cookies.iter().any(|c| c.starts_with("ASP.NET_SessionId=")));

    let save = json!({"formid": "AP_PAYBILL", "data": {"Model": valid_model("BX-S1")}});
    let saved: Value = sim
        .plain(SAVE, &save, Some(&sid))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status(&saved)["IsSuccess"], json!(true), "{saved}");

    let mut faults = sim.running.handle().faults();
    faults.session_idle_ms = 50;
    sim.running.handle().set_faults(faults).unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let query = json!({"data": {"FormId": "AP_PAYBILL", "FieldKeys": "FID"}});
    let lost: Value = sim
        .plain(QUERY, &query, Some(&sid))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        lost[0][0]["Result"]["ResponseStatus"]["MsgCode"],
        json!(1),
        "{lost}"
    );
}

#[tokio::test]
async fn legacy_envelope_login_and_sid_header() {
    let sim = start().await;
    let parameters = json!([DEFAULT_ACCT_ID, DEFAULT_USERNAME, DEFAULT_PASSWORD, 2052]).to_string();
    let body = json!({"format": 1, "useragent": "ApiClient", "rid": "1", "parameters": parameters,
                      "timestamp": "2026-11-04 10:00:00", "v": "1.0"});
    let result: Value = sim
        .plain(VALIDATE_USER, &body, None)
        .await
        .json()
        .await
        .unwrap();
    let sid = result["KDSVCSessionId"].as_str().unwrap();
    let query = json!({"data": {"FormId": "AP_PAYBILL", "FieldKeys": "FID"}});
    let rows: Value = sim
        .client
        .post(sim.url(QUERY))
        .header("SID", sid)
        .body(query.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows, json!([]), "SID header is a session");

    let wrong = json!({"acctID": DEFAULT_ACCT_ID, "username": DEFAULT_USERNAME,
                       "password": "nope", "lcid": 2052});
    let refused: Value = sim
        .plain(VALIDATE_USER, &wrong, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["LoginResultType"], json!(0));
    assert_eq!(refused["KDSVCSessionId"], Value::Null);
}

#[tokio::test]
async fn live_session_masks_wrong_credentials() {
    let sim = start().await;
    let query = json!({"data": {"FormId": "AP_PAYBILL", "FieldKeys": "FID"}});
    let first = sim.signed(QUERY, &query, &Credentials::default()).await;
    let sid = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("kdservice-sessionid="))
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();
    let wrong = Credentials {
        app_secret: SecretString::from("not-the-secret"),
        ..Credentials::default()
    };
    let path = format!("/k3cloud/{QUERY}.common.kdsvc");
    let headers = sign(&SignatureInput {
        path: &path,
        acct_id: &wrong.acct_id,
        username: &wrong.username,
        app_id: &wrong.app_id,
        app_secret: "not-the-secret",
        lcid: 2052,
        org_num: "0",
        timestamp: unix_now(),
    });
    let mut request = sim
        .client
        .post(sim.url(QUERY))
        .header("kdservice-sessionid", &sid)
        .body(query.to_string());
    for (name, value) in headers.headers {
        request = request.header(name, value);
    }
    let rows: Value = request.send().await.unwrap().json().await.unwrap();
    assert_eq!(
        rows,
        json!([]),
        "a live SID is honoured without checking credentials"
    );

    sim.running.handle().expire_sessions();
    let lost: Value = sim
        .signed(QUERY, &query, &wrong)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lost[0][0]["Result"]["ResponseStatus"]["MsgCode"], json!(1));
}

#[tokio::test]
async fn submit_and_audit_by_numbers_and_ids() {
    let sim = start().await;
    sim.signed_json(
        BATCH_SAVE,
        &batch_body(vec![valid_model("BX-W1"), valid_model("BX-W2")], true),
    )
    .await;
    let submit =
        json!({"formid": "AP_PAYBILL", "data": {"Numbers": ["BX-W1", "BX-W2", "BX-NONE"]}});
    let reply = sim.signed_json(SUBMIT, &submit).await;
    assert_eq!(
        status(&reply)["IsSuccess"],
        json!(true),
        "missing numbers are skipped"
    );
    assert_eq!(
        status(&reply)["SuccessEntitys"].as_array().unwrap().len(),
        2
    );

    let id = sim.running.handle().bill("BX-W1").unwrap().id;
    let audit = json!({"formid": "AP_PAYBILL", "data": {"Ids": id.to_string()}});
    let reply = sim.signed_json(AUDIT, &audit).await;
    assert_eq!(status(&reply)["IsSuccess"], json!(true));
    assert_eq!(
        sim.running.handle().bill("BX-W1").unwrap().status,
        DocumentStatus::Audited
    );

    let again = sim.signed_json(AUDIT, &audit).await;
    assert_eq!(status(&again)["MsgCode"], json!(12), "already audited");
}

#[tokio::test]
async fn lost_reply_saves_but_caller_fails() {
    let sim = start().await;
    sim.running
        .handle()
        .set_faults(FaultSettings {
            lost_reply_rate: 1.0,
            ..FaultSettings::default()
        })
        .unwrap();
    let body = batch_body(vec![valid_model("BX-L1")], true);
    let outcome = match sim
        .try_signed(BATCH_SAVE, &body, &Credentials::default())
        .await
    {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(outcome.is_err(), "the connection must break off");
    assert!(
        sim.running.handle().bill("BX-L1").is_some(),
        "the bill exists"
    );
    assert_eq!(
        sim.running
            .handle()
            .stats()
            .count("BatchSave", Outcome::FaultLostReply),
        1
    );

    let mut faults = sim.running.handle().faults();
    faults.lost_reply_mode = LostReplyMode::Status5xx;
    sim.running.handle().set_faults(faults).unwrap();
    let response = sim
        .signed(
            BATCH_SAVE,
            &batch_body(vec![valid_model("BX-L2")], true),
            &Credentials::default(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        sim.running.handle().bill("BX-L2").is_some(),
        "saved despite 502"
    );
}

#[tokio::test]
async fn conflict_and_5xx_leave_nothing_saved() {
    let sim = start().await;
    let handle = sim.running.handle();
    handle
        .set_faults(FaultSettings {
            network_conflict_rate: 1.0,
            ..FaultSettings::default()
        })
        .unwrap();
    let body = batch_body(vec![valid_model("BX-C1")], true);
    let reply = sim.signed_json(BATCH_SAVE, &body).await;
    assert_eq!(status(&reply)["MsgCode"], json!(13));
    assert_eq!(handle.bill_count(), 0, "conflict saves nothing");

    handle
        .set_faults(FaultSettings {
            http_5xx_rate: 1.0,
            ..FaultSettings::default()
        })
        .unwrap();
    let response = sim.signed(BATCH_SAVE, &body, &Credentials::default()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(handle.bill_count(), 0, "5xx saves nothing");
}

#[tokio::test]
async fn hang_outlasts_client_timeout() {
    let sim = start().await;
    sim.running
        .handle()
        .set_faults(FaultSettings {
            hang_rate: 1.0,
            hang_ms: 5_000,
            ..FaultSettings::default()
        })
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let result = client
        .post(sim.url(QUERY))
        .body(json!({"data": {}}).to_string())
        .send()
        .await;
    assert!(
        result.is_err_and(|error| error.is_timeout()),
        "client must time out"
    );
}

#[tokio::test]
async fn admin_endpoints_steer_state() {
    let sim = start().await;
    let faults: Value = sim
        .client
        .put(sim.admin("faults"))
        .body(json!({"latency_ms": 1, "seed": 42}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency_ms"], json!(1));
    assert_eq!(faults["seed"], json!(42));
    let bad = sim
        .client
        .put(sim.admin("faults"))
        .body(json!({"hang_rate": 3}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // A cost item unknown to K3Cloud is rejected, added at runtime, then accepted.
    let mut model = valid_model("BX-A1");
    model["FPAYBILLENTRY"][0]["FCOSTID"] = json!({"FNumber": "FYXM009"});
    let body = batch_body(vec![model], true);
    let rejected = sim.signed_json(BATCH_SAVE, &body).await;
    assert_eq!(status(&rejected)["IsSuccess"], json!(false));
    let added = sim
        .client
        .post(sim.admin("base-data"))
        .body(json!({"BD_Expense": [{"number": "FYXM009", "name": "团建活动"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    let replayed = sim.signed_json(BATCH_SAVE, &body).await;
    assert_eq!(status(&replayed)["IsSuccess"], json!(true), "{replayed}");

    let bills: Value = sim
        .client
        .get(sim.admin("bills"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bills[0]["FBillNo"], json!("BX-A1"));
    let stats: Value = sim
        .client
        .get(sim.admin("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["calls"]["BatchSave"]["success"], json!(1));
    assert_eq!(stats["calls"]["BatchSave"]["business_error"], json!(1));

    let reset = sim.client.post(sim.admin("reset")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(sim.running.handle().bill_count(), 0, "reset drops bills");
    assert_eq!(
        sim.running.handle().faults().latency_ms,
        0,
        "reset restores faults"
    );
    let rejected_again = sim.signed_json(BATCH_SAVE, &body).await;
    assert_eq!(
        status(&rejected_again)["IsSuccess"],
        json!(false),
        "reset restores base data"
    );
}

#[tokio::test]
async fn malformed_body_and_unknown_service() {
    let sim = start().await;
    let response = sim
        .client
        .post(sim.url(SAVE))
        .body("{not json")
        .send()
        .await
        .unwrap();
    let reply: Value = response.json().await.unwrap();
    assert_eq!(status(&reply)["MsgCode"], json!(8));

    let missing = sim
        .client
        .post(sim.url("Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.NoSuchThing"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn data_center_list_needs_no_login() {
    let sim = start().await;
    let service = "Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList";
    let list: Value = sim
        .plain(service, &json!({}), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["Id"], json!(DEFAULT_ACCT_ID));
}
