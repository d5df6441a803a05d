//! The UI: the UI's `render` bench binary (release, run by cargo as a child
//! process, since xtask does not link the UI) drives `App` through a
//! browsing tour (rows, details, a search typed on the on-screen keyboard)
//! headless, and runs the real `ottbox-ui` binary through the same tour.
//!
//! Targets (issue 8): key press → frame ready p99 ≤ 16 ms at 1280×720
//! (headless, x86), RSS ≤ 24 MB (MiB, as the kernel counts; the binary's
//! peak over the tour, which includes its PNG encoding of every frame).
//! The reference for key figures is a full repaint of the home screen in
//! the same run: what each key would cost without damage tracking.

use super::table::{Figures, Row, print};
use crate::util::{cargo, output};

pub fn run() -> anyhow::Result<()> {
    println!(
        "bench: ottbox-ui (release, headless; 40 tours of 46 keys per screen size, \
         then the binary through one tour)"
    );
    let text = output(cargo().args(["bench", "--quiet", "-p", "ottbox-ui", "--bench", "render"]))?;
    let figures = Figures::parse("ui", text)?;
    let get = |key: &str| figures.get(key);
    let mut rows = Vec::new();
    for (tag, target) in [("1280x720", Some(16.0)), ("1920x1080", None)] {
        let full = get(&format!("full_repaint_ms_{tag}"))?;
        let reference = format!("full repaint {full:.2} ms");
        let p99 = get(&format!("key_p99_ms_{tag}"))?;
        rows.push(Row {
            figure: if target.is_some() {
                "key → frame p99, 1280×720"
            } else {
                "key → frame p99, 1920×1080"
            },
            value: format!("{p99:.2} ms"),
            target: target.map(|t| (p99 <= t, "≤ 16 ms")),
            reference: reference.clone(),
            ratio: p99 / full,
        });
        let p50 = get(&format!("key_p50_ms_{tag}"))?;
        rows.push(Row {
            figure: if target.is_some() {
                "key → frame p50, 1280×720"
            } else {
                "key → frame p50, 1920×1080"
            },
            value: format!("{p50:.2} ms"),
            target: None,
            reference,
            ratio: p50 / full,
        });
    }
    let full_write = get("fbdev_full_ms")?;
    rows.push(Row {
        figure: "fbdev write, focus move",
        value: format!("{:.3} ms", get("fbdev_move_ms")?),
        target: None,
        reference: format!("whole 1080p frame {full_write:.3} ms"),
        ratio: get("fbdev_move_ms")? / full_write,
    });
    let rss_mib = get("binary_peak_rss_kib")? / 1024.0;
    rows.push(Row {
        figure: "ottbox-ui peak RSS, 720p",
        value: format!("{rss_mib:.1} MiB"),
        target: Some((rss_mib <= 24.0, "≤ 24 MiB")),
        reference: "-".to_owned(),
        ratio: f64::NAN,
    });
    print("ottbox-ui", &rows);
    println!(
        "worst key: {:.2} ms at 1280×720, {:.2} ms at 1920×1080 ({} and {} keys); \
         a focus move writes {} bytes of a {}-byte frame",
        get("key_max_ms_1280x720")?,
        get("key_max_ms_1920x1080")?,
        get("keys_1280x720")?,
        get("keys_1920x1080")?,
        get("fbdev_move_bytes")?,
        get("fbdev_full_bytes")?
    );
    Ok(())
}
