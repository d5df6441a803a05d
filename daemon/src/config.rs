//! The daemon's configuration: a TOML file, then `OTTBOX_*` environment
//! overrides, then command-line flags, each layer over the one before.
//!
//! Every default works for the demo on one machine. A key the daemon does
//! not know is not an error (an operator's newer config must not stop an
//! older box from booting) but it is named in a warning, so typos show.
//!
//! Environment overrides name a section and a key: `OTTBOX_HEADEND_URL`
//! sets `[headend] url`, `OTTBOX_STATE_DIR` sets the top-level `state_dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/ottbox/ottboxd.toml";

/// A problem with the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config_unreadable: cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a value has the wrong type.
    #[error("config_invalid: {path}: {message}")]
    Invalid {
        /// The file (or `environment`).
        path: PathBuf,
        /// What is wrong, with the line when TOML knows it.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the sled store lives (tokens, cache, queues).
    pub state_dir: PathBuf,
    /// The headend.
    pub headend: HeadendConfig,
    /// Which bus to serve on.
    pub bus: BusConfig,
    /// Cache lifetimes.
    pub cache: CacheConfig,
    /// The outbound event queue.
    pub events: EventsConfig,
    /// The player: sinks, buffering, quality limits.
    pub player: PlayerConfig,
    /// Predictive prefetch: titles made ready to start from memory.
    pub prefetch: PrefetchConfig,
}

/// Predictive prefetch (see [`crate::prefetch`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PrefetchConfig {
    /// How many titles of the home rows are kept ready to start from
    /// memory; 0 turns predictive prefetch off.
    pub titles: usize,
    /// Memory for their manifests and first segments, bytes.
    pub max_bytes: usize,
    /// A title stays ready this long, seconds (its session and license
    /// are not trusted for longer).
    pub ttl_s: u64,
    /// Whether the box's link is metered: `auto` asks NetworkManager
    /// (unknown counts as not metered), or `yes` / `no`.
    pub metered: Metered,
    /// Prefetch even on a metered link.
    pub on_metered: bool,
    /// The player stays idle this long before a round starts, seconds.
    pub idle_s: f64,
}

/// Whether the link is metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metered {
    /// As NetworkManager says.
    Auto,
    /// Metered (a mobile hotspot, a capped plan).
    Yes,
    /// Not metered.
    No,
}

impl Default for PrefetchConfig {
    fn default() -> Self {
        Self {
            titles: 3,
            max_bytes: 8 << 20,
            ttl_s: 300,
            metered: Metered::Auto,
            on_metered: false,
            idle_s: 1.0,
        }
    }
}

impl PrefetchConfig {
    /// How long a title stays ready.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_s)
    }

    /// How long the player is idle before a round.
    pub fn idle(&self) -> Duration {
        Duration::from_secs_f64(self.idle_s.clamp(0.0, 3600.0))
    }
}

/// The player.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PlayerConfig {
    /// Video sink, a GStreamer element description: `kmssink` on a box
    /// driving its display, `waylandsink`, `autovideosink`, or
    /// `fakesink sync=true` for a headless box.
    pub video_sink: String,
    /// Audio sink, likewise (`alsasink`, `autoaudiosink`, `fakesink`).
    pub audio_sink: String,
    /// Which manifest to play when a title has both: `hls` or `dash`.
    pub manifest: ManifestChoice,
    /// Seconds of media to hold ahead of the playhead in steady state.
    pub buffer_target_s: f64,
    /// Playback starts once this much is buffered (at least one segment
    /// is always fed first).
    pub start_buffer_s: f64,
    /// The display's size: no rendition larger than this is fetched.
    pub display_width: u32,
    /// See `display_width`.
    pub display_height: u32,
}

/// Which manifest format to prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestChoice {
    /// HLS (every title has it).
    Hls,
    /// DASH, when the title has an MPD; else HLS.
    Dash,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        Self {
            video_sink: "autovideosink".into(),
            audio_sink: "autoaudiosink".into(),
            manifest: ManifestChoice::Hls,
            buffer_target_s: 30.0,
            start_buffer_s: 0.0,
            display_width: 1920,
            display_height: 1080,
        }
    }
}

/// How to reach the headend.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HeadendConfig {
    /// Base URL, e.g. `https://headend.example` (no trailing slash needed).
    pub url: String,
    /// An operator CA (PEM) trusted besides the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// The OAuth client id this box presents.
    pub client_id: String,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// After login, enroll a device certificate and present it on every
    /// connection (mutual TLS).
    pub enroll: bool,
    /// The serial the certificate names; empty: one the box makes up once
    /// and keeps.
    pub device_serial: String,
}

/// Which D-Bus bus to own the name on.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BusConfig {
    /// `system` (the box), `session` (development) or `address`.
    pub kind: BusKind,
    /// The bus address when `kind = "address"`.
    pub address: Option<String>,
}

/// The bus to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    /// The system bus (the box's default).
    System,
    /// The user's session bus.
    Session,
    /// An explicit address (`bus.address`), e.g. a test's private bus.
    Address,
}

/// How long cached answers count as fresh.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// Home rows older than this are refreshed in the background.
    pub home_ttl_s: u64,
    /// Search results are reused for this long.
    pub search_ttl_s: u64,
    /// Details and similar titles are reused for this long.
    pub details_ttl_s: u64,
    /// While offline, the headend is probed this often.
    pub probe_interval_s: f64,
    /// How many titles of the first rows get details and posters prefetched.
    pub prefetch_titles: usize,
}

/// The store-and-forward queue of viewing events.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    /// At most this many events wait; the oldest are dropped (and counted).
    pub max_queued: usize,
    /// Events sent per request.
    pub batch: usize,
    /// First retry delay after a failure, seconds (doubles up to `max_backoff_s`).
    pub min_backoff_s: f64,
    /// Longest retry delay, seconds.
    pub max_backoff_s: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("/var/lib/ottbox"),
            headend: HeadendConfig::default(),
            bus: BusConfig::default(),
            cache: CacheConfig::default(),
            events: EventsConfig::default(),
            player: PlayerConfig::default(),
            prefetch: PrefetchConfig::default(),
        }
    }
}

impl Default for HeadendConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8080".into(),
            ca_file: None,
            client_id: "ottbox-stb".into(),
            timeout_s: 5.0,
            enroll: true,
            device_serial: String::new(),
        }
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            kind: BusKind::System,
            address: None,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            home_ttl_s: 60,
            search_ttl_s: 300,
            details_ttl_s: 3600,
            probe_interval_s: 2.0,
            prefetch_titles: 6,
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_queued: 10_000,
            batch: 100,
            min_backoff_s: 0.5,
            max_backoff_s: 300.0,
        }
    }
}

impl HeadendConfig {
    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s.max(0.1))
    }
}

impl Config {
    /// Loads `path` (a missing default file is fine: defaults apply), then
    /// the `OTTBOX_*` variables of `env`. Returns the config and warnings
    /// naming keys that were ignored.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        Self::load_or_default_file(path, Path::new(DEFAULT_PATH), env)
    }

    /// [`Config::load`] with the default file's path given (tests).
    fn load_or_default_file(
        path: Option<&Path>,
        default_file: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        let (file, text) = match path {
            Some(p) => (p.to_owned(), read(p)?),
            None if default_file.exists() => (default_file.to_owned(), read(default_file)?),
            None => {
                // Not an error (a fresh box boots on the defaults), but an
                // operator looking for why their settings do not apply
                // should see it.
                warnings.push(format!(
                    "no config file at {}: using the defaults",
                    default_file.display()
                ));
                (default_file.to_owned(), String::new())
            }
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(&file, e))?;
        apply_env(&mut table, env, &mut warnings);
        let mut ignored = Vec::new();
        let config: Config = serde_ignored::deserialize(toml::Value::Table(table), |key| {
            ignored.push(key.to_string());
        })
        .map_err(|e: toml::de::Error| invalid(&file, e))?;
        warnings.extend(
            ignored
                .into_iter()
                .map(|k| format!("{}: unknown key `{k}` ignored", file.display())),
        );
        Ok((config, warnings))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

fn invalid(path: &Path, e: toml::de::Error) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    }
}

/// The sections an `OTTBOX_<SECTION>_<KEY>` variable may name.
const SECTIONS: [&str; 6] = ["headend", "bus", "cache", "events", "player", "prefetch"];

/// Folds `OTTBOX_*` variables into the table. Values are parsed as TOML
/// scalars when they look like one (`5`, `true`, `2.5`), else taken as
/// strings, so `OTTBOX_HEADEND_URL=https://x` needs no quotes.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
    warnings: &mut Vec<String>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("OTTBOX_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let value = scalar(&raw);
        match SECTIONS.iter().find(|s| rest.starts_with(&format!("{s}_"))) {
            Some(section) => {
                let key = rest[section.len() + 1..].to_owned();
                let entry = table
                    .entry(section.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = entry {
                    t.insert(key, value);
                }
            }
            None if rest == "state_dir" => {
                table.insert(rest, value);
            }
            // Variables the daemon's own tooling sets, not config keys.
            None if rest == "log" => {}
            None => warnings.push(format!("environment: unknown variable {name} ignored")),
        }
    }
}

fn scalar(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ottboxd.toml");
        std::fs::write(&path, text).expect("write");
        Config::load(
            Some(&path),
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let (config, warnings) = load("", &[]).expect("loads");
        assert_eq!(config.headend.url, "http://127.0.0.1:8080");
        assert_eq!(config.bus.kind, BusKind::System);
        assert!(warnings.is_empty());
    }

    #[test]
    fn unknown_keys_are_named_but_not_fatal() {
        let (config, warnings) = load(
            "state_dir = \"/tmp/x\"\ncolour = 3\n[headend]\nurl = \"https://h\"\ntimout_s = 3\n",
            &[],
        )
        .expect("loads");
        assert_eq!(config.headend.url, "https://h");
        assert_eq!(config.state_dir, PathBuf::from("/tmp/x"));
        let all = warnings.join("\n");
        assert!(all.contains("`colour`"), "{all}");
        assert!(all.contains("`headend.timout_s`"), "{all}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let (config, warnings) = load(
            "[headend]\nurl = \"https://file\"\n",
            &[
                ("OTTBOX_HEADEND_URL", "https://env"),
                ("OTTBOX_CACHE_HOME_TTL_S", "7"),
                ("OTTBOX_BUS_KIND", "session"),
                ("OTTBOX_STATE_DIR", "/tmp/env"),
                ("OTTBOX_PREFETCH_METERED", "yes"),
                ("OTTBOX_BOGUS", "1"),
                ("PATH", "/bin"),
            ],
        )
        .expect("loads");
        assert_eq!(config.headend.url, "https://env");
        assert_eq!(config.cache.home_ttl_s, 7);
        assert_eq!(config.bus.kind, BusKind::Session);
        assert_eq!(config.state_dir, PathBuf::from("/tmp/env"));
        assert_eq!(config.prefetch.metered, Metered::Yes);
        assert!(warnings.iter().any(|w| w.contains("OTTBOX_BOGUS")));
    }

    #[test]
    fn corrupt_files_and_wrong_types_are_clear_errors() {
        let err = load("[headend\nurl=", &[]).expect_err("bad toml");
        assert!(err.to_string().starts_with("config_invalid:"), "{err}");
        let err = load("[cache]\nhome_ttl_s = \"soon\"\n", &[]).expect_err("bad type");
        assert!(err.to_string().contains("home_ttl_s"), "{err}");
        let err = Config::load(Some(Path::new("/nonexistent/ottboxd.toml")), [])
            .expect_err("missing explicit file");
        assert!(err.to_string().starts_with("config_unreadable:"), "{err}");
    }

    #[test]
    fn a_box_without_its_config_file_runs_on_the_defaults_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let default_file = dir.path().join("ottboxd.toml");
        let (config, warnings) =
            Config::load_or_default_file(None, &default_file, []).expect("defaults");
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/ottbox"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("using the defaults"), "{warnings:?}");

        std::fs::write(&default_file, "state_dir = \"/srv/ottbox\"\n").expect("write");
        let (config, warnings) =
            Config::load_or_default_file(None, &default_file, []).expect("the file");
        assert_eq!(config.state_dir, PathBuf::from("/srv/ottbox"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
