//! Every reply shape the DingTalk documentation and captured traffic show, written as
//! fixtures from those facts.

use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-04T02:00:00Z".parse().unwrap()
}

fn reply(status: u16, body: &str) -> Reply<'_> {
    Reply {
        status,
        body: body.as_bytes(),
        retry_after_header: None,
        received_at: now(),
    }
}

fn oapi(status: u16, body: &str) -> Result<Value, Failure> {
    classify(Envelope::Oapi, reply(status, body))
}

fn v1(status: u16, body: &str) -> Result<Value, Failure> {
    classify(Envelope::V1, reply(status, body))
}

fn outcome(result: &Result<Value, Failure>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(failure) => failure.outcome(),
    }
}

#[test]
fn oapi_success_passes_body() {
    let body = r#"{"errcode":0,"result":{"list":["4f43b3ed-6060-4edc-967a-7e75ed639c32"]},"request_id":"16dmb748jjjbl"}"#;
    let value = oapi(200, body).expect("errcode 0 is a success");
    assert_eq!(
        value["result"]["list"][0],
        "4f43b3ed-6060-4edc-967a-7e75ed639c32"
    );
}

#[test]
fn oapi_gettoken_success() {
    let body = r#"{"errcode":0,"access_token":"96fc7a7axxx","errmsg":"ok","expires_in":7200}"#;
    assert_eq!(outcome(&oapi(200, body)), "ok");
}

#[test]
fn oapi_nonzero_errcode_in_http_200_fails() {
    let body = r#"{"errcode":400002,"errmsg":"参数错误"}"#;
    assert_eq!(
        oapi(200, body),
        Err(Failure::Rejected {
            code: "400002".into(),
            message: "参数错误".into()
        }),
        "HTTP 200 with a non-zero errcode is a failure"
    );
}

#[test]
fn oapi_gateway_invalid_token() {
    let body = r#"{"errcode":88,"sub_code":"40014","sub_msg":"不合法的access_token","errmsg":"ding talk error[subcode=40014,submsg=不合法的access_token]","request_id":"16l4ew3d47pdp"}"#;
    assert_eq!(outcome(&oapi(200, body)), "token_invalid");
}

#[test]
fn oapi_gateway_blank_token() {
    let body = r#"{"errcode":88,"sub_code":"40000","sub_msg":"access_token is blank","errmsg":"ding talk error[subcode=40000,submsg=access_token is blank]","request_id":"16kde384l16sp"}"#;
    assert_eq!(outcome(&oapi(200, body)), "token_invalid");
}

#[test]
fn oapi_plain_token_codes() {
    for (code, message) in [
        (40014, "不合法的access_token"),
        (40001, "获取access_token时Secret错误，或者access_token无效"),
        (42001, "access_token超时"),
        (41001, "缺少access_token参数"),
    ] {
        let body = format!(r#"{{"errcode":{code},"errmsg":"{message}"}}"#);
        assert_eq!(
            outcome(&oapi(200, &body)),
            "token_invalid",
            "errcode {code} means the token must be replaced"
        );
    }
}

#[test]
fn oapi_gateway_qps_throttle() {
    let body = r#"{"errcode":88,"sub_code":"90018","sub_msg":"接口调用频率超过限制","errmsg":"ding talk error[subcode=90018,submsg=接口调用频率超过限制]","request_id":"x"}"#;
    assert_eq!(
        oapi(200, body).unwrap_err(),
        Failure::Throttled {
            code: "90018".into(),
            hint: None
        }
    );
}

#[test]
fn oapi_throttle_subcode_only_in_errmsg() {
    let body =
        r#"{"errcode":88,"errmsg":"ding talk error[subcode=90018,submsg=当前接口调用次数过多]"}"#;
    assert_eq!(outcome(&oapi(200, body)), "throttled");
}

#[test]
fn oapi_throttle_end_time_becomes_hint() {
    // 10:00:05 Beijing is 02:00:05 UTC, five seconds after `now()`.
    let body = r#"{"errcode":88,"sub_code":"90018","sub_msg":"当前接口调用次数过多，限制将在 2026-11-04 10:00:05 结束","errmsg":"ding talk error[subcode=90018]"}"#;
    assert_eq!(
        oapi(200, body).unwrap_err(),
        Failure::Throttled {
            code: "90018".into(),
            hint: Some(Duration::from_secs(5))
        },
        "the ban's end time in Beijing time sets the wait"
    );
}

#[test]
fn oapi_global_and_corp_throttles() {
    for code in [90002, 90005, 90006, 90018] {
        let body = format!(r#"{{"errcode":{code},"errmsg":"请求被暂时禁用了"}}"#);
        assert_eq!(
            outcome(&oapi(200, &body)),
            "throttled",
            "errcode {code} is throttling"
        );
    }
}

#[test]
fn oapi_monthly_quota() {
    let body = r#"{"errcode":90020,"errmsg":"企业调用接口总次数超过限制"}"#;
    assert_eq!(outcome(&oapi(200, body)), "quota_exhausted");
}

#[test]
fn oapi_gateway_quota_in_subcode() {
    let body = r#"{"errcode":88,"sub_code":"90020","sub_msg":"本月调用量已用完","errmsg":"ding talk error[subcode=90020]"}"#;
    assert_eq!(outcome(&oapi(200, body)), "quota_exhausted");
}

#[test]
fn oapi_permission_code() {
    let body = r#"{"errcode":60011,"errmsg":"没有调用该接口的权限"}"#;
    assert_eq!(outcome(&oapi(200, body)), "permission_denied");
}

#[test]
fn oapi_permission_message_with_other_code() {
    let body = r#"{"errcode":88,"sub_code":"60011","sub_msg":"应用尚未开通所需的权限：[qyapi_get_member]","errmsg":"ding talk error"}"#;
    assert_eq!(outcome(&oapi(200, body)), "permission_denied");
    let body = r#"{"errcode":50002,"errmsg":"应用尚未开通所需的权限：[Workflow.Instance.Read]"}"#;
    assert_eq!(
        outcome(&oapi(200, body)),
        "permission_denied",
        "the permission message counts with any code"
    );
}

#[test]
fn oapi_ip_whitelist() {
    let body = r#"{"errcode":60020,"errmsg":"访问ip不在白名单之中"}"#;
    assert!(matches!(
        oapi(200, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::IpNotWhitelisted,
            ..
        })
    ));
}

#[test]
fn oapi_bad_process_code() {
    let body = r#"{"errcode":830001,"errmsg":"审批模板不存在，或者是processCode值不正确"}"#;
    assert!(matches!(
        oapi(200, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::UnknownProcessCode,
            ..
        })
    ));
}

#[test]
fn oapi_bad_credentials() {
    let body = r#"{"errcode":40096,"errmsg":"不合法的appKey或appSecret"}"#;
    assert!(matches!(
        oapi(200, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::InvalidCredentials,
            ..
        })
    ));
}

#[test]
fn oapi_credentials_in_form_body() {
    let body = r#"{"errcode":40035,"errmsg":"缺少参数 corpid or appkey"}"#;
    assert_eq!(outcome(&oapi(200, body)), "rejected");
}

#[test]
fn oapi_unknown_path() {
    let body = r#"{"errcode":22,"sub_msg":"不合法ApiName，ApiName = dingtalk.oapi.v2.user.notexist","errmsg":"Invalid method[submsg=不合法ApiName，ApiName = dingtalk.oapi.v2.user.notexist]","request_id":"15r6taqz8r6xu"}"#;
    assert!(matches!(
        oapi(200, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::UnknownApi,
            ..
        })
    ));
}

#[test]
fn oapi_system_busy_is_transient() {
    let body = r#"{"errcode":-1,"errmsg":"系统繁忙"}"#;
    assert_eq!(outcome(&oapi(200, body)), "transient");
}

#[test]
fn oapi_instance_state_rejected() {
    let body = r#"{"errcode":820006,"errmsg":"审批状态异常，无法执行"}"#;
    assert_eq!(outcome(&oapi(200, body)), "rejected");
}

#[test]
fn oapi_unknown_instance_code() {
    let body = r#"{"errcode":820005,"errmsg":"审批单状态异常","request_id":"r"}"#;
    assert_eq!(outcome(&oapi(200, body)), "not_found");
}

#[test]
fn oapi_instance_missing_message() {
    let body = r#"{"errcode":400002,"errmsg":"审批实例不存在"}"#;
    assert_eq!(outcome(&oapi(200, body)), "not_found");
}

#[test]
fn oapi_errcode_as_string() {
    let body = r#"{"errcode":"90018","errmsg":"限流"}"#;
    assert_eq!(outcome(&oapi(200, body)), "throttled");
}

#[test]
fn html_page_is_throttled() {
    let body = "<!DOCTYPE html><html><head><title>访问被拒绝</title></head><body>您的访问过于频繁</body></html>";
    assert_eq!(outcome(&oapi(200, body)), "throttled", "oapi host");
    assert_eq!(outcome(&v1(403, body)), "throttled", "v1 host");
}

#[test]
fn ip_block_json_is_throttled_with_wait() {
    let body = r#"{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"xxx"}"#;
    for (name, result) in [("oapi", oapi(200, body)), ("v1", v1(200, body))] {
        match result {
            Err(Failure::Throttled { hint, .. }) => {
                assert_eq!(
                    hint,
                    Some(Duration::from_secs(5)),
                    "{name}: wait is the hint"
                )
            }
            other => panic!("{name}: expected throttling, got {other:?}"),
        }
    }
}

#[test]
fn html_proxy_error_is_transient() {
    let body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert_eq!(outcome(&oapi(502, body)), "transient");
}

#[test]
fn empty_body_not_found_is_configuration() {
    assert_eq!(
        outcome(&v1(404, "")),
        "configuration",
        "a 404 without JSON means the base URL is wrong"
    );
}

#[test]
fn retry_after_header_used_without_body_hint() {
    let reply = Reply {
        retry_after_header: Some(Duration::from_secs(7)),
        ..reply(429, "Too Many Requests")
    };
    assert_eq!(
        classify(Envelope::V1, reply).unwrap_err(),
        Failure::Throttled {
            code: "HTTP 429 with a body that is not JSON".into(),
            hint: Some(Duration::from_secs(7))
        }
    );
}

#[test]
fn v1_success_bodies() {
    for body in [
        r#"{"result":{"list":["123"],"nextToken":"10"},"success":true}"#,
        r#"{"accessToken":"fw8ef8we8f76e6f7s8dxxxx","expireIn":7200}"#,
        r#"{"result":true,"success":true}"#,
    ] {
        assert_eq!(outcome(&v1(200, body)), "ok", "{body}");
    }
}

#[test]
fn v1_invalid_authentication() {
    let body = r#"{"code":"InvalidAuthentication","requestid":"01A08FE7-CD6B-79BB-8B2E-35D8768AD457","message":"不合法的access_token"}"#;
    assert_eq!(outcome(&v1(400, body)), "token_invalid");
}

#[test]
fn v1_unauthorized_status() {
    let body = r#"{"code":"Unauthorized","message":"未授权，access_token缺失或无效"}"#;
    assert_eq!(outcome(&v1(401, body)), "token_invalid");
}

#[test]
fn v1_missing_header_is_configuration() {
    let body = r#"{"code":"AuthenticationFailed.MissingParameter","requestid":"01A08FE7-CDD1-7818-964E-AF384B54BB19","message":"缺少参数：x-acs-dingtalk-access-token"}"#;
    assert!(matches!(
        v1(400, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::UnknownApi,
            ..
        })
    ));
}

#[test]
fn v1_qps_codes_are_throttling() {
    for code in [
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.QpsLimitForApi",
        "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
    ] {
        let body = format!(r#"{{"code":"{code}","message":"调用频率超过限制","requestid":"r"}}"#);
        assert_eq!(
            outcome(&v1(403, &body)),
            "throttled",
            "{code} is throttling"
        );
    }
}

#[test]
fn v1_quota_code() {
    let body = r#"{"code":"Forbidden.AccessDenied.ApiCountLimitForOrg","message":"企业本月调用量已用完","requestid":"r"}"#;
    assert_eq!(outcome(&v1(403, body)), "quota_exhausted");
}

#[test]
fn v1_permission_code() {
    let body = r#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"没有调用该接口的权限","requestid":"r"}"#;
    assert_eq!(outcome(&v1(403, body)), "permission_denied");
}

#[test]
fn v1_permission_message() {
    let body = r#"{"code":"Forbidden.AccessDenied","message":"应用尚未开通所需的权限：[Workflow.Instance.Read]","requestid":"r"}"#;
    assert_eq!(outcome(&v1(403, body)), "permission_denied");
}

#[test]
fn v1_ip_whitelist() {
    let body = r#"{"code":"Forbidden.AccessDenied.IpNotInWhiteList","message":"ip不在白名单","requestid":"r"}"#;
    assert!(matches!(
        v1(403, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::IpNotWhitelisted,
            ..
        })
    ));
}

#[test]
fn v1_bad_credentials() {
    let body = r#"{"requestid":"01A08FE7-68C3-7BBD-B223-447768EA4B29","code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret"}"#;
    assert!(matches!(
        v1(400, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::InvalidCredentials,
            ..
        })
    ));
}

#[test]
fn v1_bad_process_code() {
    for code in ["processCodeError", "invalidProcessCode"] {
        let body = format!(r#"{{"code":"{code}","message":"获取审批模板失败或者模板已被删除"}}"#);
        assert!(
            matches!(
                v1(400, &body),
                Err(Failure::Configuration {
                    reason: ConfigurationReason::UnknownProcessCode,
                    ..
                })
            ),
            "{code} is a configuration error"
        );
    }
}

#[test]
fn v1_instance_not_found() {
    for code in [
        "processInstanceNotExist",
        "processInstanceIdError",
        "aflowProcessInstNotExist",
        "invalidInstanceId",
    ] {
        let body = format!(r#"{{"code":"{code}","message":"审批实例不存在"}}"#);
        assert_eq!(outcome(&v1(400, &body)), "not_found", "{code}");
    }
}

#[test]
fn v1_server_errors_are_transient() {
    let body = r#"{"code":"systemError","message":"系统异常","requestid":"r"}"#;
    assert_eq!(outcome(&v1(500, body)), "transient");
    let body = r#"{"code":"unknownError","message":"未知错误","requestid":"r"}"#;
    assert_eq!(outcome(&v1(500, body)), "transient");
    let body = r#"{"code":"ServiceUnavailable","message":"busy"}"#;
    assert_eq!(outcome(&v1(503, body)), "transient", "any 5xx is transient");
}

#[test]
fn v1_parameter_error_rejected() {
    let body = r#"{"code":"invalidEndTime","message":"获取审批实例ID列表，审批实例结束时间不能小于开始时间；且查询时间范围不能超过120天。"}"#;
    assert_eq!(outcome(&v1(400, body)), "rejected");
    let body = r#"{"code":"aflowProcessInstCanNotBeExecuted","message":"审批状态异常，无法执行"}"#;
    assert_eq!(outcome(&v1(400, body)), "rejected");
}

#[test]
fn v1_unknown_path_is_configuration() {
    let body = r#"{"code":"InvalidAction.NotFound","requestid":"r","message":"Specified api is not found, please check your url and method."}"#;
    assert!(matches!(
        v1(404, body),
        Err(Failure::Configuration {
            reason: ConfigurationReason::UnknownApi,
            ..
        })
    ));
}

#[test]
fn v1_object_without_result_is_throttled() {
    let body = r#"{"punish":"deny"}"#;
    assert_eq!(outcome(&v1(200, body)), "throttled");
}

#[test]
fn end_time_in_past_waits_zero() {
    let hint = end_time_hint("限制将在 2026-11-04 09:59:00 结束", now());
    assert_eq!(hint, Some(Duration::ZERO));
}

mod properties {
    //! No reply, however malformed, makes classification panic: a poller that panics on
    //! one odd gateway page stops polling for everyone.

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// A JSON value for one of the fields classification reads: the right type, the
    /// wrong type, or nothing useful.
    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![0_i64, 88, 40014, 40001, 42001, 90018, 90002, 88_400])
                .prop_map(Value::from),
            "\\PC{0,24}".prop_map(Value::from),
            prop::sample::select(vec![
                "InvalidAuthentication",
                "Forbidden.AccessDenied.QpsLimitForApi",
                "90018",
                "限制将在 2026-11-04 10:30:00 结束",
                "应用尚未开通所需的权限",
            ])
            .prop_map(Value::from),
            Just(json!([])),
            Just(json!({"nested": {"errcode": 88}})),
        ]
    }

    /// An object that looks like a DingTalk reply, with any subset of the fields read.
    fn reply_object() -> impl Strategy<Value = Value> {
        let keys = [
            "errcode",
            "errmsg",
            "sub_code",
            "sub_msg",
            "code",
            "message",
            "result",
            "status",
            "wait",
            "punish",
            "requestid",
        ];
        prop::collection::vec((prop::sample::select(keys.to_vec()), field_value()), 0..8).prop_map(
            |fields| {
                let object = fields
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value))
                    .collect();
                Value::Object(object)
            },
        )
    }

    fn status() -> impl Strategy<Value = u16> {
        prop_oneof![
            prop::sample::select(vec![200_u16, 400, 401, 403, 404, 405, 429, 500, 502, 503]),
            0_u16..1000,
        ]
    }

    proptest! {
        #[test]
        fn bytes_never_panic(status in status(), body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = oapi(status, &String::from_utf8_lossy(&body));
            let _ = classify(Envelope::V1, Reply {
                status,
                body: &body,
                retry_after_header: None,
                received_at: now(),
            });
        }

        #[test]
        fn reply_objects_never_panic(status in status(), object in reply_object()) {
            let body = object.to_string();
            let _ = oapi(status, &body);
            let _ = v1(status, &body);
        }

        #[test]
        fn wait_hints_never_panic(text in "\\PC{0,40}", suffix in "[0-9: -]{0,24}") {
            let _ = end_time_hint(&format!("{text}{suffix}"), now());
        }
    }
}
