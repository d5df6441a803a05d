//! Ingest output is standard and really encrypted: manifests parse with
//! independent crates, ffprobe reads the renditions, and a segment decodes
//! to its title's colour with the key the license server hands out, and not
//! without it. Bad inputs fail cleanly and publish nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::TestServer;
use ottbox_headend::config::{Config, Scheme, tiny_ladder};
use ottbox_headend::db::{Db, assets};
use ottbox_headend::ingest::{self, IngestError, IngestOptions};
use ottbox_headend::keystore::MasterKey;
use ottbox_headend::sample;
use ottbox_headend::tools::{Tool, locate};
use ottbox_protocol::license::{LicenseRequest, LicenseResponse};

/// Titles ingested once for all tests: (id, scheme, palette index). The
/// cbcs one is dubbed: English and French audio ([`DUBBED`]).
const DUBBED: &str = "clip-cbcs";
/// Its audio languages, as the input tags them and as manifests say them.
const DUBS: [(&str, &str); 2] = [("eng", "en"), ("fra", "fr")];
const TITLES: [(&str, Scheme, usize); 3] = [
    ("clip-cenc", Scheme::Cenc, 0),
    ("clip-cbcs", Scheme::Cbcs, 1),
    ("clip-aes", Scheme::Aes128, 2),
];
const PUBLIC_URL: &str = "http://headend.invalid";

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
        for (id, scheme, colour) in TITLES {
            let mezz = dir.path().join(format!("{id}.mp4"));
            if id == DUBBED {
                let rgb = sample::palette(colour);
                let audio = DUBS.map(|(tag, _)| tag);
                let audio = [(audio[0], 440), (audio[1], 660)];
                sample::generate_dubbed(&config, rgb, &audio, 4, &mezz).expect("mezzanine");
            } else {
                sample::generate(&config, colour, 4, &mezz).expect("mezzanine");
            }
            let opts = IngestOptions {
                scheme,
                ladder: tiny_ladder(),
                split_sd_hd_keys: scheme == Scheme::Cenc,
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

fn ffmpeg() -> PathBuf {
    locate(Tool::Ffmpeg, &Default::default()).expect("ffmpeg installed")
}

/// Decodes the first frame of `media` (optionally decrypting with `key`)
/// and returns the colour near its top-left corner, or `None` if ffmpeg
/// cannot decode it.
fn corner_colour(media: &[u8], format: &str, key: Option<[u8; 16]>) -> Option<[u8; 3]> {
    let mut cmd = Command::new(ffmpeg());
    cmd.args(["-hide_banner", "-loglevel", "error"]);
    if let Some(k) = key {
        cmd.args(["-decryption_key", &hex::encode(k)]);
    }
    let mut child = cmd
        .args([
            "-f",
            format,
            "-i",
            "pipe:0",
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = media.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &data);
    });
    let out = child.wait_with_output().expect("ffmpeg ends");
    let _ = writer.join();
    // Pixel (4, 4) of a frame at least 256 pixels wide.
    let i = (4 * 256 + 4) * 3;
    (out.status.success() && out.stdout.len() > i + 3)
        .then(|| [out.stdout[i], out.stdout[i + 1], out.stdout[i + 2]])
}

fn close_to(c: Option<[u8; 3]>, want: [u8; 3]) -> bool {
    c.is_some_and(|c| (0..3).all(|i| (c[i] as i32 - want[i] as i32).abs() <= 24))
}

fn segment(id: &str, rendition: &str, n: u32) -> Vec<u8> {
    let dir = title_dir(id).join(rendition);
    let mut bytes = std::fs::read(dir.join("init.mp4")).expect("init segment");
    bytes.extend(std::fs::read(dir.join(format!("{n}.m4s"))).expect("media segment"));
    bytes
}

/// Every `cenc:default_KID` in an MPD, in document order, as bytes.
fn default_kids(mpd: &str) -> Vec<[u8; 16]> {
    mpd.split("cenc:default_KID=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|uuid| {
            let bytes = hex::decode(uuid.replace('-', "")).expect("hex kid");
            bytes.try_into().expect("16 bytes")
        })
        .collect()
}

async fn server_with_account() -> (TestServer, String) {
    let server = TestServer::start_with(fixture().config.clone(), None).await;
    let token = server.add_account("alice", &["*"]);
    (server, token)
}

async fn license(server: &TestServer, token: &str, kids: &[[u8; 16]]) -> Vec<([u8; 16], [u8; 16])> {
    let resp = reqwest::Client::new()
        .post(server.url("/api/v1/license"))
        .bearer_auth(token)
        .json(&LicenseRequest {
            kids: kids.iter().map(|k| B64.encode(k)).collect(),
            session_type: "temporary".into(),
        })
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let license: LicenseResponse = resp.json().await.expect("JWK set");
    license
        .keys
        .iter()
        .map(|k| {
            let kid = B64.decode(&k.kid).expect("kid").try_into().expect("16");
            let key = B64.decode(&k.k).expect("key").try_into().expect("16");
            (kid, key)
        })
        .collect()
}

#[test]
fn manifests_parse_with_independent_crates() {
    for (id, _, _) in &TITLES[..2] {
        let dir = title_dir(id);
        let mpd_text = std::fs::read_to_string(dir.join("manifest.mpd")).expect("mpd");
        let mpd = dash_mpd_core::parse(&mpd_text).expect("MPD parses");
        assert_eq!(mpd.mpdtype.as_deref(), Some("static"), "{id}: VOD MPD");
        let reps: Vec<(u64, u64)> = mpd.periods[0]
            .adaptations
            .iter()
            .filter(|a| a.contentType.as_deref() == Some("video"))
            .flat_map(|a| a.representations.iter().map(move |r| (a, r)))
            // Shaka puts shared attributes on the AdaptationSet.
            .map(|(a, r)| {
                (
                    r.width.or(a.width).expect("width"),
                    r.height.or(a.height).expect("height"),
                )
            })
            .collect();
        let mut sorted = reps.clone();
        sorted.sort();
        assert_eq!(sorted, vec![(256, 144), (512, 288), (1280, 720)], "{id}");
        assert!(
            !default_kids(&mpd_text).is_empty(),
            "{id}: ContentProtection with default_KID"
        );

        let master = std::fs::read(dir.join("master.m3u8")).expect("master");
        let m3u8_rs::Playlist::MasterPlaylist(master) =
            m3u8_rs::parse_playlist_res(&master).expect("parses")
        else {
            panic!("{id}: master.m3u8 is not a multivariant playlist");
        };
        assert_eq!(master.variants.len(), 3, "{id}");
        let languages = |audio: Vec<Option<String>>| {
            let mut v: Vec<String> = audio.into_iter().map(Option::unwrap_or_default).collect();
            v.sort();
            v
        };
        let hls_audio = master
            .alternatives
            .iter()
            .filter(|a| a.media_type == m3u8_rs::AlternativeMediaType::Audio)
            .map(|a| a.language.clone())
            .collect();
        let dash_audio = mpd.periods[0]
            .adaptations
            .iter()
            .filter(|a| a.contentType.as_deref() == Some("audio"))
            .map(|a| a.lang.clone())
            .collect();
        let want: Vec<String> = if *id == DUBBED {
            DUBS.iter().map(|(_, l)| (*l).to_owned()).collect()
        } else {
            // The plain mezzanine's one stream is tagged English.
            vec!["en".to_owned()]
        };
        assert_eq!(languages(hls_audio), want, "{id}: HLS audio renditions");
        assert_eq!(languages(dash_audio), want, "{id}: DASH audio sets");
        for variant in &master.variants {
            let media = std::fs::read(dir.join(&variant.uri)).expect("media playlist");
            let m3u8_rs::Playlist::MediaPlaylist(media) =
                m3u8_rs::parse_playlist_res(&media).expect("parses")
            else {
                panic!("{id}: {} is not a media playlist", variant.uri);
            };
            assert_eq!(media.segments.len(), 2, "{id}: 4 s in 2 s segments");
            assert!(media.end_list, "{id}: VOD");
            let first = &media.segments[0];
            assert!(first.map.is_some(), "{id}: EXT-X-MAP");
            let key = first.key.as_ref().expect("EXT-X-KEY");
            assert_ne!(key.method, m3u8_rs::KeyMethod::None, "{id}");
        }
    }
}

#[test]
fn ffprobe_reads_every_rendition() {
    let ffprobe = locate(Tool::Ffprobe, &Default::default()).expect("ffprobe");
    for (id, _, _) in &TITLES[..2] {
        for rung in tiny_ladder() {
            let file = tempfile::NamedTempFile::new().expect("temp");
            std::fs::write(file.path(), segment(id, &format!("video_{}", rung.name), 1))
                .expect("write");
            let out = Command::new(&ffprobe)
                .args([
                    "-v",
                    "error",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "stream=width,height,codec_name",
                ])
                .args(["-of", "csv=p=0"])
                .arg(file.path())
                .output()
                .expect("ffprobe runs");
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                text.trim().trim_end_matches(','),
                format!("h264,{},{}", rung.width, rung.height),
                "{id} {}",
                rung.name
            );
        }
    }
}

#[tokio::test]
async fn licensed_keys_decrypt_cenc_and_cbcs_and_nothing_else_does() {
    let (server, token) = server_with_account().await;
    for (id, _, colour) in &TITLES[..2] {
        let want = sample::palette(*colour);
        let mpd = std::fs::read_to_string(title_dir(id).join("manifest.mpd")).expect("mpd");
        let mut kids = default_kids(&mpd);
        kids.dedup();
        let keys = license(&server, &token, &kids).await;
        assert_eq!(keys.len(), kids.len());
        // Segment 2: proof there is no clear lead.
        let media = segment(id, "video_144p", 2);
        let decoded = keys
            .iter()
            .map(|(_, k)| corner_colour(&media, "mp4", Some(*k)));
        assert!(
            decoded.clone().any(|c| close_to(c, want)),
            "{id}: a licensed key decodes the title's colour"
        );
        assert!(
            !close_to(corner_colour(&media, "mp4", None), want),
            "{id}: no key, no picture"
        );
        assert!(
            !close_to(corner_colour(&media, "mp4", Some([7; 16])), want),
            "{id}: a wrong key gives no picture"
        );
    }
}

#[tokio::test]
async fn split_keys_separate_sd_from_hd() {
    let (server, token) = server_with_account().await;
    let id = "clip-cenc";
    let mpd = std::fs::read_to_string(title_dir(id).join("manifest.mpd")).expect("mpd");
    let mut kids = default_kids(&mpd);
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), 2, "an SD and an HD key");
    let keys = license(&server, &token, &kids).await;
    let want = sample::palette(0);
    let sd = segment(id, "video_144p", 1);
    let hd = segment(id, "video_720p", 1);
    let sd_key: Vec<_> = keys
        .iter()
        .filter(|(_, k)| close_to(corner_colour(&sd, "mp4", Some(*k)), want))
        .collect();
    let hd_key: Vec<_> = keys
        .iter()
        .filter(|(_, k)| close_to(corner_colour(&hd, "mp4", Some(*k)), want))
        .collect();
    assert_eq!(sd_key.len(), 1, "exactly one key opens SD");
    assert_eq!(hd_key.len(), 1, "exactly one key opens HD");
    assert_ne!(sd_key[0].0, hd_key[0].0, "and they are different keys");
}

#[tokio::test]
async fn aes128_ts_segments_decrypt_with_the_key_from_the_license_server() {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    let (server, token) = server_with_account().await;
    let dir = title_dir("clip-aes");
    let master = std::fs::read(dir.join("master.m3u8")).expect("master");
    let m3u8_rs::Playlist::MasterPlaylist(master) =
        m3u8_rs::parse_playlist_res(&master).expect("parses")
    else {
        panic!("not a multivariant playlist");
    };
    let variant = &master.variants[0];
    let media = std::fs::read(dir.join(&variant.uri)).expect("media playlist");
    let m3u8_rs::Playlist::MediaPlaylist(media) =
        m3u8_rs::parse_playlist_res(&media).expect("parses")
    else {
        panic!("not a media playlist");
    };
    let seg = &media.segments[1];
    let key_tag = media.segments[0].key.as_ref().expect("EXT-X-KEY");
    assert_eq!(key_tag.method, m3u8_rs::KeyMethod::AES128);
    let uri = key_tag.uri.as_deref().expect("key URI");
    let path = uri
        .strip_prefix(PUBLIC_URL)
        .expect("key URI on the headend");
    let key = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("key");
    let iv = hex::decode(
        key_tag
            .iv
            .as_deref()
            .expect("explicit IV")
            .trim_start_matches("0x"),
    )
    .expect("hex IV");
    let mut data = std::fs::read(dir.join(&seg.uri)).expect("segment");
    assert!(
        corner_colour(&data, "mpegts", None).is_none_or(|c| !close_to(Some(c), sample::palette(2)))
    );
    let plain = cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
        .expect("key and IV sizes")
        .decrypt_padded_mut::<Pkcs7>(&mut data)
        .expect("padding")
        .to_vec();
    assert!(close_to(
        corner_colour(&plain, "mpegts", None),
        sample::palette(2)
    ));
}

fn assert_nothing_published(config: &Config, id: &str) {
    assert!(
        !config.origin_dir().join(id).exists(),
        "{id}: no directory on the origin"
    );
    let staged = std::fs::read_dir(config.staging_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staged, 0, "staging is empty");
    let db = Db::open(&config.db_path()).expect("db");
    assert!(
        assets::get(&db.conn().expect("conn"), id)
            .expect("query")
            .is_none(),
        "{id}: no row"
    );
}

#[test]
fn bad_inputs_fail_clearly_and_publish_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let db = Db::open(&config.db_path()).expect("db");
    let master = MasterKey::load_or_create(&config.master_key_path()).expect("master");
    let opts = |id: &str| IngestOptions {
        ladder: tiny_ladder(),
        ..IngestOptions::from_config(&config, id)
    };
    let run = |config: &Config, input: &Path, id: &str| {
        ingest::ingest(config, &db, &master, input, &opts(id))
    };

    let err = run(&config, &dir.path().join("nope.mp4"), "missing").expect_err("missing input");
    assert!(matches!(err, IngestError::InputMissing(_)), "{err}");

    let junk = dir.path().join("junk.mp4");
    std::fs::write(
        &junk,
        (0..50_000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write");
    let err = run(&config, &junk, "junk").expect_err("corrupt input");
    assert!(matches!(err, IngestError::NotMedia { .. }), "{err}");

    let audio_only = dir.path().join("tone.m4a");
    let ok = Command::new(ffmpeg())
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:a",
            "aac",
        ])
        .arg(&audio_only)
        .status()
        .expect("ffmpeg");
    assert!(ok.success());
    let err = run(&config, &audio_only, "tone").expect_err("no video");
    assert!(matches!(err, IngestError::NoVideo(_)), "{err}");

    let gif = dir.path().join("anim.gif");
    let ok = Command::new(ffmpeg())
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64:d=1"])
        .arg(&gif)
        .status()
        .expect("ffmpeg");
    assert!(ok.success());
    let err = run(&config, &gif, "anim").expect_err("unsupported codec");
    assert!(
        matches!(err, IngestError::UnsupportedCodec(ref c) if c == "gif"),
        "{err}"
    );

    let err = run(&config, &gif, "../escape").expect_err("bad title");
    assert!(matches!(err, IngestError::InvalidTitle(_)), "{err}");

    // A good input, then a re-ingest whose packaging fails: the first
    // version stays published, untouched.
    // What a killed ingest left behind is swept by the next one.
    let leftover = config.staging_dir().join("dead.4000000000-0a0b0c/work");
    std::fs::create_dir_all(&leftover).expect("mkdir");
    let mezz = dir.path().join("good.mp4");
    sample::generate(&config, 3, 2, &mezz).expect("mezzanine");
    run(&config, &mezz, "keep").expect("first ingest");
    assert!(!leftover.exists(), "stale staging swept");
    let before = std::fs::read(config.origin_dir().join("keep/manifest.mpd")).expect("published");
    let mut broken = config.clone();
    broken.tools.packager = Some(dir.path().join("no-such-packager"));
    let err = run(&broken, &mezz, "keep").expect_err("packager missing");
    assert!(matches!(err, IngestError::ToolMissing(_)), "{err}");
    assert!(err.to_string().contains("packager"), "{err}");
    assert_eq!(
        std::fs::read(config.origin_dir().join("keep/manifest.mpd")).expect("still there"),
        before
    );
    let err = run(&broken, &mezz, "fresh").expect_err("packager missing");
    assert!(matches!(err, IngestError::ToolMissing(_)), "{err}");

    for id in ["missing", "junk", "tone", "anim", "fresh"] {
        assert_nothing_published(&config, id);
    }
}

#[test]
fn sample_catalog_imports_movielens_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let movies = dir.path().join("movies.csv");
    let tags = dir.path().join("tags.csv");
    std::fs::write(
        &movies,
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n\
         2,\"Social Network, The (2010)\",Drama\n3,Babylon 5,(no genres listed)\n",
    )
    .expect("write");
    std::fs::write(
        &tags,
        "userId,movieId,tag,timestamp\n1,2,Facebook,1\n2,2,facebook,2\n3,2,Aaron Sorkin,3\n",
    )
    .expect("write");
    let db = Db::open(&config.db_path()).expect("db");
    let master = MasterKey::load_or_create(&config.master_key_path()).expect("master");
    let opts = sample::SampleOptions {
        cast: None,
        videos: 2,
        seconds: 2,
        movies,
        tags,
        ratings: None,
        force: false,
    };
    let report = sample::run(&config, &db, &master, &opts).expect("sample");
    assert_eq!((report.ingested, report.kept, report.titles), (2, 0, 3));
    // A second run keeps the videos.
    let report = sample::run(&config, &db, &master, &opts).expect("sample again");
    assert_eq!((report.ingested, report.kept), (0, 2));

    let conn = db.conn().expect("conn");
    let (name, year, asset): (String, Option<u16>, String) = conn
        .query_row(
            "SELECT name, year, asset_id FROM titles WHERE id = 'ml-2'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("title");
    assert_eq!(
        (name.as_str(), year, asset.as_str()),
        ("The Social Network", Some(2010), "sample-0")
    );
    let tags: Vec<String> = conn
        .prepare("SELECT tag FROM title_tags WHERE title_id = 'ml-2' ORDER BY tag")
        .expect("stmt")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(tags, vec!["aaron sorkin", "facebook"]);
    let year: Option<u16> = conn
        .query_row("SELECT year FROM titles WHERE id = 'ml-3'", [], |r| {
            r.get(0)
        })
        .expect("title");
    assert_eq!(year, None);
    assert_eq!(
        assets::get(&conn, "sample-1")
            .expect("query")
            .map(|a| a.scheme),
        Some("cbcs".to_owned())
    );
}

#[test]
fn a_full_disk_is_reported_and_nothing_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mezz = dir.path().join("clip.mp4");
    sample::generate(&Config::default(), 4, 4, &mezz).expect("mezzanine");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    // A 1.5 MB file system for the data directory, in a private mount
    // namespace (a user namespace too, so this runs without root).
    let script = format!(
        "mount -t tmpfs -o size=1536k tmpfs '{data}' && '{bin}' --data-dir '{data}' ingest '{mezz}' --title full --tiny; \
         rc=$?; ls -A '{data}/origin' 2>/dev/null; ls -A '{data}/staging' 2>/dev/null; exit $rc",
        data = data.display(),
        bin = env!("CARGO_BIN_EXE_ottbox-headend"),
        mezz = mezz.display(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the ingest must fail");
    assert!(stderr.contains("disk full"), "says why: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "nothing left in origin or staging: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_relative_data_dir_works_from_the_command_line() {
    // The default data dir, `var/headend`, is relative: the packager runs
    // in another directory and must still find its inputs.
    let dir = tempfile::tempdir().expect("tempdir");
    let mezz = dir.path().join("clip.mp4");
    sample::generate(&Config::default(), 5, 2, &mezz).expect("mezzanine");
    let out = Command::new(env!("CARGO_BIN_EXE_ottbox-headend"))
        .current_dir(dir.path())
        .args([
            "--data-dir",
            "relative/data",
            "ingest",
            "clip.mp4",
            "--title",
            "rel",
            "--tiny",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path()
            .join("relative/data/origin/rel/manifest.mpd")
            .is_file()
    );
}
