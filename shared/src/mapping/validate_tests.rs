use super::*;
use crate::i18n::Localize;
use crate::mapping::routes::Producer;

/// A small valid configuration; each test breaks one rule of it.
const VALID: &str = r#"
[[routes]]
process_code = "PROC-1"
form_id = "AP_PAYBILL"
mapping = "claim"

[mappings.claim]
header = [
  { key = "FPAYORGID", source = "var:org", as = "base_data" },
  { key = "FDATE", source = "instance:finish_time", as = "date" },
  { key = "FCONTACTUNIT", source = "instance:originator_userid", map = "employee", as = "base_data" },
]

[mappings.claim.vars]
org = "100"

[mappings.claim.entries]
entity = "FPAYBILLENTRY"
from_table = "报销明细"
amount = "FPAYTOTALAMOUNTFOR"
fields = [
  { key = "FCOSTID", switch = "form:报销类别", cases = { "行政报销" = "form:行政报销类型" }, map = "expense_item", as = "base_data" },
  { key = "FPAYTOTALAMOUNTFOR", source = "row:金额", as = "money" },
]

[value_maps.employee]
"user-1001" = "EMP001"

[value_maps.expense_item]
"办公用品" = "FYXM001"
"#;

fn validate(text: &str) -> Result<Routes, Vec<ConfigError>> {
    RawRoutesConfig::from_toml_str(text)
        .unwrap_or_else(|error| panic!("test configuration does not parse: {error}"))
        .validate()
}

/// Validates `VALID` with `from` replaced by `to` and returns the error keys.
fn error_keys(from: &str, to: &str) -> Vec<String> {
    assert!(
        VALID.contains(from),
        "test replaces text that VALID lacks: {from}"
    );
    match validate(&VALID.replacen(from, to, 1)) {
        Ok(_) => panic!("replacing {from:?} with {to:?} must be rejected"),
        Err(errors) => errors.into_iter().map(|error| error.key).collect(),
    }
}

fn assert_key(keys: &[String], key: &str) {
    assert!(
        keys.iter().any(|found| found == key),
        "expected an error for {key}, got {keys:?}"
    );
}

#[test]
fn valid_config_compiles() {
    let routes = validate(VALID).unwrap();
    let route = routes
        .route_for("PROC-1")
        .expect("the route is found by process code");
    assert_eq!(route.form_id, "AP_PAYBILL");
    assert_eq!(route.mapping.form_id(), "AP_PAYBILL");
    assert!(routes.route_for("PROC-2").is_none());
}

#[test]
fn routes_must_exist() {
    let text = VALID.replace("[[routes]]", "[[unused]]");
    let keys: Vec<String> = validate(&text)
        .unwrap_err()
        .into_iter()
        .map(|error| error.key)
        .collect();
    assert_key(&keys, "routes");
}

#[test]
fn route_process_code_required() {
    assert_key(
        &error_keys(r#"process_code = "PROC-1""#, ""),
        "routes.0.process_code",
    );
}

#[test]
fn route_process_code_unique() {
    let text = format!(
        "{VALID}\n[[routes]]\nprocess_code = \"PROC-1\"\nform_id = \"AP_PAYBILL\"\nmapping = \"claim\"\n"
    );
    let errors = validate(&text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "routes.1.process_code");
    assert!(errors[0].problem.en.contains("routes.0"), "{}", errors[0]);
}

#[test]
fn route_form_id_required() {
    assert_key(
        &error_keys(r#"form_id = "AP_PAYBILL""#, ""),
        "routes.0.form_id",
    );
}

#[test]
fn route_form_id_characters() {
    assert_key(
        &error_keys(r#"form_id = "AP_PAYBILL""#, r#"form_id = "AP PAYBILL""#),
        "routes.0.form_id",
    );
}

#[test]
fn route_mapping_must_exist() {
    let keys = error_keys(r#"mapping = "claim""#, r#"mapping = "claims""#);
    assert_eq!(keys, ["routes.0.mapping"]);
}

#[test]
fn mapping_name_characters() {
    let text = VALID.replace("mappings.claim", "mappings.\"my claim\"");
    let text = text.replace(r#"mapping = "claim""#, r#"mapping = "my claim""#);
    let keys: Vec<String> = validate(&text)
        .unwrap_err()
        .into_iter()
        .map(|error| error.key)
        .collect();
    assert_key(&keys, "mappings.my claim");
}

#[test]
fn bill_no_needs_placeholder() {
    let text = VALID.replace(
        "[mappings.claim]\n",
        "[mappings.claim]\nbill_no = \"DD-FIXED\"\n",
    );
    let errors = validate(&text).unwrap_err();
    assert_eq!(errors[0].key, "mappings.claim.bill_no");
}

#[test]
fn bill_no_template_syntax() {
    let text = VALID.replace(
        "[mappings.claim]\n",
        "[mappings.claim]\nbill_no = \"DD-{business_id\"\n",
    );
    let errors = validate(&text).unwrap_err();
    assert_eq!(errors[0].key, "mappings.claim.bill_no");
}

#[test]
fn bill_no_key_not_in_header() {
    assert_key(
        &error_keys(r#"{ key = "FDATE","#, r#"{ key = "FBILLNO","#),
        "mappings.claim.header.1.key",
    );
}

#[test]
fn total_source_checked() {
    let text = VALID.replace(
        "[mappings.claim]\n",
        "[mappings.claim]\ntotal = \"row:合计\"\n",
    );
    let errors = validate(&text).unwrap_err();
    assert_eq!(errors[0].key, "mappings.claim.total");
}

#[test]
fn var_must_not_be_empty() {
    assert_key(
        &error_keys(r#"org = "100""#, r#"org = " ""#),
        "mappings.claim.vars.org",
    );
}

#[test]
fn var_must_fit_kind() {
    assert_key(
        &error_keys(
            r#"source = "var:org", as = "base_data""#,
            r#"source = "var:org", as = "date""#,
        ),
        "mappings.claim.header.0.source",
    );
}

#[test]
fn amount_key_matched_ignoring_case() {
    let text = VALID.replace(
        r#"amount = "FPAYTOTALAMOUNTFOR""#,
        r#"amount = "fpaytotalamountfor""#,
    );
    let routes = validate(&text).unwrap();
    let entries = &routes.route_for("PROC-1").unwrap().mapping.entries;
    assert_eq!(
        entries.amount_key, "FPAYTOTALAMOUNTFOR",
        "the rule's spelling is kept"
    );
}

#[test]
fn var_must_be_defined() {
    assert_key(
        &error_keys(r#"source = "var:org""#, r#"source = "var:orgs""#),
        "mappings.claim.header.0.source",
    );
}

#[test]
fn rule_key_required() {
    assert_key(
        &error_keys(r#"{ key = "FDATE","#, r#"{ key = "","#),
        "mappings.claim.header.1.key",
    );
}

#[test]
fn rule_key_characters() {
    assert_key(
        &error_keys(r#"{ key = "FDATE","#, r#"{ key = "F DATE","#),
        "mappings.claim.header.1.key",
    );
}

#[test]
fn rule_key_unique_ignoring_case() {
    assert_key(
        &error_keys(r#"{ key = "FDATE","#, r#"{ key = "FPayOrgId","#),
        "mappings.claim.header.1.key",
    );
}

#[test]
fn rule_needs_one_producer() {
    assert_key(
        &error_keys(
            r#"source = "instance:finish_time", as = "date""#,
            r#"as = "date""#,
        ),
        "mappings.claim.header.1",
    );
}

#[test]
fn rule_rejects_two_producers() {
    assert_key(
        &error_keys(
            r#"source = "instance:finish_time", as = "date""#,
            r#"source = "instance:finish_time", const = "2026-01-01", as = "date""#,
        ),
        "mappings.claim.header.1",
    );
}

#[test]
fn source_syntax_checked() {
    assert_key(
        &error_keys("instance:finish_time", "instance:finished"),
        "mappings.claim.header.1.source",
    );
}

#[test]
fn row_source_only_in_table_entries() {
    assert_key(
        &error_keys("instance:finish_time", "row:日期"),
        "mappings.claim.header.1.source",
    );
}

#[test]
fn row_source_needs_from_table() {
    assert_key(
        &error_keys("from_table = \"报销明细\"\n", ""),
        "mappings.claim.entries.fields.1.source",
    );
}

#[test]
fn template_syntax_checked() {
    assert_key(
        &error_keys(
            r#"source = "instance:finish_time", as = "date""#,
            r#"template = "{title""#,
        ),
        "mappings.claim.header.1.template",
    );
}

#[test]
fn value_map_must_exist() {
    assert_key(
        &error_keys(r#"map = "employee""#, r#"map = "employees""#),
        "mappings.claim.header.2.map",
    );
}

#[test]
fn const_takes_no_value_map() {
    assert_key(
        &error_keys(
            r#"source = "instance:originator_userid", map = "employee""#,
            r#"const = "EMP001", map = "employee""#,
        ),
        "mappings.claim.header.2.map",
    );
}

#[test]
fn const_must_fit_kind() {
    for (constant, kind) in [
        ("\"abc\"", "money"),
        ("\"1e3\"", "decimal"),
        ("\"x\"", "bool"),
        ("\"1.5\"", "integer"),
        ("\"28/10/2026\"", "date"),
        ("\" \"", "base_data"),
        ("true", "text"),
    ] {
        let to = format!(r#"const = {constant}, as = "{kind}""#);
        assert_key(
            &error_keys(r#"source = "instance:finish_time", as = "date""#, &to),
            "mappings.claim.header.1.const",
        );
    }
}

#[test]
fn const_converted_at_load() {
    let text = VALID.replace(
        r#"source = "instance:finish_time", as = "date""#,
        r#"const = "1,280.5", as = "money""#,
    );
    let routes = validate(&text).unwrap();
    let rule = &routes.route_for("PROC-1").unwrap().mapping.header[1];
    match &rule.producer {
        Producer::Const(value) => assert_eq!(value.to_string(), "1280.50"),
        other => panic!("expected a constant, got {other:?}"),
    }
}

#[test]
fn switch_needs_cases() {
    assert_key(
        &error_keys(r#", cases = { "行政报销" = "form:行政报销类型" }"#, ""),
        "mappings.claim.entries.fields.0.cases",
    );
}

#[test]
fn cases_need_switch() {
    assert_key(
        &error_keys(
            r#"switch = "form:报销类别", "#,
            r#"source = "form:报销类别", "#,
        ),
        "mappings.claim.entries.fields.0.cases",
    );
}

#[test]
fn case_source_checked() {
    assert_key(
        &error_keys(
            r#""行政报销" = "form:行政报销类型""#,
            r#""行政报销" = "行政报销类型""#,
        ),
        "mappings.claim.entries.fields.0.cases.行政报销",
    );
}

#[test]
fn entries_required() {
    let end = VALID.find("[value_maps.employee]").unwrap();
    let start = VALID.find("[mappings.claim.entries]").unwrap();
    let text = format!("{}{}", &VALID[..start], &VALID[end..]);
    let errors = validate(&text).unwrap_err();
    assert_eq!(errors[0].key, "mappings.claim.entries");
}

#[test]
fn entries_entity_required() {
    assert_key(
        &error_keys(r#"entity = "FPAYBILLENTRY""#, ""),
        "mappings.claim.entries.entity",
    );
}

#[test]
fn entries_entity_not_a_header_key() {
    assert_key(
        &error_keys(r#"entity = "FPAYBILLENTRY""#, r#"entity = "FDATE""#),
        "mappings.claim.entries.entity",
    );
}

#[test]
fn entries_from_table_not_empty() {
    assert_key(
        &error_keys(r#"from_table = "报销明细""#, r#"from_table = """#),
        "mappings.claim.entries.from_table",
    );
}

#[test]
fn entries_fields_required() {
    let start = VALID.find("fields = [").unwrap();
    let end = VALID.find("[value_maps.employee]").unwrap();
    let text = format!("{}fields = []\n\n{}", &VALID[..start], &VALID[end..]);
    let keys: Vec<String> = validate(&text)
        .unwrap_err()
        .into_iter()
        .map(|error| error.key)
        .collect();
    assert_key(&keys, "mappings.claim.entries.fields");
}

#[test]
fn entries_amount_required() {
    assert_key(
        &error_keys(r#"amount = "FPAYTOTALAMOUNTFOR""#, ""),
        "mappings.claim.entries.amount",
    );
}

#[test]
fn entries_amount_names_a_field() {
    assert_key(
        &error_keys(r#"amount = "FPAYTOTALAMOUNTFOR""#, r#"amount = "FAMOUNT""#),
        "mappings.claim.entries.amount",
    );
}

#[test]
fn entries_amount_constant_positive() {
    assert_key(
        &error_keys(
            r#"source = "row:金额", as = "money""#,
            r#"const = "0.00", as = "money""#,
        ),
        "mappings.claim.entries.amount",
    );
    let routes = validate(&VALID.replacen(
        r#"source = "row:金额", as = "money""#,
        r#"const = "12.50", as = "money""#,
        1,
    ))
    .expect("a positive constant amount is valid");
    let rules = &routes.routes[0].mapping.entries.fields;
    assert!(
        rules
            .iter()
            .any(|rule| rule.key == "FPAYTOTALAMOUNTFOR" && rule.positive),
        "the amount rule is marked for the positive check"
    );
}

#[test]
fn entries_amount_is_money() {
    assert_key(
        &error_keys(
            r#"source = "row:金额", as = "money""#,
            r#"source = "row:金额""#,
        ),
        "mappings.claim.entries.amount",
    );
}

#[test]
fn entries_amount_is_required() {
    assert_key(
        &error_keys(
            r#"source = "row:金额", as = "money""#,
            r#"source = "row:金额", as = "money", required = false"#,
        ),
        "mappings.claim.entries.amount",
    );
}

#[test]
fn value_map_not_empty() {
    assert_key(
        &error_keys("\"user-1001\" = \"EMP001\"\n", ""),
        "value_maps.employee",
    );
}

#[test]
fn value_map_values_not_empty() {
    assert_key(
        &error_keys(r#""user-1001" = "EMP001""#, r#""user-1001" = """#),
        "value_maps.employee.user-1001",
    );
}

#[test]
fn value_map_keys_unique_when_trimmed() {
    assert_key(
        &error_keys(
            r#""user-1001" = "EMP001""#,
            "\"user-1001\" = \"EMP001\"\n\" user-1001\" = \"EMP009\"",
        ),
        "value_maps.employee.user-1001",
    );
}

#[test]
fn every_problem_is_reported() {
    let text = VALID
        .replace(r#"mapping = "claim""#, r#"mapping = "claims""#)
        .replace(r#"map = "employee""#, r#"map = "employees""#)
        .replace(r#"source = "row:金额""#, r#"source = "row:""#);
    let keys: Vec<String> = validate(&text)
        .unwrap_err()
        .into_iter()
        .map(|error| error.key)
        .collect();
    assert_key(&keys, "routes.0.mapping");
    assert_key(&keys, "mappings.claim.header.2.map");
    assert_key(&keys, "mappings.claim.entries.fields.1.source");
}

#[test]
fn error_messages_are_bilingual() {
    let errors =
        validate(&VALID.replace(r#"map = "employee""#, r#"map = "employees""#)).unwrap_err();
    let text = errors[0].localize();
    assert!(text.en.contains("value_maps.employees"), "{}", text.en);
    assert!(text.zh.contains("值映射"), "{}", text.zh);
}
