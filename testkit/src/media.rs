//! The media the tests play: tiny titles made with real ffmpeg and Shaka
//! Packager once per test binary ([`MEDIA`], [`LONG_MEDIA`]), the ad
//! creative, and the ads configuration and beacons around them.

use std::path::Path;
use std::process::Command;

use ottbox_headend::config::Config;

use crate::headend::Headend;

/// The titles with real media: (asset, catalog title, scheme, palette
/// index). Six seconds, the tiny three-rung ladder, 2 s segments, audio.
pub const MEDIA: [(&str, &str, ottbox_headend::config::Scheme, usize); 2] = [
    ("sample-0", "ml-6", ottbox_headend::config::Scheme::Cenc, 0),
    ("sample-1", "ml-1", ottbox_headend::config::Scheme::Cbcs, 1),
];

/// A longer title with real media, as in [`MEDIA`]: thirty seconds, so
/// that a buffer of many seconds and a long outage, or a few ABR moves,
/// fit inside it.
pub const LONG_MEDIA: (&str, &str, ottbox_headend::config::Scheme, usize) =
    ("sample-2", "ml-2", ottbox_headend::config::Scheme::Cenc, 2);
/// [`LONG_MEDIA`]'s running time, seconds.
pub const LONG_MEDIA_S: u32 = 30;
/// [`LONG_MEDIA`]'s audio, English and a French dub: (ISO 639-2, tone Hz).
/// Manifests call them `en` and `fr`.
const LONG_MEDIA_AUDIO: [(&str, u32); 2] = [("eng", 440), ("fra", 660)];
/// [`LONG_MEDIA`]'s WebVTT subtitles, each cue
/// [`ottbox_headend::sample::cue_text`].
pub const LONG_MEDIA_SUBTITLES: [&str; 2] = ["en", "fr"];

/// The clear ad creative in every [`media_template`].
pub const AD_ASSET: &str = "test-ad";

/// Turns ads on for every playback session: a pre-roll, a mid-roll half
/// way and a post-roll, each the [`AD_ASSET`] creative.
pub fn ads(config: &mut Config) {
    config.ads = ottbox_headend::config::AdsConfig {
        enabled: true,
        creatives: vec![AD_ASSET.into()],
        midrolls: vec![0.5],
        midroll_pod: 1,
        tracking_url: String::new(),
    };
}

/// The ad beacons the headend recorded, as `(break, event)` in arrival
/// order.
pub fn beacons(headend: &Headend) -> Vec<(String, String)> {
    let conn = headend.state.db.conn().expect("conn");
    let mut stmt = conn
        .prepare("SELECT break_id, event FROM ad_events ORDER BY seq")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("beacons")
}

/// A fresh copy of [`media_template`].
pub(crate) fn media_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", media_template().display()))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success(), "copying the media template");
    dir
}

/// A headend data directory (database, master key, origin) holding the
/// [`MEDIA`] titles, made with real ffmpeg and Shaka Packager once per
/// test binary; each headend starts from a copy.
fn media_template() -> &'static Path {
    use ottbox_headend::ingest::{self, IngestOptions};
    static TEMPLATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = Config {
                data_dir: dir.path().to_owned(),
                ..Config::default()
            };
            let db = ottbox_headend::db::Db::open(&config.db_path()).expect("db");
            let master =
                ottbox_headend::keystore::MasterKey::load_or_create(&config.master_key_path())
                    .expect("master key");
            let titles = MEDIA.map(|m| (m, 6)).into_iter();
            for ((asset, _, scheme, colour), seconds) in titles.chain([(LONG_MEDIA, LONG_MEDIA_S)])
            {
                let mezz = dir.path().join(format!("{asset}.mp4"));
                let rgb = ottbox_headend::sample::palette(colour);
                let audio: &[(&str, u32)] = if asset == LONG_MEDIA.0 {
                    &LONG_MEDIA_AUDIO
                } else {
                    &[("eng", 440)]
                };
                ottbox_headend::sample::generate_dubbed(&config, rgb, audio, seconds, &mezz)
                    .expect("mezzanine");
                let mut subtitles = Vec::new();
                if asset == LONG_MEDIA.0 {
                    for language in LONG_MEDIA_SUBTITLES {
                        let file = dir.path().join(format!("{language}.vtt"));
                        ottbox_headend::sample::write_subtitles(language, seconds, &file)
                            .expect("subtitles");
                        subtitles.push((language.to_owned(), file));
                    }
                }
                let opts = IngestOptions {
                    scheme,
                    subtitles,
                    ladder: ottbox_headend::config::tiny_ladder(),
                    preset: "ultrafast".into(),
                    regions: vec!["eu".into()],
                    ..IngestOptions::from_config(&config, asset)
                };
                ingest::ingest(&config, &db, &master, &mezz, &opts).expect("ingest");
                std::fs::remove_file(&mezz).expect("mezzanine removed");
            }
            // The ad creative of [`ads`]: a clear two-second clip.
            let clip = dir.path().join("ad.mp4");
            let rgb = ottbox_headend::sample::AD_PALETTE[0];
            ottbox_headend::sample::generate_clip(&config, rgb, 880, 2, &clip).expect("ad clip");
            let opts = IngestOptions {
                scheme: ottbox_headend::config::Scheme::Clear,
                ladder: ottbox_headend::config::tiny_ladder(),
                preset: "ultrafast".into(),
                ..IngestOptions::from_config(&config, AD_ASSET)
            };
            ingest::ingest(&config, &db, &master, &clip, &opts).expect("ad ingest");
            std::fs::remove_file(&clip).expect("clip removed");
            dir
        })
        .path()
}
