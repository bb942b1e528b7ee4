//! `producer`: polls DingTalk for approval instances and publishes the approved ones to
//! RabbitMQ. Everything but the exit status lives in the `dingk3_producer` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(dingk3_producer::cli::main())
}
