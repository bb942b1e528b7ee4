//! Steering a running pipeline the way production failures do: killing a producer or
//! a consumer without warning, and changing the configuration that processes started
//! afterwards read.

use std::path::PathBuf;

use toml::{Table, Value};

use super::config;
use super::run::Pipeline;

impl Pipeline {
    /// Sets `section.key` in the run's configuration and rewrites the file. Producers and
    /// consumers started afterwards read the new value; running ones keep theirs.
    pub fn set_config(&mut self, section: &str, key: &str, value: impl Into<Value>) {
        let entry = self
            .config
            .entry(section.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(table) = entry else {
            panic!("configuration section {section} is not a table");
        };
        table.insert(key.to_string(), value.into());
        std::fs::write(&self.config_path, config::to_text(&self.config))
            .expect("the run's configuration file can be rewritten");
    }

    /// Kills the consumer at `index` of [`Pipeline::consumers`] with SIGKILL (or aborts
    /// its task) and returns its consumer id.
    pub async fn kill_consumer(&mut self, index: usize) -> String {
        let consumer = self.consumers.remove(index);
        let id = consumer.id.clone();
        consumer.kill().await;
        id
    }

    /// Kills the producer with SIGKILL (or aborts its task); panics when none runs.
    pub async fn kill_producer(&mut self) {
        let producer = self
            .producer
            .take()
            .expect("a producer runs; start one with start_producer");
        producer.kill().await;
    }

    /// Returns the log file of every child process started so far, killed ones
    /// included, in name order.
    pub fn log_files(&self) -> Vec<PathBuf> {
        let entries = std::fs::read_dir(self.folder())
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", self.folder().display()));
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
            .collect();
        files.sort();
        files
    }
}
