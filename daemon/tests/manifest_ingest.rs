//! The manifest model against real packager output: a tiny clip ingested
//! by the headend (ffmpeg + Shaka Packager; `cenc`, `cbcs`, and AES-128
//! MPEG-TS) reads into renditions, segments and keys that match what the
//! headend recorded, and mutated copies of those manifests never panic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ottbox_formats::manifest::{
    FetchKind, Limits, Presentation, Scheme, Segment, Source, TrackKind,
};
use ottbox_headend::config::{Config, Scheme as HeadendScheme, tiny_ladder};
use ottbox_headend::db::{Db, assets};
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::keystore::MasterKey;
use ottbox_headend::sample;
use url::Url;

const TITLES: [(&str, HeadendScheme); 3] = [
    ("clip-cenc", HeadendScheme::Cenc),
    ("clip-cbcs", HeadendScheme::Cbcs),
    ("clip-aes", HeadendScheme::Aes128),
];
const PUBLIC_URL: &str = "http://headend.invalid";
const SECONDS: u32 = 4;

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            public_url: PUBLIC_URL.into(),
            ..Config::default()
        };
        let db = Db::open(&config.db_path()).expect("db");
        let master = MasterKey::load_or_create(&config.master_key_path()).expect("master key");
        for (i, (id, scheme)) in TITLES.into_iter().enumerate() {
            let mezz = dir.path().join(format!("{id}.mp4"));
            sample::generate(&config, i, SECONDS, &mezz).expect("mezzanine");
            let opts = IngestOptions {
                scheme,
                ladder: tiny_ladder(),
                split_sd_hd_keys: scheme == HeadendScheme::Cenc,
                ..IngestOptions::from_config(&config, id)
            };
            ingest::ingest(&config, &db, &master, &mezz, &opts).expect("ingest");
        }
        Fixture { _dir: dir, config }
    })
}

fn title_dir(id: &str) -> PathBuf {
    fixture().config.origin_dir().join(id)
}

fn title_url(id: &str, file: &str) -> Url {
    Url::parse(&format!("{PUBLIC_URL}/origin/{id}/{file}")).expect("url")
}

/// The file on the origin that a URL of the title names.
fn file_of(id: &str, url: &Url) -> PathBuf {
    let prefix = format!("/origin/{id}/");
    let rel = url
        .path()
        .strip_prefix(&prefix)
        .expect("URL inside the title");
    title_dir(id).join(rel)
}

/// Parses a manifest of the title and supplies every playlist or index
/// it asks for from the origin directory, as the daemon would over HTTP.
fn load(id: &str, file: &str) -> Presentation {
    let bytes = std::fs::read(title_dir(id).join(file)).expect("manifest on the origin");
    let mut p = Presentation::parse(&title_url(id, file), &bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("{id}/{file}: {e}"));
    for fetch in p.pending() {
        assert_eq!(
            fetch.kind,
            FetchKind::MediaPlaylist,
            "Shaka writes no SegmentBase here"
        );
        let body = std::fs::read(file_of(id, &fetch.url)).expect("media playlist on the origin");
        p.supply(&fetch, &body)
            .unwrap_or_else(|e| panic!("{}: {e}", fetch.url));
    }
    assert!(p.pending().is_empty());
    p
}

struct Stored {
    duration: f64,
    kids: BTreeSet<[u8; 16]>,
    sizes: BTreeSet<(u32, u32)>,
}

fn stored(id: &str) -> Stored {
    let db = Db::open(&fixture().config.db_path()).expect("db");
    let conn = db.conn().expect("conn");
    let asset = assets::get(&conn, id)
        .expect("query")
        .expect("asset recorded");
    Stored {
        duration: asset.duration_s,
        kids: assets::keys(&conn, id)
            .expect("keys")
            .into_iter()
            .map(|k| k.kid)
            .collect(),
        sizes: assets::renditions(&conn, id)
            .expect("renditions")
            .into_iter()
            .filter_map(|r| Some((r.width?, r.height?)))
            .collect(),
    }
}

/// Segments are contiguous, exist on the origin with their init segment,
/// and add up to the title's duration.
fn check_segments(id: &str, what: &str, segs: &[Segment], duration: f64, fmp4: bool) {
    assert!(!segs.is_empty(), "{id} {what}: segments");
    let sum: f64 = segs.iter().map(|s| s.duration).sum();
    assert!(
        (sum - duration).abs() < 0.15,
        "{id} {what}: {sum} s of segments for a {duration} s title"
    );
    for pair in segs.windows(2) {
        assert!(
            (pair[0].start + pair[0].duration - pair[1].start).abs() < 1e-3,
            "{id} {what}: contiguous"
        );
        assert_eq!(
            pair[0].number + 1,
            pair[1].number,
            "{id} {what}: numbered in order"
        );
    }
    for s in segs {
        assert!(
            file_of(id, &s.url).is_file(),
            "{id} {what}: {} on the origin",
            s.url
        );
        match (&s.init, fmp4) {
            (Some(init), true) => assert!(
                file_of(id, &init.url).is_file(),
                "{id} {what}: init {}",
                init.url
            ),
            (None, false) => {}
            (init, _) => panic!("{id} {what}: init segment {init:?} for fmp4={fmp4}"),
        }
    }
}

fn kids_of(p: &Presentation) -> BTreeSet<[u8; 16]> {
    p.renditions()
        .flat_map(|r| &r.protection)
        .flat_map(|k| k.kids.iter().copied())
        .collect()
}

#[test]
fn hls_of_real_ingests_matches_what_the_headend_stored() {
    for (id, scheme) in TITLES {
        let want = stored(id);
        let p = load(id, "master.m3u8");
        assert_eq!(p.source, Source::Hls);
        assert!(!p.live, "{id}: VOD");
        let duration = p.duration.expect("duration from the segments");
        assert!(
            (duration - want.duration).abs() < 0.15,
            "{id}: {duration} vs {}",
            want.duration
        );

        let video: Vec<_> = p.periods[0]
            .tracks
            .iter()
            .filter(|t| t.kind == TrackKind::Video)
            .flat_map(|t| &t.renditions)
            .collect();
        let sizes: BTreeSet<_> = video
            .iter()
            .map(|r| (r.width.expect("w"), r.height.expect("h")))
            .collect();
        assert_eq!(sizes, want.sizes, "{id}: the ladder");
        assert!(video.iter().all(|r| r.bandwidth > 0 && r.codecs.as_deref().is_some_and(|c| c.contains("avc1"))));

        let fmp4 = scheme != HeadendScheme::Aes128;
        for r in &video {
            check_segments(
                id,
                &r.id,
                r.segments.ready().expect("listed"),
                want.duration,
                fmp4,
            );
        }
        if fmp4 {
            let audio = p.periods[0]
                .tracks
                .iter()
                .find(|t| t.kind == TrackKind::Audio)
                .expect("an audio alternative");
            assert_eq!(
                (audio.language.as_deref(), audio.name.as_deref()),
                (Some("en"), Some("English"))
            );
            let a = audio.renditions[0].segments.ready().expect("audio listed");
            check_segments(id, "audio", a, want.duration, true);
        }

        let protections: Vec<_> = p.renditions().flat_map(|r| &r.protection).collect();
        assert!(!protections.is_empty(), "{id}: encrypted");
        let expected_scheme = match scheme {
            HeadendScheme::Cenc => Scheme::Cenc,
            HeadendScheme::Cbcs => Scheme::Cbcs,
            _ => Scheme::Aes128,
        };
        assert!(
            protections.iter().all(|k| k.scheme == expected_scheme),
            "{id}: {protections:?}"
        );
        if scheme == HeadendScheme::Aes128 {
            for k in &protections {
                let uri = k.key_uri.as_ref().expect("key URI");
                assert!(
                    uri.as_str()
                        .starts_with(&format!("{PUBLIC_URL}/api/v1/license/hls/")),
                    "{uri}"
                );
                assert!(k.iv.is_some(), "ffmpeg writes an explicit IV");
            }
        } else {
            assert_eq!(
                kids_of(&p),
                want.kids,
                "{id}: the key ids the license server knows"
            );
        }
    }
}

#[test]
fn dash_of_real_ingests_matches_what_the_headend_stored() {
    for (id, scheme) in &TITLES[..2] {
        let want = stored(id);
        let p = load(id, "manifest.mpd");
        assert_eq!(p.source, Source::Dash);
        assert_eq!(p.periods.len(), 1);
        let duration = p.duration.expect("mediaPresentationDuration");
        assert!(
            (duration - want.duration).abs() < 0.15,
            "{id}: {duration} vs {}",
            want.duration
        );
        let tracks = &p.periods[0].tracks;
        let sizes: BTreeSet<_> = tracks
            .iter()
            .filter(|t| t.kind == TrackKind::Video)
            .flat_map(|t| &t.renditions)
            .map(|r| (r.width.expect("w"), r.height.expect("h")))
            .collect();
        assert_eq!(sizes, want.sizes, "{id}: the ladder");
        let audio = tracks
            .iter()
            .find(|t| t.kind == TrackKind::Audio)
            .expect("audio");
        assert_eq!(audio.language.as_deref(), Some("en"));
        for t in tracks {
            for r in &t.renditions {
                check_segments(
                    id,
                    &r.id,
                    r.segments.ready().expect("listed"),
                    want.duration,
                    true,
                );
                let k = r.protection.first().expect("ContentProtection");
                let expected = if *scheme == HeadendScheme::Cbcs {
                    Scheme::Cbcs
                } else {
                    Scheme::Cenc
                };
                assert_eq!(k.scheme, expected, "{id} {}", r.id);
                assert_eq!(k.kids.len(), 1, "{id} {}: one default_KID", r.id);
                assert!(!k.pssh.is_empty(), "{id} {}: the CommonSystem pssh", r.id);
                assert!(
                    k.pssh.iter().all(|b| b.kids.contains(&k.kids[0])),
                    "{id}: pssh names the KID"
                );
            }
        }
        assert_eq!(
            kids_of(&p),
            want.kids,
            "{id}: the key ids the license server knows"
        );
    }
}

#[test]
fn hls_and_dash_of_one_ingest_describe_the_same_ladder() {
    for (id, _) in &TITLES[..2] {
        let describe = |p: &Presentation| {
            let mut ladder: Vec<_> = p.periods[0]
                .tracks
                .iter()
                .filter(|t| t.kind == TrackKind::Video)
                .flat_map(|t| &t.renditions)
                .map(|r| {
                    let video_codec = r
                        .codecs
                        .as_deref()
                        .and_then(|c| c.split(',').next())
                        .map(str::to_owned);
                    let fps = r.frame_rate.map(|f| (f * 1000.0).round() as u64);
                    let segments = r.segments.ready().map(|s| s.len());
                    (r.width, r.height, video_codec, fps, segments)
                })
                .collect();
            ladder.sort();
            (ladder, kids_of(p))
        };
        let hls = describe(&load(id, "master.m3u8"));
        let dash = describe(&load(id, "manifest.mpd"));
        assert_eq!(hls, dash, "{id}");
        assert!(
            hls.0.iter().all(|r| r.3.is_some()),
            "{id}: frame rates known"
        );
    }
}

/// Byte flips and truncations of real manifests: errors are fine, panics
/// are not (the daemon must survive a corrupt CDN response).
#[test]
fn mutated_real_manifests_never_panic() {
    let limits = Limits::default();
    let mut docs: Vec<(String, Vec<u8>)> = Vec::new();
    for (id, _) in TITLES {
        let dir = title_dir(id);
        for entry in std::fs::read_dir(&dir).expect("title dir") {
            let path = entry.expect("entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("m3u8" | "mpd")
            ) {
                docs.push((
                    format!("{id}/{}", name(&path)),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    assert!(
        docs.len() >= 10,
        "masters, media playlists and MPDs: {}",
        docs.len()
    );
    let base = Url::parse("http://headend.invalid/origin/t/").expect("url");
    let mut parsed = 0usize;
    let mut refused = 0usize;
    for (name, doc) in &docs {
        let u = base.join(name).expect("url");
        for m in mutations(doc) {
            match Presentation::parse(&u, &m, &limits) {
                Ok(mut p) => {
                    parsed += 1;
                    // Feed the mutated document as a media playlist too.
                    for f in p.pending() {
                        let _ = p.supply(&f, &m);
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.code().is_empty() && !e.to_string().is_empty());
                }
            }
        }
    }
    println!("mutations: {parsed} parsed, {refused} refused");
    assert!(
        parsed > 0 && refused > 0,
        "{parsed} parsed, {refused} refused"
    );
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// The same deterministic mutations as the unit tests (xorshift, fixed seed).
fn mutations(doc: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let step = (doc.len() / 100).max(1);
    let cuts = (0..doc.len()).step_by(step).map(|n| doc[..n].to_vec());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let flips = (0..300).map(move |_| {
        let mut d = doc.to_vec();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % d.len().max(1) as u64) as usize;
            let specials = b"\"<>=,$:-@%/\n0919";
            if let Some(b) = d.get_mut(at) {
                *b = if state & 1 == 0 {
                    *b ^ (1 << (state >> 8 & 7))
                } else {
                    specials[(state >> 16) as usize % specials.len()]
                };
            }
        }
        d
    });
    cuts.chain(flips)
}
