//! Loads approval cases from a directory.
//!
//! A case is a pair `NAME.json` (a topapi `processinstance/get` response body) and
//! `NAME.expected.json`, which names the `process_instance_id` the instance is served
//! under and what the pipeline must do with it. Files without a sibling
//! `*.expected.json` are ignored, so a directory may hold other JSON as well. Cases
//! load in file-name order.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::model::{Instance, ModelError};
use super::truth::Expected;

/// One loaded case.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// File name without `.json`, for messages.
    pub name: String,
    /// The instance, with its times as written in the file.
    pub instance: Instance,
    /// Expected outcome once the instance is approved, when the case states it.
    pub outcome_if_approved: Option<Expected>,
    /// Content of `NAME.expected.json`, reported unchanged by the admin API.
    pub case_expected: Value,
}

/// A case directory or file that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory cannot be listed.
    #[error("cannot list case directory {path}: {source}")]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A file cannot be read.
    #[error("cannot read case file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A file is not valid JSON or lacks a required entry.
    #[error("case file {path} is invalid: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Description of the problem.
        problem: String,
    },
}

/// Loads every case of `dir`, serving each under `process_code`.
pub fn load_cases(dir: &Path, process_code: &str) -> Result<Vec<LoadedCase>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::ListDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::ListDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(".json") else {
            continue;
        };
        if name.ends_with(".expected") {
            continue;
        }
        if dir.join(format!("{name}.expected.json")).is_file() {
            names.push(name.to_string());
        }
    }
    names.sort();

    names
        .into_iter()
        .map(|name| load_case(dir, name, process_code))
        .collect()
}

fn read_json(path: &Path) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| LoadError::Invalid {
        path: path.to_path_buf(),
        problem: error.to_string(),
    })
}

fn load_case(dir: &Path, name: String, process_code: &str) -> Result<LoadedCase, LoadError> {
    let instance_path = dir.join(format!("{name}.json"));
    let expected_path = dir.join(format!("{name}.expected.json"));
    let raw = read_json(&instance_path)?;
    let case_expected = read_json(&expected_path)?;

    let invalid_expected = |problem: String| LoadError::Invalid {
        path: expected_path.clone(),
        problem,
    };
    let id = case_expected
        .get("process_instance_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid_expected("\"process_instance_id\" is missing".to_string()))?;
    let outcome_if_approved =
        Expected::outcome_if_approved(&case_expected).map_err(invalid_expected)?;
    let instance = Instance::from_topapi(id, process_code, &raw).map_err(|error: ModelError| {
        LoadError::Invalid {
            path: instance_path.clone(),
            problem: error.to_string(),
        }
    })?;

    Ok(LoadedCase {
        name,
        instance,
        outcome_if_approved,
        case_expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write test file");
    }

    #[test]
    fn load_cases_pairs_files_and_ignores_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        let instance = r#"{"errcode":0,"process_instance":{"create_time":"2026-11-03 10:15:22","status":"RUNNING"}}"#;
        write(dir.path(), "a.json", instance);
        write(
            dir.path(),
            "a.expected.json",
            r#"{"process_instance_id":"id-a","expect":"skipped","reason":"running"}"#,
        );
        write(dir.path(), "lonely.json", instance);
        write(dir.path(), "notes.txt", "not json");

        let cases = load_cases(dir.path(), PROCESS_CODE).expect("loads");
        assert_eq!(cases.len(), 1, "only the paired file is a case");
        assert_eq!(cases[0].instance.process_instance_id, "id-a");
        assert_eq!(cases[0].instance.process_code, PROCESS_CODE);
    }

    #[test]
    fn load_cases_names_file_without_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "b.json",
            r#"{"create_time":"2026-11-03 10:15:22","status":"RUNNING"}"#,
        );
        write(dir.path(), "b.expected.json", r#"{"expect":"skipped"}"#);

        let error = load_cases(dir.path(), PROCESS_CODE).expect_err("id missing");
        assert!(
            error.to_string().contains("b.expected.json"),
            "error names the file: {error}"
        );
    }
}
