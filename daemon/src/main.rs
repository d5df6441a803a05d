//! `ottboxd` entry point: parses arguments and runs the daemon.

fn main() -> anyhow::Result<()> {
    println!(
        "ottboxd {}: the daemon core is not built yet",
        ottboxd::VERSION
    );
    Ok(())
}
