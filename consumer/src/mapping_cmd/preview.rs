//! `consumer mapping preview`: what one saved approval instance would become.
//!
//! The text format prints the request as indented JSON on stdout and a summary on
//! stderr, so the JSON can be piped. A rejection lists every reason on stdout. The JSON
//! format prints one object on stdout whose `outcome` is `ok`, `rejected`, `skipped` or
//! `error`.

use std::path::Path;

use dingk3::approval::{ApprovalInstance, InstanceStatus};
use dingk3::envelope::Envelope;
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::mapping::{MappedBill, MappingErrors, Route, Routes, batch_save_request};
use dingk3::text;
use serde_json::{Value, json};

use super::{
    EXIT_OK, EXIT_REJECTED, EXIT_SKIPPED, EXIT_USAGE, Format, PreviewArgs, describe_config_error,
    load_routes, print_line,
};

/// An instance read from the file, with the process code when the file carried one.
struct Loaded {
    instance: ApprovalInstance,
    process_code: Option<String>,
}

/// A problem with the arguments, the configuration or the input file.
struct UsageError {
    /// Configuration key, when the problem is one.
    key: Option<String>,
    message: Text,
}

impl UsageError {
    fn new(message: Text) -> UsageError {
        UsageError { key: None, message }
    }
}

/// Prints what the instance would become and returns the exit status.
pub fn run(args: &PreviewArgs, lang: Lang) -> u8 {
    let routes = match load_routes(&args.config) {
        Ok(routes) => routes,
        Err(errors) => {
            let errors = errors
                .iter()
                .map(|error| UsageError {
                    key: Some(error.key.clone()),
                    message: describe_config_error(&args.config, error),
                })
                .collect();
            return print_usage_errors(errors, args.format, lang);
        }
    };
    let loaded = match load_instance(args) {
        Ok(loaded) => loaded,
        Err(error) => return print_usage_errors(vec![error], args.format, lang),
    };
    let route = match select_route(&routes, args.process_code.as_deref(), loaded.process_code) {
        Ok(route) => route,
        Err(error) => return print_usage_errors(vec![error], args.format, lang),
    };
    let instance = &loaded.instance;
    if !instance.is_approved() {
        return print_skipped(instance, args.format, lang);
    }
    match route.mapping.map(instance) {
        Ok(bill) => {
            let auto_submit = read_auto_submit_and_audit(&args.config);
            print_bill(
                &bill,
                &batch_save_request(&bill, auto_submit),
                args.format,
                lang,
            )
        }
        Err(errors) => print_rejected(&errors, args.format, lang),
    }
}

fn load_instance(args: &PreviewArgs) -> Result<Loaded, UsageError> {
    let file = args.instance.display();
    let bytes = std::fs::read(&args.instance).map_err(|error| {
        UsageError::new(text!(
            en: "cannot read the instance file {file}: {error}",
            zh: "无法读取实例文件 {file}：{error}",
        ))
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|error| {
        UsageError::new(text!(
            en: "the instance file {file} is not valid JSON: {error}",
            zh: "实例文件 {file} 不是合法的 JSON：{error}",
        ))
    })?;
    if let Some(code) = value.get("errcode").filter(|code| code.as_i64() != Some(0)) {
        let message = value
            .get("errmsg")
            .map(Value::to_string)
            .unwrap_or_default();
        return Err(UsageError::new(text!(
            en: "{file} is a DingTalk error response (errcode {code}, errmsg {message}), not an instance",
            zh: "{file} 是钉钉的错误返回（errcode {code}，errmsg {message}），不是审批实例",
        )));
    }

    let is_envelope = value.get("schema").is_some() && value.get("instance").is_some();
    let (mut instance, process_code) = if is_envelope {
        let envelope = Envelope::decode(&bytes, usize::MAX)
            .map_err(|error| UsageError::new(error.localize()))?;
        let instance = envelope
            .approval()
            .map_err(|error| UsageError::new(error.localize()))?;
        (instance, Some(envelope.process_code))
    } else {
        let Some(id) = &args.id else {
            return Err(UsageError::new(text!(
                en: "--id is required: the instance file does not carry the process instance id",
                zh: "必须提供 --id：实例文件中没有审批实例 ID",
            )));
        };
        let instance = ApprovalInstance::from_raw(id.clone(), value).map_err(|error| {
            UsageError::new(text!(
                en: "{file} is not an approval instance: {error}",
                zh: "{file} 不是审批实例：{error}",
            ))
        })?;
        (instance, None)
    };
    if let Some(id) = &args.id {
        instance.process_instance_id = id.clone();
    }
    if instance.status == InstanceStatus::Other(String::new()) {
        return Err(UsageError::new(text!(
            en: "{file} does not look like an approval instance: it has no status",
            zh: "{file} 看起来不是审批实例：没有 status 字段",
        )));
    }
    Ok(Loaded {
        instance,
        process_code,
    })
}

/// Picks the route: the `--process-code` given, else the envelope's, else the only one.
fn select_route<'a>(
    routes: &'a Routes,
    explicit: Option<&str>,
    from_file: Option<String>,
) -> Result<&'a Route, UsageError> {
    let codes: Vec<&str> = routes
        .iter()
        .map(|route| route.process_code.as_str())
        .collect();
    let known = codes.join(", ");
    let process_code = match (explicit, from_file.as_deref()) {
        (Some(code), _) | (None, Some(code)) => code.to_string(),
        (None, None) if codes.len() == 1 => codes[0].to_string(),
        (None, None) => {
            return Err(UsageError::new(text!(
                en: "the configuration has several routes; choose one with --process-code ({known})",
                zh: "配置中有多条路由；请用 --process-code 指定一条（{known}）",
            )));
        }
    };
    routes.route_for(&process_code).ok_or_else(|| {
        UsageError::new(text!(
            en: "no route for process code {process_code}; configured: {known}",
            zh: "审批模板 {process_code} 没有路由；已配置：{known}",
        ))
    })
}

fn print_bill(bill: &MappedBill, request: &Value, format: Format, lang: Lang) -> u8 {
    match format {
        Format::Json => {
            let output = json!({
                "outcome": "ok",
                "form_id": bill.form_id,
                "bill_no": bill.bill_no,
                "total": bill.total.to_string(),
                "entries": bill.entries,
                "data": request["data"],
            });
            print_line(&output.to_string());
        }
        Format::Text => {
            let form_id = &bill.form_id;
            let bill_no = &bill.bill_no;
            let entries = bill.entries;
            let total = bill.total;
            let summary = text!(
                en: "{form_id} {bill_no}: {entries} entries, total {total}; the BatchSave request follows",
                zh: "{form_id} {bill_no}：{entries} 条分录，合计 {total}；BatchSave 请求如下",
            );
            eprintln!("{}", summary.get(lang));
            let pretty =
                serde_json::to_string_pretty(request).expect("a JSON value always serializes");
            print_line(&pretty);
        }
    }
    EXIT_OK
}

fn print_rejected(errors: &MappingErrors, format: Format, lang: Lang) -> u8 {
    match format {
        Format::Json => {
            let output = json!({
                "outcome": "rejected",
                "errors": errors.to_json(lang),
            });
            print_line(&output.to_string());
        }
        Format::Text => print_line(errors.localize().get(lang)),
    }
    EXIT_REJECTED
}

fn print_skipped(instance: &ApprovalInstance, format: Format, lang: Lang) -> u8 {
    let status = instance.status.to_string();
    let result = instance.result.to_string();
    let message = text!(
        en: "skipped: the approval is not approved (status {status}, result {result:?}); only \
             approved approvals become bills",
        zh: "跳过：该审批未通过（status {status}，result {result:?}）；只有已通过的审批才会生成单据",
    );
    match format {
        Format::Json => {
            let output = json!({
                "outcome": "skipped",
                "status": status,
                "result": result,
                "message": message.get(lang),
            });
            print_line(&output.to_string());
        }
        Format::Text => print_line(message.get(lang)),
    }
    EXIT_SKIPPED
}

fn print_usage_errors(errors: Vec<UsageError>, format: Format, lang: Lang) -> u8 {
    match format {
        Format::Json => {
            let list: Vec<Value> = errors
                .iter()
                .map(|error| json!({"key": error.key, "message": error.message.get(lang)}))
                .collect();
            print_line(&json!({"outcome": "error", "errors": list}).to_string());
        }
        Format::Text => {
            for error in &errors {
                eprintln!("{}", error.message.get(lang));
            }
        }
    }
    EXIT_USAGE
}

/// Reads `k3cloud.auto_submit_and_audit`, which changes the request; false when absent.
/// The section is otherwise left to the consumer's own configuration check.
fn read_auto_submit_and_audit(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            table
                .get("k3cloud")?
                .get("auto_submit_and_audit")?
                .as_bool()
        })
        .unwrap_or(false)
}
