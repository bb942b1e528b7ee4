//! `delete-topology --config FILE [--lang zh|en]`: deletes every queue and exchange of
//! the broker prefix that the configuration file's `[broker]` section names, messages
//! included. `scripts/demo.sh` runs it when it stops, so a demo leaves nothing behind
//! on a shared broker. Without a management plugin, RabbitMQ's own tools cannot delete
//! exchanges.
//!
//! Exit statuses: 0 deleted, 1 the broker could not be reached or refused, 2 invalid
//! arguments or configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use dingk3::broker::{RawBrokerConfig, Recovery, Topology, connect};
use dingk3::config::ConfigSource;
use dingk3::i18n::{Lang, Localize, Text};
use dingk3::text;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lang = Lang::detect(Lang::from_args(&args).as_deref());
    let Some(path) = config_path(&args) else {
        let usage = text!(
            en: "usage: delete-topology --config FILE [--lang zh|en]; deletes the queues and exchanges of the file's broker.prefix",
            zh: "用法：delete-topology --config 文件 [--lang zh|en]；删除该文件中 broker.prefix 对应的全部队列和交换器",
        );
        eprintln!("{}", usage.get(lang));
        return ExitCode::from(2);
    };
    match delete(&path).await {
        Ok(message) => {
            println!("{}", message.get(lang));
            ExitCode::SUCCESS
        }
        Err((message, status)) => {
            eprintln!("{}", message.get(lang));
            ExitCode::from(status)
        }
    }
}

/// Returns the value of `--config`.
fn config_path(args: &[String]) -> Option<PathBuf> {
    let position = args.iter().position(|arg| arg == "--config")?;
    args.get(position + 1).map(PathBuf::from)
}

/// Deletes the topology; on failure returns the message and the exit status.
async fn delete(path: &std::path::Path) -> Result<Text, (Text, u8)> {
    let source = ConfigSource::load(Some(path)).map_err(|error| (error.localize(), 2))?;
    let raw: RawBrokerConfig = source
        .section("broker")
        .map_err(|error| (error.localize(), 2))?;
    let settings = raw
        .validate()
        .map_err(|error| (error.within("broker").localize(), 2))?;
    let prefix = settings.prefix.clone();
    let name = format!("{prefix}-delete-topology");
    let connection = connect(&settings, &name, Recovery::Off)
        .await
        .map_err(|error| (error.localize(), 1))?;
    let deleted = async {
        let channel = connection.create_channel().await?;
        Topology::new(&settings).delete(&channel).await
    }
    .await;
    let _ = connection.close(200, "topology deleted".into()).await;
    match deleted {
        Ok(()) => Ok(text!(
            en: "deleted the queues and exchanges of broker prefix {prefix}",
            zh: "已删除 broker 前缀 {prefix} 的全部队列和交换器",
        )),
        Err(error) => Err((
            text!(
                en: "cannot delete the queues and exchanges of broker prefix {prefix}: {error}",
                zh: "无法删除 broker 前缀 {prefix} 的队列和交换器：{error}",
            ),
            1,
        )),
    }
}
