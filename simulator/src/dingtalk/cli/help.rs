//! Help texts of `simulator dingtalk`: Chinese option help and the endpoint list
//! printed after the options in the user's language.

use dingk3::cli::ZhHelp;
use dingk3::i18n::Lang;

/// Chinese help texts keyed by `dingtalk:<argument id>`.
pub const ZH_HELP: ZhHelp = &[
    ("dingtalk:listen", "监听地址；端口 0 表示自动选择空闲端口"),
    ("dingtalk:app_key", "令牌接口接受的 AppKey"),
    ("dingtalk:app_secret", "令牌接口接受的 AppSecret"),
    (
        "dingtalk:instances",
        "要提供的用例目录：每个带同名 NAME.expected.json 的 NAME.json，以 expected 文件中的 process_instance_id 提供",
    ),
    (
        "dingtalk:process_code",
        "加载和生成的审批实例所用的模板编码",
    ),
    (
        "dingtalk:shift_dates",
        "把已加载用例的所有时间按整天平移，使最新的完成时间落在最近一天内；ID 不变，平移天数输出到标准错误",
    ),
    ("dingtalk:generate", "启动时生成的报销审批数量"),
    (
        "dingtalk:seed",
        "生成报销审批的随机种子；相同种子生成相同数据",
    ),
    ("dingtalk:latency_ms", "每次调用附加的固定延迟（毫秒）"),
    (
        "dingtalk:jitter_ms",
        "在 --latency-ms 之上附加的最大随机延迟（毫秒）",
    ),
    (
        "dingtalk:server_error_rate",
        "业务调用返回 HTTP 5xx 的比例，0 到 1",
    ),
    (
        "dingtalk:server_error_status",
        "--server-error-rate 所返回的 HTTP 状态码",
    ),
    (
        "dingtalk:throttle_rate",
        "业务调用返回 --throttle-shape 限流应答的比例，0 到 1",
    ),
    ("dingtalk:throttle_shape", "--throttle-rate 的限流应答形式"),
    (
        "dingtalk:throttle_retry_after",
        "在 --throttle-rate 的限流应答中附带 Retry-After 响应头，值为该秒数",
    ),
    (
        "dingtalk:permission_denied",
        "业务调用返回缺少接口权限错误（88/60011 / Forbidden.AccessDenied.AccessTokenPermissionDenied），一直返回或直到应用重新获取令牌为止",
    ),
    (
        "dingtalk:quota_exhausted",
        "所有业务调用都返回月调用量耗尽错误（90020 / Forbidden.AccessDenied.ApiCountLimitForOrg）",
    ),
    (
        "dingtalk:repeat_cursor",
        "接下来 N 次列表调用以请求自身的游标作为下一页游标返回",
    ),
    ("dingtalk:fault_seed", "随机故障与抖动的随机种子"),
    (
        "dingtalk:token_lifetime_secs",
        "令牌的实际有效期（秒）；应答中仍报告 7200",
    ),
    (
        "dingtalk:oapi_token_shape",
        "旧版接口对过期或未知令牌的应答形式",
    ),
    (
        "dingtalk:v1_token_status",
        "新版接口对过期或未知令牌返回的 HTTP 状态码：400 或 401",
    ),
    (
        "dingtalk:v1_empty_next_token",
        "新版列表的最后一页返回 \"nextToken\": \"\"，而不是省略该字段",
    ),
    (
        "dingtalk:premium",
        "模拟 OA 高级版企业：新版审批实例 ID 列表接口允许开始时间最早为五年前，而不是 365 天前；旧版列表接口仍为 365 天",
    ),
];

const ADMIN_HELP_EN: &str = "\
Default credentials: app key dingsimulatorappkey, app secret dingsimulator-app-secret.

API endpoints (one address serves both DingTalk hosts):
  GET    /gettoken?appkey=&appsecret=                    legacy token
  POST   /topapi/processinstance/listids?access_token=   list instance ids (topapi)
  POST   /topapi/processinstance/get?access_token=       instance detail (topapi)
  POST   /topapi/process/instance/comment/add?access_token=   add a comment (topapi)
  POST   /v1.0/oauth2/accessToken                        token (v1.0)
  POST   /v1.0/workflow/processes/instanceIds/query      list instance ids (v1.0)
  GET    /v1.0/workflow/processInstances?processInstanceId=   instance detail (v1.0)
  POST   /v1.0/workflow/processInstances/comments        add a comment (v1.0)
  v1.0 calls read the token from the x-acs-dingtalk-access-token header.

Admin endpoints (JSON):
  GET    /__sim/info                     app key, process code, premium edition, date shift in days, counts
  GET    /__sim/instances                every instance with its ground truth
  POST   /__sim/instances                add {\"process_instance_id\", \"process_code\"?, \"instance\", \"truth\"?}
  GET    /__sim/instances/{id}           one instance with its topapi rendering
  POST   /__sim/instances/{id}/status    change {\"status\", \"result\"?, \"finish_time\"?, \"approver\"?}
  POST   /__sim/generate                 add generated claims {\"count\", \"seed\"?}
  GET    /__sim/comments                 comments received
  GET    /__sim/counters                 calls per endpoint
  GET    /__sim/faults                   fault plan in force
  PUT    /__sim/faults                   replace {\"latency\": {\"fixed_ms\", \"jitter_ms\"}, \"rules\", \"seed\"}
  POST   /__sim/faults                   add a rule {\"kind\", \"rate\"? or \"next\"?, \"apis\"?, \"status\"?,
                                         \"retry_after_seconds\"?, \"until_token_refresh\"?}
  DELETE /__sim/faults                   remove every fault and the latency
  GET    /__sim/tokens                   token policy and the number of tokens issued
  PUT    /__sim/tokens                   set {\"lifetime_seconds\", \"oapi_shape\", \"v1_status\": 400 or 401}
  POST   /__sim/tokens/expire            expire every token now
  POST   /__sim/reset                    restore the starting instances, faults and tokens

Fault kinds: server_error, system_busy, qps_limit (88/90018, QpsLimitForAppkeyAndApi),
api_disabled (90002, QpsLimitForApi), qpm_limit (90006, QpmLimitForAppkeyAndApi),
org_qpm_limit (90005), ip_ban_html, ip_ban_json, quota_exhausted (90020),
permission_denied (88/60011, AccessTokenPermissionDenied), repeat_cursor.
\"retry_after_seconds\" adds a Retry-After header to throttling replies; a rule with
\"until_token_refresh\": true is removed when the app fetches a token.
APIs in \"apis\": gettoken, listids, get, comment_add, access_token, instance_ids_query,
process_instance, comments (token endpoints only when listed).
Token shapes in \"oapi_shape\": sub_code_40014 (88 with sub_code 40014), errcode_40014, errcode_42001.";

const ADMIN_HELP_ZH: &str = "\
默认凭证：AppKey dingsimulatorappkey，AppSecret dingsimulator-app-secret。

接口（同一地址同时提供钉钉两个域名下的路径）：
  GET    /gettoken?appkey=&appsecret=                    旧版令牌
  POST   /topapi/processinstance/listids?access_token=   获取审批实例 ID 列表（旧版）
  POST   /topapi/processinstance/get?access_token=       获取审批实例详情（旧版）
  POST   /topapi/process/instance/comment/add?access_token=   添加审批评论（旧版）
  POST   /v1.0/oauth2/accessToken                        令牌（新版）
  POST   /v1.0/workflow/processes/instanceIds/query      获取审批实例 ID 列表（新版）
  GET    /v1.0/workflow/processInstances?processInstanceId=   获取审批实例详情（新版）
  POST   /v1.0/workflow/processInstances/comments        添加审批评论（新版）
  新版接口从请求头 x-acs-dingtalk-access-token 读取令牌。

管理接口（JSON）：
  GET    /__sim/info                     AppKey、模板编码、是否高级版、日期平移天数、数量
  GET    /__sim/instances                所有审批实例及其预期结果
  POST   /__sim/instances                添加 {\"process_instance_id\", \"process_code\"?, \"instance\", \"truth\"?}
  GET    /__sim/instances/{id}           单个审批实例及其旧版接口输出
  POST   /__sim/instances/{id}/status    修改状态 {\"status\", \"result\"?, \"finish_time\"?, \"approver\"?}
  POST   /__sim/generate                 添加生成的报销审批 {\"count\", \"seed\"?}
  GET    /__sim/comments                 收到的评论
  GET    /__sim/counters                 各接口的调用次数
  GET    /__sim/faults                   当前故障计划
  PUT    /__sim/faults                   替换 {\"latency\": {\"fixed_ms\", \"jitter_ms\"}, \"rules\", \"seed\"}
  POST   /__sim/faults                   添加规则 {\"kind\", \"rate\"? 或 \"next\"?, \"apis\"?, \"status\"?,
                                         \"retry_after_seconds\"?, \"until_token_refresh\"?}
  DELETE /__sim/faults                   清除所有故障和延迟
  GET    /__sim/tokens                   令牌策略及已签发的令牌数
  PUT    /__sim/tokens                   设置 {\"lifetime_seconds\", \"oapi_shape\", \"v1_status\": 400 或 401}
  POST   /__sim/tokens/expire            立即使所有令牌过期
  POST   /__sim/reset                    恢复启动时的审批实例、故障和令牌设置

故障类型：server_error、system_busy、qps_limit（88/90018、QpsLimitForAppkeyAndApi）、
api_disabled（90002、QpsLimitForApi）、qpm_limit（90006、QpmLimitForAppkeyAndApi）、
org_qpm_limit（90005）、ip_ban_html、ip_ban_json、quota_exhausted（90020）、
permission_denied（88/60011、AccessTokenPermissionDenied）、repeat_cursor。
\"retry_after_seconds\" 为限流应答附带 Retry-After 响应头；\"until_token_refresh\": true 的规则
在应用重新获取令牌时被移除。
\"apis\" 可用的接口名：gettoken、listids、get、comment_add、access_token、instance_ids_query、
process_instance、comments（令牌接口仅在列出时生效）。
\"oapi_shape\" 可选：sub_code_40014（88 加 sub_code 40014）、errcode_40014、errcode_42001。";

/// Returns the endpoint list in the language the process arguments ask for.
///
/// clap builds the help before the shared parser applies the language, so this
/// reads `--lang` and the locale the same way the parser does.
pub fn admin_help() -> &'static str {
    let args: Vec<String> = std::env::args().collect();
    match Lang::detect(Lang::from_args(&args).as_deref()) {
        Lang::En => ADMIN_HELP_EN,
        Lang::Zh => ADMIN_HELP_ZH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dingtalk::server::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET};

    const PATHS: [&str; 21] = [
        "/gettoken",
        "/topapi/processinstance/listids",
        "/topapi/processinstance/get",
        "/topapi/process/instance/comment/add",
        "/v1.0/oauth2/accessToken",
        "/v1.0/workflow/processes/instanceIds/query",
        "/v1.0/workflow/processInstances?",
        "/v1.0/workflow/processInstances/comments",
        "/__sim/info",
        "GET    /__sim/instances ",
        "POST   /__sim/instances ",
        "GET    /__sim/instances/{id} ",
        "/__sim/instances/{id}/status",
        "/__sim/generate",
        "/__sim/comments",
        "/__sim/counters",
        "PUT    /__sim/faults",
        "DELETE /__sim/faults",
        "PUT    /__sim/tokens",
        "/__sim/tokens/expire",
        "/__sim/reset",
    ];

    #[test]
    fn help_lists_every_endpoint() {
        for help in [ADMIN_HELP_EN, ADMIN_HELP_ZH] {
            for path in PATHS {
                assert!(help.contains(path), "help lacks {path:?}");
            }
        }
    }

    #[test]
    fn help_names_every_fault_kind() {
        let kinds = [
            "server_error",
            "system_busy",
            "qps_limit",
            "api_disabled",
            "qpm_limit",
            "org_qpm_limit",
            "ip_ban_html",
            "ip_ban_json",
            "quota_exhausted",
            "permission_denied",
            "repeat_cursor",
            "retry_after_seconds",
            "until_token_refresh",
        ];
        for help in [ADMIN_HELP_EN, ADMIN_HELP_ZH] {
            for kind in kinds {
                assert!(help.contains(kind), "help lacks {kind:?}");
            }
        }
    }

    #[test]
    fn help_names_default_credentials() {
        for help in [ADMIN_HELP_EN, ADMIN_HELP_ZH] {
            assert!(
                help.contains(DEFAULT_APP_KEY),
                "help lacks the default app key"
            );
            assert!(
                help.contains(DEFAULT_APP_SECRET),
                "help lacks the default secret"
            );
        }
    }
}
