//! Headend configuration: one TOML file plus `OTTBOX_HEADEND_*` overrides.
//!
//! Every field has a default that works for the demo on one machine, so an
//! empty file (or no file at all) is a valid configuration. Unknown keys are
//! not an error, but each one is named in a warning: a typo in an operator's
//! file should be visible, not silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "OTTBOX_HEADEND_CONFIG";
/// Environment override for [`Config::data_dir`].
pub const DATA_DIR_ENV: &str = "OTTBOX_HEADEND_DATA_DIR";
/// Environment override for [`Config::listen`].
pub const LISTEN_ENV: &str = "OTTBOX_HEADEND_LISTEN";

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrongly typed value; the message
    /// names the key, line and column.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What `toml` says, with line and column.
        message: String,
    },
    /// An environment override has a bad value.
    #[error("invalid value {value:?} in environment variable {var}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
}

/// The whole headend configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the database, keys and origin files live.
    pub data_dir: PathBuf,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Base URL under which boxes reach this headend's API (written into
    /// HLS AES-128 key URIs at ingest).
    pub public_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Paths of external tools; found automatically when unset.
    pub tools: ToolsConfig,
    /// Client address → region table.
    pub regions: Vec<RegionConfig>,
    /// Which peers may tell us the client address in `X-Forwarded-For`.
    pub proxy: ProxyConfig,
    /// How titles are transcoded and packaged.
    pub ingest: IngestConfig,
    /// Device login and token lifetimes.
    pub auth: AuthConfig,
    /// CDN edges in front of the origin. None: boxes fetch from the origin.
    pub edges: Vec<EdgeConfig>,
    /// HTTPS.
    pub tls: TlsConfig,
    /// Client-side ad insertion.
    pub ads: AdsConfig,
}

/// The ad plan every playback session gets (ad-free accounts get none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdsConfig {
    /// Serve ad plans at all.
    pub enabled: bool,
    /// Clear assets that are ad creatives, played in turn.
    pub creatives: Vec<String>,
    /// Mid-roll cue points, as fractions of the title's duration.
    pub midrolls: Vec<f64>,
    /// Ads per mid-roll break (pre- and post-rolls have one).
    pub midroll_pod: usize,
    /// The base URL that tracking beacons go to (an ad server's tracking
    /// host, in front of this headend's `/api/v1/ads/track`); empty for
    /// `public_url`.
    pub tracking_url: String,
}

impl Default for AdsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            creatives: vec!["ad-0".into(), "ad-1".into()],
            midrolls: vec![0.5],
            midroll_pod: 2,
            tracking_url: String::new(),
        }
    }
}

/// HTTPS settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// Serve HTTPS instead of HTTP.
    pub enabled: bool,
    /// Host names in the development server certificate.
    pub names: Vec<String>,
    /// License and playback calls need a device certificate (mutual TLS)
    /// from an enrolled, unrevoked box. Enrollment itself never does.
    pub require_client_cert: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            names: vec!["localhost".into()],
            require_client_cert: false,
        }
    }
}

/// One CDN edge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgeConfig {
    /// Name, e.g. `eu-1`.
    pub name: String,
    /// Base URL; the origin's paths (`/origin/...`) are served under it.
    pub url: String,
    /// Regions this edge is near; its clients get it first.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// Device login and token lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Access token lifetime, seconds.
    pub access_ttl_s: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl_s: u64,
    /// Device code lifetime, seconds.
    pub device_code_ttl_s: u64,
    /// Minimum seconds between polls of the token endpoint.
    pub poll_interval_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl_s: 3600,
            refresh_ttl_s: 90 * 24 * 3600,
            device_code_ttl_s: 600,
            poll_interval_s: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("var/headend"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 64 * 1024,
            tools: ToolsConfig::default(),
            regions: vec![
                RegionConfig {
                    name: "eu".into(),
                    cidrs: vec![parse_net("127.0.0.1/32"), parse_net("::1/128")],
                },
                RegionConfig {
                    name: "us".into(),
                    cidrs: vec![parse_net("127.0.0.2/32")],
                },
            ],
            proxy: ProxyConfig::default(),
            ingest: IngestConfig::default(),
            auth: AuthConfig::default(),
            edges: Vec::new(),
            tls: TlsConfig::default(),
            ads: AdsConfig::default(),
        }
    }
}

fn parse_net(s: &str) -> IpNet {
    s.parse().expect("built-in CIDR literals are valid")
}

/// Explicit tool paths. Unset ones are searched for (see [`crate::tools`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolsConfig {
    /// The ffmpeg binary.
    pub ffmpeg: Option<PathBuf>,
    /// The ffprobe binary.
    pub ffprobe: Option<PathBuf>,
    /// The Shaka Packager binary.
    pub packager: Option<PathBuf>,
}

/// One region: a name and the client networks that belong to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionConfig {
    /// Region name, as titles' licensed regions name it.
    pub name: String,
    /// Client networks in the region.
    pub cidrs: Vec<IpNet>,
}

/// Trusted reverse proxies (the CDN edges).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyConfig {
    /// Peers whose `X-Forwarded-For` header is believed. Everyone else's is
    /// ignored, so a client cannot claim to be somewhere it is not.
    pub trusted: Vec<IpNet>,
}

/// How a title is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Common Encryption, AES-CTR, full-sample with subsamples for video.
    Cenc,
    /// Common Encryption, AES-CBC with a 1:9 pattern.
    Cbcs,
    /// Legacy HLS: MPEG-TS segments encrypted whole with AES-128-CBC.
    Aes128,
    /// Not encrypted: ad creatives and trailers.
    Clear,
}

impl Scheme {
    /// The scheme's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cenc => "cenc",
            Self::Cbcs => "cbcs",
            Self::Aes128 => "aes128",
            Self::Clear => "clear",
        }
    }
}

/// One rung of the video ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// Rendition name, e.g. `720p`.
    pub name: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Target video bitrate in kbit/s.
    pub kbps: u32,
}

impl Rung {
    fn new(name: &str, width: u32, height: u32, kbps: u32) -> Self {
        Self {
            name: name.into(),
            width,
            height,
            kbps,
        }
    }

    /// Rungs above SD get the HD key when keys are split by resolution.
    pub fn is_hd(&self) -> bool {
        self.height >= 720
    }
}

/// Transcoding and packaging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestConfig {
    /// The video ladder, lowest first.
    pub ladder: Vec<Rung>,
    /// AAC stereo bitrate in kbit/s.
    pub audio_kbps: u32,
    /// Segment (and keyframe interval) duration in seconds.
    pub segment_seconds: u32,
    /// Frame rate of the output.
    pub fps: u32,
    /// x264 preset: speed against size.
    pub x264_preset: String,
    /// Encryption when `ingest` is not told otherwise.
    pub scheme: Scheme,
    /// Separate keys for SD and HD rungs.
    pub split_sd_hd_keys: bool,
    /// Regions a title is licensed in when `ingest` is not told otherwise.
    pub regions: Vec<String>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            ladder: default_ladder(),
            audio_kbps: 128,
            segment_seconds: 2,
            fps: 25,
            x264_preset: "veryfast".into(),
            scheme: Scheme::Cenc,
            split_sd_hd_keys: false,
            regions: vec!["eu".into()],
        }
    }
}

/// Four H.264 rungs from 240p to 1080p.
pub fn default_ladder() -> Vec<Rung> {
    vec![
        Rung::new("240p", 426, 240, 400),
        Rung::new("480p", 854, 480, 1_200),
        Rung::new("720p", 1280, 720, 2_800),
        Rung::new("1080p", 1920, 1080, 5_000),
    ]
}

/// A tiny ladder for the sample catalog and tests: same shape (SD and HD
/// rungs), a fraction of the pixels, so it encodes in seconds on 2 cores.
pub fn tiny_ladder() -> Vec<Rung> {
    vec![
        Rung::new("144p", 256, 144, 150),
        Rung::new("288p", 512, 288, 400),
        Rung::new("720p", 1280, 720, 1_200),
    ]
}

impl Config {
    /// Parses a configuration from TOML text. `origin` names the source in
    /// error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        warn_unknown_keys(text);
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })
    }

    /// Loads the configuration: the file at `path` (or `$OTTBOX_HEADEND_CONFIG`,
    /// or defaults when neither is set), then environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env_path = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
        let mut config = match path.map(Path::to_path_buf).or(env_path) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_toml(&text, &path)?
            }
            None => Self::default(),
        };
        config.apply_env()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
            self.data_dir = dir.into();
        }
        if let Ok(listen) = std::env::var(LISTEN_ENV) {
            self.listen = listen.parse().map_err(|_| ConfigError::Env {
                var: LISTEN_ENV,
                value: listen,
            })?;
        }
        Ok(())
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("headend.db")
    }

    /// Where published titles live (what the origin serves).
    pub fn origin_dir(&self) -> PathBuf {
        self.data_dir.join("origin")
    }

    /// Where ingests are staged before they are published.
    pub fn staging_dir(&self) -> PathBuf {
        self.data_dir.join("staging")
    }

    /// The master key that seals content keys at rest.
    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }

    /// The development PKI (CA, server certificate and keys).
    pub fn tls_dir(&self) -> PathBuf {
        self.data_dir.join("tls")
    }

    /// The secret that signs access tokens.
    pub fn token_secret_path(&self) -> PathBuf {
        self.data_dir.join("token.key")
    }
}

/// Logs a warning for every key that the schema does not know.
///
/// Rejecting unknown keys would make a typo fatal, which is harsh for an
/// operator moving across versions; ignoring them silently hides the typo.
/// So the text is read once more as a generic table, and every key that the
/// serialized defaults do not have is named.
fn warn_unknown_keys(text: &str) {
    let Ok(value) = text.parse::<toml::Table>() else {
        return; // the strict parse reports the syntax error
    };
    let known = toml::Table::try_from(Config::default()).unwrap_or_default();
    for path in unknown_keys(&value, &known, "") {
        tracing::warn!(key = %path, "unknown key in headend config; ignored");
    }
}

fn unknown_keys(value: &toml::Table, known: &toml::Table, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (key, v) in value {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (known.get(key), v) {
            (None, _) if !is_optional_key(&path) => out.push(path),
            (Some(toml::Value::Table(k)), toml::Value::Table(t)) => {
                out.extend(unknown_keys(t, k, &path));
            }
            _ => {}
        }
    }
    out
}

/// Optional keys that are absent from the serialized defaults.
fn is_optional_key(path: &str) -> bool {
    matches!(path, "tools.ffmpeg" | "tools.ffprobe" | "tools.packager")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml("", Path::new("x.toml")).expect("parses");
        assert_eq!(c.ingest.ladder.len(), 4);
        assert_eq!(c.ingest.segment_seconds, 2);
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let err = Config::from_toml(
            "listen = \"127.0.0.1:1\"\nmax_body_bytes = \"big\"\n",
            Path::new("h.toml"),
        )
        .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("h.toml"), "{msg}");
        assert!(msg.contains("max_body_bytes"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_found() {
        let value: toml::Table = "listn = 1\n[ingest]\nfpss = 3\n[tools]\nffmpeg = \"/x\"\n"
            .parse()
            .expect("toml");
        let known = toml::Table::try_from(Config::default()).expect("serializes");
        let strays = unknown_keys(&value, &known, "");
        assert_eq!(strays, vec!["ingest.fpss".to_owned(), "listn".to_owned()]);
    }
}
