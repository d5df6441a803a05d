//! `ottboxctl`: the daemon from a shell, over the same D-Bus proxies the UI
//! uses. Human output by default, `--json` for scripts; a D-Bus error exits
//! with status 2 and prints its stable code (`region_blocked: ...`).

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ottbox_protocol::dbus::{Catalog1Proxy, Error, LoginState, Player1Proxy, Session1Proxy, Tile};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "ottboxctl", version, about = "Control ottboxd over D-Bus")]
struct Args {
    /// Use the session bus instead of the system bus.
    #[arg(long, global = true)]
    session: bool,
    /// Use the bus at this address.
    #[arg(long, global = true, env = "OTTBOX_BUS_ADDRESS")]
    bus_address: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a device login, print the code, wait until it is confirmed.
    Login {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Sign out and wipe the viewer's data.
    Logout,
    /// Login and player state.
    Status,
    /// The home rows.
    Home,
    /// Search the catalog.
    Search {
        /// What to look for.
        query: String,
    },
    /// A title's details and similar titles.
    Details {
        /// Title id.
        id: String,
    },
    /// Play a title.
    Play {
        /// Title id.
        id: String,
        /// Start here, in seconds (default: the resume point).
        #[arg(long, default_value_t = -1.0)]
        from: f64,
        /// Wait up to this many seconds for the playback to end, then print
        /// how it went (exit status 1 if it failed).
        #[arg(long)]
        wait: Option<u64>,
    },
    /// Pause playback.
    Pause,
    /// Resume playback.
    Resume,
    /// Seek to a position, in seconds.
    Seek {
        /// Seconds from the start.
        position: f64,
    },
    /// Stop playback.
    Stop,
    /// Play another audio language of the title (`en`, `fr`); without
    /// one, list them.
    Audio {
        /// The language.
        language: Option<String>,
    },
    /// Show subtitles in a language, or `off`; without one, list them.
    Subtitles {
        /// The language, or `off`.
        language: Option<String>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(dbus) if args.json => {
                    println!(
                        "{}",
                        json!({"error": dbus.code(), "message": dbus.message()})
                    );
                }
                Some(dbus) => eprintln!("ottboxctl: {}: {}", dbus.code(), dbus.message()),
                None => eprintln!("ottboxctl: {e:#}"),
            }
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let conn = match (&args.bus_address, args.session) {
        (Some(a), _) => zbus::connection::Builder::address(a.as_str()).build().await,
        (None, true) => zbus::Connection::session().await,
        (None, false) => zbus::Connection::system().await,
    }
    .context("connecting to D-Bus")?;
    let session = Session1Proxy::new(&conn).await?;
    let catalog = Catalog1Proxy::new(&conn).await?;
    let player = Player1Proxy::new(&conn).await?;
    // Statuses are read from the daemon, not from the proxy's cache: the
    // cache follows PropertiesChanged signals, and a status read the moment
    // State says `ended` could otherwise show an ad's edge from before.
    let player_now = Player1Proxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    let out = Output { json: args.json };
    match &args.command {
        Command::Login { timeout } => {
            let mut changes = session.receive_state_changed().await;
            let code = session.start_login().await?;
            out.show(
                json!(code),
                format!(
                    "On your phone, open {} and enter {}",
                    code.verification_uri, code.user_code
                ),
            );
            let wait = async {
                // The stream starts with the value before StartLogin; the
                // login is over at the first state after `pending`.
                let mut pending = false;
                while let Some(change) = futures_next(&mut changes).await {
                    match change.get().await {
                        Ok(LoginState::Pending) => pending = true,
                        Ok(state) if pending => return Some(state),
                        _ => {}
                    }
                }
                None
            };
            let state = tokio::time::timeout(Duration::from_secs(*timeout), wait)
                .await
                .context("timed out waiting for the login")?;
            if state != Some(LoginState::LoggedIn) {
                anyhow::bail!("login ended: {}", session.last_error().await?);
            }
            out.show(json!({"state": state}), "Signed in".into());
        }
        Command::Logout => {
            session.logout().await?;
            out.show(json!({"state": "logged_out"}), "Signed out".into());
        }
        Command::Status => {
            let mut v = json!({
                "login": session.state().await?,
                "offline": catalog.offline().await?,
            });
            v["playback"] = playback(&player_now).await?;
            let text = format!(
                "login {}, {}\n{}",
                v["login"].as_str().unwrap_or_default(),
                if v["offline"].as_bool().unwrap_or(false) {
                    "offline"
                } else {
                    "online"
                },
                playback_text(&v["playback"]),
            );
            out.show(v, text);
        }
        Command::Home => {
            let home = catalog.home().await?;
            let mut text = String::new();
            if home.offline {
                text.push_str("(offline: saved rows)\n");
            }
            for row in &home.rows {
                text.push_str(&format!("{}\n{}", row.title, tiles_text(&row.tiles)));
            }
            out.show(json!(home), text);
        }
        Command::Search { query } => {
            let tiles = catalog.search(query).await?;
            out.show(json!(tiles), tiles_text(&tiles));
        }
        Command::Details { id } => {
            let d = catalog.details(id).await?;
            let similar = catalog.similar(id).await?;
            let text = format!(
                "{} ({})\n{}\nGenres: {}\nTags: {}\nCast: {}\nSimilar:\n{}",
                d.tile.name,
                d.tile.year,
                d.synopsis,
                d.tile.genres.join(", "),
                d.tags.join(", "),
                d.cast.join(", "),
                tiles_text(&similar)
            );
            out.show(json!({"details": d, "similar": similar}), text);
        }
        Command::Play { id, from, wait } => {
            let mut changes = player.receive_state_changed().await;
            let mut breaks = player.receive_ad_break_changed().await;
            let playback_id = player.play(id, *from).await?;
            let Some(wait) = wait else {
                out.show(
                    json!({"state": player.state().await?, "playback": playback_id}),
                    format!("Playing {id}"),
                );
                return Ok(());
            };
            // The stream starts with the state before Play (often
            // `stopped`): the playback is over at the first terminal state
            // after one of its own.
            // The ad breaks seen on the way are reported too.
            let mut seen: Vec<String> = Vec::new();
            let over = async {
                let mut started = false;
                loop {
                    tokio::select! {
                        change = futures_next(&mut changes) => {
                            let Some(change) = change else { return };
                            match change.get().await {
                                Ok(state) if state.is_over() => {
                                    if started {
                                        return;
                                    }
                                }
                                Ok(_) => started = true,
                                Err(_) => {}
                            }
                        }
                        Some(change) = futures_next(&mut breaks) => {
                            let id = change.get().await.unwrap_or_default();
                            if !id.is_empty() && seen.last() != Some(&id) {
                                seen.push(id);
                            }
                        }
                    }
                }
            };
            let timed_out = tokio::time::timeout(Duration::from_secs(*wait), over)
                .await
                .is_err();
            let mut v = playback(&player_now).await?;
            v["ad_breaks_seen"] = json!(seen);
            out.show(v.clone(), playback_text(&v));
            if timed_out {
                anyhow::bail!(
                    "still {} after {wait} s",
                    v["state"].as_str().unwrap_or("?")
                );
            }
            if v["state"] == "error" {
                anyhow::bail!(
                    "playback failed: {}",
                    v["last_error"].as_str().unwrap_or("")
                );
            }
        }
        Command::Pause => {
            player.pause().await?;
            out.show(json!({"state": "paused"}), "Paused".into());
        }
        Command::Resume => {
            player.resume().await?;
            out.show(json!({"state": "playing"}), "Playing".into());
        }
        Command::Seek { position } => {
            player.seek(*position).await?;
            out.show(
                json!({"position_s": position}),
                format!("At {position:.1} s"),
            );
        }
        Command::Stop => {
            player.stop().await?;
            out.show(json!({"state": "stopped"}), "Stopped".into());
        }
        Command::Audio { language } => {
            if let Some(l) = language {
                player.set_audio_language(l).await?;
            }
            let offered = player.audio_languages().await?;
            let now = language.clone().unwrap_or(player.audio_language().await?);
            out.show(
                json!({"audio_language": now, "audio_languages": offered}),
                format!("Audio {now} (of {})", offered.join(", ")),
            );
        }
        Command::Subtitles { language } => {
            if let Some(l) = language {
                player
                    .set_subtitles(if l == "off" { "" } else { l })
                    .await?;
            }
            let offered = player.subtitle_languages().await?;
            let now = match language.as_deref() {
                Some("off") => String::new(),
                Some(l) => l.to_owned(),
                None => player.subtitles().await?,
            };
            let shown = if now.is_empty() { "off" } else { now.as_str() };
            out.show(
                json!({"subtitles": now, "subtitle_languages": offered}),
                format!("Subtitles {shown} (of {})", offered.join(", ")),
            );
        }
    }
    Ok(())
}

/// The next item of a zbus stream, without pulling in a futures crate.
async fn futures_next<S: zbus::export::futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
}

/// Everything `Player1` says about the playback, as JSON.
async fn playback(player: &Player1Proxy<'_>) -> zbus::Result<serde_json::Value> {
    Ok(json!({
        "state": player.state().await?,
        "title": player.title().await?,
        "position_s": player.position().await?,
        "duration_s": player.duration().await?,
        "rendition": player.rendition().await?,
        "bitrate": player.bitrate().await?,
        "buffer_s": player.buffer().await?,
        "decoder": player.decoder().await?,
        "edge": player.edge().await?,
        "last_error": player.last_error().await?,
        "qoe": player.qoe().await?,
        "ad": match player.ad_break().await?.as_str() {
            "" => serde_json::Value::Null,
            b => json!({
                "break": b,
                "index": player.ad_index().await?,
                "count": player.ad_count().await?,
                "remaining_s": player.ad_remaining().await?,
            }),
        },
    }))
}

/// [`playback`] for people: one line of state, one of QoE.
fn playback_text(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let f = |k: &str| v[k].as_f64().unwrap_or_default();
    let q = |k: &str| v["qoe"][k].as_f64().unwrap_or(-1.0);
    let mut text = format!(
        "player {} {} at {:.1}/{:.1} s, {} @ {} kbit/s from {} via {}, buffer {:.1} s",
        s("state"),
        s("title"),
        f("position_s"),
        f("duration_s"),
        s("rendition"),
        v["bitrate"].as_u64().unwrap_or_default() / 1000,
        s("edge"),
        s("decoder"),
        f("buffer_s"),
    );
    text.push_str(&format!(
        "\nQoE: first frame {:.0} ms, {} rebuffers ({:.1} s), {} switches, {} dropped frames",
        q("time_to_first_frame_ms"),
        q("rebuffers"),
        q("rebuffer_s"),
        q("switches"),
        q("dropped_frames"),
    ));
    if let Some(ad) = v["ad"].as_object() {
        text.push_str(&format!(
            "\nad {}/{} of {}, {:.0} s left",
            ad["index"],
            ad["count"],
            ad["break"].as_str().unwrap_or_default(),
            ad["remaining_s"].as_f64().unwrap_or_default().ceil(),
        ));
    }
    if let Some(seen) = v["ad_breaks_seen"].as_array().filter(|a| !a.is_empty()) {
        let names: Vec<&str> = seen.iter().filter_map(|b| b.as_str()).collect();
        text.push_str(&format!("\nad breaks played: {}", names.join(", ")));
    }
    let error = s("last_error");
    if !error.is_empty() {
        text.push_str(&format!("\nerror: {error}"));
    }
    text
}

fn tiles_text(tiles: &[Tile]) -> String {
    tiles
        .iter()
        .map(|t| {
            let progress = if t.progress >= 0.0 {
                format!("  [{:.0}% watched]", t.progress * 100.0)
            } else {
                String::new()
            };
            format!("  {}  {} ({}){progress}\n", t.id, t.name, t.year)
        })
        .collect()
}

struct Output {
    json: bool,
}

impl Output {
    fn show(&self, value: serde_json::Value, text: String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text.trim_end());
        }
    }
}
