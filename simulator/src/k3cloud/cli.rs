//! Placeholder command line; replaced by the simulator's own change.

use dingk3::cli::ZhHelp;
use dingk3::i18n::{Lang, Text};

/// Options of this simulator.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Chinese help texts for this subcommand's arguments.
pub const ZH_HELP: ZhHelp = &[];

/// Runs the simulator until interrupted.
pub async fn run(_args: Args, _lang: Lang) -> Result<(), Text> {
    Err(Text::new("not implemented yet", "尚未实现"))
}
