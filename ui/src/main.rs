//! `ottbox-ui` entry point.

fn main() -> anyhow::Result<()> {
    println!("ottbox-ui {}: the UI is not built yet", ottbox_ui::VERSION);
    Ok(())
}
