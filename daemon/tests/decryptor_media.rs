//! `ottboxdecrypt` on real content: the headend ingests tiny synthetic
//! titles with real ffmpeg + Shaka Packager in `cenc` and `cbcs`, and the
//! lowest video rendition's init + first media segment plays through
//!
//! ```text
//! filesrc ! qtdemux ! ottboxdecrypt ! h264parse ! avdec_h264 ! videoconvert ! appsink
//! ```
//!
//! The decoded frame's corner has the title's palette colour only if
//! decryption worked. Without the key, the bus says which KID is missing;
//! with a wrong key, no picture of that colour comes out and nothing
//! crashes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use ottbox_headend::config::{Config, Scheme, tiny_ladder};
use ottbox_headend::db::{Db, assets};
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::keystore::MasterKey;
use ottbox_headend::sample;
use ottboxd::media::decryptor::{self, COMMON_SYSTEM_ID, Decryptor, ERROR_DETAILS, PSSH_MESSAGE};
use ottboxd::media::keyring::{KeyRing, Kid};

/// (asset id, scheme, palette index).
const TITLES: [(&str, Scheme, usize); 2] =
    [("dec-cenc", Scheme::Cenc, 0), ("dec-cbcs", Scheme::Cbcs, 1)];

struct Title {
    /// init.mp4 followed by the first media segment, in one file.
    media: PathBuf,
    /// The title's content keys.
    keys: Vec<(Kid, [u8; 16])>,
    colour: [u8; 3],
}

struct Fixture {
    _dir: tempfile::TempDir,
    titles: Vec<Title>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let db = Db::open(&config.db_path()).expect("db");
        let master = MasterKey::load_or_create(&config.master_key_path()).expect("master key");
        let titles = TITLES
            .iter()
            .map(|&(id, scheme, colour)| {
                let mezz = dir.path().join(format!("{id}.mp4"));
                sample::generate(&config, colour, 2, &mezz).expect("mezzanine");
                let opts = IngestOptions {
                    scheme,
                    ladder: tiny_ladder().into_iter().take(1).collect(),
                    preset: "ultrafast".into(),
                    ..IngestOptions::from_config(&config, id)
                };
                ingest::ingest(&config, &db, &master, &mezz, &opts).expect("ingest");
                let rendition = config.origin_dir().join(id).join("video_144p");
                let mut bytes = std::fs::read(rendition.join("init.mp4")).expect("init segment");
                bytes.extend(std::fs::read(rendition.join("1.m4s")).expect("media segment"));
                let media = dir.path().join(format!("{id}-144p.mp4"));
                std::fs::write(&media, bytes).expect("write");
                let conn = db.conn().expect("conn");
                let keys = assets::keys(&conn, id)
                    .expect("keys")
                    .into_iter()
                    .map(|k| {
                        let key = master.open(&k.kid, &k.sealed).expect("unseal");
                        (Kid(k.kid), key.key)
                    })
                    .collect();
                Title {
                    media,
                    keys,
                    colour: sample::palette(colour),
                }
            })
            .collect();
        Fixture { _dir: dir, titles }
    })
}

/// How a playback attempt ended.
#[derive(Debug)]
enum Outcome {
    /// First decoded frame: its (4, 4) pixel.
    Frame([u8; 3]),
    /// An error on the bus: message, details structure (if any).
    Error(String, Option<gst::Structure>),
    /// The stream ended without a frame.
    NoFrame,
}

/// Plays `media` until the first frame, an error or the end; also returns
/// the system ids of the PSSH messages seen on the bus.
fn play(media: &Path, ring: &KeyRing) -> (Outcome, Vec<String>) {
    gst::init().expect("gstreamer initialises");
    decryptor::register().expect("element registers");
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! qtdemux name=demux \
         demux.video_0 ! ottboxdecrypt name=decrypt ! h264parse ! avdec_h264 ! videoconvert \
         ! video/x-raw,format=RGB ! appsink name=sink sync=false max-buffers=1",
        media.display()
    ))
    .expect("pipeline parses")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    pipeline
        .by_name("decrypt")
        .expect("decryptor in the pipeline")
        .downcast::<Decryptor>()
        .expect("our element")
        .set_keyring(ring.clone());
    let sink = pipeline
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    let bus = pipeline.bus().expect("bus");
    pipeline.set_state(gst::State::Playing).expect("plays");

    // A guard against a stalled pipeline, not a performance check.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pssh = Vec::new();
    let outcome = loop {
        assert!(
            Instant::now() < deadline,
            "pipeline stalled on {}",
            media.display()
        );
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
            break corner(&sample);
        }
        if let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Error(e) => {
                    break Outcome::Error(e.error().to_string(), e.details().map(|d| d.to_owned()));
                }
                gst::MessageView::Eos(_) => {
                    // EOS may race the last sample.
                    break sink
                        .try_pull_sample(gst::ClockTime::ZERO)
                        .map_or(Outcome::NoFrame, |s| corner(&s));
                }
                gst::MessageView::Element(e) => {
                    if let Some(s) = e.structure().filter(|s| s.name() == PSSH_MESSAGE) {
                        pssh.push(s.get::<String>("system-id").expect("system-id"));
                    }
                }
                _ => {}
            }
            continue;
        }
        if sink.is_eos() {
            break Outcome::NoFrame;
        }
    };
    // Messages posted before the frame won the race (read before NULL,
    // which flushes the bus).
    while let Some(msg) = bus.pop() {
        if let Some(s) = msg.structure().filter(|s| s.name() == PSSH_MESSAGE) {
            pssh.push(s.get::<String>("system-id").expect("system-id"));
        }
    }
    pipeline.set_state(gst::State::Null).expect("stops");
    (outcome, pssh)
}

fn corner(sample: &gst::Sample) -> Outcome {
    let caps = sample.caps().expect("caps");
    let width = caps
        .structure(0)
        .and_then(|s| s.get::<i32>("width").ok())
        .expect("width") as usize;
    let stride = (width * 3).div_ceil(4) * 4;
    let buf = sample.buffer().expect("buffer");
    let map = buf.map_readable().expect("readable");
    let i = 4 * stride + 4 * 3;
    Outcome::Frame([map[i], map[i + 1], map[i + 2]])
}

fn close_to(c: [u8; 3], want: [u8; 3]) -> bool {
    (0..3).all(|i| (c[i] as i32 - want[i] as i32).abs() <= 24)
}

fn ring_of(keys: &[(Kid, [u8; 16])]) -> KeyRing {
    let ring = KeyRing::new();
    for (kid, key) in keys {
        ring.insert(*kid, *key);
    }
    ring
}

#[test]
fn cenc_and_cbcs_segments_decode_to_the_title_colour() {
    for (title, (id, ..)) in fixture().titles.iter().zip(TITLES) {
        let (outcome, pssh) = play(&title.media, &ring_of(&title.keys));
        match outcome {
            Outcome::Frame(c) => assert!(
                close_to(c, title.colour),
                "{id}: corner {c:?}, want {:?}",
                title.colour
            ),
            other => panic!("{id}: no frame: {other:?}"),
        }
        assert!(
            pssh.iter().any(|s| s == COMMON_SYSTEM_ID),
            "{id}: the init segment's Common PSSH reached the bus: {pssh:?}"
        );
    }
}

#[test]
fn a_missing_key_names_the_kid_on_the_bus() {
    for (title, (id, ..)) in fixture().titles.iter().zip(TITLES) {
        // The key ring has every key but this title's.
        let ring = ring_of(&[(Kid([0x99; 16]), [0; 16])]);
        match play(&title.media, &ring).0 {
            Outcome::Error(message, Some(details)) => {
                assert_eq!(details.name(), ERROR_DETAILS, "{id}");
                assert_eq!(details.get::<&str>("code").expect("code"), "decrypt.no_key");
                let kid = details.get::<String>("kid").expect("kid");
                assert!(
                    title.keys.iter().any(|(k, _)| k.to_string() == kid),
                    "{id}: {kid} is one of the title's KIDs"
                );
                assert_eq!(message, format!("no key for KID {kid}"), "{id}");
            }
            other => panic!("{id}: expected a no-key error, got {other:?}"),
        }
    }
}

#[test]
fn a_wrong_key_gives_no_picture_and_no_crash() {
    for (title, (id, ..)) in fixture().titles.iter().zip(TITLES) {
        let wrong: Vec<_> = title
            .keys
            .iter()
            .map(|(kid, _)| (*kid, [7u8; 16]))
            .collect();
        // Decryption "succeeds" (CENC has no integrity check), the decoder
        // gets garbage: it may error out, or decode noise; it must not show
        // the title, and the pipeline must end.
        let (outcome, _) = play(&title.media, &ring_of(&wrong));
        eprintln!("{id} with a wrong key: {outcome:?}");
        if let Outcome::Frame(c) = outcome {
            assert!(!close_to(c, title.colour), "{id}: {c:?} with a wrong key");
        }
    }
}
