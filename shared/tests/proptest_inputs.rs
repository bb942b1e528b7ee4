//! Property tests: no input makes the message envelope decoder, the approval decoder,
//! the example mapping or DingTalk's time parsing panic. A consumer that panics on a
//! message stops taking work, and the message comes back to make the next one panic
//! too, so every input must end in a value or an error.
//!
//! Inputs are arbitrary bytes, arbitrary JSON, and real payloads (the approval cases
//! and the DingTalk fixtures) with one value replaced, removed or cut short. Case
//! counts stay modest so the suite runs in seconds; `PROPTEST_CASES` raises them.

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::Utc;
use dingk3::approval::ApprovalInstance;
use dingk3::approval::time::{beijing_to_utc, parse_form_date, parse_instance_time};
use dingk3::envelope::Envelope;
use dingk3::mapping::{RawRoutesConfig, Routes};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Template code the example configuration routes.
const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

/// Body limit given to the decoder, as the consumer's default `max_message_bytes`.
const MAX_BYTES: usize = 1024 * 1024;

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

static ROUTES: LazyLock<Routes> = LazyLock::new(|| {
    RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
        .unwrap_or_else(|error| panic!("the example configuration does not load: {error}"))
        .validate()
        .unwrap_or_else(|errors| panic!("the example configuration is invalid: {errors:?}"))
});

/// Every real approval payload of the repository: the handed cases and the DingTalk
/// response fixtures of both API generations.
static PAYLOADS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut payloads = Vec::new();
    for folder in ["tests/fixtures/cases", "shared/tests/fixtures/dingtalk"] {
        let dir = repo_path(folder);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                let name = path.to_string_lossy();
                name.ends_with(".json") && !name.ends_with(".expected.json")
            })
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
            payloads.push(value);
        }
    }
    assert!(payloads.len() >= 5, "the fixtures were found");
    payloads
});

/// Arbitrary JSON, nested up to four levels, with keys the decoders look for mixed
/// into random ones.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|number| json!(number)),
        "[0-9.,eE+-]{0,24}".prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Object keys: mostly the ones the approval, envelope and response decoders read.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "process_instance",
            "result",
            "form_component_values",
            "formComponentValues",
            "component_type",
            "componentType",
            "id",
            "name",
            "value",
            "ext_value",
            "extValue",
            "rowValue",
            "rowNumber",
            "status",
            "result",
            "create_time",
            "finish_time",
            "createTime",
            "finishTime",
            "business_id",
            "businessId",
            "originator_userid",
            "schema",
            "process_instance_id",
            "process_code",
            "fetched_at",
            "instance",
            "errcode",
            "success",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z_]{1,12}",
    ]
}

/// One change to a JSON document.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value at the chosen place.
    Replace(Value),
    /// Remove the value at the chosen place from its object or array.
    Remove,
    /// Keep the first characters of a string, or of the number's text.
    Truncate(usize),
    /// Insert text into a string (form values are JSON inside strings).
    Insert(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arbitrary_json().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        (0_usize..64).prop_map(Mutation::Truncate),
        (0_usize..64, "\\PC{1,8}").prop_map(|(at, text)| Mutation::Insert(at, text)),
    ]
}

/// Returns the JSON pointer of every value in `value`, the root included.
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{path}/{escaped}"), out);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, format!("{path}/{index}"), out);
                }
            }
            _ => {}
        }
        out.push(path);
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// Applies `change` at the place `choice` picks among every value of `document`.
fn mutate(mut document: Value, choice: prop::sample::Index, change: &Mutation) -> Value {
    let places = pointers(&document);
    let place = places[choice.index(places.len())].clone();
    match change {
        Mutation::Replace(replacement) => {
            if let Some(target) = document.pointer_mut(&place) {
                *target = replacement.clone();
            }
        }
        Mutation::Remove => {
            let Some((parent, last)) = place.rsplit_once('/') else {
                return Value::Null;
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match document.pointer_mut(parent) {
                Some(Value::Object(object)) => {
                    object.shift_remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(index) = key.parse::<usize>()
                        && index < items.len()
                    {
                        items.remove(index);
                    }
                }
                _ => {}
            }
        }
        Mutation::Truncate(keep) => {
            if let Some(target) = document.pointer_mut(&place) {
                let text = match &*target {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                *target = Value::String(text.chars().take(*keep).collect());
            }
        }
        Mutation::Insert(at, inserted) => {
            if let Some(Value::String(text)) = document.pointer_mut(&place) {
                let mut chars: Vec<char> = text.chars().collect();
                let at = (*at).min(chars.len());
                chars.splice(at..at, inserted.chars());
                *text = chars.into_iter().collect();
            }
        }
    }
    document
}

/// Runs everything a consumer runs on an approval: the typed model, its times
/// converted to UTC, and the example mapping.
fn decode_and_map(raw: Value) {
    let Ok(instance) = ApprovalInstance::from_raw("proptest-instance", raw) else {
        return;
    };
    let _ = instance.is_approved();
    let _ = instance.is_open();
    let _ = instance.create_time.map(beijing_to_utc);
    let _ = instance.finish_time.map(beijing_to_utc);
    let route = ROUTES
        .route_for(PROCESS_CODE)
        .expect("the example configuration routes the expense template");
    if let Err(errors) = route.mapping.map(&instance) {
        let _ = errors.to_string();
    }
}

/// Decodes a message body as the consumer does, then the approval inside it.
fn decode_message(body: &[u8]) {
    if let Ok(envelope) = Envelope::decode(body, MAX_BYTES) {
        let _ = envelope.to_bytes();
        if let Ok(instance) = envelope.approval() {
            decode_and_map(instance.raw().clone());
        }
    }
}

/// Returns a message body carrying a real payload, as the producer publishes it.
fn envelope_json(payload: &Value) -> Value {
    let instance = ApprovalInstance::from_raw("proptest-instance", payload.clone())
        .expect("every fixture decodes");
    serde_json::to_value(Envelope::new(PROCESS_CODE, &instance, Utc::now()))
        .expect("an envelope serializes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn envelope_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_message(&body);
    }

    #[test]
    fn envelope_json_never_panics(value in arbitrary_json()) {
        decode_message(value.to_string().as_bytes());
    }

    #[test]
    fn envelope_mutated_never_panics(
        which in any::<prop::sample::Index>(),
        choice in any::<prop::sample::Index>(),
        change in mutation(),
    ) {
        let payload = &PAYLOADS[which.index(PAYLOADS.len())];
        let body = mutate(envelope_json(payload), choice, &change).to_string();
        decode_message(body.as_bytes());
    }

    #[test]
    fn envelope_cut_never_panics(
        which in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let payload = &PAYLOADS[which.index(PAYLOADS.len())];
        let body = envelope_json(payload).to_string().into_bytes();
        decode_message(&body[..cut.index(body.len() + 1)]);
    }

    #[test]
    fn approval_json_never_panics(value in arbitrary_json()) {
        decode_and_map(value);
    }

    #[test]
    fn approval_mutated_never_panics(
        which in any::<prop::sample::Index>(),
        first in (any::<prop::sample::Index>(), mutation()),
        second in (any::<prop::sample::Index>(), mutation()),
    ) {
        let payload = PAYLOADS[which.index(PAYLOADS.len())].clone();
        let once = mutate(payload, first.0, &first.1);
        decode_and_map(once.clone());
        decode_and_map(mutate(once, second.0, &second.1));
    }

    #[test]
    fn time_text_never_panics(text in "\\PC{0,40}") {
        let _ = parse_instance_time(&text).map(beijing_to_utc);
        let _ = parse_form_date(&text);
    }

    #[test]
    fn time_near_grammar_never_panics(
        text in "[-+]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?(Z|[+-][0-9]{2}:[0-9]{2})?",
    ) {
        let _ = parse_instance_time(&text).map(beijing_to_utc);
        let _ = parse_form_date(&text);
    }
}

#[test]
fn time_at_calendar_ends_converts() {
    for text in [
        "-262143-01-01 00:00:00",
        "+262142-12-31 23:59:59",
        "262142-12-31T23:59Z",
    ] {
        let parsed = parse_instance_time(text);
        let _ = parsed.map(beijing_to_utc);
    }
}

#[test]
fn fixtures_decode_and_map() {
    for payload in PAYLOADS.iter() {
        decode_message(envelope_json(payload).to_string().as_bytes());
    }
}
