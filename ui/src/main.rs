//! `ottbox-ui`: parses the command line and runs the UI (see `ottbox_ui::cli`).

use clap::Parser;

fn main() -> anyhow::Result<()> {
    ottbox_ui::cli::run(ottbox_ui::cli::Args::parse())?;
    Ok(())
}
