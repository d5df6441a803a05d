//! `ottboxd`: parses arguments and runs the daemon (see `ottboxd::daemon`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = ottboxd::daemon::Args::parse();
    ottboxd::daemon::init_logging();
    ottboxd::daemon::run(args).await
}
