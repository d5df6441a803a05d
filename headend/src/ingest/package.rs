//! Packaging and encryption.
//!
//! - [`cmaf`]: Shaka Packager, CMAF fMP4 with HLS and DASH, Common
//!   Encryption with raw keys (`--clear_lead 0`: the packager otherwise
//!   leaves the first seconds in clear).
//! - [`hls_aes128`]: the legacy form, ffmpeg's HLS muxer writing MPEG-TS
//!   segments encrypted whole with AES-128-CBC; the key URI points at the
//!   license server's raw-key endpoint.

use std::path::Path;
use std::process::Command;

use rand::RngCore;

use super::transcode::Encodes;
use super::{IngestError, IngestOptions, KeyPlan, audio_label, check_status, rung_label};
use crate::config::{Config, Scheme};
use crate::db::assets::Rendition;
use crate::keystore::ContentKey;
use crate::tools::{Tool, locate};

/// What packaging produced, relative to the title's directory.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The multivariant HLS playlist.
    pub hls: String,
    /// The DASH MPD, when there is one.
    pub dash: Option<String>,
    /// The renditions, for the database.
    pub renditions: Vec<Rendition>,
}

/// A language's name in itself, for the player's audio menu (HLS `NAME`);
/// the tag itself for languages not listed.
fn language_name(tag: &str) -> &str {
    match tag {
        "en" => "English",
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        "it" => "Italiano",
        "pt" => "Português",
        "nl" => "Nederlands",
        other => other,
    }
}

/// Packages `encodes` as encrypted CMAF with HLS and DASH into `out`.
pub fn cmaf(
    config: &Config,
    encodes: &Encodes,
    keys: &[KeyPlan],
    opts: &IngestOptions,
    out: &Path,
) -> Result<Packaged, IngestError> {
    let packager = locate(Tool::Packager, &config.tools)?;
    let mut cmd = Command::new(packager);
    cmd.current_dir(out);
    let mut renditions = Vec::new();
    let mut playlists: Vec<(String, &'static str)> = Vec::new();
    for (rung, file) in &encodes.video {
        let label = rung_label(keys, rung);
        let dir = format!("video_{}", rung.name);
        playlists.push((format!("{dir}.m3u8"), label));
        cmd.arg(format!(
            "in={},stream=video,init_segment={dir}/init.mp4,segment_template={dir}/$Number$.m4s,playlist_name={dir}.m3u8{}",
            file.display(),
            drm_label(keys, label)
        ));
        renditions.push(Rendition {
            name: rung.name.clone(),
            kind: "video".into(),
            width: Some(rung.width),
            height: Some(rung.height),
            bandwidth: u64::from(rung.kbps) * 1000,
            key_label: label.into(),
        });
    }
    for (i, (language, file)) in encodes.audio.iter().enumerate() {
        let label = audio_label(keys);
        // The first track keeps the plain name: one way for every title.
        let dir = if i == 0 {
            "audio".to_owned()
        } else {
            format!("audio_{language}_{i}")
        };
        playlists.push((format!("{dir}.m3u8"), label));
        cmd.arg(format!(
            "in={},stream=audio,init_segment={dir}/init.mp4,segment_template={dir}/$Number$.m4s,playlist_name={dir}.m3u8,hls_group_id=audio,hls_name={},language={language}{}",
            file.display(),
            language_name(language),
            drm_label(keys, label)
        ));
        renditions.push(Rendition {
            name: dir,
            kind: "audio".into(),
            width: None,
            height: None,
            bandwidth: u64::from(config.ingest.audio_kbps) * 1000,
            key_label: label.into(),
        });
    }
    // Clear text beside the media: WebVTT cues carry no protection.
    for (language, file) in &opts.subtitles {
        let dir = format!("text_{language}");
        cmd.arg(format!(
            "in={},stream=text,segment_template={dir}/$Number$.vtt,playlist_name={dir}.m3u8,hls_group_id=subs,hls_name={},language={language}",
            file.display(),
            language_name(language),
        ));
    }
    let key_arg = keys
        .iter()
        .map(|k| {
            format!(
                "label={}:key_id={}:key={}",
                k.label,
                hex::encode(k.key.kid),
                hex::encode(k.key.key)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let scheme = match opts.scheme {
        Scheme::Cbcs => "cbcs",
        _ => "cenc",
    };
    cmd.args(["--segment_duration", &encodes.segment_seconds.to_string()])
        .args([
            "--mpd_output",
            "manifest.mpd",
            "--hls_master_playlist_output",
            "master.m3u8",
        ])
        .args(["--hls_playlist_type", "VOD", "--generate_static_live_mpd"]);
    if !keys.is_empty() {
        cmd.arg("--enable_raw_key_encryption")
            .args(["--keys", &key_arg])
            .args([
                "--protection_scheme",
                scheme,
                "--protection_systems",
                "CommonSystem",
            ])
            .args(["--clear_lead", "0"]);
    }
    // The key is on the command line: never echo the command into errors or logs.
    let result = cmd.output()?;
    check_status("packager", &result)?;
    if opts.scheme == Scheme::Cenc {
        for (playlist, label) in &playlists {
            let kid = keys.iter().find(|k| k.label == *label).map(|k| k.key.kid);
            if let Some(kid) = kid {
                add_sample_aes_ctr_key(&out.join(playlist), &kid)?;
            }
        }
    }
    Ok(Packaged {
        hls: "master.m3u8".into(),
        dash: Some("manifest.mpd".into()),
        renditions,
    })
}

/// The stream descriptor's key label field, when the title is encrypted.
fn drm_label(keys: &[KeyPlan], label: &str) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        format!(",drm_label={label}")
    }
}

/// Shaka Packager writes no `EXT-X-KEY` into HLS playlists of `cenc`
/// content (Apple's HLS knows only `cbcs`), which leaves an HLS client
/// without the key id. Add the tag the HLS spec defines for it:
/// `SAMPLE-AES-CTR` with the key id as a data URI, key format `identity`,
/// the same shape the packager uses for `cbcs`.
fn add_sample_aes_ctr_key(playlist: &Path, kid: &[u8; 16]) -> Result<(), IngestError> {
    let text = std::fs::read_to_string(playlist)?;
    let tag = format!(
        "#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,{}\",KEYFORMAT=\"identity\"",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, kid)
    );
    let mut out = String::with_capacity(text.len() + tag.len() + 1);
    let mut added = false;
    for line in text.lines() {
        if !added && (line.starts_with("#EXTINF") || line.starts_with("#EXT-X-MAP")) {
            out.push_str(&tag);
            out.push('\n');
            added = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(playlist, out)?;
    Ok(())
}

/// Packages `encodes` as HLS with AES-128 encrypted MPEG-TS into `out`.
pub fn hls_aes128(
    config: &Config,
    encodes: &Encodes,
    key: &ContentKey,
    _opts: &IngestOptions,
    out: &Path,
) -> Result<Packaged, IngestError> {
    let ffmpeg = locate(Tool::Ffmpeg, &config.tools)?;
    // The key file and key-info file live in the work area, never the origin.
    let work = encodes
        .video
        .first()
        .and_then(|(_, f)| f.parent())
        .unwrap_or(out)
        .to_owned();
    let key_file = work.join("aes128.key");
    std::fs::write(&key_file, key.key)?;
    let mut iv = [0u8; 16];
    rand::rng().fill_bytes(&mut iv);
    let uri = format!(
        "{}/api/v1/license/hls/{}",
        config.public_url,
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, key.kid)
    );
    let info_file = work.join("keyinfo.txt");
    std::fs::write(
        &info_file,
        format!("{uri}\n{}\n{}\n", key_file.display(), hex::encode(iv)),
    )?;

    let mut master = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let mut renditions = Vec::new();
    for (rung, file) in &encodes.video {
        let dir = format!("ts_{}", rung.name);
        std::fs::create_dir_all(out.join(&dir))?;
        let mut cmd = Command::new(&ffmpeg);
        cmd.args(["-hide_banner", "-nostdin", "-y", "-i"]).arg(file);
        // Muxed into each variant: the first audio track only.
        if let Some((_, audio)) = encodes.audio.first() {
            cmd.arg("-i")
                .arg(audio)
                .args(["-map", "0:v:0", "-map", "1:a:0"]);
        }
        cmd.args(["-c", "copy", "-f", "hls", "-hls_playlist_type", "vod"])
            .args(["-hls_time", &encodes.segment_seconds.to_string()])
            .args(["-hls_segment_type", "mpegts", "-hls_key_info_file"])
            .arg(&info_file)
            .arg("-hls_segment_filename")
            .arg(out.join(&dir).join("%d.ts"))
            .arg(out.join(format!("{dir}.m3u8")));
        check_status("ffmpeg", &cmd.output()?)?;
        // Segments are named relative to the playlist's directory.
        let playlist = out.join(format!("{dir}.m3u8"));
        let text = std::fs::read_to_string(&playlist)?;
        let fixed: String = text
            .lines()
            .map(|l| {
                if l.ends_with(".ts") && !l.starts_with('#') {
                    format!("{dir}/{l}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&playlist, fixed)?;
        let bandwidth = u64::from(rung.kbps + config.ingest.audio_kbps) * 1000;
        master.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={}x{},CODECS=\"avc1.640028,mp4a.40.2\"\n{dir}.m3u8\n",
            rung.width, rung.height
        ));
        renditions.push(Rendition {
            name: rung.name.clone(),
            kind: "video".into(),
            width: Some(rung.width),
            height: Some(rung.height),
            bandwidth,
            key_label: "ALL".into(),
        });
    }
    std::fs::write(out.join("master.m3u8"), master)?;
    std::fs::remove_file(&key_file)?;
    Ok(Packaged {
        hls: "master.m3u8".into(),
        dash: None,
        renditions,
    })
}
