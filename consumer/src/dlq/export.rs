//! `consumer dlq export`: a lossless copy of dead letters as JSON Lines, for audit or
//! for a person to read. `purge` writes the same file before it removes anything.
//!
//! Each line is one message:
//!
//! ```json
//! {"format": "dingk3-dead-letter", "version": 1, "queue": "dingk3.dead",
//!  "position": 1, "exported_at": "…", "exchange": "dingk3.dead",
//!  "routing_key": "approval", "redelivered": true,
//!  "summary": {"process_instance_id": …, "kind": …, "reason": …, "detail": …},
//!  "properties": {"message_id": …, "headers": {"x-death": {"type": "array", …}}},
//!  "body": {"encoding": "utf8", "data": "…"}}
//! ```
//!
//! `properties` and `body` hold everything the broker delivered, typed as described in
//! [`crate::dlq::amqp_json`], so [`parse_line`] rebuilds the same properties and bytes.
//! `summary` is derived from them for a person and is not needed to rebuild the message.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::BasicProperties;
use serde_json::{Value, json};

use crate::dlq::amqp_json::{
    body_from_json, body_to_json, properties_from_json, properties_to_json,
};
use crate::dlq::error::DlqError;
use crate::dlq::filter::Filter;
use crate::dlq::letter::Letter;
use crate::dlq::queue::{DeadQueue, Held};
use crate::dlq::settings::DlqSettings;

/// Value of the `format` field of each line.
pub const FORMAT: &str = "dingk3-dead-letter";

/// Version of the line layout.
pub const VERSION: u64 = 1;

/// Destination of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A new file; an existing one is never overwritten.
    File(PathBuf),
    /// Standard output (`--out -`).
    Stdout,
}

/// Result of an export.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// Ready messages in the dead-letter queue when the command started.
    pub depth_at_start: u32,
    /// Messages read.
    pub read: usize,
    /// Messages written.
    pub exported: usize,
    /// `--id` values that named no dead letter.
    pub unmatched_ids: Vec<String>,
}

/// A message read back from an export line.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedMessage {
    /// Position in the queue when exported.
    pub position: usize,
    /// Exchange it was delivered from.
    pub exchange: String,
    /// Routing key it was delivered with.
    pub routing_key: String,
    /// Every property and header, as delivered.
    pub properties: BasicProperties,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// Writes the selected dead letters to `destination` and puts every message back.
pub async fn export(
    settings: &DlqSettings,
    filter: &Filter,
    destination: &Destination,
) -> Result<ExportReport, DlqError> {
    if let Destination::File(path) = destination
        && path.exists()
    {
        return Err(DlqError::OutputExists { path: path.clone() });
    }
    let mut queue = DeadQueue::open(&settings.broker).await?;
    let routes = settings.routes();
    let max_bytes = settings.max_message_bytes;
    let taken = queue
        .take(|message, position| Letter::read(message, position, max_bytes, routes))
        .await;
    let queue_name = queue.topology().dead_queue();
    let now = Utc::now();
    let result = taken.and_then(|()| {
        let lines: Vec<String> = queue
            .held()
            .iter()
            .filter(|held| filter.matches(&held.letter))
            .map(|held| line(held, &queue_name, now))
            .collect();
        write_lines(destination, &lines)?;
        Ok(ExportReport {
            depth_at_start: queue.depth_at_start(),
            read: queue.held().len(),
            exported: lines.len(),
            unmatched_ids: filter.unmatched_ids(queue.held().iter().map(|held| &held.letter)),
        })
    });
    queue.release().await;
    result
}

/// Renders one held message as an export line (without the line break).
pub fn line(held: &Held, queue: &str, exported_at: DateTime<Utc>) -> String {
    let mut summary = held.letter.to_json();
    summary["detail"] = held.letter.detail.clone().unwrap_or(Value::Null);
    summary["body_problem"] = json!(held.letter.body_problem);
    let message = &held.message;
    json!({
        "format": FORMAT,
        "version": VERSION,
        "queue": queue,
        "position": held.letter.position,
        "exported_at": exported_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "exchange": message.exchange.as_str(),
        "routing_key": message.routing_key.as_str(),
        "redelivered": message.redelivered,
        "summary": summary,
        "properties": properties_to_json(&message.properties),
        "body": body_to_json(&message.data),
    })
    .to_string()
}

/// Reads one export line back into the message it describes.
pub fn parse_line(line: &str) -> Result<ExportedMessage, String> {
    let value: Value = serde_json::from_str(line).map_err(|error| error.to_string())?;
    if value["format"] != json!(FORMAT) {
        return Err(format!("not a {FORMAT} line"));
    }
    if value["version"] != json!(VERSION) {
        return Err(format!("unsupported version {}", value["version"]));
    }
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
    Ok(ExportedMessage {
        position: value["position"].as_u64().unwrap_or_default() as usize,
        exchange: text("exchange"),
        routing_key: text("routing_key"),
        properties: properties_from_json(&value["properties"])?,
        body: body_from_json(&value["body"])?,
    })
}

/// Writes `lines` to a new file, flushed and synced to disk with its folder, or to
/// standard output.
pub fn write_lines(destination: &Destination, lines: &[String]) -> Result<(), DlqError> {
    let path = match destination {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            for line in lines {
                // A closed pipe (`… | head`) ends the output quietly.
                if writeln!(out, "{line}").is_err() {
                    break;
                }
            }
            return Ok(());
        }
        Destination::File(path) => path,
    };
    let failed = |source| DlqError::Output {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => DlqError::OutputExists { path: path.clone() },
            _ => failed(source),
        })?;
    let mut buffer = std::io::BufWriter::new(&mut file);
    for line in lines {
        buffer.write_all(line.as_bytes()).map_err(failed)?;
        buffer.write_all(b"\n").map_err(failed)?;
    }
    buffer.flush().map_err(failed)?;
    drop(buffer);
    file.sync_all().map_err(failed)?;
    sync_folder(path).map_err(failed)
}

/// Syncs the folder of `path`, so the new file's name survives a crash too.
fn sync_folder(path: &Path) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use dingk3::broker::ReceivedMessage;
    use dingk3::broker::headers::PipelineHeaders;
    use lapin::types::AMQPValue;

    use super::*;

    fn held(body: &[u8]) -> Held {
        let mut headers = PipelineHeaders::default().to_field_table();
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(2));
        let message = ReceivedMessage {
            delivery_tag: 9,
            exchange: "dingk3.dead".into(),
            routing_key: "approval".into(),
            redelivered: true,
            properties: BasicProperties::default()
                .with_message_id("pi-1".into())
                .with_delivery_mode(2)
                .with_headers(headers),
            data: body.to_vec(),
        };
        let letter = Letter::read(&message, 3, 1024, None);
        Held::for_test(message, letter)
    }

    #[test]
    fn line_reads_back() {
        let held = held(&[0xff, 0x00, b'{']);
        let text = line(&held, "dingk3.dead", Utc::now());
        let back = parse_line(&text).unwrap();
        assert_eq!(back.body, held.message.data, "binary body survives");
        assert_eq!(
            back.properties, held.message.properties,
            "properties survive"
        );
        assert_eq!(back.position, 3);
        assert_eq!(back.exchange, "dingk3.dead");
    }

    #[test]
    fn line_has_summary() {
        let text = line(&held(b"{}"), "dingk3.dead", Utc::now());
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["summary"]["process_instance_id"], json!("pi-1"));
        assert!(!text.contains('\n'), "one line per message");
    }

    #[test]
    fn other_lines_are_rejected() {
        assert!(parse_line("{\"format\":\"other\"}").is_err());
        assert!(parse_line("not json").is_err());
    }

    #[test]
    fn existing_file_is_kept() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.jsonl");
        std::fs::write(&path, "keep\n").unwrap();
        let error = write_lines(&Destination::File(path.clone()), &["x".to_string()]).unwrap_err();
        assert!(matches!(error, DlqError::OutputExists { .. }), "{error}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "keep\n",
            "unchanged"
        );
    }

    #[test]
    fn lines_are_written() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.jsonl");
        write_lines(&Destination::File(path.clone()), &["a".into(), "b".into()]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
    }
}
