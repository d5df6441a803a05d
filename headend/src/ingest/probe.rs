//! What is in the input: ffprobe's view of it.

use std::path::Path;
use std::process::Command;

use super::{IngestError, check_status};
use crate::config::Config;
use crate::tools::{Tool, locate};

/// Video codecs we accept as mezzanine (what broadcast and post-production
/// deliver). Anything else is refused up front rather than half-transcoded.
const VIDEO_CODECS: &[&str] = &[
    "h264",
    "hevc",
    "mpeg2video",
    "mpeg4",
    "vp8",
    "vp9",
    "av1",
    "prores",
    "dnxhd",
    "mjpeg",
    "rawvideo",
    "ffv1",
    "theora",
    "vc1",
];

/// The facts about an input that ingest needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Duration in seconds.
    pub duration_s: f64,
    /// The video codec's name.
    pub video_codec: String,
    /// The language of each audio stream, in stream order (BCP 47 where
    /// the input's ISO 639-2 tag has a two-letter form, `und` when it has
    /// none); empty without audio.
    pub audio_languages: Vec<String>,
}

/// Probes `input`.
pub fn probe(config: &Config, input: &Path) -> Result<MediaInfo, IngestError> {
    let ffprobe = locate(Tool::Ffprobe, &config.tools)?;
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(input)
        .output()?;
    if check_status("ffprobe", &out).is_err() {
        return Err(IngestError::NotMedia {
            path: input.to_owned(),
            detail: super::tail(&out.stderr),
        });
    }
    parse(input, &out.stdout)
}

fn parse(input: &Path, json: &[u8]) -> Result<MediaInfo, IngestError> {
    let not_media = |detail: &str| IngestError::NotMedia {
        path: input.to_owned(),
        detail: detail.to_owned(),
    };
    let v: serde_json::Value =
        serde_json::from_slice(json).map_err(|_| not_media("unreadable ffprobe output"))?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let kind = |s: &serde_json::Value, k: &str| s["codec_type"].as_str() == Some(k);
    let video = streams
        .iter()
        // Cover art is a "video" stream too; skip attached pictures.
        .find(|s| kind(s, "video") && s["disposition"]["attached_pic"].as_i64() != Some(1))
        .ok_or_else(|| IngestError::NoVideo(input.to_owned()))?;
    let codec = video["codec_name"].as_str().unwrap_or("unknown").to_owned();
    if !VIDEO_CODECS.contains(&codec.as_str()) {
        return Err(IngestError::UnsupportedCodec(codec));
    }
    let duration_s = v["format"]["duration"]
        .as_str()
        .or_else(|| video["duration"].as_str())
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| not_media("no duration"))?;
    Ok(MediaInfo {
        duration_s,
        video_codec: codec,
        audio_languages: streams
            .iter()
            .filter(|s| kind(s, "audio"))
            .map(|s| language(s["tags"]["language"].as_str()))
            .collect(),
    })
}

/// An ffprobe language tag (MP4 and Matroska carry ISO 639-2, `eng`) as
/// the BCP 47 that manifests and players use (`en`).
fn language(tag: Option<&str>) -> String {
    let tag = tag.unwrap_or("und").trim().to_ascii_lowercase();
    let two = match tag.as_str() {
        "eng" => "en",
        "fra" | "fre" => "fr",
        "deu" | "ger" => "de",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "nld" | "dut" => "nl",
        "swe" => "sv",
        "pol" => "pl",
        "jpn" => "ja",
        "zho" | "chi" => "zh",
        "ara" => "ar",
        "" => "und",
        other => other,
    };
    // Anything else must still be safe in a file name and a manifest.
    if two.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        two.to_owned()
    } else {
        "und".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_streams_and_refuses_odd_inputs() {
        let p = Path::new("in.mp4");
        let ok = br#"{"streams":[{"codec_type":"video","codec_name":"h264"},{"codec_type":"audio","codec_name":"aac"}],"format":{"duration":"8.000"}}"#;
        let info = parse(p, ok).expect("valid");
        assert_eq!(info.duration_s, 8.0);
        assert_eq!(info.audio_languages, ["und"]);
        let dubbed = br#"{"streams":[{"codec_type":"video","codec_name":"h264"},
            {"codec_type":"audio","tags":{"language":"eng"}},
            {"codec_type":"audio","tags":{"language":"fre"}},
            {"codec_type":"audio","tags":{"language":"x/y"}}],"format":{"duration":"2"}}"#;
        let info = parse(p, dubbed).expect("valid");
        assert_eq!(info.audio_languages, ["en", "fr", "und"]);
        let audio_only = br#"{"streams":[{"codec_type":"audio"}],"format":{"duration":"3"}}"#;
        assert!(matches!(parse(p, audio_only), Err(IngestError::NoVideo(_))));
        let gif =
            br#"{"streams":[{"codec_type":"video","codec_name":"gif"}],"format":{"duration":"3"}}"#;
        assert!(matches!(parse(p, gif), Err(IngestError::UnsupportedCodec(c)) if c == "gif"));
        assert!(matches!(
            parse(p, b"nonsense"),
            Err(IngestError::NotMedia { .. })
        ));
    }
}
