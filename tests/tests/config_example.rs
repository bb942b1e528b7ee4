//! The example configuration documents every key of every section with its default,
//! loads for both binaries, and every key appears in the configuration reference.

use std::collections::BTreeMap;
use std::path::Path;

use dingk3::config::ConfigSource;
use dingk3_tests::config_keys::field_names;
use serde::de::DeserializeOwned;

const EXAMPLE: &str = "../config/dingk3.example.toml";
const REFERENCE: &str = "../docs/CONFIGURATION.md";

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A key line of the example, active or commented out.
#[derive(Debug)]
struct KeyLine {
    key: String,
    line: String,
    commented: bool,
}

/// Collects the key lines of each `[section]` of the example (array tables and nested
/// tables of the routes part are not sections).
fn example_sections() -> BTreeMap<String, Vec<KeyLine>> {
    let mut sections: BTreeMap<String, Vec<KeyLine>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in read(EXAMPLE).lines() {
        if line.starts_with('[') {
            let name = line.trim_matches(['[', ']']).to_string();
            current = (!line.starts_with("[[") && !name.contains('.')).then_some(name);
            continue;
        }
        let Some(section) = &current else { continue };
        let (text, commented) = match line.strip_prefix("# ") {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let Some((key, _)) = text.split_once(" = ") else {
            continue;
        };
        if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !key.is_empty() {
            sections.entry(section.clone()).or_default().push(KeyLine {
                key: key.to_string(),
                line: text.to_string(),
                commented,
            });
        }
    }
    sections
}

/// Checks one section: its keys are exactly the struct's fields, each commented line
/// shows the default (or an example for a key without one), and the section as written
/// parses.
fn check_section<T: DeserializeOwned + Default + std::fmt::Debug>(name: &str, lines: &[KeyLine]) {
    let mut documented: Vec<&str> = lines.iter().map(|l| l.key.as_str()).collect();
    documented.sort_unstable();
    documented.dedup();
    let mut fields = field_names::<T>();
    fields.sort_unstable();
    assert_eq!(
        documented, fields,
        "[{name}]: the example must document exactly the keys of the section"
    );

    let default = format!("{:?}", T::default());
    for line in lines.iter().filter(|l| l.commented) {
        let parsed: T = toml::from_str(&line.line).unwrap_or_else(|e| {
            panic!(
                "[{name}] commented line `{}` does not parse: {e}",
                line.line
            )
        });
        let without_default = default.contains(&format!("{}: None", line.key));
        assert!(
            format!("{parsed:?}") == default || without_default,
            "[{name}] commented line `{}` must show the default",
            line.line
        );
    }

    let active: String = lines
        .iter()
        .filter(|l| !l.commented)
        .map(|l| format!("{}\n", l.line))
        .collect();
    toml::from_str::<T>(&active)
        .unwrap_or_else(|e| panic!("[{name}] active keys do not parse: {e}"));
}

#[test]
fn example_documents_every_key() {
    let sections = example_sections();
    let names: Vec<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "broker", "consumer", "dingtalk", "k3cloud", "ledger", "log", "producer"
        ]
    );
    check_section::<dingk3::telemetry::RawLogConfig>("log", &sections["log"]);
    check_section::<dingk3::dingtalk::RawDingTalkConfig>("dingtalk", &sections["dingtalk"]);
    check_section::<dingk3::k3cloud::RawK3CloudConfig>("k3cloud", &sections["k3cloud"]);
    check_section::<dingk3::broker::RawBrokerConfig>("broker", &sections["broker"]);
    check_section::<dingk3::ledger::RawLedgerConfig>("ledger", &sections["ledger"]);
    check_section::<dingk3_producer::RawProducerConfig>("producer", &sections["producer"]);
    check_section::<dingk3_consumer::config::RawConsumerConfig>("consumer", &sections["consumer"]);
}

#[test]
fn example_loads_for_both_binaries() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    let source = ConfigSource::load(Some(&path)).unwrap();
    if let Err(errors) = dingk3_producer::ProducerConfig::from_source(&source) {
        panic!("the producer rejects the example: {errors:?}");
    }
    if let Err(errors) = dingk3_consumer::settings::RunSettings::load(&source) {
        panic!("the consumer rejects the example: {errors:?}");
    }
}

#[test]
fn reference_lists_every_key_and_variable() {
    let reference = read(REFERENCE);
    for (section, lines) in example_sections() {
        for line in lines {
            let key = format!("`{section}.{}`", line.key);
            assert!(reference.contains(&key), "{REFERENCE} must describe {key}");
            let variable = format!(
                "DINGK3_{}__{}",
                section.to_uppercase(),
                line.key.to_uppercase()
            );
            assert!(
                reference.contains(&variable),
                "{REFERENCE} must name {variable}"
            );
        }
    }
}

/// Every metric the code registers is described in the metrics reference.
#[test]
fn metrics_reference_lists_every_metric() {
    let reference = read("../docs/METRICS.md");
    let mut names = std::collections::BTreeSet::new();
    for folder in ["../shared/src", "../producer/src", "../consumer/src"] {
        collect_metric_names(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(folder),
            &mut names,
        );
    }
    names.remove("dingk3_test_operations_total");
    assert!(names.len() > 20, "found only {names:?}");
    for name in names {
        assert!(
            reference.contains(&format!("`{name}`")),
            "docs/METRICS.md must describe {name}"
        );
    }
}

fn collect_metric_names(folder: &Path, names: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_metric_names(&path, names);
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let is_name = piece.starts_with("dingk3_")
                && piece
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if is_name {
                names.insert(piece.to_string());
            }
        }
    }
}
